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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import orjson

from ...errors import BadResponse, NotASite, SourceError, Unreachable
from ...http import RetryPolicy, host_of, send
from ...models import Category, Comment, Post, Site, valid_id
from ...safe import html_to_line
from ..base import Changes, Discovered, Known, Source, Writer
from . import parse

log = logging.getLogger(__name__)

API_REL = "https://api.w.org/"
PER_PAGE = 100
MAX_PAGES = 5000
"""At most this many pages of one collection (500,000 items)."""
POST_FIELDS = (
    "id,date,date_gmt,modified,modified_gmt,slug,status,link,title,content,author,categories,sticky,comment_status"
)
COMMENT_FIELDS = "id,post,parent,author_name,date,date_gmt,content,link,status"


class WordPressSource(Source):
    """Reads (and, through ``writer()``, writes to) a WordPress site at ``site.api_root``."""

    kind = "wordpress"
    writes = True

    def __init__(
        self,
        site: Site,
        client: httpx.AsyncClient,
        *,
        policy: RetryPolicy | None = None,
        concurrency: int = 6,
    ) -> None:
        super().__init__(site, client, policy=policy)
        self.api_root = site.api_root
        self._limit = asyncio.Semaphore(concurrency)
        self.concurrency = concurrency
        self.authors: dict[int, str] = {}

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
        """Every item of a collection: page 1, then the other pages a few at a time.

        The site's ``X-WP-TotalPages`` is an upper bound, never trusted alone: paging stops at
        the first short or empty page, or at a page whose items were all seen already (a site
        that ignores ``page``), so a lying header costs at most one wave of requests. With
        ``each``, every page is handed to it as soon as it arrives (so converting one page
        overlaps downloading the others) and nothing is returned.
        """
        params = {**params, "per_page": PER_PAGE}
        items: list[dict[str, Any]] = []
        take = each or items.extend
        first, response = await self.get(route, {**params, "page": 1})
        pages = page_count(response)
        rows = _as_list(first, route)
        seen = {_key(row) for row in rows}
        done = len(rows) < PER_PAGE

        async def page(number: int) -> list[dict[str, Any]]:
            try:
                data, _ = await self.get(route, {**params, "page": number})
            except BadResponse as error:
                if error.code == "rest_post_invalid_page_number":
                    return []  # the collection shrank while we paged
                raise
            return _as_list(data, route)

        pending: dict[int, asyncio.Future[list[dict[str, Any]]]] = {}
        following = 2

        def fill() -> None:  # keep a window of pages on their way (pipelined, never unbounded)
            nonlocal following
            while not done and following <= pages and len(pending) < self.concurrency:
                pending[following] = asyncio.ensure_future(page(following))
                following += 1

        fill()
        try:
            take(rows)  # converted while the next pages are on their way
            expected = 2
            while expected in pending:
                rows = await pending.pop(expected)
                expected += 1
                keys = {_key(row) for row in rows}
                if len(rows) < PER_PAGE or keys <= seen:
                    done = True  # a short, empty or repeated page: the collection ends here
                new = [row for row in rows if _key(row) not in seen]
                seen |= keys
                if new:
                    take(new)
                fill()
        finally:
            for task in pending.values():
                task.cancel()
        return items

    # -- the Source contract ---------------------------------------------------------

    @classmethod
    async def discover(
        cls, client: httpx.AsyncClient, url: str, page: httpx.Response | None, policy: RetryPolicy | None
    ) -> Discovered | None:
        if page is None:  # the URL did not answer: discovery reports that once
            return None
        info = await find_api(client, url, page, policy)
        if info is None:
            return None
        return Discovered(
            "wordpress",
            info["home"],
            api_root=info["api_root"],
            title=info["title"],
            description=info["description"],
            feed_url=info["home"].rstrip("/") + "/feed/",
        )

    async def sync(self, known: Known) -> Changes:
        """First sync: everything. Later: posts modified and comments dated after the cursors
        (minus ``OVERLAP``), the site's post total compared with the cache's to notice
        deletions and posts published without being modified, and — at most once an hour, or
        on ``full`` — every comment of the last ``COMMENT_WINDOW`` re-read, so comments
        approved late arrive, edited ones change, and trashed ones leave the cache. With
        nothing new that costs four requests (five when the comment window is due)."""
        full = known.full
        cursors = {} if full else dict(known.cursors)
        self.authors = {int(k): v for k, v in cursors.get("authors", {}).items()}
        known_posts = {} if full else known.posts
        now = time.time()
        wide = full or now - float(cursors.get("comments_wide_at") or 0) >= COMMENT_SWEEP
        comments_since = _before(cursors.get("comments_date"), COMMENT_WINDOW if wide else OVERLAP)
        categories, batch, comments = await asyncio.gather(
            self.categories(),
            self.posts(_before(cursors.get("posts_modified"), OVERLAP)),
            self.comments(comments_since),
        )
        fetched = {p.id for p in batch.posts}
        removed: set[int] = set()
        if full:
            removed = set(known.posts) - fetched
        elif known_posts:
            have = set(known_posts) | fetched
            if await self.post_total() != len(have):
                ids = await self.post_ids()
                removed = have - ids
                # published without being modified (a scheduled post going live): fetch by id
                missing = sorted(ids - have)
                for start in range(0, len(missing), 100):
                    extra = await self.posts(include=missing[start : start + 100])
                    batch.posts.extend(extra.posts)
                    batch.html.update(extra.html)
        changed = [p for p in batch.posts if known_posts.get(p.id) != p.modified_gmt]
        new_cursors = {
            "posts_modified": max([cursors.get("posts_modified") or "", *(p.modified for p in batch.posts)]),
            "comments_date": max([cursors.get("comments_date") or "", *(c.date for c in comments)]),
            "comments_wide_at": now if wide else cursors.get("comments_wide_at", 0),
            "authors": {str(k): v for k, v in self.authors.items()},
        }
        return Changes(
            posts=changed,
            html={p.id: batch.html.get(p.id, "") for p in changed},
            comments=comments,
            categories=categories,
            removed=removed,
            # nothing cached, nothing to drop: a first sync skips re-reading every comment file
            comments_complete_since=(
                ("" if full or not comments_since else comments_since) if wide and known.posts else None
            ),
            cursors=new_cursors,
        )

    def writer(self) -> Writer:
        from .write import WordPressWriter

        return WordPressWriter(self)

    # -- collections -----------------------------------------------------------------

    async def categories(self) -> list[Category]:
        rows = await self.paged("/wp/v2/categories", {"_fields": "id,name,slug,parent,count,link"})
        found: dict[int, Category] = {}  # a category added while paging can show up twice
        for row in rows:
            try:
                category = parse.category(self.site.name, row)
            except BadResponse as error:
                self.skip(error)
                continue
            found[category.id] = category
        return list(found.values())

    def skip(self, error: BadResponse) -> None:
        """Leave out one malformed item (the rest of the sync goes on)."""
        self.skipped += 1
        log.info("%s: skipped an item: %s", self.site.name, error)

    async def posts(self, modified_after: str | None = None, include: list[int] | None = None) -> PostBatch:
        """Published posts, all of them, those modified after a site-local time, or ``include``."""
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
                    post = parse.post(self.site.name, row)
                except BadResponse as error:
                    self.skip(error)
                    continue
                author = row.get("author")
                author_of[post.id] = author if isinstance(author, int) and not isinstance(author, bool) else 0
                batch.posts.append(post)
                raw = row.get("content")
                rendered = raw.get("rendered") if isinstance(raw, dict) else None
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
        """Fill ``authors`` (id → display name). Names are optional: a site that hides its
        users, fails, or times out on ``/wp/v2/users`` never sinks a sync."""
        try:
            rows = await self.paged("/wp/v2/users", {"_fields": "id,name"})
        except SourceError as error:
            log.info("%s: no author names: %s", self.site.name, error)
            return
        for row in rows:
            if isinstance(row.get("id"), int) and not isinstance(row.get("id"), bool):
                self.authors[row["id"]] = parse.line(html_to_line(str(row.get("name") or "")[:800]), parse.MAX_NAME)

    async def post_ids(self) -> set[int]:
        """Ids of every published post (to notice deletions)."""
        rows = await self.paged("/wp/v2/posts", {"_fields": "id"})
        return {row["id"] for row in rows if valid_id(row.get("id"))}

    async def post_total(self) -> int:
        """How many posts the site has now (one small request)."""
        _, response = await self.get("/wp/v2/posts", {"_fields": "id", "per_page": 1})
        try:
            return int(response.headers.get("x-wp-total", ""))
        except ValueError:
            raise BadResponse(f"{host_of(response.url)} sent no X-WP-Total header") from None

    async def comments(self, after: str | None = None) -> list[Comment]:
        """Approved comments of the whole site, all or those dated after a site-local time."""
        params: dict[str, Any] = {"_fields": COMMENT_FIELDS, "orderby": "date", "order": "asc"}
        if after:
            params["after"] = after
        comments: list[Comment] = []

        def convert(rows: list[dict[str, Any]]) -> None:
            for row in rows:
                try:
                    comments.append(parse.comment(self.site.name, row))
                except BadResponse as error:
                    self.skip(error)

        await self.paged("/wp/v2/comments", params, convert)
        return comments


OVERLAP = 3600
"""Seconds re-read behind each cursor. WordPress compares site-local times, exclusively:
the overlap covers the repeated hour when clocks go back, items modified while we paged,
and same-second writes. What comes again unchanged is dropped before saving."""

COMMENT_WINDOW = 7 * 86400
"""Seconds of comments re-read by the periodic sweep. WordPress keeps a comment's date when
a moderator approves it days later and has no ``modified_after`` for comments: the sweep is
how late approvals, edits and removals within this window reach the cache."""

COMMENT_SWEEP = 3600
"""Seconds between two sweeps of the comment window (``sync --full`` sweeps everything)."""


def _before(stamp: str | None, seconds: int = 1) -> str | None:
    if not stamp:
        return None
    try:
        return (datetime.fromisoformat(stamp) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None


def _key(row: dict[str, Any]) -> Any:
    return row.get("id") if isinstance(row, dict) else None


@dataclass
class PostBatch:
    """Posts with their bodies as the site sent them (HTML) by post id."""

    posts: list[Post] = field(default_factory=list)
    html: dict[int, str] = field(default_factory=dict)


# -- discovery -----------------------------------------------------------------------


async def discover(client: httpx.AsyncClient, url: str, policy: RetryPolicy | None = None) -> dict[str, str]:
    """Find a WordPress site's API root from any of its page URLs.

    Returns ``{"api_root", "title", "description", "home"}``.

    Raises: NotASite, Unreachable, BadResponse.
    """
    info = await find_api(client, url, None, policy)
    if info is None:
        raise NotASite(f"{url} is not a WordPress site (no REST API found)")
    return info


async def find_api(
    client: httpx.AsyncClient, url: str, response: httpx.Response | None, policy: RetryPolicy | None = None
) -> dict[str, str] | None:
    """The REST API behind ``url`` (``response``: GET ``url``, if already fetched), or None.

    A feed URL of a WordPress site (``…/feed/``) leads to the API through its ``Link``
    header or the site's root.
    """
    if response is None:
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
    # a feed URL (``/blog/feed/``, ``/feed/atom/``): the site may live one or two levels up
    path = response.url.path
    for marker in ("/feed/", "/feed"):
        if marker in path:
            candidates.append(origin + path[: path.index(marker)] + "/wp-json/")
            break
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
    return None


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
