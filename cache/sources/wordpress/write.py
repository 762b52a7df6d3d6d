"""The WordPress write side: post a comment, check a login, find a comment already sent.

``WordPressWriter`` is the source contract's ``Writer`` for WordPress sites; the functions
below it do the work and are tested one by one.

Two ways to post, both interpreted into the same outcomes:

- **REST** with an Application Password (``POST {api}/wp/v2/comments``, HTTP Basic);
- the site's own **comment form** (``POST {home}/wp-comments-post.php``) for readers
  without credentials, with a name and an e-mail address.

What the site answers becomes a ``Posted`` (published or held) or an exception:

==========================================  =================================
REST                                        result
==========================================  =================================
201, ``status: approved``                   ``Posted(status="approved")``
201, ``status: hold`` (or anything else)    ``Posted(status="hold")``
409 ``comment_duplicate``                   ``Duplicate`` (the caller looks it up)
400 ``comment_flood``, 429, 5xx, time-out   ``Unreachable`` (try later)
401, 403 login/permission codes             ``AuthError``
403 closed, 400 invalid, 404 no such post   ``Refused``
==========================================  =================================

The form: 302 to ``…#comment-ID`` is published, with ``unapproved=ID`` in the query it is
held; 409 duplicate; 429 flood (``Unreachable``); 403 closed; a 200 page is WordPress's
error page (missing name or e-mail, empty comment) → ``Refused`` with its text. A redirect
whose ``Location`` names no comment (http→https, a www redirect, a firewall, a login page)
is **not** a success: ``BadResponse`` ("the site redirected the comment form to …"), so the
outbox keeps the reply as refused instead of marking it sent.

``find`` accepts a comment as ours only when its text matches, its author is us (the
verified user id over REST with credentials, else the name the form was sent with) and its
``date_gmt`` is no earlier than the reply's creation minus ``CLOCK_SKEW``: someone else's
identical "Thanks!" from years ago is never taken for ours.

POSTs are sent **once** (no automatic retry) and never follow redirects: a lost answer is
resolved by the outbox, which looks the comment up (``find``) before sending it again, and
WordPress itself answers a resend with 409 duplicate. Nothing here touches the store.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx

from ...credentials import BasicAuth, Credentials, check_origin, check_transport
from ...errors import AuthError, BadResponse, Refused, SourceError, Unreachable
from ...http import RetryPolicy, host_of, send
from ...safe import clean_line, html_to_line
from ..base import Duplicate, Posted, Writer
from . import COMMENT_FIELDS, WordPressSource, decode, error_of, parse, route_url

#: REST error codes that mean "who you are is the problem".
AUTH_CODES = frozenset(
    {
        "rest_comment_login_required",
        "rest_cannot_create",
        "incorrect_password",
        "invalid_username",
        "invalid_email",
        "rest_not_logged_in",
        "rest_forbidden",
        "rest_cannot_read",
        "application_passwords_disabled",
        "rest_comment_invalid_author",
        "rest_comment_invalid_author_ip",
    }
)
FLOOD_MESSAGE = "the site asks you to wait before commenting again (flood protection)"
#: How much earlier than the reply's ``created`` time its comment may be dated (clocks differ).
CLOCK_SKEW = timedelta(minutes=5)
#: Fields ``find`` needs: the cache's comment fields plus the author's user id.
FIND_FIELDS = COMMENT_FIELDS + ("" if ",author," in f",{COMMENT_FIELDS}," else ",author")


def home_of(api_root: str) -> str:
    """The site's home URL from its API root (``…/wp-json/`` or ``…/?rest_route=/``)."""
    parts = urlsplit(api_root)
    path = parts.path
    if "rest_route=" in parts.query:
        path = path.rsplit("/", 1)[0] + "/" if not path.endswith("/") else path
        if path.endswith("index.php/"):
            path = path[: -len("index.php/")]
    else:
        path = re.sub(r"(index\.php/)?wp-json/?$", "", path)
    return urlunsplit((parts.scheme, parts.netloc, path if path.endswith("/") else path + "/", "", ""))


# -- identity --------------------------------------------------------------------------


async def verify(client: httpx.AsyncClient, api_root: str, credentials: Credentials) -> dict[str, Any]:
    """Check ``credentials`` with ``GET /wp/v2/users/me``; returns ``{"id", "name"}``.

    Raises: InsecureTransport, AuthError, Unreachable, BadResponse.
    """
    url = route_url(api_root, "/wp/v2/users/me")
    check_transport(url)
    check_origin(credentials, url)
    response = await send(
        client,
        "GET",
        url,
        params={"context": "edit", "_fields": "id,name,slug"},
        auth=BasicAuth(credentials),
        follow_redirects=False,
    )
    if response.status_code in (401, 403):
        code, message = error_of(response)
        raise AuthError(
            f"{host_of(url)} refused the user or application password" + (f": {message}" if message else ""), code
        )
    if response.status_code != 200:
        code, message = error_of(response)
        raise BadResponse(
            f"{host_of(url)} answered {response.status_code} to the login check" + (f": {message}" if message else ""),
            code,
        )
    data = decode(response, "/wp/v2/users/me")
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise BadResponse(f"{host_of(url)} sent no user for the login check")
    return {"id": data["id"], "name": html_to_line(str(data.get("name") or data.get("slug") or ""))}


# -- posting ---------------------------------------------------------------------------


async def post_rest(
    client: httpx.AsyncClient, api_root: str, credentials: Credentials, post: int, parent: int, text: str
) -> Posted:
    """Create a comment through the REST API as the credentials' user.

    Raises: Duplicate, Refused, AuthError, Unreachable, InsecureTransport, BadResponse.
    """
    url = route_url(api_root, "/wp/v2/comments")
    check_transport(url)
    check_origin(credentials, url)
    response = await send(
        client,
        "POST",
        url,
        retry=False,
        auth=BasicAuth(credentials),
        follow_redirects=False,
        json={"post": post, "parent": parent, "content": text},
    )
    host = host_of(url)
    code, message = error_of(response)
    status = response.status_code
    if status in (200, 201):
        data = decode(response, "/wp/v2/comments")
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            raise BadResponse(f"{host} accepted the comment but sent no comment back")
        state = "approved" if data.get("status") in ("approved", "approve", "1") else "hold"
        return Posted(state, data["id"], clean_line(str(data.get("link") or "")), _comment(api_root, data, state))
    reason = message or f"{host} answered {status}"
    if status == 409 or code == "comment_duplicate":
        raise Duplicate(reason, code or "comment_duplicate")
    if code == "comment_flood":
        raise Unreachable(FLOOD_MESSAGE, code)
    if status in (401, 403) and code != "rest_comment_closed" and (status == 401 or code in AUTH_CODES):
        raise AuthError(f"{host} refused the credentials: {reason}", code)
    if 400 <= status < 500:
        raise Refused(reason, code)
    raise BadResponse(f"{host} answered {status} to a new comment" + (f": {message}" if message else ""), code)


async def post_form(
    client: httpx.AsyncClient, home: str, post: int, parent: int, text: str, author: str, email: str
) -> Posted:
    """Create a comment through ``wp-comments-post.php``, as a visitor.

    Raises: Duplicate, Refused, Unreachable, BadResponse.
    """
    url = home.rstrip("/") + "/wp-comments-post.php"
    response = await send(
        client,
        "POST",
        url,
        retry=False,
        follow_redirects=False,
        data={
            "comment": text,
            "author": author,
            "email": email,
            "url": "",
            "comment_post_ID": str(post),
            "comment_parent": str(parent),
        },
    )
    host = host_of(url)
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        return _form_redirect(response)
    page = _page_message(response.text)
    if status == 409:
        raise Duplicate(page or "duplicate comment", "comment_duplicate")
    if status == 429:
        raise Unreachable(FLOOD_MESSAGE, "comment_flood")
    if status == 403:
        raise Refused(page or "comments are closed", "comment_closed")
    if status == 200:
        raise Refused(page or f"{host} did not accept the comment", "comment_form_error")
    if 400 <= status < 500:
        raise Refused(page or f"{host} answered {status}", f"http_{status}")
    raise BadResponse(f"{host} answered {status} to the comment form")


def _form_redirect(response: httpx.Response) -> Posted:
    """A redirect naming the new comment (``#comment-N`` or ``unapproved=N``); any other
    redirect is ``BadResponse``: the form was not where we posted it."""
    location = str(response.url.join(response.headers.get("location", "")))
    parts = urlsplit(location)
    query = parse_qs(parts.query)
    match = re.fullmatch(r"comment-(\d+)", parts.fragment)
    unapproved = next((v for v in query.get("unapproved", []) if v.isdigit()), None)
    if match is None and unapproved is None:
        shown = clean_line(location)[:160] or "nowhere"
        raise BadResponse(
            f"the site redirected the comment form to {shown}; is the URL right?", "comment_form_redirect"
        )
    held = unapproved is not None
    comment_id = int(match.group(1)) if match else int(unapproved)  # type: ignore[arg-type]
    kept = "&".join(p for p in parts.query.split("&") if p and not p.startswith(("unapproved=", "moderation-hash=")))
    link = clean_line(urlunsplit((parts.scheme, parts.netloc, parts.path, kept, parts.fragment)))
    return Posted("hold" if held else "approved", comment_id, link)


_ERROR_P = re.compile(r"<strong>\s*Error\s*:?\s*</strong>\s*:?\s*(.*?)</p>", re.IGNORECASE | re.DOTALL)
_DIE_DIV = re.compile(r'<div class="wp-die-message">(.*?)</div>', re.IGNORECASE | re.DOTALL)
_BODY = re.compile(r"<body[^>]*>(.*?)</body>", re.IGNORECASE | re.DOTALL)


def _page_message(page: str) -> str:
    """WordPress's error text from a comment-form answer page, as one safe line."""
    page = page[:20_000]  # the message is near the top; the patterns' cost grows with length
    for pattern in (_ERROR_P, _DIE_DIV, _BODY):
        match = pattern.search(page)
        if match and (line := html_to_line(match.group(1))):
            return line[:200]
    return html_to_line(page)[:200]


# -- finding a comment that was already sent --------------------------------------------


def _words(text: str) -> str:
    """Only letters and digits: robust to wpautop, wptexturize and entity encoding."""
    return re.sub(r"\W+", "", text.casefold())


def _snippet(text: str) -> str:
    runs = re.findall(r"[\w ]{3,}", text)
    best = max(runs, key=len, default="").strip()
    return best[:40].rsplit(" ", 1)[0] if len(best) > 40 else best


def _parse_gmt(value: Any) -> datetime | None:
    """``YYYY-MM-DDTHH:MM:SS`` (GMT, as WordPress's ``date_gmt`` and ``now_iso``) → aware UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


async def find(
    client: httpx.AsyncClient,
    api_root: str,
    post: int,
    parent: int,
    text: str,
    *,
    author: str = "",
    credentials: Credentials | None = None,
    since: str | datetime | None = None,
    policy: RetryPolicy | None = None,
) -> Posted | None:
    """Look for our comment among the post's comments (after a lost answer or a 409).

    A comment is ours only if its text matches ``text``, it answers ``post``/``parent``,
    its author is us and it is not older than ``since`` (the reply's creation, GMT
    ``YYYY-MM-DDTHH:MM:SS``) minus ``CLOCK_SKEW``. "Us" is, with ``credentials``, the
    verified user id (``credentials.user_id``, else looked up once with ``verify``);
    without them, the comment form's ``author`` name (no name: nothing is ours). With
    credentials, held comments are visible too (``status=any``, when the user may).
    Raises: Unreachable, and AuthError/InsecureTransport when credentials cannot be used
    (anything else means "not found").
    """
    url = route_url(api_root, "/wp/v2/comments")
    wanted = _words(text)
    if not wanted:
        return None
    earliest: datetime | None = None
    if since is not None:
        start = since if isinstance(since, datetime) else _parse_gmt(since)
        if start is None:
            return None  # cannot tell our comment from an older one: not found
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        earliest = start - CLOCK_SKEW
    user_id: int | None = None
    if credentials is not None:
        try:
            check_transport(url)
        except SourceError:
            credentials = None
    if credentials is not None:
        check_origin(credentials, url)
        user_id = credentials.user_id
        if user_id is None:
            user_id = (await verify(client, api_root, credentials))["id"]
    elif not author.strip():
        return None
    base = {"post": post, "parent": parent, "per_page": 100, "orderby": "date", "order": "desc", "_fields": FIND_FIELDS}
    if earliest is not None:
        # WordPress compares ``after`` with the site-local date: a day's margin covers any
        # time zone; the exact check on date_gmt is below.
        base["after"] = (earliest - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    attempts: list[tuple[dict[str, Any], bool]] = []
    snippet = _snippet(text)
    if credentials is not None:
        if snippet:
            attempts.append(({**base, "status": "any", "context": "edit", "search": snippet}, True))
        attempts.append(({**base, "status": "any", "context": "edit"}, True))
    if snippet:
        attempts.append(({**base, "search": snippet}, False))
    attempts.append((base, False))
    for params, authed in attempts:
        kwargs: dict[str, Any] = (
            {"auth": BasicAuth(credentials), "follow_redirects": False} if authed and credentials is not None else {}
        )
        response = await send(client, "GET", url, params=params, policy=policy, **kwargs)
        if response.status_code != 200:
            continue
        try:
            rows = response.json()
        except ValueError:
            continue
        if not isinstance(rows, list):
            continue
        for row in rows:
            if not isinstance(row, dict) or not isinstance(row.get("id"), int):
                continue
            content = row.get("content")
            rendered = content.get("raw") or content.get("rendered") if isinstance(content, dict) else ""
            if row.get("post") != post or row.get("parent", 0) != parent:
                continue
            if _words(html_to_line(str(rendered or ""))) != wanted:
                continue
            if user_id is not None:
                if row.get("author") != user_id or isinstance(row.get("author"), bool):
                    continue
            elif not _same_name(html_to_line(str(row.get("author_name") or "")), author):
                continue
            if earliest is not None:
                when = _parse_gmt(row.get("date_gmt"))
                if when is None or when < earliest:
                    continue
            status = "approved" if row.get("status") in ("approved", "approve", "1") else "hold"
            return Posted(status, row["id"], clean_line(str(row.get("link") or "")), _comment(api_root, row, status))
    return None


def _comment(api_root: str, data: dict[str, Any], status: str) -> Any:
    """The comment the site sent back, as a model (None when malformed or empty)."""
    try:
        comment = parse.comment("", data)
    except BadResponse:
        return None
    comment.status = status
    return comment if comment.text.strip() else None


class WordPressWriter(Writer):
    """Replies over REST with an Application Password, else through the comment form."""

    def __init__(self, source: WordPressSource) -> None:
        self.source = source
        self.api_root = source.api_root
        self.client = source.client

    def login_url(self) -> str:
        return route_url(self.api_root, "/wp/v2/users/me")

    async def verify(self, credentials: Credentials) -> dict[str, Any]:
        return await verify(self.client, self.api_root, credentials)

    async def post(
        self, post: int, parent: int, text: str, *, credentials: Credentials | None, author: str, email: str
    ) -> Posted:
        if credentials is not None:
            return await post_rest(self.client, self.api_root, credentials, post, parent, text)
        return await post_form(self.client, home_of(self.api_root), post, parent, text, author, email)

    async def find(
        self, post: int, parent: int, text: str, *, author: str, credentials: Credentials | None, since: str
    ) -> Posted | None:
        return await find(
            self.client,
            self.api_root,
            post,
            parent,
            text,
            author=author,
            credentials=credentials,
            since=since,
            policy=self.source.policy,
        )

    async def comment_exists(self, post: int, comment_id: int) -> bool | None:
        """Ask the site for the comment (anonymous: approved comments only)."""
        url = route_url(self.api_root, f"/wp/v2/comments/{comment_id}")
        response = await send(self.client, "GET", url, params={"_fields": "id,post"}, policy=self.source.policy)
        if response.status_code == 404:
            return False
        if response.status_code != 200:
            return None
        try:
            data = response.json()
        except ValueError:
            return None
        return isinstance(data, dict) and data.get("post") == post
