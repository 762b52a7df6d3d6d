"""The bundled demo site, and the in-process fake WordPress that serves it.

``FakeWordPress`` answers httpx requests the way WordPress's REST API does — discovery
(``Link`` header and ``<link rel>``), ``/wp-json/`` and ``?rest_route=`` routes, 100-item
pages with ``X-WP-Total``/``X-WP-TotalPages``, ``modified_after``/``after`` filters, the
past-the-end behaviour of each collection, and ``_fields`` — so the demo goes through the
same source, sync and store code as a real site, offline. Tests use it with their own data.

The demo content (``site.json``) is original writing for this project; nothing in it is
real.
"""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

DEMO_URL = "https://demo.broadsheet.invalid/"
DEMO_NAME = "demo"


def load_demo() -> dict[str, Any]:
    """The demo site's data (WordPress REST shapes)."""
    data: dict[str, Any] = json.loads(resources.files(__package__).joinpath("site.json").read_text("utf-8"))
    return data


class FakeWordPress:
    """A WordPress REST API over in-memory data, for ``httpx.MockTransport``.

    ``data`` has the keys ``name, description, url, users, categories, posts, comments``
    with items shaped like the REST API's. ``requests`` records every request seen.
    """

    def __init__(
        self,
        data: dict[str, Any],
        *,
        pretty: bool = True,
        app_passwords: dict[str, str] | None = None,
        moderate: bool = False,
    ) -> None:
        self.data = data
        self.pretty = pretty
        #: user slug → Application Password accepted over HTTP Basic (REST writes).
        self.app_passwords = dict(app_passwords or {})
        #: Hold every new comment for moderation (status ``hold``).
        self.moderate = moderate
        #: WordPress's duplicate-comment check (plugins can switch it off).
        self.duplicate_check = True
        self.base = data.get("url", DEMO_URL).rstrip("/")
        self.requests: list[httpx.Request] = []

    # -- entry point ------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = urlsplit(str(request.url))
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        route = None
        if "rest_route" in query:
            route = query.pop("rest_route") or "/"
        elif self.pretty and url.path.startswith("/wp-json"):
            route = url.path[len("/wp-json") :] or "/"
        if route is None:
            if request.method == "POST" and url.path.endswith("/wp-comments-post.php"):
                return self.comment_form(request)
            return self.page()
        route = "/" + route.strip("/")
        handler = getattr(self, "route_" + route.strip("/").replace("/", "_").replace("wp_v2_", ""), None)
        if route == "/":
            return self.index()
        if handler is None:
            return self.error(404, "rest_no_route", "No route was found matching the URL and request method.")
        response: httpx.Response = handler(request, query)
        return response

    # -- pages ------------------------------------------------------------------------

    def api_root(self) -> str:
        return f"{self.base}/wp-json/" if self.pretty else f"{self.base}/?rest_route=/"

    def page(self) -> httpx.Response:
        html = (
            "<!doctype html><html><head><title>{0}</title>"
            '<link rel="https://api.w.org/" href="{1}" /></head>'
            "<body><h1>{0}</h1></body></html>"
        ).format(self.data.get("name", ""), self.api_root())
        return httpx.Response(
            200,
            headers={
                "Content-Type": "text/html; charset=UTF-8",
                "Link": f'<{self.api_root()}>; rel="https://api.w.org/"',
            },
            text=html,
        )

    def index(self) -> httpx.Response:
        return self.json(
            {
                "name": self.data.get("name", ""),
                "description": self.data.get("description", ""),
                "url": self.base,
                "home": self.base,
                "namespaces": ["oembed/1.0", "wp/v2", "wp-site-health/v1"],
            }
        )

    # -- collections --------------------------------------------------------------------

    def route_categories(self, request: httpx.Request, query: dict[str, str]) -> httpx.Response:
        return self.collection(self.data.get("categories", []), query, past_end_ok=True)

    def route_users(self, request: httpx.Request, query: dict[str, str]) -> httpx.Response:
        return self.collection(self.data.get("users", []), query, past_end_ok=True)

    def route_posts(self, request: httpx.Request, query: dict[str, str]) -> httpx.Response:
        items = [p for p in self.data.get("posts", []) if p.get("status", "publish") == "publish"]
        if after := query.get("modified_after"):
            items = [p for p in items if p.get("modified", "") > after[:19]]
        if include := query.get("include"):
            wanted = {int(i) for i in include.split(",") if i.strip().isdigit()}
            items = [p for p in items if p["id"] in wanted]
        key = "modified" if query.get("orderby") == "modified" else "date"
        items.sort(key=lambda p: (p.get(key, ""), p["id"]), reverse=query.get("order", "desc") == "desc")
        return self.collection(items, query, past_end_ok=False)

    def route_comments(self, request: httpx.Request, query: dict[str, str]) -> httpx.Response:
        if request.method == "POST":
            return self.create_comment_rest(request)
        user = self.user_of(request)
        if isinstance(user, httpx.Response):
            return user
        wanted = {"approved"} if query.get("status", "approve") in ("approve", "approved") else None
        if wanted is None and user is None:
            return self.error(401, "rest_forbidden_param", "Query parameter not permitted: status")
        items = [c for c in self.data.get("comments", []) if wanted is None or c.get("status", "approved") in wanted]
        if post := query.get("post"):
            items = [c for c in items if str(c.get("post")) == post]
        if (parent := query.get("parent")) is not None:
            items = [c for c in items if str(c.get("parent", 0)) == parent]
        if search := query.get("search"):
            items = [c for c in items if search.casefold() in c.get("_raw", c["content"]["rendered"]).casefold()]
        if after := query.get("after"):
            items = [c for c in items if c.get("date", "") > after[:19]]
        items.sort(key=lambda c: (c.get("date", ""), c["id"]), reverse=query.get("order", "desc") == "desc")
        return self.collection(items, query, past_end_ok=True)

    def collection(self, items: list[dict[str, Any]], query: dict[str, str], *, past_end_ok: bool) -> httpx.Response:
        try:
            per_page = int(query.get("per_page", "10"))
            page = int(query.get("page", "1"))
        except ValueError:
            return self.error(400, "rest_invalid_param", "Invalid parameter(s): per_page")
        if not 1 <= per_page <= 100:
            return self.error(400, "rest_invalid_param", "Invalid parameter(s): per_page")
        total = len(items)
        pages = max(1, -(-total // per_page)) if total else 0
        if page > max(pages, 1) and not past_end_ok:
            return self.error(
                400,
                "rest_post_invalid_page_number",
                "The page number requested is larger than the number of pages available.",
            )
        chunk = items[(page - 1) * per_page : page * per_page]
        if fields := query.get("_fields"):
            wanted = set(fields.split(","))
            chunk = [{k: v for k, v in item.items() if k in wanted} for item in chunk]
        return self.json(copy.deepcopy(chunk), headers={"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)})

    # -- writing ------------------------------------------------------------------------

    def user_of(self, request: httpx.Request) -> dict[str, Any] | httpx.Response | None:
        """The user an HTTP Basic header names (None: anonymous; a 401 response: wrong)."""
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        import base64

        try:
            login, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return self.error(401, "invalid_username", "Unknown username.")
        user = next((u for u in self.data.get("users", []) if u.get("slug") == login), None)
        if user is None:
            return self.error(401, "invalid_username", "Unknown username. Check again or try your email address.")
        if (
            self.app_passwords.get(login, None) != password.replace(" ", "")
            and self.app_passwords.get(login, None) != password
        ):
            return self.error(401, "incorrect_password", "The provided password is an invalid application password.")
        return dict(user)

    def route_users_me(self, request: httpx.Request, query: dict[str, str]) -> httpx.Response:
        user = self.user_of(request)
        if isinstance(user, httpx.Response):
            return user
        if user is None:
            return self.error(401, "rest_not_logged_in", "You are not currently logged in.")
        return self.json({"id": user["id"], "name": user.get("name", ""), "slug": user.get("slug", "")})

    def create_comment_rest(self, request: httpx.Request) -> httpx.Response:
        """``POST /wp/v2/comments`` as a logged-in user (HTTP Basic, Application Password)."""
        user = self.user_of(request)
        if isinstance(user, httpx.Response):
            return user
        if user is None:
            return self.error(401, "rest_comment_login_required", "Sorry, you must be logged in to comment.")
        try:
            body = json.loads(request.content or b"{}")
            post_id, parent = int(body.get("post", 0)), int(body.get("parent", 0) or 0)
        except (ValueError, TypeError, AttributeError):
            return self.error(400, "rest_invalid_param", "Invalid parameter(s): post")
        post = next((p for p in self.data.get("posts", []) if p["id"] == post_id), None)
        if post is None:
            return self.error(
                403, "rest_comment_invalid_post_id", "Sorry, you are not allowed to create this comment without a post."
            )
        if post.get("comment_status") == "closed":
            return self.error(403, "rest_comment_closed", "Sorry, comments are closed for this item.")
        text = str(body.get("content") or "").strip()
        if not text:
            return self.error(400, "rest_comment_content_invalid", "Invalid comment content.")
        if self.is_duplicate(post_id, parent, text, user.get("name", "")):
            return self.error(
                409,
                "comment_duplicate",
                "Duplicate comment detected; it looks as though you&#8217;ve already said that!",
            )
        comment = self.add_comment(post, parent, text, user.get("name", ""), user["id"])
        return self.json(
            copy.deepcopy(comment), 201, headers={"Location": f"{self.api_root()}wp/v2/comments/{comment['id']}"}
        )

    def is_duplicate(self, post_id: int, parent: int, text: str, author: str) -> bool:
        if not self.duplicate_check:
            return False
        return any(
            c["post"] == post_id
            and c.get("parent", 0) == parent
            and c.get("_raw") == text
            and c.get("author_name") == author
            for c in self.data.get("comments", [])
        )

    def add_comment(
        self, post: dict[str, Any], parent: int, text: str, author: str, user_id: int = 0
    ) -> dict[str, Any]:
        from datetime import datetime

        comments = self.data.setdefault("comments", [])
        # Ids from the clock: every process starts from the bundled data, and two processes'
        # replies must never share an id (the cache would keep only one of them).
        comment_id = max([c["id"] for c in comments] + [int(time.time() * 1000) - 1_700_000_000_000]) + 1
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        comment = {
            "id": comment_id,
            "post": post["id"],
            "parent": parent,
            "author": user_id,
            "author_name": author,
            "author_url": "",
            "date": now,
            "date_gmt": now,
            "content": {"rendered": "".join(f"<p>{line}</p>\n" for line in _escape(text).split("\n\n"))},
            "link": f"{post['link']}#comment-{comment_id}",
            "status": "hold" if self.moderate else "approved",
            "type": "comment",
            "_raw": text,
        }
        comments.append(comment)
        return comment

    def comment_form(self, request: httpx.Request) -> httpx.Response:
        """``wp-comments-post.php``: anonymous comments, as the classic form posts them."""
        form = {k: v[-1] for k, v in parse_qs(request.content.decode(), keep_blank_values=True).items()}
        try:
            post_id = int(form.get("comment_post_ID", "0"))
            parent = int(form.get("comment_parent", "0") or 0)
        except ValueError:
            return httpx.Response(400, text="<p>Invalid comment.</p>")
        post = next((p for p in self.data.get("posts", []) if p["id"] == post_id), None)
        if post is None:
            return httpx.Response(404, text="<p>Not found.</p>")
        if post.get("comment_status") == "closed":
            return httpx.Response(403, text="<p>Sorry, comments are closed for this item.</p>")
        text = form.get("comment", "").strip()
        author, email = form.get("author", "").strip(), form.get("email", "").strip()
        if not author or not email:
            return httpx.Response(200, text="<p><strong>Error:</strong> Please fill the required fields.</p>")
        if not text:
            return httpx.Response(200, text="<p><strong>Error:</strong> Please type your comment text.</p>")
        comments = self.data.setdefault("comments", [])
        if any(c["post"] == post_id and c.get("_raw") == text and c.get("author_name") == author for c in comments):
            return httpx.Response(
                409, text="<p>Duplicate comment detected; it looks as though you&#8217;ve already said that!</p>"
            )
        comment = self.add_comment(post, parent, text, author)
        link = comment["link"]
        if comment["status"] == "hold":
            link = f"{post['link']}?unapproved={comment['id']}&moderation-hash=0123abcd#comment-{comment['id']}"
        return httpx.Response(302, headers={"Location": link})

    # -- responses ---------------------------------------------------------------------

    @staticmethod
    def json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.Response(status, json=data, headers=headers or {})

    def error(self, status: int, code: str, message: str) -> httpx.Response:
        return self.json({"code": code, "message": message, "data": {"status": status}}, status)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class DemoTransport(httpx.MockTransport):
    """An ``httpx`` transport serving the bundled demo site (offline)."""

    def __init__(self) -> None:
        super().__init__(FakeWordPress(load_demo()))


def add_demo_site(store: Any) -> Any:
    """Subscribe ``store`` to the bundled demo site (no network); returns the ``Site``."""
    from ..models import Site

    data = load_demo()
    try:
        return store.site(DEMO_NAME)
    except Exception:  # NotFound: not subscribed yet
        pass
    return store.add_site(
        Site(
            name=DEMO_NAME,
            url=DEMO_URL,
            api_root=DEMO_URL + "wp-json/",
            title=data.get("name", "Demo") + " (demo)",
            description=data.get("description", ""),
            demo=True,
        )
    )
