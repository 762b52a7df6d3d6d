"""Replying, the parts around the send: the new comment in view, name and email asked for
once, a refused draft offered back, sites that take no replies."""

from __future__ import annotations

import dataclasses
import tomllib

from cache import outbox
from cache.config import Config, ReaderConfig
from cache.models import Comment

from .conftest import notifications, screen_text, wait_for


async def ready(app, pilot) -> None:
    await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)


def composing(app) -> bool:
    return app.screen.__class__.__name__ == "ComposeScreen"


async def test_sent_reply_is_scrolled_to_and_highlighted(demo_store, make):
    many = [
        Comment(
            id=7000 + i,
            site="demo",
            post=112,
            author=f"Reader {i}",
            date=f"2026-11-26T10:{i:02d}:00",
            text=f"Comment number {i} with a few words to fill the line.\n\nAnd a second paragraph.",
        )
        for i in range(20)
    ]
    demo_store.save_sync("demo", posts=[], bodies={}, comments=many)
    app = make(demo_store, open_post="112")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: composing(app))
        await pilot.press(*"Lovely news.", "ctrl+s")
        await wait_for(pilot, lambda: any("Reply published" in str(n.title) for n in notifications(app)))
        await app.workers.wait_for_complete()
        thread = app.reader.comment_thread

        def confirmed() -> bool:
            comment = thread.cursor_comment
            return comment is not None and comment.text.strip() == "Lovely news." and comment.id > 0

        await wait_for(pilot, confirmed)
        assert thread.marked == thread.cursor_comment.id
        assert thread.scroll_y > 0
        await pilot.pause()
        assert "Lovely news." in screen_text(app)


async def test_no_login_asks_name_and_email_once_and_saves_them(demo_store, make, fake, tmp_path):
    site = demo_store.site("demo")
    demo_store.update_site(dataclasses.replace(site, demo=False))
    path = tmp_path / "config.toml"
    path.write_text('[keys]\nnext_post = "n,J"\n', "utf-8")
    config = Config(reader=ReaderConfig(refresh_after_minutes=0), path=path, keys={"next_post": "n,J"})
    app = make(demo_store, config=config, open_post="112")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: composing(app))
        assert "no login on this site" in screen_text(app)
        app.screen.text_area.load_text("Count me in.")
        await pilot.press("ctrl+s")  # no name yet: not sent
        assert composing(app) and "Give the name and the email" in screen_text(app)
        app.screen.query_one("#compose-author").value = "Ada Reader"
        app.screen.query_one("#compose-email").value = "ada@example.org"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not composing(app))
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: any(c.get("_raw") == "Count me in." for c in fake.data["comments"]))
        posted = next(c for c in fake.data["comments"] if c.get("_raw") == "Count me in.")
        assert posted["author_name"] == "Ada Reader"
        saved = tomllib.loads(path.read_text("utf-8"))
        assert saved["reply"] == {"author": "Ada Reader", "email": "ada@example.org"}
        assert saved["keys"] == {"next_post": "n,J"}  # the rest is kept
        # asked once: the next reply does not ask again
        await pilot.press("r")
        await wait_for(pilot, lambda: composing(app))
        assert "no login on this site" not in screen_text(app)


async def test_refused_draft_is_offered_back_labelled_and_not_sent(demo_store, make, fake):
    post = next(p for p in fake.data["posts"] if p["id"] == 112)
    post["comment_status"] = "closed"  # the site closed comments since the last sync
    app = make(demo_store, open_post="112")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: composing(app))
        await pilot.press(*"Too late?", "ctrl+s")
        await wait_for(pilot, lambda: any("Reply refused" in str(n.title) for n in notifications(app)))
        await app.workers.wait_for_complete()
        before = len(fake.data["comments"])
        await pilot.press("r")
        await wait_for(pilot, lambda: composing(app))
        await pilot.pause()
        assert app.screen.text == "Too late?"
        text = screen_text(app)
        assert "Refused by the site: Sorry, comments are closed" in text and "edit and send again" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: not composing(app))
        await app.workers.wait_for_complete()
        assert len(fake.data["comments"]) == before
        assert [e.state for e in outbox.entries(demo_store, "demo")] in (["refused"], ["draft"])


async def test_r_on_a_feed_says_it_takes_no_replies(demo_store, make):
    site = demo_store.site("demo")
    demo_store.update_site(dataclasses.replace(site, kind="feed", demo=False, feed_url=site.url + "feed/"))
    app = make(demo_store, open_post="112")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: any("takes no replies" in n.message for n in notifications(app)))
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not composing(app)
        assert sum("takes no replies" in n.message for n in notifications(app)) == 1
