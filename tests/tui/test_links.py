"""`L`: the article's (and the focused comment's) links, numbered; images as labels."""

from __future__ import annotations

from cache.models import Post
from tui.screens.links import LinksScreen

from .conftest import screen_text, wait_for


async def ready(app, pilot) -> None:
    await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
    await wait_for(pilot, lambda: not app.reader.article_view.rendering)


def opened_urls(app) -> list[str]:
    urls: list[str] = []
    app.open_in_browser = urls.append
    return urls


async def test_links_are_numbered_and_a_digit_opens_one(demo_store, make):
    app = make(demo_store, open_post="108")
    async with app.run_test(size=(160, 48)) as pilot:
        urls = opened_urls(app)
        await ready(app, pilot)
        text = screen_text(app)
        assert "the meeting[1]." in text
        links = app.reader.article_view.links()
        assert [k.number for k in links] == [1, 2, 3]
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LinksScreen))
        assert "[3]" in screen_text(app) and links[2].url in screen_text(app)
        await pilot.press("3")  # 30 > 3 links: opens at once
        await wait_for(pilot, lambda: not isinstance(app.screen, LinksScreen))
        await app.workers.wait_for_complete()
        assert urls == [links[2].url]
        # a link to another post of the site opens it here, from the cache (found by a new user)
        assert "/winter-ferry-timetable" in links[1].url
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LinksScreen))
        await pilot.press("2")
        await wait_for(pilot, lambda: app.reader.current is not None and app.reader.current[1] == 102)
        await app.workers.wait_for_complete()
        assert urls == [links[2].url]  # the browser was not asked
        # `o` still opens the post
        await pilot.press("o")
        await app.workers.wait_for_complete()
        assert urls[-1].startswith("https://demo.broadsheet.invalid/")


async def test_enter_opens_and_y_copies(demo_store, make, monkeypatch):
    app = make(demo_store, open_post="108")
    copied: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        urls = opened_urls(app)
        monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
        await ready(app, pilot)
        links = app.reader.article_view.links()
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LinksScreen))
        await pilot.press("down", "down", "y")
        assert copied == [links[2].url]
        assert isinstance(app.screen, LinksScreen)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, LinksScreen))
        await app.workers.wait_for_complete()
        assert urls == [links[2].url]


async def test_focused_comment_links_are_listed(demo_store, make):
    app = make(demo_store, open_post="108")
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(app, pilot)
        thread = app.reader.comment_thread
        thread.focus()
        assert thread.select(1020)
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LinksScreen))
        screen = app.screen
        assert isinstance(screen, LinksScreen)
        mine = [k for k in screen.links if k.where == "comment by Priya Natarajan"]
        assert [k.url for k in mine] == ["https://harbour.saltmere.invalid/consultation-2026"]
        assert mine[0].number == 4  # after the article's three


async def test_images_show_as_labels_with_their_link(demo_store, make):
    post = Post(
        id=9002,
        site="demo",
        title="A picture",
        date="2026-11-30T10:00:00",
        date_gmt="2026-11-30T10:00:00",
        modified_gmt="2026-11-30T10:00:00",
        categories=[2],
    )
    html = '<p>Look:</p><p><img src="https://demo.broadsheet.invalid/gull.jpg" alt="A gull on the quay"></p>'
    demo_store.save_sync("demo", posts=[post], html={9002: html}, categories=demo_store.categories("demo"))
    app = make(demo_store, open_post="9002")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        assert "[image: A gull on the quay][1]" in screen_text(app)
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LinksScreen))
        assert "image: A gull on the quay" in screen_text(app)
        assert "https://demo.broadsheet.invalid/gull.jpg" in screen_text(app)
