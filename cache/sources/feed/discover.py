"""Finding a site's feed from a URL: the URL itself, autodiscovery links, common paths.

Order: the page already fetched is the feed (by sniffing its first bytes: ``<rss``,
``<feed``, ``<rdf:RDF``, a JSON Feed ``version``; the content type is only a hint, many
servers send feeds as ``text/html`` or ``text/plain``); else its
``<link rel="alternate" type="application/rss+xml|atom+xml|feed+json|json">`` links, the
whole site's RSS/Atom before JSON and before comment feeds; else ``COMMON_PATHS`` at the
site's root. At most ``MAX_TRIES`` requests beyond the page itself, each through
``cache.http.send``; a candidate that fails is skipped.
"""

from __future__ import annotations

import asyncio
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from ...errors import BadResponse, SourceError
from ...http import send
from ..base import Discovered
from . import parse

if TYPE_CHECKING:
    import httpx

    from ...http import RetryPolicy

COMMON_PATHS = ("/feed/", "/rss.xml", "/index.xml", "/atom.xml", "/feed.xml")
MAX_TRIES = 8
FEED_TYPES = {
    "application/rss+xml": 0,
    "application/atom+xml": 0,
    "application/rdf+xml": 1,
    "application/feed+json": 2,
    "application/json": 3,
}


def is_feed(response: httpx.Response) -> bool:
    """Whether a successful answer is a feed (sniffed)."""
    return response.status_code == 200 and bool(parse.sniff(response.content))


async def found(response: httpx.Response, page_url: str = "") -> Discovered:
    """What a feed answer says about its site (parsed in a thread: it may be large).

    Raises: BadResponse."""
    feed = await asyncio.to_thread(parse.read, response.content, str(response.url))
    home = feed.link or page_url or f"{response.url.scheme}://{response.url.netloc.decode()}/"
    return Discovered("feed", home, feed_url=str(response.url), title=feed.title, description=feed.description)


async def discover(
    client: httpx.AsyncClient, url: str, page: httpx.Response | None, policy: RetryPolicy | None
) -> Discovered | None:
    """The feed behind ``url`` (``page``: GET ``url``, or None when it failed), or None.

    Raises: BadResponse (``url`` is a feed that cannot be read)."""
    if page is None:
        return None
    if is_feed(page):
        return await found(page)
    if page.status_code >= 400:
        return None
    tries = 0
    candidates: list[str] = []
    content_type = page.headers.get("content-type", "")
    if "html" in content_type or page.content[:1024].lstrip().lower().startswith((b"<!doctype html", b"<html")):
        candidates += alternates(page.text[:1_000_000], str(page.url))
    origin = f"{page.url.scheme}://{page.url.netloc.decode()}"
    candidates += [origin + path for path in COMMON_PATHS]
    seen = {str(page.url)}
    for candidate in candidates:
        if candidate in seen or tries >= MAX_TRIES:
            continue
        seen.add(candidate)
        tries += 1
        try:
            response = await send(client, "GET", candidate, policy=policy, retry=False)
        except SourceError:
            continue
        if is_feed(response):
            try:
                return await found(response, str(page.url))
            except BadResponse:
                continue
    return None


def alternates(text: str, base: str) -> list[str]:
    """Feed links a page advertises, resolved, best first."""
    finder = _AlternateFinder()
    try:
        finder.feed(text)
    except Exception:  # malformed HTML: what was found so far
        pass
    ranked = []
    for order, (kind, href, title) in enumerate(finder.links):
        link = parse.url_join(base, href)
        if not link:
            continue
        comments = "comment" in (title + " " + href).lower()
        ranked.append((comments, FEED_TYPES[kind], order, link))
    return [link for *_, link in sorted(ranked)]


class _AlternateFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "a") or len(self.links) >= 50:
            return
        values = {k: v or "" for k, v in attrs}
        kind = values.get("type", "").split(";")[0].strip().lower()
        if "alternate" in values.get("rel", "").lower().split() and kind in FEED_TYPES and values.get("href"):
            self.links.append((kind, values["href"], values.get("title", "")))
