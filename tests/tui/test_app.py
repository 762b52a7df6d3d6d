"""Pilot tests of the reader: navigation, read state, refresh, the demo, safety, layout."""

from __future__ import annotations

import httpx

from cache import Post, Store
from cache.config import Config, ReaderConfig
from tui.widgets.site_tree import PostItem

from .conftest import notifications, screen_text, wait_for

NEWEST = [112, 111, 110, 109, 108, 107, 106, 105, 104, 103, 102, 101]


def current_id(app) -> int | None:
    return app.reader.current[1] if app.reader.current else None


def cursor_post(app) -> int | None:
    node = app.reader.site_tree.cursor_node
    return node.data.post_id if node is not None and isinstance(node.data, PostItem) else None


async def test_first_run_opens_the_demo(tmp_path, make):
    store = Store(tmp_path / "empty")
    app = make(store, transport=None)  # the demo is served offline by the data layer
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(
            pilot,
            lambda: (
                app.reader.loaded and app.reader.listing.sites.get("demo") and app.reader.listing.sites["demo"].posts
            ),
        )
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: "DEMO" in app.reader.sub_title)
        assert [s.name for s in store.sites()] == ["demo"]
        assert store.site("demo").demo
        text = screen_text(app)
        assert "The Harbour" in text and "DEMO" in text
        assert "…  12" in text or "(demo)  12" in text, "a long site name is shortened; its unread count stays"
        # the post list is collapsed under the categories, so they stay in view
        assert "All posts  12" in text and "News" in text and "About this demo" not in text


async def test_next_and_previous_post_follow_the_list(demo_store, make):
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        await pilot.press("n")  # nothing open: n opens the newest post of the list
        assert current_id(app) == 112
        await pilot.press("n", "n")
        assert current_id(app) == 110
        assert cursor_post(app) == 110  # the tree selection follows
        await pilot.press("p")  # not read ahead: shown once its worker has read it
        assert current_id(app) == 111
        await wait_for(pilot, lambda: not app.reader.opening)
        assert app.reader.article_view.article.post.id == 111
        assert "Sailing club elects" in screen_text(app)
        assert "Post navigation" in app.reader.article_view.nav.plain


async def test_next_unread_skips_read_posts(demo_store, make):
    demo_store.mark_read("demo", [112, 111])
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        await pilot.press("N")
        assert current_id(app) == 110
        await pilot.press("N")
        assert current_id(app) == 109
        await pilot.press("P")  # every newer post is read now: stay, and say so
        assert current_id(app) == 109
        assert any("No newer unread post" in str(n.message) for n in notifications(app))
        app.reader.listing.sites["demo"].set_read(111, False)
        await pilot.press("P")
        assert current_id(app) == 111


async def test_opening_marks_read_and_m_toggles(demo_store, make):
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        site = app.reader.listing.sites["demo"]
        before = site.unread
        news_before = site.unread_by_cat[2]
        await pilot.press("n")  # opens 112 (News › Local › Harbour)
        assert site.unread == before - 1
        assert site.unread_by_cat[2] == news_before - 1
        await wait_for(pilot, lambda: f"{before - 1} unread" in app.reader.sub_title)  # once keys stop
        await app.workers.wait_for_complete()
        assert 112 in Store(demo_store.directory).read_ids("demo")
        await pilot.press("m")
        await app.workers.wait_for_complete()
        assert 112 not in Store(demo_store.directory).read_ids("demo")
        assert site.unread == before
        label = app.reader.site_tree._posts[("demo", 112)][0].label.plain
        assert label.startswith("●")


async def test_space_pages_then_goes_to_next_unread(demo_store, make):
    app = make(demo_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        await pilot.press("n")
        await pilot.press("n", "n", "n", "n")  # 108: the long article
        assert current_id(app) == 108
        await wait_for(pilot, lambda: app.reader.article_view.max_scroll_y > 0)
        await pilot.press("space")
        await wait_for(pilot, lambda: app.reader.article_view.scroll_y > 0)
        assert current_id(app) == 108
        app.reader.article_view.scroll_end(animate=False, immediate=True)
        await wait_for(pilot, lambda: app.reader.article_view.at_end)
        await pilot.press("space")
        assert current_id(app) == 107


async def test_open_post_at_start_and_by_url(demo_store, make):
    app = make(demo_store, open_post="108")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        assert current_id(app) == 108
        assert "Is Saltmere’s harbour running out of room" in screen_text(app)
        await wait_for(pilot, lambda: cursor_post(app) == 108)
    link = demo_store.post("demo", 105).link
    app = make(demo_store, open_post=link, site="demo")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        assert current_id(app) == 105


async def test_password_protected_post_says_so(demo_store, make):
    app = make(demo_store, open_post="104")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        assert "password-protected" in screen_text(app)


async def test_comments_thread_collapses_and_toggles(demo_store, make):
    app = make(demo_store, open_post="112")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        thread = app.reader.comment_thread
        assert thread.comment_count == 4
        assert "Comments (4)" in screen_text(app)
        thread.focus()
        # move to the comment with a reply and collapse it
        while not thread._rows[thread.cursor].replies:
            await pilot.press("j")
        await pilot.press("enter")
        assert len(thread._rows) == 3
        await pilot.pause()
        assert "+1 reply" in screen_text(app)
        await pilot.press("enter")
        assert len(thread._rows) == 4
        await pilot.press("c")
        assert not app.reader.comment_thread.display or "-no-comments" in app.reader.main.classes
        await pilot.press("c")
        assert "-no-comments" not in app.reader.main.classes
        await pilot.press("C")
        assert "-wide-comments" in app.reader.main.classes
        assert not app.reader.article_view.display or app.reader.article_view.region.width == 0


async def test_refresh_brings_new_posts_and_keeps_the_place(demo_store, make, fake):
    app = make(demo_store, open_post="110")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        new = dict(fake.data["posts"][0])
        new.update(
            id=200,
            slug="new",
            link="https://demo.broadsheet.invalid/new/",
            date="2026-12-01T09:00:00",
            date_gmt="2026-12-01T09:00:00",
            modified="2026-12-01T09:00:00",
            modified_gmt="2026-12-01T09:00:00",
            title={"rendered": "Breaking: a brand new post"},
        )
        fake.data["posts"].append(new)
        await pilot.press("R")
        await wait_for(pilot, lambda: 200 in app.reader.listing.sites["demo"].by_id)
        await app.workers.wait_for_complete()
        assert current_id(app) == 110
        assert app.reader.article_view.article.post.id == 110
        assert cursor_post(app) == 110
        await pilot.pause()
        assert "Breaking: a brand new" in screen_text(app)
        assert not app.reader.refreshing


async def test_stale_cache_refreshes_in_background(demo_store, make, fake):
    site = demo_store.site("demo")
    site.last_sync = site.last_attempt = "2000-01-01T00:00:00"
    demo_store.update_site(site)
    before = len(fake.requests)
    config = Config(reader=ReaderConfig(refresh_after_minutes=30))
    app = make(demo_store, config=config)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(fake.requests) > before)
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: not app.reader.refreshing)
        assert Store(demo_store.directory).site("demo").last_sync > "2000"


async def test_failed_refresh_notifies_and_keeps_the_cache(demo_store, make):
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("network is down", request=request)

    for transport in (httpx.MockTransport(fail), httpx.MockTransport(lambda r: httpx.Response(500))):
        app = make(demo_store, transport=transport, open_post="110")
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda app=app: app.reader.loaded and not app.reader.opening)
            await pilot.press("R")
            await wait_for(pilot, lambda app=app: any(n.severity == "error" for n in notifications(app)))
            await app.workers.wait_for_complete()
            assert len(app.reader.listing.sites["demo"].posts) == 12
            assert app.reader.article_view.article.post.id == 110
            await pilot.press("n")
            assert current_id(app) == 109


async def test_markup_and_escapes_show_literally(tmp_path, make):
    store = Store(tmp_path / "c")
    from cache import Site

    store.add_site(
        Site(name="evil", url="https://evil.invalid/", title="[bold]Evil[/] site", last_sync="2099-01-01T00:00:00")
    )
    post = Post(
        id=1,
        site="evil",
        title="[bold red]x[/] and [link=http://x]y[/link]",
        date="2026-01-01T00:00:00",
        date_gmt="2026-01-01T00:00:00",
        author="[i]Mallory[/i]",
        comment_count=0,
    )
    store.save_sync("evil", posts=[post], bodies={1: "Body with [b]markup[/b]."}, comments=[], categories=[])
    app = make(store, open_post="1")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        text = screen_text(app)
        assert "[bold red]x[/] and [link=http://x]y[/link]" in text
        assert "[i]Mallory[/i]" in text
        assert "[bold]Evil[/] site" in text
        assert "[b]markup[/b]" in text


async def test_open_in_browser_uses_the_injected_opener(demo_store, make):
    opened: list[str] = []
    app = make(demo_store, open_post="110")
    app.open_in_browser = opened.append
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        app.reader.article_view.focus()
        await pilot.press("o")
        await app.workers.wait_for_complete()
        assert opened == [demo_store.post("demo", 110).link]
        assert not any("No web browser" in str(n.message) for n in notifications(app))


async def test_without_a_browser_o_says_so(demo_store, make):
    app = make(demo_store, open_post="110")
    app.open_in_browser = lambda url: False  # what webbrowser.open answers on an SSH host
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        app.reader.article_view.focus()
        await pilot.press("o")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: any("No web browser" in str(n.message) for n in notifications(app)))


async def test_filter_by_title(demo_store, make):
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        await pilot.press("slash")
        assert app.focused is app.reader.filter_input
        await pilot.press(*"harbour")
        assert app.reader.site_tree.ids(("demo", None)) == [112, 108, 101]
        await pilot.press("enter")
        await pilot.press("n")
        assert current_id(app) == 112
        await pilot.press("n")
        assert current_id(app) == 108
        await pilot.press("n")
        assert current_id(app) == 101
        await pilot.press("escape")
        assert len(app.reader.site_tree.ids(("demo", None))) == 12


async def test_keymap_from_config_and_help_screen(demo_store, make):
    config = Config(reader=ReaderConfig(refresh_after_minutes=0), keys={"next_post": "J", "bogus": "x"})
    app = make(demo_store, config=config)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        assert any("bogus" in str(n.message) for n in notifications(app))
        await pilot.press("J")
        assert current_id(app) == 112
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "HelpScreen")
        text = screen_text(app)
        assert "next_post" in text and "toggle_comments" in text and "refresh" in text
        await pilot.press("escape")
        assert app.screen.__class__.__name__ != "HelpScreen"


async def test_tree_enter_opens_posts_and_tab_cycles(demo_store, make):
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        assert app.focused is app.reader.site_tree
        await pilot.press("end", "l", "j", "enter")  # site → … → All posts → first post
        assert current_id(app) == 112
        await pilot.press("tab")
        assert app.focused is app.reader.article_view
        await pilot.press("tab")
        assert app.focused is app.reader.comment_thread
        await pilot.press("shift+tab", "shift+tab")
        assert app.focused is app.reader.site_tree


async def test_layout_80x24(demo_store, make):
    app = make(demo_store, open_post="112")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        await pilot.pause()
        text = screen_text(app)
        lines = text.splitlines()
        assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
        assert "Broadsheet" in lines[0]
        assert "All posts" in text
        assert "Harbour Authority approves" in text
        assert "Comments (4)" in text
        assert "Next" in lines[-1]
        assert app.reader.has_class("-narrow")


async def test_layout_160x48(demo_store, make):
    app = make(demo_store, open_post="112")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        await pilot.pause()
        text = screen_text(app)
        assert len(text.splitlines()) == 48
        assert not app.reader.has_class("-narrow") and app.reader.has_class("-wide")
        assert "Home › News › Local › Harbour" in text
        assert "Comments (4)" in text and "Tom Varcoe" in text
        # three panes side by side: the tree, the article and the comments share a row
        row = next(line for line in text.splitlines() if "All posts" in line)
        assert "Harbour Authority" in text and len(row) == 160


async def test_a_second_refresh_waits_for_the_first(demo_store, make, fake):
    import threading

    gate = threading.Event()
    calls = []

    def slow(request):
        calls.append(request.url.path)
        gate.wait(5)
        return fake(request)

    app = make(demo_store, transport=httpx.MockTransport(slow))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        await pilot.press("R")
        await wait_for(pilot, lambda: calls)
        await pilot.press("R")
        assert any("already running" in str(n.message) for n in notifications(app))
        assert app.reader.refreshing
        gate.set()
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: not app.reader.refreshing)
        running = [w for w in app.workers if w.group == "refresh" and not w.is_finished]
        assert running == []


async def test_a_refresh_does_not_mark_read_what_the_reader_marked_unread(demo_store, make, fake):
    app = make(demo_store, open_post="112")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        await pilot.press("m")  # 112 was opened (read); back to unread
        await app.workers.wait_for_complete()
        assert 112 not in Store(demo_store.directory).read_ids("demo")
        fake.data["comments"].append(
            {
                "id": 5000,
                "post": 112,
                "parent": 0,
                "author_name": "Late",
                "date": "2026-12-01T10:00:00",
                "date_gmt": "2026-12-01T10:00:00",
                "content": {"rendered": "<p>A new comment</p>"},
                "status": "approved",
                "link": "",
            }
        )
        await pilot.press("R")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: not app.reader.refreshing)
        assert "A new comment" in screen_text(app) or app.reader.comment_thread.comment_count == 5
        assert 112 in {p.id for p in Store(demo_store.directory).posts("demo", unread_only=True)}


async def test_a_post_removed_by_a_refresh_is_closed(demo_store, make, fake):
    app = make(demo_store, open_post="111")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        fake.data["posts"] = [p for p in fake.data["posts"] if p["id"] != 111]
        await pilot.press("R")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: app.reader.current is None)
        assert "no longer on the site" in screen_text(app)
        await pilot.press("n")  # still navigable
        assert app.reader.current is not None


async def test_quit_during_a_refresh_of_a_silent_site_is_immediate(demo_store, make):
    import asyncio
    import threading
    import time

    waiting: list[httpx.Request] = []
    ended = threading.Event()

    async def silent(request: httpx.Request) -> httpx.Response:
        waiting.append(request)
        try:
            await asyncio.Event().wait()  # never answers, never times out
        finally:
            ended.set()
        raise AssertionError("unreachable")

    app = make(demo_store, transport=httpx.MockTransport(silent))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        await pilot.press("R")
        await wait_for(pilot, lambda: waiting)
        assert app.reader.refreshing
        started = time.monotonic()
        await pilot.press("q")
    assert time.monotonic() - started < 1
    assert ended.wait(1), "the refresh was not cancelled"
    assert Store(demo_store.directory).site("demo").last_error is None  # a cancel is not a failure


async def test_bodies_and_comments_are_read_off_the_ui_thread(demo_store, make, monkeypatch):
    import threading

    threads: list[bool] = []

    def recorded(method):
        def recording(self, *args, **kwargs):
            threads.append(threading.current_thread() is threading.main_thread())
            return method(self, *args, **kwargs)

        return recording

    # the body, and the look-ups of the start post (they parse the site's whole index)
    for name in ("body", "find_post", "post", "read_ids", "categories"):
        monkeypatch.setattr(Store, name, recorded(getattr(Store, name)))
    app = make(demo_store, open_post="110")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        await wait_for(pilot, lambda: not app.reader.opening)
        await pilot.press("n", "p", "p")
        await wait_for(pilot, lambda: current_id(app) == 111 and not app.reader.opening)
        await app.workers.wait_for_complete()
    assert threads and not any(threads)


async def test_focused_pane_is_marked(demo_store, make):
    app = make(demo_store, open_post="112")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        reader = app.reader
        for pane in (reader.site_tree, reader.article_view, reader.comment_thread):
            pane.focus()
            await pilot.pause()
            edges = {p: p.styles.border_left[0] for p in (reader.site_tree, reader.article_view, reader.comment_thread)}
            assert edges[pane] == "tall"
            assert [e for p, e in edges.items() if p is not pane] == ["blank", "blank"]


async def test_the_search_index_catches_up_in_the_background(demo_store, make):
    """A sync does not index; the reader brings the index up to date after loading the
    listing, so ``/`` has nothing left to do."""
    from cache.search import SearchIndex

    with SearchIndex(demo_store.directory) as index:
        assert index.stale_sites(demo_store) == ["demo"]
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        await app.workers.wait_for_complete()
        with SearchIndex(demo_store.directory) as index:
            assert index.stale_sites(demo_store) == []
            assert index.search("harbour")
