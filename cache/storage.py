"""A TinyDB storage that is atomic, shared between processes, and cheap to re-read.

TinyDB's own ``JSONStorage`` re-parses the whole file on every query and rewrites it in
place on every write, so a crash mid-write corrupts it and two processes lose each other's
changes. ``AtomicJSONStorage`` keeps TinyDB's data model and fixes those three things:

- **Atomic writes**: a temporary file in the same directory, ``fsync``, ``os.replace``,
  then an fsync of the directory. A reader sees the old file or the new one, never half.
- **Cross-process safety**: every write happens under ``<file>.lock`` (filelock), and a
  read-modify-write is done inside :meth:`AtomicJSONStorage.batch`, which holds the lock,
  re-reads the file from disk, and writes once at the end. Nothing is written when the
  block raises (so an interrupted sync leaves the previous file intact).
- **Cheap re-reads**: the parsed file is kept and reused while the file's identity
  (inode, size, mtime) is unchanged and its mtime is not so recent that a same-tick write by
  another process could hide behind it ("racy" files are always re-read).

A file that does not parse is moved aside to ``<file>.corrupt-<time>`` (its bytes are kept
for the user) and treated as empty; a warning is logged. The next sync rebuilds it. A file
opened with ``keep_previous`` (a site's index, the subscriptions, read state) keeps the
version each write replaces as ``<file>.prev`` (a hard link: no copy), and a corrupt one is
replaced by that version instead. A file opened with ``durable=False`` (summaries checked
against the index they were made from) is replaced atomically but not fsync'd.

Locks: ``<file>.lock`` by default, or one lock shared by a group of files (a site's files
but its read state: ``site.lock``); a thread holding it writes any of them without locking
again (``shared_lock``: one ``FileLock`` per path and process, re-entrant per thread).

Tables must be opened with ``cache_size=0``: TinyDB's per-table query cache would serve
results another process has since changed. See ``open_db``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import orjson
from tinydb import TinyDB
from tinydb.storages import Storage

from .errors import StoreError
from .paths import file_stamp

#: A file modified less than this many ns ago is re-read even if its stat looks unchanged:
#: another process could have replaced it within one timestamp tick (Linux file systems
#: tick in 1–10 ms) with a file of the same size that reused the old inode number.
_RACY_NS = 250_000_000
LOCK_TIMEOUT = 30.0


class AtomicJSONStorage(Storage):
    """TinyDB storage: orjson, atomic replace, a lock file, and a stat-checked cache."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        lock_path: str | os.PathLike[str] | None = None,
        *,
        durable: bool = True,
        keep_previous: bool = False,
    ) -> None:
        self.path = Path(path)
        # True: each write keeps the version it replaces as ``<file>.prev`` (a hard link: no
        # copy), and a corrupt file is replaced by it (a site's index, the subscriptions)
        self._keep_previous = keep_previous
        # False: a file derived from others and checked against them (a summary): replaced
        # atomically, but not fsync'd (after a power cut it may be empty, and is rebuilt)
        self._durable = durable
        # the file's own ``<file>.lock``, or one shared by a group of files (a site's shards:
        # a writer holding it may write any of them; see ``shared_lock``)
        self._lock_path = Path(lock_path) if lock_path is not None else Path(str(self.path) + ".lock")
        self._lock: Any = None  # a filelock.FileLock, made on first write (keeps reads light)
        self._data: dict[str, Any] | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._depth = 0
        self._pending: dict[str, Any] | None = None
        self._batch_read = False

    # -- TinyDB's Storage contract -------------------------------------------------------

    def read(self) -> dict[str, Any] | None:
        if self._depth:
            if self._pending is not None:
                return self._pending
            if self._batch_read:  # we hold the lock: nobody has written since our read
                return self._data
            self._batch_read = True
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            self._data = self._stamp = None
            return None
        except OSError as error:
            raise StoreError(f"cannot read {self.path}: {error.strerror}") from None
        stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        racy = time.time_ns() - stat.st_mtime_ns < _RACY_NS
        if stamp == self._stamp and self._data is not None and not racy:
            return self._data
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StoreError(f"cannot read {self.path}: {error.strerror}") from None
        data = self._parse(raw)
        self._data, self._stamp = data, (stamp if data is not None else None)
        return data

    def write(self, data: dict[str, Any]) -> None:
        if self._depth:
            self._pending = data
            return
        with self.locked():
            self._write(data)

    def close(self) -> None:
        self._data = self._stamp = None

    def stamp(self) -> list[int] | None:
        """The file's identity now (inode, size, mtime), to validate derived data."""
        return file_stamp(self.path)

    # -- batching --------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the lock, read fresh, and write once when the block ends without error."""
        with self.locked():
            outer = self._depth == 0
            if outer:
                self._pending = None
                self._batch_read = False  # the first read in the batch goes to the disk
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._pending = None
                    self._batch_read = False
                    self._data = self._stamp = None  # TinyDB may have mutated our copy
                raise
            self._depth -= 1
            if outer:
                self._batch_read = False
                if self._pending is not None:
                    pending, self._pending = self._pending, None
                    self._write(pending)

    # -- internals -------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the file's lock (shared with the other files under it) for the block;
        re-entrant within a thread."""
        from filelock import Timeout

        if self._lock is None:
            self._lock = shared_lock(self._lock_path)
        if self._lock.is_locked:  # this thread holds it already (a batch, a site's shard lock)
            yield
            return
        try:
            try:
                self._lock.acquire()
            except FileNotFoundError:  # its directory is made on the first write
                self._lock_path.parent.mkdir(parents=True, exist_ok=True)
                self._lock.acquire()
        except Timeout:
            raise StoreError(f"the cache is locked by another Broadsheet process ({self._lock_path.name})") from None
        except OSError as error:
            raise StoreError(write_problem(self.path, error)) from None
        try:
            yield
        finally:
            self._lock.release()

    def _parse(self, raw: bytes) -> dict[str, Any] | None:
        if not raw.strip() and not self._keep_previous:
            return None  # nothing yet
        data = _decode(raw)
        if data is not None:
            return data
        return self._quarantine()  # (a kept file is never empty: empty is truncated)

    def _quarantine(self) -> dict[str, Any] | None:
        """Set a corrupt file aside — under the lock, and only if it is still corrupt (another
        process may have replaced it with a good one since we read it) — and put the version
        before it back when one was kept (``keep_previous``); returns what the file holds now."""
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 1_000_000_000:09d}"
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        try:
            with self.locked():
                raw = self.path.read_bytes()
                data = _decode(raw)
                if data is not None:
                    return data
                if not raw.strip() and not self._keep_previous:
                    return None
                restored = self._restore_previous(target)
        except (OSError, StoreError):
            return None
        import logging  # rare: not worth importing at start-up

        logging.getLogger(__name__).info("cache file %s was corrupt; moved it to %s", self.path, target)
        tell_corruption(self.path, target)
        return restored

    def _restore_previous(self, target: Path) -> dict[str, Any] | None:
        """(Under the lock.) Keep the corrupt file's bytes as ``target``; put the kept previous
        version in its place, in one rename (readers never find the file missing), and return
        it; without a sound previous version, the corrupt file is only moved aside."""
        data = None
        if self._keep_previous:
            try:
                raw = previous_path(self.path).read_bytes()
            except OSError:
                raw = b""
            data = _decode(raw)
        if data is None:
            os.replace(self.path, target)
            return None
        try:
            os.link(self.path, target)
        except OSError:  # no hard links here: a copy
            target.write_bytes(self.path.read_bytes())
        atomic_write(self.path, raw)
        return data

    def _write(self, data: dict[str, Any]) -> None:
        try:
            payload = orjson.dumps(data)
            try:
                atomic_write(self.path, payload, durable=self._durable, keep_previous=self._keep_previous)
            except FileNotFoundError:  # the file's directory is made on its first write
                self.path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(self.path, payload, durable=self._durable, keep_previous=self._keep_previous)
        except OSError as error:
            self._data = self._stamp = None
            raise StoreError(write_problem(self.path, error)) from None
        except orjson.JSONEncodeError as error:  # not JSON-able: a bug, but never a half-written file
            self._data = self._stamp = None
            raise StoreError(f"cannot encode {self.path.name}: {error}") from None
        stat = os.stat(self.path)
        self._data, self._stamp = data, (stat.st_ino, stat.st_size, stat.st_mtime_ns)


#: Callables ``(path, moved_to)`` told when a corrupt file is moved aside (the CLI prints
#: a one-line warning; the TUI notifies).
_corruption_listeners: list[Any] = []


def on_corruption(listener: Any) -> None:
    """Register ``listener(path, moved_to)`` to be told about quarantined cache files."""
    if listener not in _corruption_listeners:
        _corruption_listeners.append(listener)


def tell_corruption(path: Any, moved_to: Any) -> None:
    """Tell the listeners that ``path`` was corrupt and set aside as ``moved_to`` (here, or
    in a sync worker process, which reports it to this one)."""
    for listener in list(_corruption_listeners):
        listener(path, moved_to)


def write_problem(path: Path, error: OSError) -> str:
    """One line saying why ``path`` cannot be written, in the user's terms."""
    import errno

    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"the cache dir {path.parent} is read-only ({error.strerror}); nothing was changed"
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk holding {path.parent} is full; nothing was changed"
    return f"cannot write {path}: {error.strerror or error}"


STALE_TEMP = 60.0
"""Seconds after which a temporary file of ``atomic_write`` belongs to a killed process."""


def _decode(raw: bytes) -> dict[str, Any] | None:
    """A TinyDB file's tables ({table: {id: row}}), or None when ``raw`` is not one."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()):
        return data
    return None


def previous_path(path: Path) -> Path:
    """Where ``atomic_write(keep_previous=True)`` keeps the version it replaced."""
    return path.with_name(path.name + ".prev")


def atomic_write(path: Path, payload: bytes, *, durable: bool = True, keep_previous: bool = False) -> None:
    """Replace ``path`` with ``payload``: a temporary file in the same directory (created
    0600 by mkstemp), fsync, rename, fsync of the directory. Readers see old or new, never
    half; a crash leaves the old file. ``durable=False`` skips both fsyncs (a derived file:
    after a power cut it may be empty). ``keep_previous``: the version replaced stays as
    ``previous_path(path)`` (a hard link, made before the rename); the first version is
    kept as a copy (a link would share its inode: damage in place would reach both), so a
    file written once can be put back too. Temporary files that a
    killed writer left behind (older than ``STALE_TEMP``) are removed by the next write into
    the same directory."""
    import tempfile  # imported on the first write: reads (`broadsheet unread`) stay light

    pending = _PENDING_DIRS.get()
    if pending is None or path.parent not in pending:  # once per directory in a block
        _remove_stale_temps(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        first = keep_previous and not _link_previous(path, tmp)
        os.replace(tmp, path)
        if first:  # not fsync'd: a spare (an empty one after a power cut counts as none)
            try:
                atomic_write(previous_path(path), payload, durable=False)
            except OSError:
                pass  # the file itself is written: only its spare is missing
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if pending is not None:
        pending.add(path.parent)
    elif durable:
        _fsync_dir(path.parent)


def _link_previous(path: Path, tmp: str) -> bool:
    """Make ``previous_path(path)`` the file ``path`` is now (a hard link through a temporary
    name beside ``tmp``, so a killed writer leaves only a stale temporary file). False when
    there is no ``path`` yet (its first version)."""
    link = tmp + "p"  # mkstemp's name plus one character: swept as a stale temporary file
    try:
        if os.stat(path).st_size == 0:
            return True  # truncated: never kept over a sound previous version
        os.link(path, link)
        os.replace(link, previous_path(path))
    except FileNotFoundError:
        return False
    except OSError:  # no hard links here: the file is still written
        try:
            os.unlink(link)
        except OSError:
            pass
    return True


_PENDING_DIRS: ContextVar[set[Path] | None] = ContextVar("pending_dirs", default=None)


@contextmanager
def directory_syncs() -> Iterator[None]:
    """Within this block, ``atomic_write`` fsyncs each file but each directory only once,
    when the block ends (a sync writes dozens of shards into one directory). Files written
    after the block — the index, the commit point — find every rename before them durable."""
    if _PENDING_DIRS.get() is not None:  # nested: the outer block syncs
        yield
        return
    dirs: set[Path] = set()
    token = _PENDING_DIRS.set(dirs)
    try:
        yield
    finally:
        _PENDING_DIRS.reset(token)
        for directory in sorted(dirs):
            _fsync_dir(directory)


#: ``atomic_write``'s temporary files: ``.<file name>.<mkstemp's 8 characters>``.
_TEMP = re.compile(r"\..+\.[a-z0-9_]{8}p?")


def _remove_stale_temps(directory: Path) -> None:
    limit = time.time() - STALE_TEMP
    try:
        entries = os.scandir(directory)
    except OSError:
        return
    with entries:
        for entry in entries:
            if entry.name.startswith(".") and _TEMP.fullmatch(entry.name):
                try:
                    info = entry.stat(follow_symlinks=False)
                    # a hard link to a previous version (``_link_previous``: 9 characters after
                    # the dot) keeps its file's old mtime: its ctime says when it was made
                    link = len(entry.name.rsplit(".", 1)[1]) == 9
                    made = max(info.st_mtime, info.st_ctime) if link else info.st_mtime
                    if made < limit and entry.is_file(follow_symlinks=False):
                        os.unlink(entry.path)
                except OSError:
                    pass


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def open_db(
    path: str | os.PathLike[str],
    lock_path: str | os.PathLike[str] | None = None,
    *,
    durable: bool = True,
    keep_previous: bool = False,
) -> TinyDB:
    """Open a TinyDB file with ``AtomicJSONStorage``; tables must use ``table(name)``.
    ``lock_path``: a lock shared with other files (default: ``<path>.lock``); ``durable``
    and ``keep_previous``: see ``AtomicJSONStorage``."""
    return TinyDB(path, storage=AtomicJSONStorage, lock_path=lock_path, durable=durable, keep_previous=keep_previous)


_LOCKS: dict[Path, Any] = {}
_LOCKS_GUARD = threading.Lock()


def shared_lock(path: Path) -> Any:
    """The process's one ``filelock.FileLock`` for ``path``: re-entrant within a thread (a
    writer holding a site's shard lock writes each shard without locking again), exclusive
    between threads (each thread has its own descriptor) and between processes."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(path)
        if lock is None:
            from filelock import FileLock

            lock = _LOCKS[path] = FileLock(str(path), timeout=LOCK_TIMEOUT, mode=0o600)
        return lock


def table(db: TinyDB, name: str) -> Any:
    """A table with TinyDB's query cache off (another process may change the file)."""
    return db.table(name, cache_size=0)


def storage(db: TinyDB) -> AtomicJSONStorage:
    """The ``AtomicJSONStorage`` behind ``db``."""
    store = db.storage
    assert isinstance(store, AtomicJSONStorage)
    return store
