"""Sync: bring a site's news into the store, incrementally.

The flow is one way — source → models → ``Store.save_sync`` — and the store's index is
written last, so an interrupted sync changes nothing the reader relies on.

A first sync reads everything (categories, posts, comments, all pages concurrently). Later
syncs ask only for posts modified and comments dated after the newest seen (minus
``OVERLAP``), keep only what actually changed, and compare the site's post total with the
cache's to notice deletions and posts published without being modified (then the ids are
listed and the missing ones fetched by id). With nothing new that costs four requests
(categories, posts, total, comments).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from .errors import BroadsheetError
from .http import RetryPolicy, make_client
from .models import Site
from .sources import WordPressSource
from .safe import clean_line
from .store import Store, now_iso

log = logging.getLogger(__name__)

Progress = Callable[[str, str], None]
"""``progress(site_name, message)``: what a sync is doing now."""


@dataclass
class SyncResult:
    """What one site's sync did."""

    site: str
    new_posts: int = 0
    updated_posts: int = 0
    removed_posts: int = 0
    new_comments: int = 0
    sent_replies: int = 0
    skipped: int = 0
    requests: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        """One line for the terminal."""
        if self.error:
            return f"{self.site}: failed: {self.error}"
        parts = [
            f"{self.new_posts} new",
            f"{self.updated_posts} updated",
        ]
        if self.removed_posts:
            parts.append(f"{self.removed_posts} removed")
        text = f"{self.site}: {', '.join(parts)} posts, {self.new_comments} new comments"
        if self.sent_replies:
            text += f", {self.sent_replies} replies sent"
        if self.skipped:
            text += f", {self.skipped} malformed items skipped"
        return text + f" ({self.seconds:.1f}s)"


def transport_for(site: Site) -> httpx.AsyncBaseTransport | None:
    """The bundled demo site is served in-process; everything else goes to the network."""
    if site.demo:
        from .demo import DemoTransport

        return DemoTransport()
    return None


OVERLAP = 3600
"""Seconds re-read behind each cursor. WordPress compares site-local times, exclusively:
the overlap covers the repeated hour when clocks go back, items modified while we paged,
and same-second writes. What comes again unchanged is dropped before saving."""


def _before(stamp: str | None, seconds: int = 1) -> str | None:
    if not stamp:
        return None
    try:
        return (datetime.fromisoformat(stamp) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None


async def sync_site(
    store: Store,
    site: Site,
    *,
    client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: Progress | None = None,
    policy: RetryPolicy | None = None,
    full: bool = False,
) -> SyncResult:
    """Sync one site into ``store``; errors are reported in the result, not raised."""
    started = time.monotonic()
    result = SyncResult(site.name)
    say = (lambda message: progress(site.name, message)) if progress else (lambda message: None)
    own = client is None
    client = client or make_client(transport or transport_for(site))
    source = WordPressSource(site.name, site.api_root, client, policy=policy)
    try:
        result.sent_replies = await _send_outbox(store, site, client)
        cursors = {} if full else store.cursors(site.name)
        source.authors = {int(k): v for k, v in cursors.get("authors", {}).items()}
        known = {} if full else {p.id: p.modified_gmt for p in store.posts(site.name)}
        say("fetching categories, posts and comments")
        categories, batch, comments = await asyncio.gather(
            source.categories(),
            source.posts(_before(cursors.get("posts_modified"), OVERLAP)),
            source.comments(_before(cursors.get("comments_date"), OVERLAP)),
        )
        fetched = {p.id for p in batch.posts}
        removed: set[int] = set()
        if full:
            removed = store.post_ids(site.name) - fetched
        elif known:
            have = set(known) | fetched
            if await source.post_total() != len(have):
                say("checking for deleted and newly published posts")
                ids = await source.post_ids()
                removed = have - ids
                # published without being modified (a scheduled post going live): fetch by id
                missing = sorted(ids - have)
                for start in range(0, len(missing), 100):
                    extra = await source.posts(include=missing[start : start + 100])
                    batch.posts.extend(extra.posts)
                    batch.html.update(extra.html)
        changed = [p for p in batch.posts if known.get(p.id) != p.modified_gmt]
        say(f"saving {len(changed)} posts and {len(comments)} comments")
        new_cursors = {
            "posts_modified": max([cursors.get("posts_modified") or "", *(p.modified for p in batch.posts)]),
            "comments_date": max([cursors.get("comments_date") or "", *(c.date for c in comments)]),
            "authors": {str(k): v for k, v in source.authors.items()},
        }
        saved = await asyncio.to_thread(
            store.save_sync,
            site.name,
            posts=changed,
            html={p.id: batch.html.get(p.id, "") for p in changed},
            comments=comments,
            categories=categories,
            removed=removed,
            cursors=new_cursors,
        )
        result.new_posts, result.updated_posts, result.new_comments = saved
        result.removed_posts = len(removed)
        site.last_sync, site.last_error = now_iso(), None
    except BroadsheetError as error:
        result.error = clean_line(str(error))
        site.last_error = result.error
    except Exception as error:  # a bug or an unforeseen answer: report it, keep the other sites going
        log.debug("sync of %s failed", site.name, exc_info=True)
        result.error = clean_line(f"internal error: {type(error).__name__}: {error}")[:300]
        site.last_error = result.error
    finally:
        result.requests = source.requests[0]
        result.skipped = source.skipped
        if own:
            await client.aclose()
    try:
        store.update_site(site)
    except BroadsheetError as error:
        result.error = result.error or str(error)
    result.seconds = time.monotonic() - started
    return result


async def _send_outbox(store: Store, site: Site, client: httpx.AsyncClient) -> int:
    """Send the site's queued replies before reading (the replies feature plugs in here)."""
    try:
        from . import outbox
    except ImportError:
        return 0
    return await outbox.flush(store, site, client)


async def sync_sites(
    store: Store,
    sites: Iterable[Site],
    *,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    policy: RetryPolicy | None = None,
    full: bool = False,
) -> list[SyncResult]:
    """Sync several sites concurrently; one failing does not stop the others."""
    return list(
        await asyncio.gather(
            *(
                sync_site(store, site, progress=progress, transport=transport, policy=policy, full=full)
                for site in sites
            )
        )
    )
