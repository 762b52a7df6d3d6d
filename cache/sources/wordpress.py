"""The WordPress REST API source.

Discovery accepts any page URL of a site and finds the API root the way WordPress
advertises it: the ``Link: <…>; rel="https://api.w.org/"`` header, then the HTML
``<link rel="https://api.w.org/" href=…>``, then the ``/wp-json/`` and ``?rest_route=/``
fallbacks. The root is confirmed by its index listing the ``wp/v2`` namespace.

Reading: every collection is read 100 a page; the first page tells ``X-WP-TotalPages``
and the remaining pages are fetched concurrently (``concurrency`` at a time). Incremental
reads use ``modified_after`` (posts, ordered by ``modified``) and ``after`` (comments),
both compared by WordPress in *site-local* time and exclusive, so callers pass the newest
local time they have seen and drop what they already have.
"""

from __future__ import annotations

import asyncio
import logging
from html.parser import HTMLParser
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from ..errors import BadResponse, NotASite, Unreachable
from ..http import RetryPolicy, host_of, is_loopback, send
from ..models import Category, Comment, Post, valid_id
from ..safe import clean_line, html_to_line
from . import PostBatch, Source

log = logging.getLogger(__name__)

API_REL = "https://api.w.org/"
PER_PAGE = 100
MAX_PAGES = 5000
"""At most this many pages of one collection (500,000 items)."""
POST_FIELDS = (
    "id,date,date_gmt,modified,modified_gmt,slug,status,link,title,content,"
    "author,categories,sticky,comment_status"
)
COMMENT_FIELDS = "id,post,parent,author_name,date,date_gmt,content,link,status"


class WordPressSource(Source):
    """Reads a WordPress site through its REST API at ``api_root``."""

    def __init__(
        self,
        site: str,
        api_root: str,
        client: httpx.AsyncClient,
        *,
        concurrency: int = 6,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.site = site
        self.api_root = api_root
        self.client = client
        self.policy = policy or RetryPolicy()
        self.requests = [0]
        self._limit = asyncio.Semaphore(concurrency)
        self.authors: dict[int, str] = {}
        #: Malformed items left out so far.
        self.skipped = 0

    # -- URLs and requests -----------------------------------------------------------

    def url(self, route: str) -> str:
        """The URL of ``route`` (``/wp/v2/posts``) under this site's API root."""
        return route_url(self.api_root, route)

    async def get(self, route: str, params: dict[str, Any] | None = None) -> tuple[Any, httpx.Response]:
        """GET a route and decode its JSON; error statuses become ``SourceError``."""
        # Merge, never replace: with a ``?rest_route=`` root the route itself is a query parameter.
        url = httpx.URL(self.url(route)).copy_merge_params(params or {})
        async with self._limit:
            response = await send(self.client, "GET", str(url), policy=self.policy, counter=self.requests)
        if response.status_code >= 400:
            code, message = error_of(response)
            raise BadResponse(
                f"{host_of(response.url)} answered {response.status_code} for {route}"
                + (f": {message}" if message else ""),
                code,
            )
        return decode(response, route), response

    async def paged(
        self, route: str, params: dict[str, Any], each: Callable[[list[dict[str, Any]]], None] | None = None
    ) -> list[dict[str, Any]]:
        """Every item of a collection: page 1, then the other pages concurrently.

        With ``each``, every page is handed to it as soon as it arrives (so converting one
        page overlaps downloading the others) and nothing is returned.
        """
        params = {**params, "per_page": PER_PAGE}
        items: list[dict[str, Any]] = []
        take = each or items.extend
        first, response = await self.get(route, {**params, "page": 1})
        pages = page_count(response)

        async def page(number: int) -> None:
            try:
                data, _ = await self.get(route, {**params, "page": number})
            except BadResponse as error:
                if error.code == "rest_post_invalid_page_number":
                    return  # the collection shrank while we paged
                raise
            take(_as_list(data, route))

        rest = [asyncio.ensure_future(page(n)) for n in range(2, pages + 1)]
        try:
            take(_as_list(first, route))  # converted while the other pages are on their way
            await asyncio.gather(*rest)
        finally:
            for task in rest:
                task.cancel()
        return items

    # -- the Source contract ---------------------------------------------------------

    async def categories(self) -> list[Category]:
        rows = await self.paged("/wp/v2/categories", {"_fields": "id,name,slug,parent,count,link"})
        found: dict[int, Category] = {}  # a category added while paging can show up twice
        for row in rows:
            try:
                category = Category.from_wp(self.site, row)
            except BadResponse as error:
                self.skip(error)
                continue
            found[category.id] = category
        return list(found.values())

    def skip(self, error: BadResponse) -> None:
        """Leave out one malformed item (the rest of the sync goes on)."""
        self.skipped += 1
        log.info("%s: skipped an item: %s", self.site, error)

    async def posts(self, modified_after: str | None = None, include: list[int] | None = None) -> PostBatch:
        params: dict[str, Any] = {"_fields": POST_FIELDS}
        if modified_after:
            params.update(modified_after=modified_after, orderby="modified", order="asc")
        if include:
            params["include"] = ",".join(str(i) for i in sorted(include))
        batch = PostBatch()
        author_of: dict[int, Any] = {}

        def convert(rows: list[dict[str, Any]]) -> None:
            for row in rows:
                try:
                    post = Post.from_wp(self.site, row)
                except BadResponse as error:
                    self.skip(error)
                    continue
                author = row.get("author")
                author_of[post.id] = author if isinstance(author, int) and not isinstance(author, bool) else 0
                batch.posts.append(post)
                content = row.get("content") if isinstance(row.get("content"), dict) else {}
                rendered = content.get("rendered")
                # kept as HTML: converted when read (Store.body), off the sync's critical path
                batch.html[post.id] = "" if post.protected or not isinstance(rendered, str) else rendered

        if self.authors:
            await self.paged("/wp/v2/posts", params, convert)
        else:  # a first sync: learn the authors' names meanwhile
            await asyncio.gather(self.paged("/wp/v2/posts", params, convert), self.load_authors())
        if set(author_of.values()) - set(self.authors) - {None, 0}:
            await self.load_authors()
        for post in batch.posts:
            post.author = self.authors.get(author_of[post.id], "")
        return batch

    async def load_authors(self) -> None:
        """Fill ``authors`` (id → display name); a site hiding its users is not an error."""
        try:
            rows = await self.paged("/wp/v2/users", {"_fields": "id,name"})
        except BadResponse:
            return
        for row in rows:
            if isinstance(row.get("id"), int) and not isinstance(row.get("id"), bool):
                self.authors[row["id"]] = html_to_line(str(row.get("name") or ""))

    async def post_ids(self) -> set[int]:
        rows = await self.paged("/wp/v2/posts", {"_fields": "id"})
        return {row["id"] for row in rows if valid_id(row.get("id"))}

    async def post_total(self) -> int:
        _, response = await self.get("/wp/v2/posts", {"_fields": "id", "per_page": 1})
        try:
            return int(response.headers.get("x-wp-total", ""))
        except ValueError:
            raise BadResponse(f"{host_of(response.url)} sent no X-WP-Total header") from None

    async def comments(self, after: str | None = None) -> list[Comment]:
        params: dict[str, Any] = {"_fields": COMMENT_FIELDS, "orderby": "date", "order": "asc"}
        if after:
            params["after"] = after
        comments: list[Comment] = []

        def convert(rows: list[dict[str, Any]]) -> None:
            for row in rows:
                try:
                    comments.append(Comment.from_wp(self.site, row))
                except BadResponse as error:
                    self.skip(error)

        await self.paged("/wp/v2/comments", params, convert)
        return comments


# -- discovery -----------------------------------------------------------------------


async def discover(client: httpx.AsyncClient, url: str, policy: RetryPolicy | None = None) -> dict[str, str]:
    """Find a WordPress site's API root from any of its page URLs.

    Returns ``{"api_root", "title", "description", "home"}``.

    Raises: NotASite, Unreachable, BadResponse.
    """
    url = normalise_url(url)
    response = await send(client, "GET", url, policy=policy)
    candidates: list[str] = []
    link = response.links.get(API_REL, {}).get("url")
    if link:
        candidates.append(str(response.url.join(link)))
    if "html" in response.headers.get("content-type", ""):
        href = _LinkFinder.find(response.text)
        if href:
            candidates.append(str(response.url.join(href)))
    origin = f"{response.url.scheme}://{response.url.netloc.decode()}"
    base = str(response.url.copy_with(query=None, fragment=None))
    if not base.endswith("/"):
        base = base.rsplit("/", 1)[0] + "/"
    candidates += [origin + "/wp-json/", origin + "/?rest_route=/", base + "wp-json/"]
    seen: set[str] = set()
    for root in candidates:
        if root in seen:
            continue
        seen.add(root)
        info = await _api_index(client, root, policy)
        if info is not None:
            return {
                "api_root": root,
                "title": html_to_line(str(info.get("name") or "")),
                "description": html_to_line(str(info.get("description") or "")),
                "home": str(info.get("home") or info.get("url") or origin),
            }
    raise NotASite(f"{url} is not a WordPress site (no REST API found)")


async def _api_index(client: httpx.AsyncClient, root: str, policy: RetryPolicy | None) -> dict[str, Any] | None:
    try:
        response = await send(client, "GET", root, policy=policy)
    except Unreachable:
        return None
    if response.status_code != 200:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    if isinstance(data, dict) and "wp/v2" in (data.get("namespaces") or []):
        return data
    return None


class _LinkFinder(HTMLParser):
    """Finds ``<link rel="https://api.w.org/" href=…>`` in a page's HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "link" and self.href is None:
            values = dict(attrs)
            if API_REL in (values.get("rel") or "").split() and values.get("href"):
                self.href = values["href"]

    @classmethod
    def find(cls, text: str) -> str | None:
        parser = cls()
        try:
            parser.feed(text[:500_000])
        except Exception:  # malformed HTML: no link
            return None
        return parser.href


# -- helpers ---------------------------------------------------------------------------


def normalise_url(url: str) -> str:
    """Add a scheme to a bare host (http for loopback, https otherwise)."""
    url = url.strip()
    if "://" not in url:
        host = url.split("/", 1)[0].rsplit(":", 1)[0]
        url = ("http://" if is_loopback(host) else "https://") + url
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise NotASite(f"{clean_line(url)[:200]} is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise NotASite(f"{url} is not an http(s) URL")
    return url


def route_url(api_root: str, route: str) -> str:
    """Join a REST route to an API root of either form (``/wp-json/`` or ``?rest_route=``)."""
    root = httpx.URL(api_root)
    if "rest_route" in root.params:
        return str(root.copy_set_param("rest_route", "/" + route.lstrip("/")))
    return str(root.join(route.lstrip("/")))


def page_count(response: httpx.Response) -> int:
    """Pages to fetch, from ``X-WP-TotalPages`` — bounded by ``X-WP-Total`` and ``MAX_PAGES``
    so a hostile or broken site cannot make us send millions of requests."""
    try:
        pages = int(response.headers.get("x-wp-totalpages", "1"))
    except ValueError:
        raise BadResponse(f"{host_of(response.url)} sent an invalid X-WP-TotalPages header") from None
    total = response.headers.get("x-wp-total", "")
    if total.isdigit():
        pages = min(pages, -(-int(total) // PER_PAGE))
    if pages > MAX_PAGES:
        raise BadResponse(f"{host_of(response.url)} claims {pages} pages; the limit is {MAX_PAGES}")
    return max(pages, 1)


def decode(response: httpx.Response, route: str) -> Any:
    """The response's JSON, or ``BadResponse`` with a one-line reason."""
    try:
        return orjson.loads(response.content.removeprefix(b"\xef\xbb\xbf"))  # some plugins emit a BOM
    except ValueError:
        raise BadResponse(f"{host_of(response.url)} sent malformed JSON for {route}") from None


def error_of(response: httpx.Response) -> tuple[str, str]:
    """WordPress's ``(code, message)`` from an error response, if it sent one."""
    try:
        data = response.json()
    except ValueError:
        return "", ""
    if isinstance(data, dict):
        return str(data.get("code") or ""), html_to_line(str(data.get("message") or ""))[:200]
    return "", ""


def _as_list(data: Any, route: str) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise BadResponse(f"the site sent something other than a list for {route}")
    return [item for item in data if isinstance(item, dict)]
