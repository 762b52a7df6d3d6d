"""The sidebar at scale and its keys: summaries first, sites loaded on demand, folders,
unread only, dates, width, mark read, per-site refresh, reader state, the demo, sorting."""

from __future__ import annotations

import gc
import tomllib

import httpx
from textual import events

from cache import Category, Post, Site, Store
from cache.config import load_config, save_reader_setting
from tui.listing import Listing, sort_key
from tui.screens.reader import FULL_GC_EVERY
from tui.widgets.site_tree import SCROLL_MARGIN, PostItem

from .conftest import notifications, screen_text, settle, wait_for


def build(store: Store, sites: list[tuple[str, str, int]], *, cats: list[str] = ("News",)) -> None:  # type: ignore[assignment]
    """``sites``: (name, folder, posts) each; post ids 1..posts, newest last; every post in
    category 1; even ones also in 2, …"""
    store.add_sites(
        [
            Site(
                name=name,
                url=f"https://{name}.invalid/",
                title=name.title(),
                folder=folder,
                last_sync="2099-01-01T00:00:00",
            )
            for name, folder, _ in sites
        ]
    )
    for n, (name, _, count) in enumerate(sites):
        categories = [Category(i + 1, name, title) for i, title in enumerate(cats)]
        posts = [
            Post(
                pid,
                name,
                f"{name} story {pid}",
                date=f"2026-0{1 + n % 9}-{pid:02d}T10:00:00",
                date_gmt=f"2026-0{1 + n % 9}-{pid:02d}T10:00:00",
                categories=[1 + (pid % len(cats))],
            )
            for pid in range(1, count + 1)
        ]
        store.save_sync(
            name,
            posts=posts,
            bodies={p.id: f"Body of {name} {p.id}." for p in posts},
            categories=categories,
            cursors={"modified_after": "2099-01-01T00:00:00"},
        )
    store.close()


SITES = [("alpha", "Work", 5), ("beta", "", 4), ("gamma", "Work", 3), ("delta", "Play", 0), ("eps", "", 2)]


def labels(app) -> list[str]:
    lines = []
    tree = app.reader.site_tree

    def walk(node, depth):
        for child in node.children:
            lines.append("  " * depth + child.label.plain)
            if child.is_expanded:
                walk(child, depth + 1)

    walk(tree.root, 0)
    return lines


def test_sort_key_ignores_accents_and_case():
    names = ["World", "économie", "Économie", "Asia", "zebra", "Ölmarkt"]
    assert sorted(names, key=sort_key) == ["Asia", "Économie", "économie", "Ölmarkt", "World", "zebra"]


async def test_tree_paints_from_summaries_and_loads_a_site_when_needed(tmp_path, make):
    store = Store(tmp_path / "c")
    build(store, SITES)
    app = make(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded)
        await app.workers.wait_for_complete()
        assert app.reader.listing.sites == {}  # nothing but summaries
        # folders first (by name), their sites in subscription order, then the loose sites
        assert labels(app)[:7] == ["Play", "  Delta", "Work  8", "  Alpha  5", "  Gamma  3", "Beta  4", "Eps  2"]
        tree = app.reader.site_tree
        tree._move_to(tree._sites["alpha"])
        await pilot.press("l")  # expanding a site reads its posts, in a thread
        await wait_for(pilot, lambda: "alpha" in app.reader.listing.sites)
        assert list(app.reader.listing.sites) == ["alpha"]
        # categories first, "All posts" last and collapsed
        assert labels(app)[3:6] == ["  Alpha  5", "    News  5", "    All posts  5"]


async def test_n_crosses_into_the_next_site_and_memory_is_bounded(tmp_path, make):
    store = Store(tmp_path / "c")
    build(store, [(f"s{n}", "", 2) for n in range(8)])
    app = make(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded)
        reader = app.reader
        seen, navs = [], []
        for _ in range(16):
            await pilot.press("n")
            await wait_for(pilot, lambda: reader.current is not None and reader.current[0][0] in reader.listing.sites)
            seen.append((reader.current[0][0], reader.current[1]))
            await wait_for(pilot, lambda: not reader.opening)
            navs.append(reader.article_view.nav.plain)
        assert seen == [(f"s{n}", pid) for n in range(8) for pid in (2, 1)]
        s1 = reader.listing.summaries["s1"].site
        assert f"n  On to the next site: {s1.title or s1.name}" in navs[1]  # what n does there
        assert "p  On to the previous site: " in navs[2] and "Newer: " in navs[3]
        assert "n  (no older post in this list)" in navs[-1]  # the very end
        await app.workers.wait_for_complete()
        assert len(reader.listing.sites) <= 4 + 1  # the LRU, plus the open post's site
        await pilot.press("n")  # the very end
        assert any("No older post" in str(n.message) for n in notifications(app))
        await pilot.press("P")  # back across, to the previous site's oldest unread… none: all read
        assert reader.current[1] == 1 and reader.current[0][0] == "s7"


async def test_a_held_n_loses_no_press_while_the_next_site_is_read(tmp_path, make):
    store = Store(tmp_path / "c")
    build(store, [(f"s{n}", "", 3) for n in range(6)])
    app = make(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded)
        for _ in range(15):  # key repeat: all queued before the first is handled
            app.post_message(events.Key("n", "n"))
        await wait_for(pilot, lambda: app.reader.current == (("s4", None), 1))
        await settle(app)
        await pilot.pause(0.1)
        assert app.reader.current == (("s4", None), 1)
        # another key while presses wait: they are void, the new key goes from where the reader is
        reader = app.reader
        reader.listing.sites.pop("s5", None)  # s5 must be read again
        reader._load_site = lambda site: None  # …and is never read: the presses keep waiting
        for _ in range(3):
            app.post_message(events.Key("n", "n"))
        app.post_message(events.Key("p", "p"))
        await pilot.pause(0.1)
        assert reader.current == (("s4", None), 2) and reader._pending is None


async def test_n_into_another_site_folds_what_it_opened_and_keeps_the_cursor_off_the_edges(tmp_path, make):
    store = Store(tmp_path / "c")
    build(store, [(f"s{n}", "", 40) for n in range(4)])
    app = make(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded)
        reader, tree = app.reader, app.reader.site_tree
        tree._sites["s3"].expand()  # opened by the user: stays open
        await wait_for(pilot, lambda: "s3" in reader.listing.sites)
        reader.open_post(("s0", None), 2)
        await wait_for(
            pilot, lambda: tree.cursor_node is not None and tree.cursor_node.data == PostItem(("s0", None), 2)
        )
        for _ in range(2):
            await pilot.press("n")
            await wait_for(pilot, lambda: not reader.opening)
        assert reader.current == (("s1", None), 40)
        # the article first, the tree's cursor a few frames later
        await wait_for(
            pilot, lambda: tree.cursor_node is not None and tree.cursor_node.data == PostItem(("s1", None), 40)
        )
        assert not tree._sites["s0"].is_expanded and not tree._lists[("s0", None)].is_expanded
        assert tree._sites["s1"].is_expanded and tree._sites["s3"].is_expanded
        height = tree.scrollable_content_region.height
        for _ in range(height):  # down s1's list: the cursor never sits on the tree's edge
            await pilot.press("n")
            await wait_for(
                pilot,
                lambda: not reader.opening and getattr(tree.cursor_node.data, "post_id", None) == reader.current[1],
            )
            line = tree.cursor_node.line - int(tree.scroll_y)
            assert SCROLL_MARGIN <= line < height - SCROLL_MARGIN, (line, height)
        # the tree rebuilt (a sync, a filter, U): what n opened in s1 still folds on leaving it
        tree.refill()
        reader.open_post(("s1", None), 1)
        await wait_for(pilot, lambda: not reader.opening)
        await pilot.press("n")
        await wait_for(pilot, lambda: getattr(tree.cursor_node.data, "key", None) == ("s2", None))
        assert not tree._sites["s1"].is_expanded and tree._sites["s2"].is_expanded and tree._sites["s3"].is_expanded


async def test_the_cursor_returns_to_the_open_post_after_u_or_a_filter_hid_it(demo_store, make):
    app = make(demo_store, open_post="110")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        tree = app.reader.site_tree

        def on_post() -> bool:
            return tree.cursor_node is not None and tree.cursor_node.data == PostItem(app.reader.current[0], 110)

        await wait_for(pilot, on_post)
        for keys in (["U"], ["U"], ["slash", *"zzzz"], ["escape"]):
            await pilot.press(*keys)
            await pilot.pause()
            if keys == ["U"] and not app.reader.lists.unread_only:
                assert on_post()
        assert on_post()  # not left on "All posts", where the rebuilds without it put it
        # a cursor the user moved elsewhere stays there while a filter is typed
        tree._move_to(next(node for key, node in tree._lists.items() if key[1] is not None))
        title = app.reader.article_view.article.post.title
        await pilot.press("slash", *title[:4].lower())  # the open post matches it
        await pilot.pause()
        assert not on_post()
        await pilot.press("escape")


async def test_the_reader_makes_full_collections_rare_and_puts_them_back(demo_store, make):
    before = gc.get_threshold()
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded)
        assert gc.get_threshold() == (*before[:2], FULL_GC_EVERY)
    assert gc.get_threshold() == before


async def test_another_process_sync_updates_the_sidebar_with_no_post_open(tmp_path, make):
    store = Store(tmp_path / "c")
    build(store, SITES)
    app = make(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded)
        other = Store(tmp_path / "c")  # the shell, syncing beta
        other.save_sync(
            "beta",
            posts=[
                Post(
                    9,
                    "beta",
                    "beta story 9",
                    date="2026-09-09T00:00:00",
                    date_gmt="2026-09-09T00:00:00",
                    categories=[1],
                )
            ],
        )
        app.reader._watch_cache()
        await wait_for(pilot, lambda: app.reader.listing.summaries["beta"].unread == 5)
        await wait_for(pilot, lambda: "Beta  5" in labels(app))


async def test_listing_reloads_do_not_leak_into_the_permanent_generation(demo_store, make):
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded)
        counts = []
        for _ in range(4):
            app.reader.load_listing()
            await app.workers.wait_for_complete()
            await pilot.pause(0.05)
            app.reader._refreeze()
            counts.append(gc.get_freeze_count())
        assert max(counts) - min(counts) < 300, counts  # was ~1,240 more per reload
    gc.unfreeze()


async def test_unread_only_dates_and_sidebar_width(tmp_path, demo_store, make):
    demo_store.mark_read("demo", [112, 111])
    path = tmp_path / "config.toml"
    path.write_text('[reader]\ntheme = "textual-light"\n\n[keys]\nnext_post = "n"\n')
    config = load_config(path)
    config.reader.refresh_after_minutes = 0
    app = make(demo_store, config=config)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded)
        tree = app.reader.site_tree
        tree.reveal(("demo", None), 110)
        assert 112 in tree.ids(("demo", None))
        await pilot.press("U")
        assert tree.ids(("demo", None))[:2] == [110, 109]
        assert "unread only" in app.reader.sub_title
        await pilot.press("U")
        assert tree.ids(("demo", None))[0] == 112
        before = tree.size.width
        for _ in range(4):
            await pilot.press("greater_than_sign")
        await wait_for(pilot, lambda: tree.size.width > before)
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: tree.show_dates)
        label = tree._posts[("demo", 110)][0].label.plain
        assert "2026-" in label  # wide enough for dates
        saved = tomllib.loads(path.read_text())
        assert saved["reader"]["sidebar_width"] == app.config.reader.sidebar_width
        assert saved["reader"]["theme"] == "textual-light" and saved["keys"] == {"next_post": "n"}
        await pilot.press("less_than_sign")
        await app.workers.wait_for_complete()
        assert tomllib.loads(path.read_text())["reader"]["sidebar_width"] == app.config.reader.sidebar_width


def test_save_reader_setting_keeps_other_keys_and_validates(tmp_path):
    path = tmp_path / "config.toml"
    save_reader_setting(path, "sidebar_width", 40)  # a missing file is created
    path.write_text(path.read_text() + "\n[sites.news]\nrefresh_minutes = 5\n")
    save_reader_setting(path, "sidebar_width", 52)
    config = load_config(path)
    assert config.reader.sidebar_width == 52 and config.sites["news"].refresh_minutes == 5
    import pytest

    from cache.errors import ConfigError

    with pytest.raises(ConfigError):
        save_reader_setting(path, "sidebar_width", "wide")
    with pytest.raises(ConfigError):
        save_reader_setting(path, "nosuch", 1)


async def test_a_marks_the_selected_category_site_and_folder_read(tmp_path, make):
    store = Store(tmp_path / "c")
    build(store, SITES, cats=["News", "Sport"])
    app = make(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded)
        tree = app.reader.site_tree
        tree.select_site("alpha")
        await app.workers.wait_for_complete()
        tree._move_to(tree._lists[("alpha", 2)])  # Sport: the odd posts
        await pilot.press("A")
        await pilot.pause()
        question = [line for line in screen_text(app).splitlines() if "Mark every" in line]
        assert question and "Sport" in question[0]  # the question names it, in the box
        assert "y / enter: yes" in screen_text(app)
        await pilot.press("n")  # no: nothing happens
        await app.workers.wait_for_complete()
        assert Store(tmp_path / "c").read_ids("alpha") == set()
        await pilot.press("A", "y")
        await wait_for(pilot, lambda: Store(tmp_path / "c").read_ids("alpha") == {1, 3, 5})
        await wait_for(pilot, lambda: app.reader.listing.summaries["alpha"].unread == 2)
        tree._move_to(tree._folders["Work"])
        await pilot.press("A", "enter")
        await wait_for(
            pilot,
            lambda: (
                app.reader.listing.summaries["gamma"].unread == 0 and app.reader.listing.summaries["alpha"].unread == 0
            ),
        )
        assert Store(tmp_path / "c").read_ids("gamma") == {1, 2, 3}
        assert "Work" in labels(app) and "Beta  4" in labels(app)
        assert any("Marked the folder Work read" in str(n.message) for n in notifications(app))


async def test_r_on_a_site_refreshes_only_that_site(demo_store, make, fake):
    demo_store.add_site(
        Site(
            name="other",
            url="https://other.invalid/",
            api_root="https://other.invalid/wp-json/",
            last_sync="2099-01-01T00:00:00",
        )
    )
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.host)
        return fake(request)

    app = make(demo_store, transport=httpx.MockTransport(handler))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded)
        tree = app.reader.site_tree
        assert "demo" not in app.reader.listing.summaries  # hidden once a real site exists
        tree._move_to(tree._sites["other"])
        await pilot.press("R")
        await wait_for(pilot, lambda: not app.reader.refreshing and calls)
        await app.workers.wait_for_complete()
        assert set(calls) == {"other.invalid"}
        assert any("other" in str(n.message) for n in notifications(app))
        await pilot.press("R")  # again: nothing has changed since
        await wait_for(pilot, lambda: any("Nothing new on other" in str(n.message) for n in notifications(app)))
        assert "refreshing" not in app.reader.sub_title


async def test_search_lists_matches_opens_them_and_escape_returns(demo_store, make):
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded)
        await pilot.press("slash", *"pontoon")
        assert app.reader.site_tree.ids(("demo", None)) == [112]  # the title filter, as you type
        await pilot.press("enter")  # …and the full text
        await wait_for(pilot, lambda: app.reader.site_tree.searching)
        text = screen_text(app)
        assert "Search: pontoon" in text
        found = app.reader.site_tree._search[1]
        assert found and [f.date for f in found] == sorted((f.date for f in found), reverse=True)
        assert len({(f.site, f.post_id) for f in found}) == len(found)
        assert app.reader.search_terms == ["pontoon"]
        await pilot.press("enter")  # the first result
        await wait_for(pilot, lambda: app.reader.current is not None and not app.reader.opening)
        assert app.reader.current[1] == found[0].post_id
        await pilot.press("escape")
        assert not app.reader.site_tree.searching
        assert "Search:" not in screen_text(app)


async def test_reopening_returns_to_the_last_post(demo_store, make):
    app = make(demo_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        await pilot.press("n", "n", "n", "n", "n")  # 108: the long article
        await wait_for(pilot, lambda: app.reader.current[1] == 108 and app.reader.article_view.max_scroll_y > 5)
        app.reader.article_view.scroll_to(y=5, animate=False, immediate=True)
        await pilot.pause(0.05)
    app = make(demo_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.reader.current is not None and app.reader.current[1] == 108)
        await wait_for(pilot, lambda: app.reader.article_view.scroll_y == 5)


async def test_unknown_site_warns(demo_store, make):
    app = make(demo_store, site="nosuch")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded)
        await wait_for(pilot, lambda: any("no site called 'nosuch'" in str(n.message) for n in notifications(app)))


def test_listing_counts_agree_with_the_categories_command(tmp_path):
    store = Store(tmp_path / "c")
    build(store, SITES[:2], cats=["News", "Sport", "Économie"])
    store.mark_read("alpha", [1, 2])
    listing = Listing.load(store, sites=["alpha"])
    loaded = listing.sites["alpha"].summary
    fresh = Listing.load(store).summaries["alpha"]
    assert loaded.unread_by_cat == fresh.unread_by_cat == store.summary("alpha").category_unread()
    assert loaded.unread == fresh.unread == 3
    names = [loaded.categories[c].name for c in loaded.children[0]]
    assert names == ["Économie", "News", "Sport"]


async def test_a_refresh_of_many_failing_sites_is_one_toast(tmp_path, make):
    from tui.screens.reader import TOASTS

    store = Store(tmp_path / "c")
    build(store, [(f"s{n}", "", 1) for n in range(8)])

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("network is down", request=request)

    app = make(store, transport=httpx.MockTransport(down))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded)
        app.reader.article_view.focus()  # not a site under the cursor: every site
        await pilot.press("R")
        await wait_for(pilot, lambda: any(n.severity == "error" for n in notifications(app)))
        await app.workers.wait_for_complete()
        await pilot.pause()
        errors = [n for n in notifications(app) if n.severity == "error"]
        assert len(errors) == 1 and "…and 6 more (8 sites failed" in str(errors[0].message)
        assert str(errors[0].message).count("\n") == TOASTS - 1  # two sites' lines, then the count
