"""Shards sized to the site: a small site's sync writes one body file; a growing site is
re-sharded without losing a body or a comment; caches from before layouts keep working."""

from __future__ import annotations

import os
import threading

import pytest

from cache.layout import SHARDS, Layout, infer_layout, read_layout, shard_count, shard_file
from cache.models import Comment, Post, Site
from cache.store import Store


def posts(ids):
    return [Post(i, "news", f"Post {i}", date_gmt=f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}") for i in ids]


def comments(post_ids, per_post=2):
    return [
        Comment(post * 100 + k, "news", post, text=f"comment {k} on {post}", date_gmt="2026-01-02T00:00:00")
        for post in post_ids
        for k in range(1, per_post + 1)
    ]


def save(store, ids, *, per_post=2):
    ids = list(ids)
    return store.save_sync(
        "news", posts=posts(ids), bodies={i: f"body of {i}" for i in ids}, comments=comments(ids, per_post)
    )


def files(store, kind):
    folder = store.site_dir("news") / kind
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache")
    store.add_site(Site(name="news", url="https://n.test"))
    return store


def assert_everything_readable(store, ids, per_post=2):
    for i in ids:
        assert store.body("news", i) == f"body of {i}"
        assert [c.id for c in store.comments("news", i)] == [i * 100 + k for k in range(1, per_post + 1)]
    fresh = Store(store.directory)  # another process sees the same
    assert all(fresh.body("news", i) == f"body of {i}" for i in ids)


def test_shard_counts_and_names():
    assert [shard_count(n, 64) for n in (0, 1, 64, 65, 128, 129, 10_000)] == [1, 1, 1, 2, 2, 4, SHARDS]
    assert shard_file("bodies", 70, 4) == "bodies/02-of-04.json"
    assert shard_file("comments", 70, SHARDS) == "comments/06.json"  # the names before layouts


def test_a_small_site_is_one_file_of_each(store):
    save(store, range(1, 51))
    assert store.layout("news") == Layout(1, 1)
    assert files(store, "bodies") == ["00-of-01.json"] and files(store, "comments") == ["00-of-01.json"]
    assert_everything_readable(store, range(1, 51))


def test_a_growing_site_is_resharded_and_loses_nothing(store):
    save(store, range(1, 51))
    save(store, range(51, 200))  # 199 posts: 4 body shards
    assert store.layout("news").bodies == 4
    assert files(store, "bodies") == [f"0{k}-of-04.json" for k in range(4)]
    assert_everything_readable(store, range(1, 200))
    save(store, range(200, 2100), per_post=2)  # past 64 x 32: the most shards, names as before layouts
    layout = store.layout("news")
    assert layout.bodies == SHARDS and layout.comments == 16  # 4,198 comments: over 8 x 512
    assert files(store, "bodies") == [f"{k:02d}.json" for k in range(SHARDS)]
    assert_everything_readable(store, range(1, 2100, 7))


def test_the_search_index_follows_a_reshard(store):
    from cache.search import SearchIndex

    save(store, range(1, 41))
    with SearchIndex(store.directory) as index:
        index.refresh(store)
        assert {h.id for h in index.search("comment 2 on 7") if h.comment_id} == {7}
        save(store, range(41, 300))
        store.add_comment(Comment(4242, "news", 42, text="zebra crossing", date_gmt="2026-01-03T00:00:00"))
        index.refresh(store)
        assert {(h.id, h.comment_id) for h in index.search("zebra")} == {(42, 4242)}
        assert {h.id for h in index.search('"body of 299"')} == {299}
        assert len([h for h in index.search("comment", limit=5000) if h.comment_id]) == 299 * 2


def test_a_cache_from_before_layouts_keeps_its_files(store):
    """32 shards named ``<k>.json`` and no layout.json: read as they are, kept as they are."""
    save(store, range(1, 51))
    folder = store.site_dir("news")
    # rewrite the cache as an older Broadsheet left it
    import orjson

    for kind in ("bodies", "comments"):
        path = folder / shard_file(kind, 0, 1)
        rows = orjson.loads(path.read_bytes())[kind]
        path.unlink()
        by: dict[int, dict] = {}
        for key, row in rows.items():
            owner = row["post"] if kind == "comments" else int(key)
            by.setdefault(owner % SHARDS, {})[key] = row
        for k, part in by.items():
            (folder / shard_file(kind, k, SHARDS)).write_bytes(orjson.dumps({kind: part}))
    (folder / "layout.json").unlink()
    old = Store(store.directory)
    assert old.layout("news") == Layout() and read_layout(folder) == Layout()
    assert_everything_readable(old, range(1, 51))
    save(old, range(51, 60))
    assert old.layout("news") == Layout()
    assert files(old, "bodies") == sorted(f"{k:02d}.json" for k in {i % SHARDS for i in range(1, 60)})
    assert_everything_readable(old, range(1, 60))


def test_a_lost_layout_file_is_read_from_the_names(store, caplog):
    save(store, range(1, 200))
    folder = store.site_dir("news")
    (folder / "layout.json").write_bytes(b"\x00garbage")
    assert infer_layout(folder) == Layout(4, 1)
    again = Store(store.directory)
    assert_everything_readable(again, range(1, 200))
    save(again, range(200, 210))
    assert again.layout("news") == Layout(4, 1)
    assert_everything_readable(again, range(1, 210))


def test_a_reshard_killed_before_its_commit_changes_nothing(store, monkeypatch):
    """New files written, layout.json not: the old layout stays in force, and the next save
    removes the orphans (and re-shards again)."""
    from cache import storage

    save(store, range(1, 51))
    real = storage.AtomicJSONStorage._write

    def die_at_layout(self, data):
        if self.path.name == "layout.json":
            raise KeyboardInterrupt  # a kill, as far as the cache is concerned
        real(self, data)

    monkeypatch.setattr(storage.AtomicJSONStorage, "_write", die_at_layout)
    with pytest.raises(KeyboardInterrupt):
        save(store, range(51, 200))
    monkeypatch.undo()
    fresh = Store(store.directory)
    assert fresh.layout("news") == Layout(1, 1)
    assert "00-of-04.json" in files(fresh, "bodies")  # written before the kill
    assert_everything_readable(fresh, range(1, 51))
    save(fresh, range(51, 200))
    assert fresh.layout("news").bodies == 4 and "00-of-01.json" not in files(fresh, "bodies")
    assert_everything_readable(fresh, range(1, 200))


def test_a_reply_stored_while_another_thread_reshards_is_kept(store):
    """Every writer of shards holds the site's shard lock and reads the layout under it."""
    save(store, range(1, 51))
    errors = []

    def replies():
        try:
            for k in range(40):
                store_b.add_comment(Comment(-(k + 1), "news", 1 + k % 50, text=f"mine {k}", status="pending"))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    store_b = Store(store.directory)
    worker = threading.Thread(target=replies)
    worker.start()
    for start in range(51, 1000, 150):
        save(store, range(start, start + 150))
    worker.join()
    assert not errors
    fresh = Store(store.directory)
    mine = [c for i in range(1, 51) for c in fresh.comments("news", i) if c.id < 0]
    assert sorted(-c.id for c in mine) == list(range(1, 41))
    assert os.listdir(store.site_dir("news") / "bodies")  # and the bodies moved along
    assert_everything_readable(fresh, range(51, 1000, 37))


class Killed(BaseException):
    """A kill, as far as the cache is concerned."""


def kill_between_commit_and_sweep(store, monkeypatch):
    """Posts 1-60 saved, then 61-99 saved by a save killed after layout.json (1 -> 2 body
    shards) was written and before the old file was swept."""

    def killed(self, site):
        raise Killed

    save(store, range(1, 61))
    monkeypatch.setattr(Store, "_sweep", killed)
    with pytest.raises(Killed):
        save(store, range(61, 100))
    monkeypatch.undo()


def test_a_reshard_killed_after_its_commit_is_swept_by_the_next_save(store, monkeypatch):
    """Killed between layout.json and the sweep: the next save removes the old files, so a
    layout.json lost later cannot be mistaken for the old layout (found by review)."""

    kill_between_commit_and_sweep(store, monkeypatch)
    again = Store(store.directory)
    assert set(files(again, "bodies")) == {"00-of-01.json", "00-of-02.json", "01-of-02.json"}
    save(again, range(100, 120))
    assert files(again, "bodies") == ["00-of-02.json", "01-of-02.json"]
    assert_everything_readable(again, range(1, 120))


def test_a_lost_layout_with_two_layouts_on_disk_loses_nothing(store, monkeypatch):
    """layout.json lost while both layouts' files are there: reads take the larger (written
    last), and the next save merges both (the larger's rows win)."""

    kill_between_commit_and_sweep(store, monkeypatch)
    folder = store.site_dir("news")
    (folder / "layout.json").write_bytes(b"\x00" * 40)
    lost = Store(store.directory)
    assert lost.layout("news") == Layout(2, 1)
    assert_everything_readable(lost, range(1, 100))
    save(lost, range(100, 200))  # 60 committed + 100: 4 shards, from both layouts' files
    assert lost.layout("news").bodies == 4 and len(files(lost, "bodies")) == 4
    assert_everything_readable(Store(store.directory), range(1, 200))


def test_the_search_index_reads_a_site_again_when_it_is_resharded_meanwhile(store, monkeypatch):
    """A catch-up that chose a shard name just before another Store re-sharded the site
    (and swept that file) starts over instead of indexing empty bodies (found by review)."""
    from cache import search
    from cache.service import Service

    save(store, range(1, 61))
    writer = Store(store.directory)
    real = search.SearchIndex._read
    fired = []

    def racing(self, store_, site, name):
        if name.startswith("bodies/") and not fired:
            fired.append(name)
            save(writer, range(61, 140))  # 1 -> 4 body shards, the old file swept
        return real(self, store_, site, name)

    monkeypatch.setattr(search.SearchIndex, "_read", racing)
    service = Service(store=Store(store.directory))
    service.catch_up_index()
    assert fired == ["bodies/00-of-01.json"]
    monkeypatch.undo()
    assert service.catch_up_index() == 0
    assert all(service.search(f'"body of {i}"', snippets=False) for i in range(1, 140, 3))


def test_comment_counts_come_back_when_a_lost_index_is_rebuilt(store):
    """Found by a new user: after a corrupt index.json, a sync stored the posts again but
    their comment counts stayed 0 (the comments themselves had not changed)."""
    ids = range(1, 11)
    store.save_sync("news", posts=posts(ids), bodies=dict.fromkeys(ids, "b"), comments=comments(ids, 3))
    assert {p.comment_count for p in store.posts("news")} == {3}
    (store.site_dir("news") / "index.json").write_bytes(b"\x00garbage")
    (store.site_dir("news") / "index.json.prev").write_bytes(b"\x00garbage")  # nothing to put back
    again = Store(store.directory)
    assert again.posts("news") == []  # set aside: the next sync rebuilds it
    again.save_sync("news", posts=posts(ids), bodies=dict.fromkeys(ids, "b"), comments=comments(ids, 3))
    assert {p.comment_count for p in again.posts("news")} == {3}


def test_a_corrupt_index_or_subscription_list_is_replaced_by_its_previous_version(store, capsys):
    """Found by a new user: a corrupt index.json hid every stored post until a sync (and a
    corrupt sites.json every subscription). Each write keeps the version it replaces
    (``.prev``, a hard link); a corrupt file is set aside and that version put back."""
    from cache.storage import on_corruption

    moved = []
    on_corruption(lambda path, target: moved.append(path.name))
    save(store, range(1, 11))
    save(store, range(11, 21))  # the index before it is kept
    store.add_site(Site(name="other", url="https://o.test"))
    folder = store.site_dir("news")
    assert (folder / "index.json.prev").exists() and (store.directory / "sites.json.prev").exists()
    (folder / "index.json").write_bytes(b"\x00garbage")
    (store.directory / "sites.json").write_bytes(b"{not json")
    again = Store(store.directory)
    assert [s.name for s in again.sites()] == ["news"]  # the list before "other" was added
    assert sorted(p.id for p in again.posts("news")) == list(range(1, 11))
    assert {"index.json", "sites.json"} <= set(moved)
    assert list(folder.glob("index.json.corrupt-*"))  # the damaged bytes are kept for the user
    save(again, range(11, 21))  # the next sync brings the rest back
    assert len(Store(store.directory).posts("news")) == 20


def test_a_file_written_once_is_put_back_when_damaged_in_place(store):
    """Found by a new user: after a site's first sync there was no previous index to put
    back, so truncating it in place lost every post until a sync (silently, after the first
    warning). The first version is kept as a copy (a hard link would be truncated with it)."""
    save(store, range(1, 11))
    index = store.site_dir("news") / "index.json"
    kept = store.site_dir("news") / "index.json.prev"
    assert kept.read_bytes() == index.read_bytes() and kept.stat().st_ino != index.stat().st_ino
    with open(index, "r+b") as damaged:
        damaged.truncate(100)
    assert sorted(p.id for p in Store(store.directory).posts("news")) == list(range(1, 11))


def test_a_truncated_kept_file_is_corrupt_and_its_previous_version_survives(store):
    """Found by review: an empty (truncated) sites.json read as "no sites", and the next write
    linked the empty file over the kept previous version."""
    store.add_site(Site(name="other", url="https://o.test"))
    (store.directory / "sites.json").write_bytes(b"")
    again = Store(store.directory)
    assert [s.name for s in again.sites()] == ["news"]  # put back, not empty
    again.add_site(Site(name="third", url="https://t.test"))
    assert [s.name for s in Store(store.directory).sites()] == ["news", "third"]
    assert b"news" in (store.directory / "sites.json.prev").read_bytes()


def test_a_corrupt_index_is_set_aside_under_the_site_lock(store):
    """Found by review: a lock-free reader (the search index's) set a corrupt index aside and
    put the previous one back under index.json's own lock while a sync held site.lock."""
    import time

    from cache.storage import shared_lock

    save(store, range(1, 11))
    save(store, range(11, 21))
    index = store.site_dir("news") / "index.json"
    index.write_bytes(b"{garbage")
    held = threading.Event()

    def sync_holding_the_lock():
        lock = shared_lock(store.site_dir("news") / "site.lock")
        with lock:
            held.set()
            time.sleep(0.5)

    other = threading.Thread(target=sync_holding_the_lock)
    other.start()
    held.wait()
    started = time.monotonic()
    data = Store(store.directory).read_raw(index)
    waited = time.monotonic() - started
    other.join()
    assert waited >= 0.4 and sorted(map(int, data["posts"])) == list(range(1, 11))
