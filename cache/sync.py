"""Sync: bring a site's news into the store, incrementally, whatever its kind.

The flow is one way — source → models → ``Store.save_sync`` — and the store's index is
written last, so an interrupted sync changes nothing the reader relies on. What to fetch
and how to notice changes is the source's business (``Source.sync`` gets the cursors the
last sync returned and what the cache holds); this module names no kind of site.

Before reading, the site's queued replies are sent (``cache.outbox``), so a reply written
offline goes out with the next sync; a broken outbox never stops the news (its error is
reported beside the result).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from . import sources
from .errors import BroadsheetError, NotFound, StoreError
from .http import RetryPolicy, is_loopback, make_client, time_limit
from .models import Site
from .safe import clean_line
from .sources.base import Changes, Known
from .store import Store, now_iso

log = logging.getLogger(__name__)

SYNC_DEADLINE = 300.0
"""Seconds one site's sync may take in all (requests, retries and parsing)."""

Progress = Callable[[str, str], None]
"""``progress(site_name, message)``: what a sync is doing now."""


@dataclass
class SyncResult:
    """What one site's sync did."""

    site: str
    new_posts: int = 0
    updated_posts: int = 0
    removed_posts: int = 0
    new_comments: int = 0
    removed_comments: int = 0
    sent_replies: int = 0
    skipped: int = 0
    requests: int = 0
    seconds: float = 0.0
    not_modified: bool = False
    error: str | None = None
    busy: bool = False
    """Another process was syncing the site: this one left it alone."""
    outbox_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        """One line for the terminal."""
        if self.error:
            return f"{self.site}: failed: {self.error}"
        if self.busy:
            return f"{self.site}: skipped: another Broadsheet is syncing it right now"
        if self.not_modified and not self.sent_replies:
            return f"{self.site}: nothing new ({self.seconds:.1f}s)"
        parts = [
            f"{self.new_posts} new",
            f"{self.updated_posts} updated",
        ]
        if self.removed_posts:
            parts.append(f"{self.removed_posts} removed")
        text = f"{self.site}: {', '.join(parts)} posts, {self.new_comments} new comments"
        if self.removed_comments:
            text += f", {self.removed_comments} comments gone"
        if self.sent_replies:
            text += f", {self.sent_replies} replies sent"
        if self.skipped:
            text += f", {self.skipped} malformed items skipped"
        if self.outbox_error:
            text += f" (replies not sent: {self.outbox_error})"
        return text + f" ({self.seconds:.1f}s)"


async def sync_site(
    store: Store,
    site: Site,
    *,
    client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: Progress | None = None,
    policy: RetryPolicy | None = None,
    full: bool = False,
    force: bool = False,
    options: dict[str, Any] | None = None,
    record: dict[str, dict[str, Any]] | None = None,
) -> SyncResult:
    """Sync one site into ``store``; errors are reported in the result, not raised.
    ``options`` are the site's settings from config.toml (``full_text``). With ``record``,
    the site's new ``last_sync``/``last_error`` go there for the caller to write (one write
    of ``sites.json`` for many sites) instead of being written here."""
    started = time.monotonic()
    result = SyncResult(site.name)

    def say(message: str) -> None:
        if progress is not None:
            progress(site.name, message)

    try:
        lock = _site_lock(store, site.name)
    except StoreError as error:  # the lock file cannot be written: this site's failure alone
        lock, result.error = None, clean_line(str(error))
    if lock is None:
        result.busy = result.error is None
        if result.busy:
            result.seconds = time.monotonic() - started
            return result
        return _outcome(store, site, result, {"last_error": result.error}, record, started)
    own = client is None
    client = client or make_client(transport or sources.transport_for(site))
    source = None
    fields: dict[str, Any] = {}
    try:
        with time_limit(SYNC_DEADLINE):  # every request ends by then (replies included)...
            async with asyncio.timeout(SYNC_DEADLINE + 5):  # ...and so does the rest
                source = sources.make_source(site, client, policy)
                result.sent_replies, result.outbox_error = await _send_outbox(store, site, client)
                known = await asyncio.to_thread(_known, store, site.name, full, force)
                known.cursors.update(options or {})
                say("fetching")
                changes = await source.sync(known)
        result.not_modified = changes.not_modified
        if not changes.not_modified:
            say(f"saving {len(changes.posts)} posts and {len(changes.comments)} comments")
        if not store.has_site(site.name):
            raise NotFound(f"{site.name} was removed while it was being synced; nothing saved")
        if _unchanged(changes, known.cursors):
            fields = {"last_sync": now_iso(), "last_error": None}
            raise _NothingToSave
        saved = await asyncio.to_thread(
            store.save_sync,
            site.name,
            posts=changes.posts,
            html=changes.html,
            comments=changes.comments,
            categories=changes.categories,
            categories_complete=changes.categories_complete,
            removed=changes.removed,
            cursors=changes.cursors,
            comments_complete_since=changes.comments_complete_since,
        )
        result.new_posts, result.updated_posts, result.new_comments, result.removed_comments = saved
        result.removed_posts = len(changes.removed)
        fields = {"last_sync": now_iso(), "last_error": None}
    except _NothingToSave:
        pass  # a 304 with nothing to remember: no file is rewritten
    except TimeoutError:
        result.error = f"the sync took longer than {SYNC_DEADLINE:.0f} s; stopped (nothing changed)"
        fields = {"last_error": result.error}
    except BroadsheetError as error:
        result.error = clean_line(str(error))
        fields = {"last_error": result.error}
        after = getattr(error, "after", None)
        if after and store.has_site(site.name):  # the site asked us to come back later (Retry-After)
            try:
                cursors = store.cursors(site.name)
                cursors["next_fetch_after"] = time.time() + min(float(after), 86400.0)
                await asyncio.to_thread(store.save_sync, site.name, posts=[], cursors=cursors)
            except BroadsheetError:
                pass
    except Exception as error:  # a bug or an unforeseen answer: report it, keep the other sites going
        log.debug("sync of %s failed", site.name, exc_info=True)
        result.error = clean_line(f"internal error: {type(error).__name__}: {error}")[:300]
        fields = {"last_error": result.error}
    finally:
        store.release(site.name)  # what was read and written of the site: not kept
        lock.release()
        if source is not None:
            result.requests = source.requests[0]
            result.skipped = source.skipped
        if own:
            await client.aclose()
    return _outcome(store, site, result, fields, record, started)


def _outcome(
    store: Store,
    site: Site,
    result: SyncResult,
    fields: dict[str, Any],
    record: dict[str, dict[str, Any]] | None,
    started: float,
) -> SyncResult:
    """What a sync of ``site`` ends with, whatever happened: its new fields (``last_sync``,
    ``last_error``, and always ``last_attempt``) on the ``Site``, then in ``record`` (many
    sites: written together, once, by ``sync_sites``) or in the store now."""
    fields["last_attempt"] = now_iso()
    for key, value in fields.items():
        setattr(site, key, value)
    if record is not None:
        record[site.name] = fields
    else:
        try:
            store.update_site_fields(site.name, **fields)
        except NotFound:
            pass  # removed meanwhile: the result says what happened
        except BroadsheetError as error:
            result.error = result.error or str(error)
    result.seconds = time.monotonic() - started
    return result


class _NothingToSave(Exception):
    """(Internal.) The site answered that nothing changed and asked for nothing new."""


REMEMBER_AFTER = 900.0
"""A site's own fetch hint (``<ttl>``, ``max-age``) is written down when it is longer than
this; a shorter one is not worth rewriting the index after every 304."""


def _unchanged(changes: Changes, before: dict[str, Any]) -> bool:
    """A 304 whose cursors differ from the stored ones only by a short fetch hint."""
    if not changes.not_modified or changes.posts or changes.comments or changes.removed:
        return False
    if changes.categories is not None:
        return False
    after = dict(changes.cursors)
    hint = float(after.pop("next_fetch_after", 0) or 0)
    old = dict(before)
    old.pop("next_fetch_after", None)
    return after == old and hint - time.time() < REMEMBER_AFTER


def _site_lock(store: Store, name: str) -> Any:
    """This process's hold on ``name``'s sync (a lock file beside its index), or None when
    another process syncs it now: two syncs of one site would undo each other's work."""
    from filelock import FileLock, Timeout

    try:
        directory = store.site_dir(name)
        directory.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(directory / "sync.lock"), timeout=0, thread_local=False, mode=0o600)
        lock.acquire()
    except Timeout:
        return None
    except OSError as error:
        from .storage import write_problem

        raise StoreError(write_problem(directory / "sync.lock", error)) from None
    return lock


def _known(store: Store, name: str, full: bool, force: bool) -> Known:
    """What the cache holds for ``name`` (read in a thread: the index can be large)."""
    return Known(cursors={} if full else store.cursors(name), posts=store.post_stamps(name), full=full, force=force)


async def _send_outbox(store: Store, site: Site, client: httpx.AsyncClient) -> tuple[int, str | None]:
    """Send the site's queued replies before reading; returns (sent, error). A broken
    outbox (corrupt, unreadable, locked) is reported, never allowed to stop the news."""
    from . import outbox

    if not sources.can_reply(site):
        return 0, None
    try:
        return await outbox.flush(store, site, client), None
    except BroadsheetError as error:
        return 0, clean_line(str(error))


async def sync_sites(
    store: Store,
    sites: Iterable[Site],
    *,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    policy: RetryPolicy | None = None,
    full: bool = False,
    force: bool = False,
    options: dict[str, dict[str, Any]] | None = None,
    concurrency: int = 8,
    processes: int = 1,
    on_done: Callable[[SyncResult], None] | None = None,
) -> list[SyncResult]:
    """Sync several sites concurrently (at most ``concurrency`` at a time in each process,
    and at most ``PER_HOST`` of them on one remote host); one failing does not stop the
    others.

    ``processes`` > 1 shares the sites out among that many processes: this one and
    ``processes - 1`` workers (``cache.syncworker``, run by this Python; see ``split_sites`` and
    ``_sync_elsewhere``). Parsing and storing are bound by the GIL, so on a machine with more
    than one core a sync of many sites ends sooner. Not with ``transport`` (a test's fake
    lives in this process only).

    ``on_done(result)`` is called as each site finishes (in the order they finish), so a
    face can show it at once; the list returned is in the order of ``sites``. The sites'
    ``last_sync``/``last_error`` are written together at the end, in one write."""
    sites = list(sites)
    groups = split_sites(sites, processes) if processes > 1 and transport is None else [sites]
    record: dict[str, dict[str, Any]] = {}
    common: dict[str, Any] = {"policy": policy, "full": full, "force": force, "options": options or {}}
    finished: list[SyncResult] = []

    def done(result: SyncResult) -> None:
        finished.append(result)
        if on_done is not None:
            on_done(result)

    try:
        async with _one_error(), asyncio.TaskGroup() as group:
            group.create_task(
                sync_group(
                    store,
                    groups[0],
                    record,
                    progress=progress,
                    transport=transport,
                    concurrency=concurrency,
                    on_done=done,
                    **common,
                )
            )
            for others in groups[1:]:
                group.create_task(
                    _sync_elsewhere(
                        store, others, record, progress=progress, concurrency=concurrency, on_done=done, **common
                    )
                )
    finally:
        try:
            await asyncio.to_thread(store.update_sites_fields, record)
        except BroadsheetError as error:
            log.info("could not record sync times: %s", error)
    by_name = {result.site: result for result in finished}
    return [by_name[site.name] for site in sites]


async def sync_group(
    store: Store,
    sites: list[Site],
    record: dict[str, dict[str, Any]],
    *,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    policy: RetryPolicy | None = None,
    full: bool = False,
    force: bool = False,
    options: dict[str, dict[str, Any]],
    concurrency: int = 8,
    on_done: Callable[[SyncResult], None],
) -> None:
    """Sync ``sites`` in this process (``sync_sites``'s share, or a worker's); each site's
    new fields go into ``record`` before ``on_done`` is told of it."""
    limit = asyncio.Semaphore(concurrency)
    hosts: dict[str, asyncio.Semaphore] = {}
    # one client for the sites that go to the network (or to the caller's transport): its
    # connections are kept alive from one site to the next on the same host. Its pool is not
    # bounded: each site bounds its own requests, and a shared bound would make one site's
    # requests wait for another's (a slow host's time-outs reported on a fast one)
    shared = make_client(transport, connections=None)

    async def one(site: Site) -> None:
        host = _host(site)
        per_host = hosts.setdefault(host, asyncio.Semaphore(concurrency if is_loopback(host) else PER_HOST))
        own = transport is None and sources.transport_for(site) is not None  # the demo: in-process
        async with limit, per_host:
            result = await sync_site(
                store,
                site,
                client=None if own else shared,
                progress=progress,
                transport=transport,
                policy=policy,
                full=full,
                force=force,
                options=options.get(site.name),
                record=record,
            )
        on_done(result)

    try:
        await asyncio.gather(*(one(site) for site in sites))
    finally:
        await shared.aclose()


PER_HOST = 4
"""Sites synced at once on one remote host (many feeds of one newspaper must not hammer it;
a server on this machine is the user's own and gets the full concurrency)."""


@contextlib.asynccontextmanager
async def _one_error() -> AsyncIterator[None]:
    """A ``TaskGroup`` that failed for one reason raises that reason, as ``gather`` did (the
    faces catch ``BroadsheetError``, not a group of them)."""
    try:
        yield
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise


def _host(site: Site) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(site.api_root or site.feed_url or site.url).hostname or site.name).lower()


# -- more than one process -----------------------------------------------------------------

SITES_PER_PROCESS = 25
"""A worker process costs ~0.15 s of start-up (measured): ``auto_processes`` adds one per
this many sites fetched over the network."""
MAX_PROCESSES = 4
WORKER_SILENCE = SYNC_DEADLINE + 60.0
"""A worker that says nothing for this long is stuck (each of its sites ends within
``SYNC_DEADLINE``, and it reports each as it ends): it is killed, and its sites still
running are reported as failed."""


_IMPORT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""Where ``cache`` is imported from: the worker imports the same code."""
_WORKER_MAIN = (  # this very `cache` package, by its path: not another one found first on sys.path
    "import importlib.util, os, sys\n"
    "package = os.path.join(sys.argv[1], 'cache')\n"
    "spec = importlib.util.spec_from_file_location(\n"
    "    'cache', os.path.join(package, '__init__.py'), submodule_search_locations=[package])\n"
    "sys.modules['cache'] = module = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(module)\n"
    "from cache.syncworker import main\n"
    "main()\n"
)


def auto_processes(sites: Iterable[Site]) -> int:
    """How many processes a sync of ``sites`` is worth: one per ``SITES_PER_PROCESS`` sites
    that go to the network, no more than the cores this process may run on, nor than
    ``MAX_PROCESSES``."""
    if getattr(sys, "frozen", False):  # a frozen app: sys.executable is not a Python to run code with
        return 1
    network = sum(1 for site in sites if sources.transport_for(site) is None)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_PROCESSES, network // SITES_PER_PROCESS))


def split_sites(sites: list[Site], processes: int) -> list[list[Site]]:
    """``sites`` shared out among at most ``processes`` groups of about equal size, this
    process's first. Sites served in-process (the demo) stay in the first group. The sites
    of one remote host stay together, so ``PER_HOST`` still bounds what that host gets; the
    sites of a loopback server (the user's own) are shared out one by one."""
    units: dict[str, list[Site]] = {}
    here: list[Site] = []
    for site in sites:
        if sources.transport_for(site) is not None:
            here.append(site)
            continue
        host = _host(site)
        units.setdefault(f"{host}\n{site.name}" if is_loopback(host) else host, []).append(site)
    groups: list[list[Site]] = [here] + [[] for _ in range(max(1, processes) - 1)]
    for unit in sorted(units.values(), key=len, reverse=True):
        min(groups, key=len).extend(unit)
    groups = [groups[0], *(group for group in groups[1:] if group)]
    if not groups[0] and len(groups) > 1:  # nothing had to stay here: one group fewer to start
        groups[0] = groups.pop()
    return groups


async def _sync_elsewhere(
    store: Store,
    sites: list[Site],
    record: dict[str, dict[str, Any]],
    *,
    progress: Progress | None,
    policy: RetryPolicy | None,
    full: bool,
    force: bool,
    options: dict[str, dict[str, Any]],
    concurrency: int,
    on_done: Callable[[SyncResult], None],
) -> None:
    """Sync ``sites`` in a worker process (``cache.syncworker``), relaying what it reports:
    progress, each site's result and new fields (into ``record``), corrupt files set aside.

    The worker gets its request as one JSON line on stdin, which stays open: the worker ends
    when it closes (this process died). Cancelling this coroutine (``q``, Ctrl-C) kills the
    worker at once; a store write it was making is left whole or not made, as after any
    kill (tests/e2e/test_kill.py). A worker that dies or falls silent costs only its sites
    still running: each is reported as failed, in one line."""
    import json
    from dataclasses import asdict, fields

    from .storage import tell_corruption

    request = {
        "directory": str(store.directory),
        "sites": [site.name for site in sites],
        "policy": asdict(policy) if policy is not None else None,
        "full": full,
        "force": force,
        "options": {site.name: options[site.name] for site in sites if site.name in options},
        "concurrency": concurrency,
        "progress": progress is not None,
        "log_level": logging.getLogger().getEffectiveLevel(),
    }
    known = {f.name for f in fields(SyncResult)}
    pending = {site.name: site for site in sites}
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",  # not the working directory first on sys.path: a ./cache there is not ours
            "-c",
            _WORKER_MAIN,
            _IMPORT_ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=1 << 20,
        )
    except OSError as error:  # no process to be had (too many open files, no memory): here then
        log.info("could not start a sync worker (%s); syncing its sites in this process", error)
        await sync_group(
            store,
            sites,
            record,
            progress=progress,
            policy=policy,
            full=full,
            force=force,
            options=options,
            concurrency=concurrency,
            on_done=on_done,
        )
        return
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    complaint = asyncio.create_task(_tail(process.stderr))
    problem = ""
    ended = False  # the worker closed its stdout: it is ending by itself
    try:
        process.stdin.write(json.dumps(request).encode() + b"\n")
        async with asyncio.timeout(WORKER_SILENCE):
            await process.stdin.drain()
        while pending:
            async with asyncio.timeout(WORKER_SILENCE):
                line = await process.stdout.readline()
            if not line:
                ended = True
                break
            try:
                message = json.loads(line)
                kind = message["type"]
            except (ValueError, TypeError, KeyError):
                continue  # not ours (a library printing): ignored
            if kind == "progress" and progress is not None and message.get("site") in pending:
                progress(str(message["site"]), str(message.get("message", "")))
            elif kind == "corrupt":
                tell_corruption(message.get("path"), message.get("moved_to"))
            elif kind == "log":  # the worker's logging, told here (`--debug` shows it)
                logging.getLogger(str(message.get("name", __name__))).log(
                    int(message.get("level", logging.INFO)), "(sync worker) %s", message.get("message", "")
                )
            elif kind == "result" and isinstance(message.get("result"), dict):
                result = SyncResult(**{k: v for k, v in message["result"].items() if k in known})
                site = pending.pop(result.site, None)
                if site is None:
                    continue
                changed = message.get("fields") or {}
                for key, value in changed.items():
                    setattr(site, key, value)
                record[site.name] = changed
                on_done(result)
    except TimeoutError:
        problem = f"the sync worker said nothing for {WORKER_SILENCE:.0f} s and was stopped"
    except (OSError, ValueError) as error:  # a broken pipe, an over-long line
        problem = f"lost touch with the sync worker: {error}"
    finally:
        # cancelled, stuck or broken: stopped now (not one that is ending: killing polls it,
        # and the poll would take its exit status from asyncio's own wait)
        if pending and not ended and process.returncode is None:
            process.kill()
        process.stdin.close()  # a worker still running ends when its stdin closes
        try:
            async with asyncio.timeout(5):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
        said = (await complaint).decode("utf-8", "replace").strip().splitlines()
    if pending:
        problem = problem or f"the sync worker stopped (exit {process.returncode})" + (f": {said[-1]}" if said else "")
        problem = clean_line(f"internal error: {problem}")[:300]
        for name in list(pending):
            record[name] = {"last_error": problem, "last_attempt": now_iso()}
            on_done(SyncResult(name, error=problem))


async def _tail(stream: asyncio.StreamReader, keep: int = 4096) -> bytes:
    """The last ``keep`` bytes ``stream`` gives before it ends (a worker's stderr, read all
    along so that it never fills its pipe and blocks)."""
    tail = b""
    while chunk := await stream.read(1 << 16):
        tail = (tail + chunk)[-keep:]
    return tail
