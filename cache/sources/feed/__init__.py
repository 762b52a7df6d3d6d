"""The feed source: any site with an RSS 0.9x/1.0/2.0, Atom or JSON Feed feed.

Parsing is ``parse`` (lxml, safe settings; JSON Feed by orjson), discovery ``discover``,
full text ``fulltext`` (readability-lxml). This module turns entries into plain models and
decides what to fetch. Invariants:

- Identity: a post's id is ``stable_id`` of its GUID / Atom id / JSON Feed id, else its
  link, else title and date. An item edited in place keeps its id; it is *updated* when its
  ``modified_gmt`` changes: the feed's own updated date when it gives one, else the time
  a change of its content was first seen (a fingerprint per item is kept in the cursors).
  An item without a date is dated when first seen, and keeps that date across syncs.
- Scheduling: a GET is conditional (ETag / Last-Modified kept in the cursors); a 304 parses
  nothing. ``Retry-After``, ``Cache-Control: max-age``, ``<ttl>`` and
  ``sy:updatePeriod/updateFrequency`` give a lower bound on the interval between fetches
  (capped at ``MAX_INTERVAL``): until ``next_fetch_after`` a sync makes no request unless
  forced (``Known.force``/``full``).
- Items scrolling out of a feed are not deletions: ``removed`` is always empty. Categories
  are those of the items in the feed now, flat, replacing the previous set.
- Comments: per-post comment feeds (``wfw:commentRss``, Atom ``replies`` links), threaded by
  ``thr:in-reply-to`` when present. A sync that found the feed changed reads at most
  ``MAX_COMMENT_FEEDS`` of them (newest posts first, skipping those whose ``slash:comments``
  count is unchanged), each conditionally; a 304 sync reads none.
- Full text: per site ``full_text`` = ``auto`` (summary-only items) | ``always`` | ``never``
  (from the cursors for now). At most ``MAX_FULL_TEXT`` newest items per sync,
  ``FULL_TEXT_CONCURRENCY`` at a time, extraction in a thread; an item extracted once is not
  fetched again until modified; any failure keeps the summary.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...errors import BadResponse, SourceError, Unreachable
from ...http import host_of, retry_after, send
from ...models import Category, Comment, Post
from ...safe import html_to_line, html_to_markdown
from ..base import Changes, Discovered, Known, Source, stable_id
from . import fulltext, parse
from .discover import discover as _discover

if TYPE_CHECKING:
    import httpx

    from ...http import RetryPolicy
    from ...models import Site

log = logging.getLogger(__name__)

FMT = "%Y-%m-%dT%H:%M:%S"
MAX_INTERVAL = 24 * 3600
MAX_COMMENT_FEEDS = 10
MAX_FULL_TEXT = 20
FULL_TEXT_SCAN = 5
"""Items a sync looks at, newest first, for summaries to replace, per page it may fetch: a
feed whose newest items carry the whole article is not read to its end (10,000 items) on
every sync."""
FULL_TEXT_CONCURRENCY = 4
MAX_COMMENT = 200_000
FULL_TEXT_MODES = ("auto", "always", "never")


FIRST_FULL_TEXT = 5
"""Article pages fetched for full text by a site's first sync (``MAX_FULL_TEXT`` later)."""

MAX_FEED_BODY = 96 * 2**20
"""The largest feed accepted (10,000 full-text items is ~40 MB; a 200 MB feed is refused)."""


def may_follow(feed_url: str, home: str, url: str) -> bool:
    """See ``FeedSource.may_fetch``."""
    import ipaddress
    from urllib.parse import urlsplit

    target = urlsplit(url)
    feed = urlsplit(feed_url)
    if target.scheme not in ("http", "https") or not target.hostname:
        return False
    if feed.scheme == "https" and target.scheme != "https":
        return False
    host = target.hostname.lower()
    own = {h.lower() for h in (feed.hostname, urlsplit(home).hostname) if h}
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None or host == "localhost" or host.endswith(".localhost"):
        # an address or this machine: only when the feed itself lives exactly there
        return host in own
    return any(host == h or _domain(host) == _domain(h) for h in own)


def _domain(host: str) -> str:
    """The last two labels (three for a short second-level label such as ``co.uk``)."""
    labels = host.rstrip(".").split(".")
    if len(labels) >= 3 and len(labels[-2]) <= 3 and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


class FeedSource(Source):
    """Reads a site through its feed (``site.feed_url``); takes no replies."""

    kind = "feed"
    writes = False

    def __init__(self, site: Site, client: httpx.AsyncClient, *, policy: RetryPolicy | None = None) -> None:
        super().__init__(site, client, policy=policy)
        self.feed_url = site.feed_url or site.url

    @classmethod
    async def discover(
        cls, client: httpx.AsyncClient, url: str, page: httpx.Response | None, policy: RetryPolicy | None
    ) -> Discovered | None:
        return await _discover(client, url, page, policy)

    # -- sync ------------------------------------------------------------------------

    async def sync(self, known: Known) -> Changes:
        """The feed's new and changed items (see the module's notes).

        Raises: Unreachable, BadResponse."""
        cursors = dict(known.cursors)
        now = time.time()
        if not (known.force or known.full) and float(cursors.get("next_fetch_after") or 0) > now:
            return Changes(not_modified=True, categories=None, cursors=cursors)
        headers = {}
        if cursors.get("etag") and not known.full:
            headers["If-None-Match"] = str(cursors["etag"])
        if cursors.get("last_modified") and not known.full:
            headers["If-Modified-Since"] = str(cursors["last_modified"])
        response = await send(
            self.client,
            "GET",
            self.feed_url,
            policy=self.policy,
            counter=self.requests,
            headers=headers,
            max_body=MAX_FEED_BODY,
        )
        if response.status_code == 304:
            cursors["next_fetch_after"] = now + interval(response, int(cursors.get("ttl") or 0))
            return Changes(not_modified=True, categories=None, cursors=cursors)
        if response.status_code != 200:
            raise BadResponse(f"{host_of(response.url)} answered {response.status_code} for its feed")
        feed = await asyncio.to_thread(parse.read, response.content, str(response.url))
        self.skipped += feed.truncated
        cursors.update(
            etag=response.headers.get("etag", "")[:400],
            last_modified=response.headers.get("last-modified", "")[:100],
            ttl=feed.ttl,
            next_fetch_after=now + interval(response, feed.ttl),
        )
        changes = await asyncio.to_thread(self.changes, feed, known, cursors, now)  # CPU: off the loop
        await asyncio.gather(self.fetch_comments(feed, changes), self.fetch_full_text(feed, changes, known))
        return changes

    def changes(self, feed: parse.Feed, known: Known, cursors: dict[str, Any], now: float) -> Changes:
        """Entries → posts, bodies, categories; only new or changed posts are kept."""
        stamp = datetime.fromtimestamp(now, UTC).strftime(FMT)
        seen: dict[str, Any] = cursors.get("items") or {}
        items: dict[str, Any] = {}
        posts: list[Post] = []
        html: dict[int, str] = {}
        counts: dict[str, int] = {}
        names: dict[str, str] = {}
        self.entries: dict[int, parse.Entry] = {}
        for entry in feed.entries:
            post, record = to_post(self.site.name, entry, seen, known.posts, stamp)
            if post.id in self.entries:
                continue  # the same GUID twice: the first (newest) wins
            self.entries[post.id] = entry
            items[str(post.id)] = record
            for name in entry.categories:
                key = name.casefold()
                names.setdefault(key, name)
                counts[key] = counts.get(key, 0) + 1
            if known.full or known.posts.get(post.id) != post.modified_gmt:
                posts.append(post)
                html[post.id] = entry.content or entry.summary
            self.posts[post.id] = post
        categories = [
            Category(
                id=stable_id("category:" + key),
                site=self.site.name,
                name=names[key],
                slug=slug(names[key]),
                count=counts[key],
            )
            for key in names
        ]
        cursors["items"] = items
        return Changes(posts=posts, html=html, categories=categories, categories_complete=False, cursors=cursors)

    def may_fetch(self, url: str) -> bool:
        """Whether a URL the feed names (an article page, a comment feed) may be fetched: the
        feed's own site (its host, or a host of the same domain), never a downgrade from
        https, and never this machine or the local network unless the feed itself is there.
        A feed could otherwise make the reader probe the user's router or cloud metadata."""
        return may_follow(self.feed_url, self.site.home or self.site.url, url)

    @property
    def posts(self) -> dict[int, Post]:
        """Every post of the last parse by id (changed or not)."""
        if not hasattr(self, "_posts"):
            self._posts: dict[int, Post] = {}
        return self._posts

    # -- comments --------------------------------------------------------------------

    async def comments_for(self, post: Post) -> list[Comment] | None:
        """The comments of ``post`` from its comment feed ([] when it has none).

        Raises: Unreachable, BadResponse."""
        if not post.comments_feed or not self.may_fetch(post.comments_feed):
            return []
        response = await send(self.client, "GET", post.comments_feed, policy=self.policy, counter=self.requests)
        if response.status_code != 200:
            raise BadResponse(f"{host_of(response.url)} answered {response.status_code} for a comment feed")
        feed = await asyncio.to_thread(parse.read, response.content, str(response.url))
        return to_comments(self.site.name, post, feed)

    async def fetch_comments(self, feed: parse.Feed, changes: Changes) -> None:
        """Comment feeds of the newest posts, bounded and conditional (failures are skipped)."""
        old: dict[str, Any] = changes.cursors.get("comment_feeds") or {}
        kept: dict[str, Any] = {}
        todo: list[Post] = []
        for post in sorted(self.posts.values(), key=lambda p: p.date_gmt, reverse=True):
            url = post.comments_feed
            if not url:
                continue
            state = old.get(url)
            if state is not None:
                kept[url] = state
            count = self.entries[post.id].comment_count
            if len(todo) >= MAX_COMMENT_FEEDS or count == 0:
                continue
            if state is not None and count is not None and state.get("count") == count:
                continue  # the feed says the count did not change
            todo.append(post)
        todo = [post for post in todo if self.may_fetch(post.comments_feed)]
        limit = asyncio.Semaphore(4)

        async def one(post: Post) -> None:
            state = dict(old.get(post.comments_feed) or {})
            headers = {}
            if state.get("etag"):
                headers["If-None-Match"] = state["etag"]
            if state.get("last_modified"):
                headers["If-Modified-Since"] = state["last_modified"]
            try:
                async with limit:
                    response = await send(
                        self.client,
                        "GET",
                        post.comments_feed,
                        policy=self.policy,
                        counter=self.requests,
                        headers=headers,
                    )
                if response.status_code == 200:
                    found = await asyncio.to_thread(parse.read, response.content, str(response.url))
                    changes.comments.extend(to_comments(self.site.name, post, found))
                    state = {
                        "etag": response.headers.get("etag", "")[:400],
                        "last_modified": response.headers.get("last-modified", "")[:100],
                    }
                elif response.status_code != 304:
                    return
            except SourceError as error:
                log.info("%s: comments of %s not read: %s", self.site.name, post.link, error)
                return
            state["count"] = self.entries[post.id].comment_count
            kept[post.comments_feed] = state

        await asyncio.gather(*(one(post) for post in todo))
        changes.cursors["comment_feeds"] = kept

    # -- full text -------------------------------------------------------------------

    def _wanting_full_text(self, mode: str, done: dict[str, str], budget: int) -> list[Post]:
        """Up to ``budget`` posts, newest first, whose article page is to be fetched (in a
        thread: reading thousands of items' text would hold up the event loop)."""
        todo: list[Post] = []
        looked = 0
        for post in sorted(self.posts.values(), key=lambda p: p.date_gmt, reverse=True):
            if len(todo) >= budget or looked >= FULL_TEXT_SCAN * budget:
                break
            entry = self.entries[post.id]
            if not post.link or done.get(str(post.id)) == post.modified_gmt:
                continue
            looked += 1
            if not self.may_fetch(post.link):
                continue
            if mode == "always" or fulltext.summary_only(entry.content, entry.summary):
                todo.append(post)
        return todo

    async def fetch_full_text(self, feed: parse.Feed, changes: Changes, known: Known) -> None:
        """Replace summaries by the article pages' main text (see the module's notes)."""
        mode = str(known.cursors.get("full_text", "auto"))
        mode = mode if mode in FULL_TEXT_MODES else "auto"
        changes.cursors["full_text"] = mode
        done: dict[str, str] = changes.cursors.get("extracted") or {}
        done = {k: v for k, v in done.items() if int(k) in self.posts}
        changes.cursors["extracted"] = done
        if mode == "never":
            return
        # a first sync (an OPML import of 200 feeds) fetches few pages per site; later syncs
        # catch up, newest first
        budget = MAX_FULL_TEXT if known.posts else FIRST_FULL_TEXT
        todo = await asyncio.to_thread(self._wanting_full_text, mode, done, budget)
        limit = asyncio.Semaphore(FULL_TEXT_CONCURRENCY)
        changed = {p.id for p in changes.posts}

        async def one(post: Post) -> None:
            try:
                async with limit:
                    response = await send(self.client, "GET", post.link, policy=self.policy, counter=self.requests)
            except Unreachable:
                return  # transient: tried again next sync
            except SourceError:
                response = None
            text = None
            if (
                response is not None
                and response.status_code == 200
                and "html" in response.headers.get("content-type", "html")
            ):
                text = await asyncio.to_thread(fulltext.extract, response.text, str(response.url))
            done[str(post.id)] = post.modified_gmt
            if text:
                if post.id not in changed:
                    changes.posts.append(post)
                    changed.add(post.id)
                changes.html[post.id] = text

        await asyncio.gather(*(one(post) for post in todo))


# -- entries → models ---------------------------------------------------------------------


def identity(entry: parse.Entry) -> str:
    """What identifies an item: its GUID, else its link, else its title and date."""
    if entry.guid:
        return entry.guid
    if entry.link:
        return entry.link
    when = entry.published or entry.updated
    return f"{entry.title}\n{when.isoformat() if when else ''}"


def fingerprint(entry: parse.Entry) -> int:
    """A short hash of what a reader sees of an item (not its comment count)."""
    digest = hashlib.blake2b(digest_size=6)
    for part in (
        entry.title,
        entry.link,
        entry.author,
        entry.content,
        entry.summary,
        "\x00".join(entry.categories),
        repr(entry.enclosures),
    ):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    return int.from_bytes(digest.digest(), "big")


def to_post(site: str, entry: parse.Entry, seen: dict[str, Any], known: dict[int, str], stamp: str) -> tuple[Post, Any]:
    """An entry as a ``Post``, with its record for the cursors: ``hash`` or
    ``[hash, first_seen, changed_at]`` (UTC stamps, "" when not needed)."""
    post_id = stable_id(identity(entry))
    digest = fingerprint(entry)
    previous = seen.get(str(post_id))
    if previous is not None and not isinstance(previous, list):
        previous = [previous, "", ""]
    when = entry.published or entry.updated
    first_seen = ""
    if when is not None:
        date, date_gmt = local(when), utc(when)
    else:
        first_seen = (previous[1] if previous and previous[1] else known.get(post_id)) or stamp
        date = date_gmt = first_seen
    changed = ""
    if previous is not None:
        changed = previous[2] if previous[0] == digest else stamp
    if entry.updated is not None:
        modified, modified_gmt = local(entry.updated), utc(entry.updated)
    elif changed and changed > date_gmt:
        modified = modified_gmt = changed
    else:
        modified, modified_gmt = date, date_gmt
    excerpt = _excerpt(entry.summary or entry.content)
    post = Post(
        id=post_id,
        site=site,
        title=entry.title or "(no title)",
        date=date,
        date_gmt=date_gmt,
        modified=modified,
        modified_gmt=modified_gmt,
        link=entry.link,
        slug=slug(entry.title)[:200],
        author=entry.author,
        categories=[stable_id("category:" + name.casefold()) for name in entry.categories],
        comment_status="closed",
        comment_count=entry.comment_count or 0,
        excerpt=excerpt,
        guid=entry.guid,
        enclosures=entry.enclosures,
        comments_feed=entry.comments_feed,
    )
    record: Any = [digest, first_seen, changed] if first_seen or changed else digest
    return post, record


EXCERPT = 300
"""Characters of text in a post's excerpt."""


def _excerpt(fragment: str) -> str:
    """The first ``EXCERPT`` characters of an item's text: from a short prefix of its HTML
    when that holds enough text (10,000 items), else from the first 4,000 characters."""
    text = html_to_line(fulltext.prefix(fragment, 2 * EXCERPT))
    if len(text) < EXCERPT and len(fragment) > 2 * EXCERPT:
        text = html_to_line(fulltext.prefix(fragment, 4000))
    return text[:EXCERPT]


def to_comments(site: str, post: Post, feed: parse.Feed) -> list[Comment]:
    """A comment feed's entries as comments of ``post`` (threaded by ``thr:in-reply-to``)."""
    found = []
    own = {post.guid, post.link, ""}
    for entry in feed.entries:
        when = entry.published or entry.updated
        author = entry.author or re.sub(r"^(?:By:|Comment on .* by)\s*", "", entry.title)
        body = entry.content or entry.summary
        found.append(
            Comment(
                id=stable_id(identity(entry) if entry.guid or entry.link else f"{author}\n{body}"),
                site=site,
                post=post.id,
                parent=0 if entry.in_reply_to in own else stable_id(entry.in_reply_to),
                author=author[: parse.MAX_NAME] or "Anonymous",
                date=local(when) if when else "",
                date_gmt=utc(when) if when else "",
                text=html_to_markdown(body[:MAX_COMMENT]),
                link=entry.link,
            )
        )
    return found


def local(when: datetime) -> str:
    """``when`` in its own offset."""
    return when.strftime(FMT)


def utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime(FMT)


def slug(name: str) -> str:
    return re.sub(r"[^\w]+", "-", name.casefold()).strip("-")[:200]


def interval(response: httpx.Response, ttl: int) -> float:
    """Seconds before the feed is worth fetching again: the largest of ``Retry-After``,
    ``Cache-Control: max-age`` and the feed's own ``ttl``, at most ``MAX_INTERVAL``."""
    wait = float(ttl or 0)
    hint = retry_after(response)
    if hint is not None:
        wait = max(wait, hint)
    control = response.headers.get("cache-control", "").lower()
    match = re.search(r"max-age\s*=\s*(\d{1,10})", control)
    if match and "no-cache" not in control and "no-store" not in control:
        wait = max(wait, float(match.group(1)))
    return min(wait, MAX_INTERVAL)


def parse_feed(data: bytes, site: str, url: str = "") -> ParsedFeed:
    """Parse feed bytes into posts and bodies as a first sync would (benchmarks, tests).

    Raises: BadResponse."""
    feed = parse.read(data, url)
    stamp = datetime.now(UTC).strftime(FMT)
    result = ParsedFeed(feed)
    for entry in feed.entries:
        post, _ = to_post(site, entry, {}, {}, stamp)
        result.posts.append(post)
        result.html[post.id] = entry.content or entry.summary
    return result


class ParsedFeed:
    """A parsed feed as models: ``feed`` (what it says about itself), ``posts``, ``html``."""

    def __init__(self, feed: parse.Feed) -> None:
        self.feed = feed
        self.posts: list[Post] = []
        self.html: dict[int, str] = {}


__all__ = ["FeedSource", "ParsedFeed", "identity", "interval", "parse_feed", "to_comments", "to_post"]
