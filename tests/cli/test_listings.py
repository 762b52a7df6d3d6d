"""The listings over many sites (``posts --limit``, ``categories``, ``sites``) answer from the
summaries exactly as the index-reading path does; ``sync`` prints each site as it finishes."""

from __future__ import annotations

import json

import httpx
import pytest

from cache.demo import FakeWordPress
from cache.models import Post, Site
from cache.store import RECENT, Store
from cache.sync import SyncResult
from tests.factories import many_sites, wp_site
from tui.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.fixture
def many():
    store = Store()
    return store, many_sites(store)


@pytest.mark.parametrize("limit", [1, 20, 75])
@pytest.mark.parametrize("flags", [[], ["--unread"], ["--json"], ["--unread", "--json"]])
def test_posts_limit_from_summaries_equals_the_index_path(many, capsys, limit, flags):
    """Without a limit ``posts`` reads every index; its first N lines are what ``--limit N``
    must print (dates tie across sites: the merge has to be the same stable one)."""
    full = run(capsys, "posts", *flags)
    limited = run(capsys, "posts", "--limit", str(limit), *flags)
    if "--json" in flags:
        assert json.loads(limited) == json.loads(full)[:limit]
    else:
        assert limited.splitlines() == full.splitlines()[:limit]


def test_posts_unread_falls_back_to_the_index_when_the_newest_are_read(many, capsys):
    store, names = many
    newest = [p.id for p in store.posts(names[0], limit=RECENT)]
    store.mark_read(names[0], newest[3:])  # 3 unread among the summary's rows...
    store.mark_read(names[0], range(1, 31), read=False)  # ...and 30 older than all of them
    full = run(capsys, "posts", "--site", names[0], "--unread")
    limited = run(capsys, "posts", "--site", names[0], "--unread", "--limit", "10")
    assert limited.splitlines() == full.splitlines()[:10]
    assert len(limited.splitlines()) == 10


def test_categories_from_summaries_equal_the_index(many, capsys):
    store, names = many
    rows = json.loads(run(capsys, "categories", "--json"))
    for name in names:
        mine = {r["id"]: r for r in rows if r["site"] == name}
        assert {c.id: c.count for c in store.categories(name)} == {i: r["count"] for i, r in mine.items()}
        unread = store.category_unread(name)
        assert {i: r["unread"] for i, r in mine.items()} == {c.id: unread.get(c.id, 0) for c in store.categories(name)}
    text = run(capsys, "categories").splitlines()
    assert text[0] == f"{names[0]}:" and text[1].startswith("  Empty (0)")
    assert sum(1 for line in text if line.endswith(":")) == len(names)


def test_sites_counts_from_summaries_equal_the_index(many, capsys):
    store, names = many
    store.add_site(Site(name="never", url="https://never.test"))  # subscribed, never synced
    rows = {r["name"]: r for r in json.loads(run(capsys, "sites", "--json"))}
    unread = store.unread_counts()
    for name in [*names, "never"]:
        assert rows[name]["posts"] == len(store.post_ids(name))
        assert rows[name]["unread"] == unread[name]
    assert rows["never"]["posts"] == 0


def test_listings_follow_an_index_the_summary_no_longer_matches(many, capsys):
    """A sync killed after committing the index but before its summary: the listings show
    what the index holds."""
    from cache.storage import open_db, storage

    store, names = many
    index = open_db(store.directory / "sites" / names[1] / "index.json")
    with storage(index).batch():
        data = dict(storage(index).read())
        data["posts"] = {
            **data["posts"],
            "5000": Post(5000, names[1], "Committed, not summarised", date_gmt="2040-01-01T00:00:00").to_row(),
        }
        storage(index).write(data)
    assert "Committed, not summarised" in run(capsys, "posts", "--limit", "1")
    rows = {r["name"]: r for r in json.loads(run(capsys, "sites", "--json"))}
    assert rows[names[1]]["posts"] == 131


def test_sync_prints_every_site_and_a_failure_stops_none(capsys):
    store = Store()
    for name in ("one", "two", "three"):
        store.add_site(Site(name=name, url=f"https://{name}.test", api_root=f"https://{name}.test/wp-json/"))
    fake = FakeWordPress(wp_site(posts=3))

    def handler(request):
        if request.url.host == "two.test":
            return httpx.Response(404, json={"code": "rest_no_route"})
        return fake(request)

    code = main(["sync"], transport=httpx.MockTransport(handler))
    out, err = capsys.readouterr()
    assert code == 1
    assert sorted(line.split(":")[0] for line in out.splitlines()) == ["one", "three"]
    assert all(" 3 new, " in line for line in out.splitlines())
    assert err.splitlines() == [line for line in err.splitlines() if line.startswith("two: failed: ")] and err


def test_sync_display_on_a_terminal_keeps_a_status_line_under_the_results(capsys):
    from tui.cli.sites import SyncDisplay

    display = SyncDisplay(tty=True)
    display.progress("a", "fetching")
    display.progress("b", "fetching")
    display.done(SyncResult("a", new_posts=2))
    display.clear()
    out, err = capsys.readouterr()
    assert out == SyncResult("a", new_posts=2).summary() + "\n"
    assert "sync: 0 done, 2 running" in err and "sync: 1 done, 1 running" in err
    assert err.endswith("\r\x1b[K")  # the status line is gone at the end


def test_categories_sort_without_accents_or_case_the_same_as_the_sidebar(capsys, tmp_path):
    from cache.models import Category, Site
    from cache.store import Store
    from tui.cli import main
    from tui.listing import sort_key

    store = Store(tmp_path / "c")
    store.add_site(Site(name="s", url="https://s.example/"))
    names = ["World", "Économie", "arts", "Zoo", "ébène"]
    store.save_sync("s", posts=[], categories=[Category(i + 1, "s", n) for i, n in enumerate(names)])
    capsys.readouterr()
    assert main(["--cache-dir", str(tmp_path / "c"), "categories"]) == 0
    shown = [line.split(" (")[0].strip() for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert shown == ["arts", "ébène", "Économie", "World", "Zoo"] == sorted(names, key=sort_key)
