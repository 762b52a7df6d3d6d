"""Sources: how each kind of site is read (and, for some, written to).

The contract is ``cache.sources.base``; this module is the registry that picks a source by
``Site.kind`` and runs discovery across kinds. Sync, the outbox and the service use only
these functions and never import a kind's module, so a new kind is one module and one line
in ``KINDS``. Kinds are imported on first use (``broadsheet unread`` imports none).

Discovery order (``discover``): WordPress first (its REST API, found from any page of the
site or from its feed URL), then feeds (autodiscovery links in a page, or the URL parsed as a
feed). When a WordPress site blocks its API, its feed is used and the user is told.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from ..errors import BadResponse, NotASite, SourceError
from .base import Changes, Discovered, Duplicate, Known, Posted, Source, Writer, stable_id

if TYPE_CHECKING:
    import httpx

    from ..http import RetryPolicy
    from ..models import Site

MAX_PAGE = 96 * 2**20
"""The largest answer discovery reads: the URL may be a big feed (10,000 items ≈ 40 MB)."""

KINDS: dict[str, tuple[str, str]] = {
    "wordpress": ("cache.sources.wordpress", "WordPressSource"),
    "feed": ("cache.sources.feed", "FeedSource"),
}
"""Kind → (module, class), in discovery order."""


def source_class(kind: str) -> type[Source]:
    """The source class for ``kind``; ``NotASite`` for a kind this Broadsheet does not know."""
    try:
        module, name = KINDS[kind]
    except KeyError:
        raise NotASite(f"unknown kind of site {kind!r} (known: {', '.join(KINDS)})") from None
    found: type[Source] = getattr(import_module(module), name)
    return found


def make_source(site: Site, client: httpx.AsyncClient, policy: RetryPolicy | None = None) -> Source:
    """A source reading ``site`` through ``client``."""
    return source_class(site.kind)(site, client, policy=policy)


def can_reply(site: Site) -> bool:
    """Whether sites of ``site``'s kind take replies."""
    return source_class(site.kind).writes


def transport_for(site: Site) -> httpx.AsyncBaseTransport | None:
    """The bundled demo site is served in-process; everything else goes to the network.

    The one seam where a site's transport is chosen (tests replace it)."""
    if site.demo:
        from ..demo import DemoTransport

        return DemoTransport()
    return None


async def discover(
    client: httpx.AsyncClient, url: str, *, kind: str = "auto", policy: RetryPolicy | None = None
) -> Discovered:
    """What kind of site ``url`` belongs to, and how to read it.

    Raises: NotASite (no kind recognises it), Unreachable, BadResponse.
    """
    from ..http import send

    kinds = list(KINDS) if kind == "auto" else [kind]
    if kind != "auto":
        source_class(kind)  # unknown kinds fail before any request
    page = None
    problem: SourceError | None = None
    try:
        # the address typed may redirect to the site's real host (example.com → www.example.com)
        page = await send(client, "GET", url, policy=policy, cross_host=True, max_body=MAX_PAGE)
    except SourceError as error:
        problem = error  # a kind may still find the site elsewhere (WordPress's /wp-json/)
    blocked = ""
    for name in kinds:
        try:
            found = await source_class(name).discover(client, url, page, policy)
        except BadResponse as error:
            problem = problem or error
            continue
        if found is not None:
            if blocked and found.kind == "feed" and not found.note:
                found.note = blocked
            return found
        if name == "wordpress" and page is not None and _looks_like_wordpress(page):
            blocked = "this WordPress site does not open its REST API: reading its feed instead (no threaded comments or replies)"
    if problem is not None and page is None:
        raise problem
    what = "a WordPress site or a feed" if kind == "auto" else ("a WordPress site" if kind == "wordpress" else "a feed")
    answered = f"; it answered {page.status_code}" if page is not None and page.status_code >= 400 else ""
    raise NotASite(f"{url} is not {what} (no REST API or feed found{answered})")


def _looks_like_wordpress(page: httpx.Response) -> bool:
    text = page.text[:200_000] if "html" in page.headers.get("content-type", "") else ""
    return "wp-content/" in text or "wp-includes/" in text or 'content="WordPress' in text


__all__ = [
    "KINDS",
    "Changes",
    "Discovered",
    "Duplicate",
    "Known",
    "Posted",
    "Source",
    "Writer",
    "can_reply",
    "discover",
    "make_source",
    "source_class",
    "stable_id",
    "transport_for",
]
