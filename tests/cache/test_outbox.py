"""The outbox: stored before sending, sent exactly once, nothing lost."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

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


def login(origin: str = BASE, user_id: int | None = 1) -> Credentials:
    """What `broadsheet login news` saves for ada: the password, the origin, the user id."""
    creds = Credentials("news", "ada", "secret-app-password", origin=origin, user_id=user_id)
    credentials.save(creds)
    return creds


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
    login()
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


async def test_a_lost_answer_for_a_held_comment_is_not_sent_again_without_proof(store, site, fake):
    fake.moderate = True  # an anonymous reader cannot see held comments
    fake.duplicate_check = False  # and the site would take a second copy

    def lose_answer(request: httpx.Request) -> httpx.Response:
        fake(request)
        raise httpx.ReadTimeout("timed out", request=request)

    entry, _ = outbox.prepare(store, "news", 2, 0, "Held and lost", "Ada", "ada@example.com")
    await send(store, site, entry.id, lose_answer)
    flushed = await outbox.flush(store, site, make_client(httpx.MockTransport(fake)))
    assert flushed == 0
    waiting = outbox.get(store, entry.id)
    assert waiting.state == "unconfirmed" and "may already have this reply" in waiting.last_error
    assert len(ours(fake, "Held and lost")) == 1  # exactly once, with no help from a 409
    assert outbox.flush is not None and await outbox.flush(store, site, make_client(httpx.MockTransport(fake))) == 0
    assert len(ours(fake, "Held and lost")) == 1, "sync never resends an unconfirmed reply by itself"


async def test_an_unconfirmed_reply_goes_out_when_the_user_asks_and_a_409_counts_as_sent(store, site, fake):
    fake.moderate = True

    def lose_answer(request: httpx.Request) -> httpx.Response:
        fake(request)
        raise httpx.ReadTimeout("timed out", request=request)

    entry, _ = outbox.prepare(store, "news", 2, 0, "Held and lost", "Ada", "ada@example.com")
    await send(store, site, entry.id, lose_answer)
    assert (await send(store, site, entry.id, fake)).result == "unconfirmed"
    outcome = await send(store, site, entry.id, fake)  # asked by id again: the user's decision
    assert outcome.result == "held" and outcome.exit_code == 0
    assert len(ours(fake, "Held and lost")) == 1
    assert outbox.get(store, entry.id).state == "held"
    assert [c.status for c in store.comments("news", 2)] == ["hold"]  # still shown, marked held


async def test_rest_409_duplicate_is_sent_and_its_id_found(store, site, fake):
    login()
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
    second = outbox.submit(
        store, site, 2, 0, "  Me too!\n", "Ada", "ada@example.com", transport=httpx.MockTransport(fake)
    )
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


CLAIMER = """
import sys, time
from cache import outbox
from cache.store import Store
claimed = outbox.claim(Store(sys.argv[1]), "news")
print(",".join(str(e.id) for e in claimed), flush=True)
if sys.argv[2] == "linger":
    time.sleep(60)
"""


def _claim_in_another_process(directory, linger: bool):
    import subprocess
    import sys

    child = subprocess.Popen(
        [sys.executable, "-c", CLAIMER, str(directory), "linger" if linger else "exit"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    line = child.stdout.readline().strip()
    return child, [int(x) for x in line.split(",") if x]


def test_a_live_claimer_is_never_taken_over_however_old_its_claim(store, tmp_path, monkeypatch):
    entry, _ = outbox.prepare(store, "news", 2, 0, "claimed once", "Ada", "a@b.c")
    child, ids = _claim_in_another_process(tmp_path / "cache", linger=True)
    try:
        assert ids == [entry.id]
        assert outbox.claim(store, "news") == [] and outbox.claim(store, "news", [entry.id]) == []
        later = time.time() + outbox.STALE_CLAIM + 1
        monkeypatch.setattr(outbox.time, "time", lambda: later)
        assert outbox.claim(store, "news") == [], "the claimer is alive: its claim holds"
        with pytest.raises(Exception, match="being sent right now"):
            outbox.drop(store, entry.id)
    finally:
        child.kill()
        child.wait()


def test_a_dead_claimers_reply_is_retaken_at_once(store, tmp_path):
    entry, _ = outbox.prepare(store, "news", 2, 0, "claimed once", "Ada", "a@b.c")
    child, ids = _claim_in_another_process(tmp_path / "cache", linger=False)
    child.wait()
    assert ids == [entry.id] and outbox.get(store, entry.id).state == "sending"
    retaken = outbox.claim(store, "news")  # no 120 s wait: its process is gone
    assert [e.id for e in retaken] == [entry.id]
    assert retaken[0].attempts >= 1, "a dead claim may have reached the site: look before sending"


def test_claims_of_unknown_processes_go_stale_by_age(store, tmp_path, monkeypatch):
    other = Store(tmp_path / "cache")
    entry, _ = outbox.prepare(store, "news", 2, 0, "claimed once", "Ada", "a@b.c")
    monkeypatch.setattr(outbox, "_PROCESS", "claimed-elsewhere")  # no pid/boot: cannot be checked
    assert [e.id for e in outbox.claim(store, "news")] == [entry.id]
    monkeypatch.undo()
    assert outbox.claim(other, "news") == []
    later = time.time() + outbox.STALE_CLAIM + 1
    monkeypatch.setattr(outbox.time, "time", lambda: later)
    assert [e.id for e in outbox.claim(other, "news")] == [entry.id]


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


# -- a retry never takes someone else's comment for ours -----------------------------------------


def old_comment(fake: FakeWordPress, text: str, author_name: str, user_id: int, when: str) -> dict:
    comment = {
        "id": 900 + len(fake.data["comments"]),
        "post": 2,
        "parent": 0,
        "author": user_id,
        "author_name": author_name,
        "date": when,
        "date_gmt": when,
        "content": {"rendered": f"<p>{text}</p>\n"},
        "link": f"{BASE}/2026/01/post-2/#comment-old",
        "status": "approved",
        "type": "comment",
        "_raw": text,
    }
    fake.data["comments"].append(comment)
    return comment


def lost_before_reaching_the_site(fake: FakeWordPress):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            raise httpx.ReadTimeout("timed out", request=request)  # the site never saw it
        return fake(request)

    return handler


@pytest.mark.parametrize("user_id", [1, None])  # stored at login, or looked up once
async def test_a_retry_does_not_take_bobs_old_thanks_for_ours(store, site, fake, user_id):
    login(user_id=user_id)
    bob = old_comment(fake, "Thanks!", "Bob", 7, "2020-06-01T10:00:00")
    entry, _ = outbox.prepare(store, "news", 2, 0, "Thanks!")
    assert (await send(store, site, entry.id, lost_before_reaching_the_site(fake))).result == "queued"
    assert ours(fake, "Thanks!") == [bob]
    outcome = await send(store, site, entry.id, fake)
    assert outcome.result == "published"
    assert len(posts_to_comments(fake)) == 1, "not found on the site: really sent"
    mine = [c for c in ours(fake, "Thanks!") if c is not bob]
    assert len(mine) == 1 and mine[0]["author"] == 1 and outcome.comment_id == mine[0]["id"] != bob["id"]
    assert outbox.get(store, entry.id).comment_id == mine[0]["id"]


async def test_a_retry_does_not_take_our_own_old_comment_for_this_one(store, site, fake):
    login()
    # our own, from 2020 (under another display name, or the fake would answer 409)
    old = old_comment(fake, "Thanks again", "Ada (2020)", 1, "2020-06-01T10:00:00")
    entry, _ = outbox.prepare(store, "news", 2, 0, "Thanks again")
    await send(store, site, entry.id, lost_before_reaching_the_site(fake))
    outcome = await send(store, site, entry.id, fake)
    assert outcome.result == "published" and outcome.comment_id != old["id"]
    assert len(posts_to_comments(fake)) == 1
    assert len(ours(fake, "Thanks again")) == 2


async def test_a_first_409_about_an_older_comment_is_refused_not_sent(store, site, fake):
    login()
    old = old_comment(fake, "Same as ever", "Ada Writer", 1, "2020-06-01T10:00:00")
    entry, _ = outbox.prepare(store, "news", 2, 0, "Same as ever")
    outcome = await send(store, site, entry.id, fake)
    assert outcome.result == "refused" and "already has this comment" in outcome.message
    kept = outbox.get(store, entry.id)
    assert (kept.state, kept.comment_id, kept.attempts) == ("refused", None, 0)
    assert ours(fake, "Same as ever") == [old]


# -- a redirect is not a published comment --------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302])
async def test_a_form_redirected_elsewhere_is_refused_and_kept(store, site, status):
    seen: list[httpx.Request] = []

    def redirect(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, headers={"Location": f"{BASE}/wp-login.php"})

    entry, _ = outbox.prepare(store, "news", 2, 0, "Where did it go?", "Ada", "ada@example.com")
    outcome = await send(store, site, entry.id, redirect)
    assert outcome.result == "refused" and outcome.exit_code == 1
    assert outcome.message == f"the site redirected the comment form to {BASE}/wp-login.php; is the URL right?"
    kept = outbox.get(store, entry.id)
    assert (kept.state, kept.text, kept.comment_id) == ("refused", "Where did it go?", None)
    assert kept.attempts == 1, "it may have reached the site: look it up before sending again"
    assert store.comments("news", 2) == []
    assert len(seen) == 1


# -- claims: one at a time, and only ours -----------------------------------------------------------


def test_entries_are_claimed_one_at_a_time_and_a_lost_claim_is_left_alone(store, site, fake, tmp_path, monkeypatch):
    other = Store(tmp_path / "cache")  # another process
    first, _ = outbox.prepare(store, "news", 2, 0, "slow one", "Ada", "a@b.c")
    second, _ = outbox.prepare(store, "news", 2, 0, "next one", "Ada", "a@b.c")
    seen_states: list[str] = []
    taken: list[int] = []

    def slow(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and not taken:
            seen_states.append(outbox.get(other, second.id).state)
            # the POST takes longer than STALE_CLAIM: another process retakes what it may
            later = time.time() + outbox.STALE_CLAIM + 1
            with monkeypatch.context() as m:
                m.setattr(outbox.time, "time", lambda: later)
                m.setattr(outbox, "claimer_alive", lambda claimed_by: None)  # as if it could not be told
                m.setattr(outbox, "_PROCESS", "other-process")
                taken.extend(e.id for e in outbox.claim(other, "news"))
        return fake(request)

    async def go() -> list[outbox.SendOutcome]:
        async with make_client(httpx.MockTransport(slow)) as client:
            return await outbox.send_ids(store, site, client)

    outcomes = asyncio.run(go())
    assert seen_states == ["queued"], "the next entry is not claimed while the first is being sent"
    assert sorted(taken) == [first.id, second.id]
    assert len(posts_to_comments(fake)) == 1, "this process sent the first only"
    assert [(o.entry.id, o.result) for o in outcomes] == [(first.id, "published"), (second.id, "sending")]
    for entry_id in (first.id, second.id):  # both are the other process's now: left alone
        entry = outbox.get(store, entry_id)
        assert (entry.state, entry.claimed_by) == ("sending", "other-process")
    assert outbox.get(store, first.id).attempts >= 1, "the other process will look before sending"


def test_release_and_update_leave_an_entry_claimed_by_another_process_alone(store, monkeypatch):
    entry, _ = outbox.prepare(store, "news", 2, 0, "mine?", "Ada", "a@b.c")
    monkeypatch.setattr(outbox, "_PROCESS", "other-process")
    [claimed] = outbox.claim(store, "news")
    monkeypatch.undo()
    with pytest.raises(outbox.ClaimLost):
        outbox._release(store, claimed, "sent", comment_id=5)
    with pytest.raises(outbox.ClaimLost):
        outbox._update(store, entry.id, claimed=True, attempts=9)
    kept = outbox.get(store, entry.id)
    assert (kept.state, kept.claimed_by, kept.comment_id, kept.attempts) == ("sending", "other-process", None, 0)


async def test_send_entry_reports_sending_when_the_claim_was_taken_over(store, site, fake, monkeypatch):
    entry, _ = outbox.prepare(store, "news", 2, 0, "taken over", "Ada", "a@b.c")
    monkeypatch.setattr(outbox, "_PROCESS", "other-process")
    [claimed] = outbox.claim(store, "news")
    monkeypatch.undo()
    async with make_client(httpx.MockTransport(fake)) as client:
        outcome = await outbox.send_entry(store, site, claimed, client, None)
    assert outcome.result == "sending" and outcome.exit_code == 75
    assert fake.requests == [] and outbox.get(store, entry.id).claimed_by == "other-process"


# -- a site name reused for another site --------------------------------------------------------------


def readd(store: Store, url: str) -> Site:
    store.remove_site("news")
    return store.add_site(Site(name="news", url=url + "/", api_root=url + "/wp-json/"))


async def test_replies_for_a_removed_site_never_go_to_a_new_site_of_the_same_name(store, site, fake):
    entry, _ = outbox.prepare(store, "news", 2, 0, "For the old site", "Ada", "a@b.c")
    assert outbox.get(store, entry.id).origin == BASE
    new = readd(store, "https://other.example.test")
    seen: list[httpx.Request] = []

    def other_site(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "https://other.example.test/p/2/#comment-1"})

    async with make_client(httpx.MockTransport(other_site)) as client:
        assert await outbox.flush(store, new, client) == 0
    assert seen == [], "nothing was sent to the other site"
    kept = outbox.get(store, entry.id)
    assert kept.state == "refused" and kept.text == "For the old site"
    assert kept.last_error.startswith("the site's address changed since this reply was written")
    assert kept.error_code == "origin_changed" and kept.attempts == 0
    # asked by id, still refused
    outcome = await send(store, new, entry.id, other_site)
    assert outcome.result == "refused" and seen == []
    # the same text written again for the new site is a new reply, for the new address
    again, created = outbox.prepare(store, "news", 2, 0, "For the old site", "Ada", "a@b.c")
    assert created and again.id != entry.id and again.origin == "https://other.example.test"


async def test_a_password_saved_for_the_old_site_is_never_sent_to_the_new_one(store, site, fake):
    login()
    new = readd(store, "https://other.example.test")
    entry, _ = outbox.prepare(store, "news", 2, 0, "Written for the new site")
    seen: list[httpx.Request] = []

    def other_site(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    outcome = await send(store, new, entry.id, other_site)
    assert outcome.result == "refused"
    assert outcome.message == f"credentials were saved for {BASE}; run `broadsheet login news` again"
    assert seen == [] and outbox.get(store, entry.id).state == "refused"


async def test_credentials_saved_without_an_origin_are_not_used(store, site, fake):
    credentials.save(Credentials("news", "ada", "secret-app-password"))  # an older version's file
    entry, _ = outbox.prepare(store, "news", 2, 0, "With an old login")
    outcome = await send(store, site, entry.id, fake)
    assert outcome.result == "refused" and "login news" in outcome.message
    assert fake.requests == []


async def test_a_plain_http_site_with_a_localhost_like_name_gets_no_password(store, fake):
    local = store.add_site(Site(name="local", url="http://blog.localhost/", api_root="http://blog.localhost/wp-json/"))
    credentials.save(Credentials("local", "ada", "secret-app-password", origin="http://blog.localhost", user_id=1))
    entry, _ = outbox.prepare(store, "local", 2, 0, "Over plain http")
    outcome = await send(store, local, entry.id, fake)
    assert outcome.result == "refused" and "plain http" in outcome.message
    assert not any("authorization" in r.headers for r in fake.requests)


def test_pending_for_lists_unsent_replies(store, site, fake):
    sent = outbox.submit(store, site, 2, 0, "Sent already", "Ada", "a@b.c", transport=httpx.MockTransport(fake))
    queued, _ = outbox.prepare(store, "news", 2, 0, "Still queued", "Ada", "a@b.c")
    draft = outbox.save_draft(store, "news", 3, 0, "A draft")
    refused, _ = outbox.prepare(store, "news", 2, 0, "No name")
    asyncio.run(outbox.send_now(store, site, refused.id, transport=httpx.MockTransport(fake)))
    outbox.prepare(store, "elsewhere", 2, 0, "Another site's", "Ada", "a@b.c")
    assert sent.result == "published"
    pending = outbox.pending_for(store, "news")
    assert [(e.id, e.state) for e in pending] == [(queued.id, "queued"), (draft.id, "draft"), (refused.id, "refused")]
    assert outbox.pending_for(store, "nowhere") == []


async def test_a_claim_is_renewed_while_its_reply_is_sent(store, site, fake, monkeypatch):
    monkeypatch.setattr(outbox, "HEARTBEAT", 0.05)
    entry, _ = outbox.prepare(store, "news", 2, 0, "slow to send", "Ada", "a@b.c")
    stamps: list[float] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            stamps.append(outbox.get(Store(store.directory), entry.id).claimed_at)
            await asyncio.sleep(0.3)
            stamps.append(outbox.get(Store(store.directory), entry.id).claimed_at)
        return fake(request)

    async with make_client(httpx.MockTransport(slow)) as client:
        [outcome] = await outbox.send_ids(store, site, client)
    assert outcome.result == "published"
    assert stamps[1] > stamps[0], "the claim was renewed during the send"


def test_demo_replies_from_two_processes_get_different_ids():
    from cache.demo import FakeWordPress, load_demo

    first, second = FakeWordPress(load_demo()), FakeWordPress(load_demo())
    post = first.data["posts"][0]
    a = first.add_comment(post, 0, "one", "Ada")
    time.sleep(0.002)
    b = second.add_comment(second.data["posts"][0], 0, "two", "Bo")
    assert a["id"] != b["id"]


def test_claims_from_another_machine_or_container_are_judged_by_age_only(monkeypatch):
    alive = outbox.claimer_alive
    here = outbox._PROCESS.split(":")
    other_machine = ":".join([here[0], here[1], here[2], "another-machine.4026531836", "abcd"])
    other_boot = ":".join([here[0], "another-boot", here[2], here[3], "abcd"])
    gone_pid = ":".join(["999999999", here[1], "12345", here[3], "abcd"])
    assert alive(other_machine) is None, "a pid there says nothing about a process here"
    assert alive(other_boot) is False, "same machine, new boot: the claimer is gone"
    assert alive(gone_pid) is False
    assert alive(outbox._PROCESS) is True
