"""Replying from the reader: `r`, the compose screen, the outbox, and live updates."""

from __future__ import annotations

import httpx

from cache import Store, outbox
from cache.models import Comment

from .conftest import notifications, screen_text, wait_for


def shown_comments(app) -> list[Comment]:
    store = app.reader.store
    key, post_id = app.reader.current
    return store.comments(key[0], post_id)


async def open_first(app, pilot):
    await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
    await pilot.press("n")
    assert app.reader.current is not None
    return app.reader.current[1]


async def test_r_sends_a_reply_to_the_post(demo_store, make, fake):
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        post_id = await open_first(app, pilot)
        before = len(shown_comments(app))
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ComposeScreen")
        assert "Reply to “" in screen_text(app)
        await pilot.press(*"Lovely news.")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: any("Reply published" in str(n.title) for n in notifications(app)))
        mine = [c for c in shown_comments(app) if "Lovely news." in c.text]
        assert len(mine) == 1 and mine[0].status == "approved" and mine[0].id > 0
        assert len(shown_comments(app)) == before + 1
        assert "Lovely news." in screen_text(app)
        count = before + 1  # the byline counts it too, as the pane's title does
        region = app.reader.article_view.content_region
        article = " ".join(line[region.x : region.right].strip() for line in screen_text(app).splitlines())
        assert f"· {count} comments" in article and f"Comments ({count})" in screen_text(app)
        # the site got exactly one comment, as the demo reader (no identity configured)
        posted = [c for c in fake.data["comments"] if c.get("_raw") == "Lovely news."]
        assert len(posted) == 1 and posted[0]["post"] == post_id and posted[0]["author_name"] == "Demo reader"


async def test_r_on_a_comment_answers_that_comment(demo_store, make, fake):
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_first(app, pilot)
        app.reader.comment_thread.focus()
        await pilot.press("j")  # the second comment
        target = app.reader.comment_thread.cursor_comment
        assert target is not None
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ComposeScreen")
        assert f"Reply to {target.author}" in screen_text(app)
        await pilot.press(*"Agreed!", "ctrl+s")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: any(c.get("_raw") == "Agreed!" for c in fake.data["comments"]))
        posted = next(c for c in fake.data["comments"] if c.get("_raw") == "Agreed!")
        assert posted["parent"] == target.id


async def test_escape_keeps_a_draft_and_r_brings_it_back(demo_store, make):
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        post_id = await open_first(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ComposeScreen")
        await pilot.press(*"half a thought", "escape")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ != "ComposeScreen")
        drafts = [e for e in outbox.entries(demo_store, "demo") if e.state == "draft"]
        assert [(d.post, d.text) for d in drafts] == [(post_id, "half a thought")]
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ComposeScreen")
        assert app.screen.text == "half a thought"


async def test_offline_reply_is_queued_and_shown_pending(demo_store, make):
    def offline(request):
        raise httpx.ConnectError("Connection refused", request=request)

    app = make(demo_store, transport=httpx.MockTransport(offline))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_first(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ComposeScreen")
        await pilot.press(*"Sent from the train", "ctrl+s")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: any("Reply queued" in str(n.title) for n in notifications(app)))
        queued = [e for e in outbox.entries(demo_store, "demo") if e.text == "Sent from the train"]
        assert len(queued) == 1 and queued[0].state == "queued"
        pending = [c for c in shown_comments(app) if c.status == "pending"]
        assert [c.text.strip() for c in pending] == ["Sent from the train"]
        assert "Sent from the train" in screen_text(app)


async def test_closed_comments_say_so(demo_store, make):
    closed = next(p for p in demo_store.posts("demo") if p.comment_status == "closed")
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        app.reader.open_post(("demo", None), closed.id)
        await pilot.press("r")
        assert app.screen.__class__.__name__ != "ComposeScreen"
        assert any("closed" in str(n.message) for n in notifications(app))


async def test_a_reply_from_another_process_appears_without_restart(demo_store, make):
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        post_id = await open_first(app, pilot)
        app.reader._watch_cache()  # the timer's first look
        other = Store(demo_store.directory)  # what a shell `broadsheet reply` does
        other.add_comment(
            Comment(
                999_001,
                "demo",
                post_id,
                0,
                "Shell User",
                "2026-11-26T10:00:00",
                "2026-11-26T10:00:00",
                "Hello from the shell\n",
            )
        )
        app.reader._watch_cache()
        await wait_for(pilot, lambda: "Hello from the shell" in screen_text(app))


async def test_a_reply_that_cannot_be_saved_stays_in_the_compose_box(demo_store, make, monkeypatch):
    import threading

    from cache.errors import StoreError
    from cache.service import Service

    calls: list[bool] = []
    prepare = Service.prepare_reply

    def failing_once(self, *args, **kwargs):
        calls.append(threading.current_thread() is threading.main_thread())
        if len(calls) == 1:
            raise StoreError("cannot write outbox.json: No space left on device")
        return prepare(self, *args, **kwargs)

    monkeypatch.setattr(Service, "prepare_reply", failing_once)
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_first(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ComposeScreen")
        await pilot.press(*"Worth keeping", "ctrl+s")
        await wait_for(pilot, lambda: "No space left" in screen_text(app))
        assert app.screen.__class__.__name__ == "ComposeScreen"
        assert app.screen.text == "Worth keeping" and not app.screen.saving
        assert "your text is still here" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ != "ComposeScreen")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: any("Reply published" in str(n.title) for n in notifications(app)))
    assert calls == [False, False]  # prepared in a thread, never on the UI thread
    assert [e.text for e in outbox.entries(demo_store, "demo")] == ["Worth keeping"]
