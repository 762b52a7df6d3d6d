"""Replies against a REAL WordPress (see wpserver.py): REST, the form, held, duplicate,
closed, and offline → queued (exit 75) → sent exactly once."""

from __future__ import annotations

import io
import json
import secrets
import socket
import sys

import httpx
import pytest

from cache import credentials, outbox
from cache import sources as cache_sources
from cache.models import Site
from cache.store import Store
from tui.cli import main


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def site(wordpress) -> Site:
    name = "wp-" + secrets.token_hex(3)
    return Store().add_site(Site(name=name, url=wordpress.url, api_root=wordpress.rest_root))


def sync(site: Site) -> None:
    assert main(["sync", site.name]) == 0


def new_post(wordpress, site: Site, **kwargs) -> int:
    post_id = wordpress.create_post("Replies e2e " + secrets.token_hex(3), "<p>Body</p>", **kwargs)
    sync(site)
    return post_id


def test_rest_reply_with_an_application_password(wordpress, site, monkeypatch, capsys):
    post_id = new_post(wordpress, site)
    password = wordpress.create_app_password(wordpress.admin_user)
    monkeypatch.setattr(sys, "stdin", io.StringIO("not-the-password\n"))
    assert main(["login", site.name, "--user", wordpress.admin_user]) == 1
    assert credentials.load(site.name) is None
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    assert main(["login", site.name, "--user", wordpress.admin_user]) == 0
    capsys.readouterr()
    assert main(["reply", "--site", site.name, str(post_id), "-m", "Over REST, as admin"]) == 0
    url = capsys.readouterr().out.strip()
    [row] = wordpress.comments_of(post_id)
    assert row["content"] == "Over REST, as admin" and row["approved"] == "1" and int(row["user_id"]) > 0
    assert url.endswith(f"#comment-{row['id']}")
    # a reply to that comment, threaded
    assert main(["reply", "--site", site.name, str(post_id), "--to", str(row["id"]), "-m", "Threaded"]) == 0
    rows = wordpress.comments_of(post_id)
    assert [(r["content"], r["parent"]) for r in rows] == [("Over REST, as admin", 0), ("Threaded", row["id"])]
    cached = Store().comments(site.name, post_id)
    assert [(c.id, c.status) for c in cached] == [(r["id"], "approved") for r in rows]
    assert main(["logout", site.name]) == 0


def test_anonymous_form_reply(wordpress, site, capsys):
    post_id = new_post(wordpress, site)
    capsys.readouterr()
    code = main(
        [
            "reply",
            "--site",
            site.name,
            str(post_id),
            "-m",
            "Through the form",
            "--author",
            "Ada Reader",
            "--email",
            "ada@example.com",
        ]
    )
    out = capsys.readouterr().out.strip()
    assert code == 0
    [row] = wordpress.comments_of(post_id)
    assert (row["content"], row["author"], row["approved"]) == ("Through the form", "Ada Reader", "1")
    assert out.endswith(f"#comment-{row['id']}")


def test_missing_name_is_refused_with_the_sites_reason(wordpress, site, capsys):
    post_id = new_post(wordpress, site)
    capsys.readouterr()
    assert main(["reply", "--site", site.name, str(post_id), "-m", "Nameless", "--author", "", "--email", ""]) == 1
    err = capsys.readouterr().err
    assert "required fields" in err and "draft" in err
    assert wordpress.comments_of(post_id) == []


def test_held_reply(wordpress, site, capsys):
    post_id = new_post(wordpress, site)
    wordpress.set_option("comment_moderation", "1")
    try:
        capsys.readouterr()
        code = main(
            [
                "reply",
                "--site",
                site.name,
                str(post_id),
                "-m",
                "Moderate me",
                "--author",
                "Ada Reader",
                "--email",
                "ada@example.com",
            ]
        )
        assert code == 0 and "held for moderation" in capsys.readouterr().out
    finally:
        wordpress.set_option("comment_moderation", "0")
    [row] = wordpress.comments_of(post_id)
    assert row["approved"] == "0"
    assert [(c.id, c.status) for c in Store().comments(site.name, post_id)] == [(row["id"], "hold")]


def test_duplicate_is_sent_not_doubled(wordpress, site, capsys):
    post_id = new_post(wordpress, site)
    wordpress.create_comment(post_id, "Said it already", author="Ada Reader", email="ada@example.com")
    args = [
        "reply",
        "--site",
        site.name,
        str(post_id),
        "-m",
        "Said it already",
        "--author",
        "Ada Reader",
        "--email",
        "ada@example.com",
    ]
    assert main(args) == 0  # WordPress answers 409: it is there, so it counts as sent
    assert main(args) == 0  # and on purpose a second time: still one
    assert wordpress.count_comments(post_id) == 1
    assert len(outbox.entries(Store(), site.name)) == 1


def test_comments_closed(wordpress, site, capsys):
    post_id = new_post(wordpress, site, comment_status="closed")
    capsys.readouterr()
    code = main(
        [
            "reply",
            "--site",
            site.name,
            str(post_id),
            "-m",
            "Closed?",
            "--author",
            "Ada Reader",
            "--email",
            "ada@example.com",
        ]
    )
    assert code == 1 and "closed" in capsys.readouterr().err.lower()
    assert wordpress.count_comments(post_id) == 0


class DeadPort(httpx.AsyncHTTPTransport):
    """The network as it is when the site is down: every connection to a closed port
    (the site's address, and so its origin, stay the same)."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(port=self.port)
        return await super().handle_async_request(request)


def test_offline_queued_then_sent_exactly_once(wordpress, site, capsys, monkeypatch):
    post_id = new_post(wordpress, site)
    store = Store()
    capsys.readouterr()
    with monkeypatch.context() as offline:
        offline.setattr(cache_sources, "transport_for", lambda site: DeadPort(closed_port()))
        code = main(
            [
                "reply",
                "--site",
                site.name,
                str(post_id),
                "-m",
                "Written offline",
                "--author",
                "Ada Reader",
                "--email",
                "ada@example.com",
            ]
        )
        assert code == 75 and "queued" in capsys.readouterr().err
        assert wordpress.count_comments(post_id) == 0
        assert main(["outbox", "send"]) == 75
    # back online
    assert main(["sync", site.name]) == 0
    assert "1 replies sent" in capsys.readouterr().out
    assert main(["outbox", "send"]) == 0
    sync(site)
    [row] = wordpress.comments_of(post_id)
    assert row["content"] == "Written offline"
    capsys.readouterr()
    main(["outbox", "--json", "--site", site.name])
    [entry] = json.loads(capsys.readouterr().out)
    assert (entry["state"], entry["comment_id"]) == ("sent", row["id"])
    assert [(c.id, c.status) for c in store.comments(site.name, post_id)] == [(row["id"], "approved")]


def test_a_reply_written_for_another_address_is_refused_not_sent(wordpress, site, capsys):
    """The site's address changed after the reply was written (or the name now means
    another site): the reply stays in the outbox, refused, and nothing reaches the site."""
    post_id = new_post(wordpress, site)
    store = Store()
    real_root = site.api_root
    dead = Site.from_row({**site.to_row(), "api_root": f"http://127.0.0.1:{closed_port()}/wp-json/"})
    store.update_site(dead)
    code = main(
        [
            "reply",
            "--site",
            site.name,
            str(post_id),
            "-m",
            "Written for the old address",
            "--author",
            "Ada Reader",
            "--email",
            "ada@example.com",
        ]
    )
    assert code == 75
    store.update_site(Site.from_row({**dead.to_row(), "api_root": real_root}))
    capsys.readouterr()
    assert main(["sync", site.name]) == 0
    assert "replies sent" not in capsys.readouterr().out
    [entry] = outbox.entries(store, site.name)
    assert entry.state == "refused" and entry.text == "Written for the old address"
    assert "address changed" in entry.last_error
    assert wordpress.count_comments(post_id) == 0


class LosePosts(httpx.AsyncHTTPTransport):
    """A real connection that loses a POST: before it reaches the site, or its answer."""

    def __init__(self, *, reach_site: bool) -> None:
        super().__init__()
        self.reach_site = reach_site
        self.posts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST":
            return await super().handle_async_request(request)
        self.posts += 1
        if self.reach_site:
            response = await super().handle_async_request(request)
            await response.aread()
        raise httpx.ReadTimeout("timed out", request=request)


class CountPosts(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.posts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.posts += request.method == "POST"
        return await super().handle_async_request(request)


def test_a_retry_finds_only_our_own_new_comment(wordpress, site, monkeypatch):
    """After a lost POST, the look-up (author id, date_gmt, ``after``, ``_fields``) against
    the real REST API: Bob's identical comment from 2020 is not ours; ours is found."""
    import asyncio

    post_id = new_post(wordpress, site)
    bob = wordpress.create_comment(
        post_id, "Thanks!", author="Bob", email="bob@example.com", date="2020-06-01 10:00:00"
    )
    password = wordpress.create_app_password(wordpress.admin_user)
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    assert main(["login", site.name, "--user", wordpress.admin_user]) == 0
    store = Store()

    # 1. the POST never reaches the site: the retry must post, not take Bob's comment
    entry, _ = outbox.prepare(store, site.name, post_id, 0, "Thanks!")
    lost = LosePosts(reach_site=False)
    assert asyncio.run(outbox.send_now(store, site, entry.id, transport=lost)).result == "queued"
    counted = CountPosts()
    outcome = asyncio.run(outbox.send_now(store, site, entry.id, transport=counted))
    assert outcome.result == "published" and counted.posts == 1
    rows = wordpress.comments_of(post_id)
    assert len(rows) == 2 and outcome.comment_id != bob
    assert outcome.comment_id == next(int(r["id"]) for r in rows if int(r["user_id"]) > 0)

    # 2. the answer is lost after the site created it: the retry finds it, no second POST
    second, _ = outbox.prepare(store, site.name, post_id, 0, "Found, not doubled")
    lost = LosePosts(reach_site=True)
    assert asyncio.run(outbox.send_now(store, site, second.id, transport=lost)).result == "queued"
    counted = CountPosts()
    outcome = asyncio.run(outbox.send_now(store, site, second.id, transport=counted))
    assert outcome.result == "published" and counted.posts == 0
    [row] = [r for r in wordpress.comments_of(post_id) if r["content"] == "Found, not doubled"]
    assert outcome.comment_id == int(row["id"])
    assert main(["logout", site.name]) == 0


async def test_a_reply_typed_in_the_compose_screen(wordpress, site):
    """The compose screen (Pilot) → outbox → the real site; the app wires the same calls to `r`."""
    import asyncio

    from tests.tui.test_compose import Host, wait_for
    from tui.screens.compose import ComposeScreen

    post_id = await asyncio.to_thread(new_post, wordpress, site)
    store = Store()
    post = store.post(site.name, post_id)
    app = Host(ComposeScreen.for_post(post))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen))
        await pilot.press(*"Typed in the reader")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.results)
    result = app.results[0]
    entry, _ = outbox.prepare(store, site.name, post_id, 0, result.text, "Ada Reader", "ada@example.com")
    assert [c.status for c in store.comments(site.name, post_id)] == ["pending"]
    outcome = await asyncio.to_thread(
        outbox.submit, store, site, post_id, 0, result.text, "Ada Reader", "ada@example.com"
    )
    assert outcome.result == "published" and outcome.entry.id == entry.id
    [row] = await asyncio.to_thread(wordpress.comments_of, post_id)
    assert row["content"] == "Typed in the reader"
    assert [(c.id, c.status) for c in store.comments(site.name, post_id)] == [(row["id"], "approved")]
