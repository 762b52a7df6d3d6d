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
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

DEMO_URL = "https://demo.broadsheet.invalid/"
DEMO_NAME = "demo"


def load_demo() -> dict[str, Any]:
    """The demo site's data (WordPress REST shapes)."""
    return json.loads(resources.files(__package__).joinpath("site.json").read_text("utf-8"))


class FakeWordPress:
    """A WordPress REST API over in-memory data, for ``httpx.MockTransport``.

    ``data`` has the keys ``name, description, url, users, categories, posts, comments``
    with items shaped like the REST API's. ``requests`` records every request seen.
    """

    def __init__(self, data: dict[str, Any], *, pretty: bool = True) -> None:
        self.data = data
        self.pretty = pretty
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
            route = url.path[len("/wp-json"):] or "/"
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
        return handler(request, query)

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
            headers={"Content-Type": "text/html; charset=UTF-8", "Link": f'<{self.api_root()}>; rel="https://api.w.org/"'},
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
        key = "modified" if query.get("orderby") == "modified" else "date"
        items.sort(key=lambda p: (p.get(key, ""), p["id"]), reverse=query.get("order", "desc") == "desc")
        return self.collection(items, query, past_end_ok=False)

    def route_comments(self, request: httpx.Request, query: dict[str, str]) -> httpx.Response:
        items = [c for c in self.data.get("comments", []) if c.get("status", "approved") == "approved"]
        if post := query.get("post"):
            items = [c for c in items if str(c.get("post")) == post]
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
            return httpx.Response(409, text="<p>Duplicate comment detected; it looks as though you&#8217;ve already said that!</p>")
        comment_id = max([c["id"] for c in comments] + [0]) + 1
        from datetime import datetime, timezone

        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        link = f"{post['link']}#comment-{comment_id}"
        comments.append(
            {
                "id": comment_id, "post": post_id, "parent": parent, "author": 0,
                "author_name": author, "author_url": "", "date": now, "date_gmt": now,
                "content": {"rendered": "".join(f"<p>{line}</p>\n" for line in _escape(text).split("\n\n"))},
                "link": link, "status": "approved", "type": "comment", "_raw": text,
            }
        )
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
