"""The WordPress write side: every answer the site can give, through httpx.MockTransport."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest

from cache.credentials import Credentials
from cache.errors import AuthError, BadResponse, InsecureTransport, Refused, Unreachable
from cache.http import make_client
from cache.sources.wordpress import write as replies

API = "https://news.example.test/wp-json/"
HOME = "https://news.example.test/"
SECRET = "abcd EFGH ijkl MNOP qrst UVWX"
CREDS = Credentials("news", "ada", SECRET, origin="https://news.example.test", user_id=3)


def client_for(handler: Callable[[httpx.Request], httpx.Response], seen: list[httpx.Request] | None = None):
    def record(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return handler(request)

    return make_client(httpx.MockTransport(record))


def wp_error(status: int, code: str, message: str = "Nope.") -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "data": {"status": status}})


def created(status: str) -> httpx.Response:
    return httpx.Response(
        201,
        json={
            "id": 77,
            "post": 5,
            "parent": 0,
            "author_name": "Ada",
            "date": "2026-01-01T10:00:00",
            "date_gmt": "2026-01-01T10:00:00",
            "content": {"rendered": "<p>Hi there</p>"},
            "link": "https://news.example.test/p/5/#comment-77",
            "status": status,
        },
    )


# -- REST ----------------------------------------------------------------------------------


async def test_rest_201_published_sends_basic_auth_and_json():
    seen: list[httpx.Request] = []
    async with client_for(lambda r: created("approved"), seen) as client:
        posted = await replies.post_rest(client, API, CREDS, 5, 0, "Hi there")
    assert (posted.status, posted.comment_id, posted.held) == ("approved", 77, False)
    assert posted.link.endswith("#comment-77")
    request = seen[0]
    assert request.method == "POST" and request.url.path == "/wp-json/wp/v2/comments"
    assert json.loads(request.content) == {"post": 5, "parent": 0, "content": "Hi there"}
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"ada:{SECRET}".encode()).decode()


async def test_rest_201_hold_is_held():
    async with client_for(lambda r: created("hold")) as client:
        posted = await replies.post_rest(client, API, CREDS, 5, 0, "Hi there")
    assert posted.held and posted.status == "hold" and posted.comment_id == 77


@pytest.mark.parametrize(
    ("response", "error", "code"),
    [
        (wp_error(409, "comment_duplicate", "Duplicate comment detected"), replies.Duplicate, "comment_duplicate"),
        (wp_error(400, "comment_flood", "You are posting comments too quickly."), Unreachable, "comment_flood"),
        (
            wp_error(403, "rest_comment_closed", "Sorry, comments are closed for this item."),
            Refused,
            "rest_comment_closed",
        ),
        (
            wp_error(401, "incorrect_password", "The provided password is an invalid application password."),
            AuthError,
            "incorrect_password",
        ),
        (
            wp_error(401, "rest_comment_login_required", "Sorry, you must be logged in to comment."),
            AuthError,
            "rest_comment_login_required",
        ),
        (
            wp_error(403, "rest_cannot_create", "Sorry, you are not allowed to create this comment."),
            AuthError,
            "rest_cannot_create",
        ),
        (
            wp_error(400, "rest_comment_content_invalid", "Invalid comment content."),
            Refused,
            "rest_comment_content_invalid",
        ),
        (
            wp_error(
                400,
                "rest_comment_author_data_required",
                "Creating a comment requires valid author name and email values.",
            ),
            Refused,
            "rest_comment_author_data_required",
        ),
        (httpx.Response(500, text="oops"), Unreachable, ""),
        (httpx.Response(503, text="busy"), Unreachable, ""),
        (httpx.Response(429, text="slow down"), Unreachable, ""),
    ],
)
async def test_rest_error_answers(response, error, code):
    seen: list[httpx.Request] = []
    async with client_for(lambda r: response, seen) as client:
        with pytest.raises(error) as raised:
            await replies.post_rest(client, API, CREDS, 5, 0, "Hi there")
    assert raised.value.code == code
    assert type(raised.value) is error  # AuthError is not a Refused, Duplicate not an Unreachable...
    assert len(seen) == 1, "a POST is never retried automatically"
    assert SECRET not in str(raised.value) and "Basic" not in str(raised.value)


async def test_rest_time_out_is_unreachable_and_not_retried():
    seen: list[httpx.Request] = []

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with client_for(slow, seen) as client:
        with pytest.raises(Unreachable, match="did not answer in time"):
            await replies.post_rest(client, API, CREDS, 5, 0, "Hi there")
    assert len(seen) == 1


async def test_rest_refuses_plain_http_to_a_remote_host_before_sending():
    seen: list[httpx.Request] = []
    async with client_for(lambda r: created("approved"), seen) as client:
        with pytest.raises(InsecureTransport) as raised:
            await replies.post_rest(client, "http://news.example.test/wp-json/", CREDS, 5, 0, "Hi")
        assert SECRET not in str(raised.value)
        assert seen == []
        # loopback over http is fine (a local test site)
        local = Credentials("local", "ada", SECRET, origin="http://127.0.0.1:8080")
        posted = await replies.post_rest(client, "http://127.0.0.1:8080/wp-json/", local, 5, 0, "Hi")
    assert posted.comment_id == 77


async def test_rest_does_not_follow_a_redirect_with_the_password():
    seen: list[httpx.Request] = []

    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"Location": "http://elsewhere.example/wp-json/wp/v2/comments"})

    async with client_for(redirect, seen) as client:
        with pytest.raises(BadResponse):
            await replies.post_rest(client, API, CREDS, 5, 0, "Hi")
    assert len(seen) == 1


async def test_verify_returns_the_user_or_raises_auth_error():
    def me(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization", "").endswith(base64.b64encode(f"ada:{SECRET}".encode()).decode()):
            return httpx.Response(200, json={"id": 3, "name": "Ada Writer", "slug": "ada"})
        return wp_error(401, "incorrect_password", "The provided password is an invalid application password.")

    async with client_for(me) as client:
        assert await replies.verify(client, API, CREDS) == {"id": 3, "name": "Ada Writer"}
        with pytest.raises(AuthError) as raised:
            await replies.verify(client, API, Credentials("news", "ada", "wrong-password", origin=CREDS.origin))
    assert "wrong-password" not in str(raised.value)


# -- the comment form -------------------------------------------------------------------------


async def test_form_302_is_published_and_sends_the_fields():
    seen: list[httpx.Request] = []
    location = "https://news.example.test/p/5/#comment-91"
    async with client_for(lambda r: httpx.Response(302, headers={"Location": location}), seen) as client:
        posted = await replies.post_form(client, HOME, 5, 12, "Hello & bye", "Ada", "ada@example.com")
    assert (posted.status, posted.comment_id, posted.link) == ("approved", 91, location)
    request = seen[0]
    assert request.url == "https://news.example.test/wp-comments-post.php"
    from urllib.parse import parse_qs

    form = {k: v[0] for k, v in parse_qs(request.content.decode(), keep_blank_values=True).items()}
    assert form == {
        "comment": "Hello & bye",
        "author": "Ada",
        "email": "ada@example.com",
        "url": "",
        "comment_post_ID": "5",
        "comment_parent": "12",
    }
    assert "authorization" not in request.headers


async def test_form_302_unapproved_is_held():
    location = "https://news.example.test/p/5/?unapproved=92&moderation-hash=abc#comment-92"
    async with client_for(lambda r: httpx.Response(302, headers={"Location": location})) as client:
        posted = await replies.post_form(client, HOME, 5, 0, "Hi", "Ada", "ada@example.com")
    assert (posted.status, posted.comment_id) == ("hold", 92)
    assert "moderation-hash" not in posted.link


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(
    "location",
    [
        "https://news.example.test/wp-comments-post.php",  # http → https, www, moved
        "https://news.example.test/wp-login.php?redirect_to=%2Fp%2F5%2F",  # a login page
        "https://waf.example.net/challenge?id=1",  # a firewall
        "https://news.example.test/p/5/#respond",  # no comment named
    ],
)
async def test_form_redirect_naming_no_comment_is_not_success(status, location):
    seen: list[httpx.Request] = []
    async with client_for(lambda r: httpx.Response(status, headers={"Location": location}), seen) as client:
        with pytest.raises(BadResponse) as raised:
            await replies.post_form(client, HOME, 5, 0, "Hi", "Ada", "ada@example.com")
    message = str(raised.value)
    assert message == f"the site redirected the comment form to {location}; is the URL right?"
    assert raised.value.code == "comment_form_redirect"
    assert len(seen) == 1, "the redirect is not followed with the comment"


async def test_form_redirect_with_only_unapproved_is_held():
    location = "https://news.example.test/p/5/?unapproved=93&moderation-hash=abc"
    async with client_for(lambda r: httpx.Response(302, headers={"Location": location})) as client:
        posted = await replies.post_form(client, HOME, 5, 0, "Hi", "Ada", "ada@example.com")
    assert (posted.status, posted.comment_id) == ("hold", 93)


async def test_form_200_error_page_is_refused_with_the_sites_words():
    page = (
        "<!DOCTYPE html><html><body id='error-page'><div class=\"wp-die-message\"><p><strong>Error</strong>: "
        "Please fill the required fields (name, email).\x1b[31m</p></div></body></html>"
    )
    async with client_for(lambda r: httpx.Response(200, text=page)) as client:
        with pytest.raises(Refused) as raised:
            await replies.post_form(client, HOME, 5, 0, "Hi", "", "")
    assert str(raised.value) == "Please fill the required fields (name, email)."


@pytest.mark.parametrize(
    ("status", "error"),
    [(409, replies.Duplicate), (429, Unreachable), (403, Refused), (500, Unreachable), (502, Unreachable)],
)
async def test_form_error_statuses(status, error):
    page = (
        '<html><body><div class="wp-die-message"><p>Sorry, comments are closed for this item.</p></div></body></html>'
    )
    seen: list[httpx.Request] = []
    async with client_for(lambda r: httpx.Response(status, text=page), seen) as client:
        with pytest.raises(error) as raised:
            await replies.post_form(client, HOME, 5, 0, "Hi", "Ada", "ada@example.com")
    assert type(raised.value) is error
    assert len(seen) == 1
    if status == 403:
        assert str(raised.value) == "Sorry, comments are closed for this item."


async def test_form_connection_refused_is_unreachable():
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    async with client_for(down) as client:
        with pytest.raises(Unreachable, match="connection refused"):
            await replies.post_form(client, HOME, 5, 0, "Hi", "Ada", "ada@example.com")


# -- finding a sent comment -----------------------------------------------------------------


async def test_find_matches_content_despite_wordpress_formatting():
    rows = [
        {
            "id": 10,
            "post": 5,
            "parent": 0,
            "author_name": "Bob",
            "content": {"rendered": "<p>Something else</p>"},
            "link": "l10",
            "status": "approved",
        },
        {
            "id": 11,
            "post": 5,
            "parent": 0,
            "author_name": "Ada",
            "content": {"rendered": "<p>It&#8217;s &#8220;fine&#8221; &#8211; really</p>\n"},
            "link": "l11",
            "status": "approved",
        },
    ]
    seen: list[httpx.Request] = []
    async with client_for(lambda r: httpx.Response(200, json=rows), seen) as client:
        found = await replies.find(client, API, 5, 0, 'It\'s "fine" - really', author="Ada")
        nobody = await replies.find(client, API, 5, 0, 'It\'s "fine" - really')
        missing = await replies.find(client, API, 5, 0, "Never said this", author="Ada")
    assert found is not None and (found.comment_id, found.status, found.link) == (11, "approved", "l11")
    assert missing is None
    assert nobody is None, "without credentials or a name, no comment can be known to be ours"
    assert seen[0].url.params["search"] and seen[0].url.params["post"] == "5"


WHEN = "2026-03-01T12:00:00"  # the outbox entry's `created` (GMT)


def row(
    comment_id: int,
    *,
    author: int = 0,
    name: str = "Ada",
    date_gmt: str = WHEN,
    text: str = "Thanks!",
    status: str = "approved",
    post: int = 5,
    parent: int = 0,
) -> dict:
    return {
        "id": comment_id,
        "post": post,
        "parent": parent,
        "author": author,
        "author_name": name,
        "date": date_gmt,
        "date_gmt": date_gmt,
        "content": {"rendered": f"<p>{text}</p>\n"},
        "link": f"l{comment_id}",
        "status": status,
    }


def comments_server(rows: list[dict], me: dict | None = None, seen: list[httpx.Request] | None = None):
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if request.url.path.endswith("/users/me"):
            return httpx.Response(200, json=me) if me else wp_error(401, "rest_not_logged_in")
        fields = request.url.params.get("_fields", "")
        keep = set(fields.split(",")) if fields else None
        return httpx.Response(200, json=[{k: v for k, v in r.items() if keep is None or k in keep} for r in rows])

    return handler


async def test_find_logged_in_ignores_someone_elses_and_older_comments_with_the_same_text():
    bob_2020 = row(10, author=7, name="Bob", date_gmt="2020-05-01T09:00:00")
    bob_now = row(11, author=7, name="Bob", date_gmt="2026-03-01T12:00:30")
    ours_2020 = row(12, author=3, name="Ada Writer", date_gmt="2020-05-02T09:00:00")
    seen: list[httpx.Request] = []
    async with make_client(httpx.MockTransport(comments_server([bob_now, ours_2020, bob_2020], seen=seen))) as client:
        found = await replies.find(client, API, 5, 0, "Thanks!", credentials=CREDS, since=WHEN)
    assert found is None, "Bob's comment (and our own from 2020) is not the reply we are looking for"
    fields = set(seen[0].url.params["_fields"].split(","))
    assert {"author", "author_name", "date_gmt"} <= fields
    assert seen[0].headers["authorization"].startswith("Basic ")

    ours_now = row(13, author=3, name="Ada Writer", date_gmt="2026-03-01T11:57:00", status="hold")  # clock skew
    async with make_client(httpx.MockTransport(comments_server([bob_now, ours_now, bob_2020]))) as client:
        found = await replies.find(client, API, 5, 0, "Thanks!", credentials=CREDS, since=WHEN)
    assert found is not None and (found.comment_id, found.status) == (13, "hold")


async def test_find_looks_up_the_user_id_when_login_did_not_store_it():
    creds = Credentials("news", "ada", SECRET, origin="https://news.example.test")  # no user_id
    rows = [row(10, author=7, name="Bob"), row(14, author=3, name="Ada Writer")]
    seen: list[httpx.Request] = []
    handler = comments_server(rows, me={"id": 3, "name": "Ada Writer", "slug": "ada"}, seen=seen)
    async with make_client(httpx.MockTransport(handler)) as client:
        found = await replies.find(client, API, 5, 0, "Thanks!", credentials=creds, since=WHEN)
    assert found is not None and found.comment_id == 14
    assert [r.url.path.endswith("/users/me") for r in seen].count(True) == 1


async def test_find_anonymous_needs_our_name_and_a_recent_date():
    rows = [
        row(10, name="Bob"),
        row(11, name="Ada", date_gmt="2020-05-01T09:00:00"),
        row(12, name="Ada", date_gmt="no date"),
        row(13, name="Ada", date_gmt="2026-03-01T12:01:00"),
    ]
    async with make_client(httpx.MockTransport(comments_server(rows))) as client:
        found = await replies.find(client, API, 5, 0, "Thanks!", author="Ada", since=WHEN)
        assert found is not None and found.comment_id == 13
        rows.pop()
        assert await replies.find(client, API, 5, 0, "Thanks!", author="Ada", since=WHEN) is None


async def test_credentials_are_never_sent_to_another_origin():
    seen: list[httpx.Request] = []
    other = "https://other.example.test/wp-json/"
    async with client_for(lambda r: created("approved"), seen) as client:
        with pytest.raises(AuthError, match=r"credentials were saved for https://news.example.test"):
            await replies.post_rest(client, other, CREDS, 5, 0, "Hi")
        with pytest.raises(AuthError):
            await replies.verify(client, other, CREDS)
        with pytest.raises(AuthError):
            await replies.find(client, other, 5, 0, "Hi", credentials=CREDS, since=WHEN)
        legacy = Credentials("news", "ada", SECRET)  # saved before origins were recorded
        with pytest.raises(AuthError, match="login news"):
            await replies.post_rest(client, API, legacy, 5, 0, "Hi")
    assert seen == []


def test_home_of_both_api_root_forms():
    assert replies.home_of("https://a.test/wp-json/") == "https://a.test/"
    assert replies.home_of("https://a.test/blog/wp-json/") == "https://a.test/blog/"
    assert replies.home_of("https://a.test/blog/?rest_route=/") == "https://a.test/blog/"
    assert replies.home_of("https://a.test/index.php/wp-json/") == "https://a.test/"
