import json
import multiprocessing
import os

import pytest

from cache.errors import StoreError
from cache.storage import AtomicJSONStorage, open_db, storage, table


def test_write_is_atomic_and_readable(tmp_path):
    db = open_db(tmp_path / "x.json")
    table(db, "t").insert({"a": 1})
    assert json.loads((tmp_path / "x.json").read_text())["t"]["1"] == {"a": 1}
    # no temporary files left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json", "x.json.lock"]


def test_batch_writes_once_and_nothing_on_error(tmp_path):
    path = tmp_path / "x.json"
    db = open_db(path)
    table(db, "t").insert({"n": 0})
    before = path.read_bytes()
    with pytest.raises(RuntimeError), storage(db).batch():
        table(db, "t").insert({"n": 1})
        table(db, "t").insert({"n": 2})
        raise RuntimeError("interrupted")
    assert path.read_bytes() == before
    assert [d["n"] for d in table(db, "t").all()] == [0]
    with storage(db).batch():
        table(db, "t").insert({"n": 1})
        table(db, "t").insert({"n": 2})
    assert [d["n"] for d in table(open_db(path), "t").all()] == [0, 1, 2]


def test_sees_changes_made_by_another_handle(tmp_path):
    first, second = open_db(tmp_path / "x.json"), open_db(tmp_path / "x.json")
    table(first, "t").insert({"n": 1})
    assert len(table(second, "t")) == 1
    table(second, "t").insert({"n": 2})
    assert sorted(d["n"] for d in table(first, "t").all()) == [1, 2]


def test_corrupt_file_is_moved_aside_not_lost(tmp_path):
    path = tmp_path / "x.json"
    path.write_bytes(b'{"t": {"1": {"a": ')
    seen = []
    from cache import storage as storage_module

    storage_module.on_corruption(lambda p, moved: seen.append(moved))
    try:
        db = open_db(path)
        assert table(db, "t").all() == []
    finally:
        storage_module._corruption_listeners.clear()
    moved = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(moved) == 1 and moved[0].read_bytes() == b'{"t": {"1": {"a": '
    assert seen == moved
    table(db, "t").insert({"a": 2})  # and the store works again
    assert table(open_db(path), "t").all() == [{"a": 2}]


def test_non_object_json_counts_as_corrupt(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[1, 2, 3]")
    assert AtomicJSONStorage(path).read() is None
    assert any(".corrupt-" in p.name for p in tmp_path.iterdir())


def test_failed_write_is_a_store_error_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "x.json"
    db = open_db(path)
    table(db, "t").insert({"a": 1})
    with pytest.raises(StoreError, match="cannot write"), storage(db).batch():
        table(db, "t").insert({"a": 2})
        os.unlink(path)
        path.mkdir()  # the replace will fail: a directory is in the way
    path.rmdir()
    assert not any(p.name.startswith(".x.json.") for p in tmp_path.iterdir())


def _bump(path: str, start: int, count: int) -> None:
    db = open_db(path)
    for i in range(start, start + count):
        with storage(db).batch():
            tbl = table(db, "t")
            row = tbl.get(doc_id=1)
            tbl.update({"n": row["n"] + 1, f"k{i}": True}, doc_ids=[1])


def test_two_processes_never_lose_each_others_writes(tmp_path):
    path = str(tmp_path / "x.json")
    table(open_db(path), "t").insert({"n": 0})
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_bump, args=(path, i * 100, 40)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    row = table(open_db(path), "t").get(doc_id=1)
    assert row["n"] == 80
    assert sum(1 for k in row if k.startswith("k")) == 80


def test_temp_files_left_by_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    import os
    import time

    from cache.storage import STALE_TEMP, atomic_write

    target = tmp_path / "index.json"
    old = tmp_path / ".index.json.abc12_yz"
    young = tmp_path / ".index.json.def45678"  # another process may be writing it right now
    other = tmp_path / ".state.json.x9y8z7w6"  # another file's, left as long ago: also gone
    mine = tmp_path / ".keep"  # not a temporary file of ours
    for leftover in (old, young, other, mine):
        leftover.write_bytes(b"x" * 1000)
    past = time.time() - STALE_TEMP - 5
    for leftover in (old, other, mine):
        os.utime(leftover, (past, past))
    atomic_write(target, b"{}")
    assert not old.exists() and not other.exists()
    assert young.exists() and mine.exists()
    assert target.read_bytes() == b"{}"


def test_a_read_only_cache_is_one_clear_line_and_loses_nothing(tmp_path, monkeypatch):
    import errno
    import tempfile

    import pytest

    from cache.errors import StoreError
    from cache.models import Site
    from cache.store import Store

    store = Store(tmp_path)
    store.add_site(Site(name="a", url="https://a.example/"))
    store.mark_read("a", [1])

    def read_only(*args, **kwargs):  # what a read-only mount answers (root ignores chmod)
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(
        StoreError, match=r"^the cache dir .* is read-only \(Read-only file system\); nothing was changed$"
    ):
        store.mark_read("a", [2])
    monkeypatch.undo()
    assert Store(tmp_path).read_ids("a") == {1}


def test_write_problems_are_said_in_the_users_terms(tmp_path):
    import errno

    from cache.storage import write_problem

    assert "is read-only" in write_problem(tmp_path / "x.json", OSError(errno.EROFS, "Read-only file system"))
    assert "is full" in write_problem(tmp_path / "x.json", OSError(errno.ENOSPC, "No space left on device"))


def test_the_link_to_a_previous_version_is_not_swept_while_it_is_being_made(tmp_path):
    """Found by review: the hard link ``_link_previous`` makes keeps its file's old mtime, so
    another writer in the directory swept it as a killed writer's temporary file."""
    import os
    import time

    from cache.storage import STALE_TEMP, _remove_stale_temps

    old = tmp_path / "index.json"
    old.write_bytes(b"{}")
    past = time.time() - STALE_TEMP - 3600
    os.utime(old, (past, past))
    link = tmp_path / ".index.json.abcd1234p"
    os.link(old, link)  # being made right now: its ctime is now
    _remove_stale_temps(tmp_path)
    assert link.exists()
