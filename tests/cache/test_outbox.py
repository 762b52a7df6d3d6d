"""The outbox: stored before sending, sent exactly once, nothing lost."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest

from cache import credentials, outbox
from cache.credentials import Credentials
from cache.demo import FakeWordPress
from cache.errors import NotFound
from cache.http import RetryPolicy, make_client
from cache.models import Site
from cache.store import Store
from cache.sync import sync_site
from tests.factories import BASE, wp_site


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "cache")


@pytest.fixture
def site(store) -> Site:
    return store.add_site(Site(name="news", url=BASE + "/", api_root=BASE + "/wp-json/"))


@pytest.fixture
def fake() -> FakeWordPress:
    return FakeWordPress(wp_site(posts=3), app_passwords={"ada": "secret-app-password"})


def ours(fake: FakeWordPress, text: str) -> list[dict]:
    return [c for c in fake.data["comments"] if c.get("_raw") == text]


def posts_to_comments(fake: FakeWordPress) -> list[httpx.Request]:
    return [r for r in fake.requests if r.method == "POST"]


async def send(store, site, entry_id, handler) -> outbox.SendOutcome:
    async with make_client(httpx.MockTransport(handler)) as client:
        return await outbox.send_now(store, site, entry_id, client=client)


def down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


# -- stored first ------------------------------------------------------------------------------


async def test_the_entry_and_placeholder_are_on_disk_before_any_request(store, site, fake, tmp_path):
    snapshots = []

    def handler(request: httpx.Request) -> httpx.Response:
        raw = json.loads((tmp_path / "cache" / "outbox.json").read_bytes())
        entry = next(iter(raw["replies"].values()))
        placeholder = [c for c in Store(tmp_path / "cache").comments("news", 2) if c.id < 0]
        snapshots.append((entry["text"], entry["state"], [(c.id, c.status, c.text) for c in placeholder]))
        return fake(request)

    entry, created = outbox.prepare(store, "news", 2, 0, "First to comment!", "Ada", "ada@example.com")
    assert created and entry.id == 1 and entry.placeholder_id == -1
    outcome = await send(store, site, entry.id, handler)
    assert snapshots[0] == ("First to comment!", "sending", [(-1, "pending", "First to comment!\n")])
    assert outcome.result == "published" and outcome.exit_code == 0
    assert outcome.link == f"{BASE}/2026/01/post-2/#comment-{outcome.comment_id}"
    thread = store.comments("news", 2)
    assert [(c.id, c.status, c.author) for c in thread] == [(outcome.comment_id, "approved", "Ada")]
    assert outbox.get(store, entry.id).state == "sent"


async def test_held_by_the_site(store, site, fake):
    fake.moderate = True
    entry, _ = outbox.prepare(store, "news", 2, 0, "Please approve me", "Ada", "ada@example.com")
    outcome = await send(store, site, entry.id, fake)
    assert outcome.result == "held" and outcome.exit_code == 0 and "held for moderation" in outcome.summary()
    assert [(c.id, c.status) for c in store.comments("news", 2)] == [(outcome.comment_id, "hold")]
    assert outbox.get(store, entry.id).state == "held"


async def test_rest_with_credentials(store, site, fake):
    credentials.save(Credentials("news", "ada", "secret-app-password"))
    entry, _ = outbox.prepare(store, "news", 2, 0, "Logged in reply")
    outcome = await send(store, site, entry.id, fake)
    assert outcome.result == "published"
    assert [r.url.path for r in posts_to_comments(fake)] == ["/wp-json/wp/v2/comments"]
    assert ours(fake, "Logged in reply")[0]["author_name"] == "Ada Writer"


# -- queued, then sent exactly once ------------------------------------------------------------


async def test_offline_queues_then_sync_sends_exactly_once(store, site, fake):
    entry, _ = outbox.prepare(store, "news", 2, 0, "Sent when back online", "Ada", "ada@example.com")
    outcome = await send(store, site, entry.id, down)
    assert outcome.result == "queued" and outcome.exit_code == 75
    assert "connection refused" in outcome.message
    assert outbox.get(store, entry.id).state == "queued"
    assert [(c.id, c.status) for c in store.comments("news", 2)] == [(-entry.id, "pending")]

    result = await sync_site(store, site, transport=httpx.MockTransport(fake), policy=RetryPolicy(backoff=0))
    assert result.ok and result.sent_replies == 1
    assert len(ours(fake, "Sent when back online")) == 1
    assert outbox.get(store, entry.id).state == "sent"
    again = await sync_site(store, site, transport=httpx.MockTransport(fake), policy=RetryPolicy(backoff=0))
    assert again.sent_replies == 0 and len(ours(fake, "Sent when back online")) == 1
    statuses = [(c.status, c.id > 0) for c in store.comments("news", 2)]
    assert statuses == [("approved", True)]


async def test_a_lost_answer_is_looked_up_not_posted_again(store, site, fake):
    def lose_answer(request: httpx.Request) -> httpx.Response:
        fake(request)  # the site creates the comment...
        raise httpx.ReadTimeout("timed out", request=request)  # ...but we never hear back

    entry, _ = outbox.prepare(store, "news", 2, 0, "Did this arrive?", "Ada", "ada@example.com")
    assert (await send(store, site, entry.id, lose_answer)).result == "queued"
    assert len(ours(fake, "Did this arrive?")) == 1
    posts_before = len(posts_to_comments(fake))
    outcome = await send(store, site, entry.id, fake)
    assert outcome.result == "published" and outcome.comment_id == ours(fake, "Did this arrive?")[0]["id"]
    assert len(posts_to_comments(fake)) == posts_before, "found by looking, not by posting again"
    assert len(ours(fake, "Did this arrive?")) == 1


async def test_a_lost_answer_for_a_held_comment_ends_in_409_and_counts_as_sent(store, site, fake):
    fake.moderate = True  # an anonymous reader cannot see held comments

    def lose_answer(request: httpx.Request) -> httpx.Response:
        fake(request)
        raise httpx.ReadTimeout("timed out", request=request)

    entry, _ = outbox.prepare(store, "news", 2, 0, "Held and lost", "Ada", "ada@example.com")
    await send(store, site, entry.id, lose_answer)
    outcome = await send(store, site, entry.id, fake)
    assert outcome.result == "held" and outcome.exit_code == 0
    assert len(ours(fake, "Held and lost")) == 1
    assert outbox.get(store, entry.id).state == "held"
    assert [c.status for c in store.comments("news", 2)] == ["hold"]  # still shown, marked held


async def test_rest_409_duplicate_is_sent_and_its_id_found(store, site, fake):
    credentials.save(Credentials("news", "ada", "secret-app-password"))
    fake.moderate = True
    existing = fake.add_comment(fake.data["posts"][1], 0, "Already there", "Ada Writer", 1)
    entry, _ = outbox.prepare(store, "news", 2, 0, "Already there")
    outcome = await send(store, site, entry.id, fake)
    assert outcome.result == "held" and outcome.comment_id == existing["id"]
    assert len(ours(fake, "Already there")) == 1


async def test_5xx_and_flood_queue(store, site):
    for response in (httpx.Response(503, text="busy"), httpx.Response(429, text="<p>You are posting too quickly</p>")):
        entry, _ = outbox.prepare(store, "news", 2, 0, f"try later {response.status_code}", "Ada", "a@b.c")
        outcome = await send(store, site, entry.id, lambda r, response=response: response)
        assert outcome.result == "queued" and outcome.exit_code == 75
        assert outbox.get(store, entry.id).state == "queued"


# -- deliberate repeats, refusals, drafts ---------------------------------------------------------


def test_the_same_text_twice_on_purpose_posts_once(store, site, fake):
    first = outbox.submit(store, site, 2, 0, "Me too!", "Ada", "ada@example.com", transport=httpx.MockTransport(fake))
    second = outbox.submit(store, site, 2, 0, "  Me too!\n", "Ada", "ada@example.com", transport=httpx.MockTransport(fake))
    assert first.result == second.result == "published"
    assert second.entry.id == first.entry.id and second.link == first.link
    assert len(ours(fake, "Me too!")) == 1 and len(outbox.entries(store)) == 1
    other = outbox.submit(store, site, 3, 0, "Me too!", "Ada", "ada@example.com", transport=httpx.MockTransport(fake))
    assert other.entry.id != first.entry.id  # another post is another reply


async def test_refused_keeps_the_text_as_a_draft_and_can_be_sent_again(store, site, fake):
    entry, _ = outbox.prepare(store, "news", 2, 0, "No name given")
    outcome = await send(store, site, entry.id, fake)
    assert outcome.result == "refused" and outcome.exit_code == 1
    assert outcome.message == "Please fill the required fields."
    kept = outbox.get(store, entry.id)
    assert (kept.state, kept.text, kept.last_error) == ("refused", "No name given", "Please fill the required fields.")
    assert store.comments("news", 2) == []  # no placeholder for a refused reply
    assert outbox.draft_for(store, "news", 2, 0).id == entry.id
    # flush leaves refused entries alone...
    async with make_client(httpx.MockTransport(fake)) as client:
        assert await outbox.flush(store, site, client) == 0
    # ...the same text with a name is the same entry, queued again
    again, created = outbox.prepare(store, "news", 2, 0, "No name given", "Ada", "ada@example.com")
    assert created and again.id == entry.id and again.state == "queued"
    assert (await send(store, site, again.id, fake)).result == "published"


async def test_comments_closed_is_refused(store, site, fake):
    fake.data["posts"][0]["comment_status"] = "closed"
    entry, _ = outbox.prepare(store, "news", 1, 0, "Closed?", "Ada", "ada@example.com")
    outcome = await send(store, site, entry.id, fake)
    assert outcome.result == "refused" and "closed" in outcome.message


def test_drafts_and_drop(store):
    draft = outbox.save_draft(store, "news", 2, 5, "half a thought")
    assert draft.state == "draft" and outbox.draft_for(store, "news", 2, 5).text == "half a thought"
    updated = outbox.save_draft(store, "news", 2, 5, "a whole thought", draft_id=draft.id)
    assert updated.id == draft.id and outbox.get(store, draft.id).text == "a whole thought"
    assert outbox.claim(store, "news") == []  # drafts are never sent unless asked
    queued, _ = outbox.prepare(store, "news", 2, 0, "queued one", "Ada", "a@b.c")
    assert [c.id for c in store.comments("news", 2)] == [-queued.id]
    outbox.drop(store, queued.id)
    assert store.comments("news", 2) == []
    with pytest.raises(NotFound):
        outbox.get(store, queued.id)
    fresh, _ = outbox.prepare(store, "news", 2, 0, "another", "Ada", "a@b.c")
    assert fresh.id > queued.id, "ids are never reused: placeholders cannot clash"


# -- two processes ------------------------------------------------------------------------------


def test_claims_exclude_other_processes_until_stale(store, tmp_path, monkeypatch):
    other = Store(tmp_path / "cache")  # another process: its own storage objects and locks
    entry, _ = outbox.prepare(store, "news", 2, 0, "claimed once", "Ada", "a@b.c")
    assert [e.id for e in outbox.claim(store, "news")] == [entry.id]
    assert outbox.claim(other, "news") == []
    assert outbox.claim(other, "news", [entry.id]) == []
    later = time.time() + outbox.STALE_CLAIM + 1
    monkeypatch.setattr(outbox.time, "time", lambda: later)
    retaken = outbox.claim(other, "news")
    assert [e.id for e in retaken] == [entry.id]
    assert retaken[0].attempts >= 1, "a stale claim may have reached the site: look before sending"


def test_two_processes_flushing_at_once_send_each_reply_once(tmp_path, fake):
    stores = [Store(tmp_path / "cache"), Store(tmp_path / "cache")]
    site = stores[0].add_site(Site(name="news", url=BASE + "/", api_root=BASE + "/wp-json/"))
    texts = [f"reply number {i}" for i in range(6)]
    for text in texts:
        outbox.prepare(stores[0], "news", 2, 0, text, "Ada", "a@b.c")
    lock = threading.Lock()

    def serialised(request: httpx.Request) -> httpx.Response:
        with lock:
            return fake(request)

    sent: list[int] = []

    def run(store: Store) -> None:
        async def go() -> int:
            async with make_client(httpx.MockTransport(serialised)) as client:
                return await outbox.flush(store, site, client)

        sent.append(asyncio.run(go()))

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(sent) == len(texts)
    assert all(len(ours(fake, text)) == 1 for text in texts)
    assert {e.state for e in outbox.entries(stores[1])} == {"sent"}
