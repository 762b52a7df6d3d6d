"""Moving through post lists: which posts a list holds, neighbours, next/previous (unread).

Design: this is the reader's navigation without Textual, so it is tested with plain unit
tests. ``PostLists`` answers from a ``Listing`` snapshot and the title filter; the sidebar
shows the same lists (``SiteTree.ids`` asks it), so what ``n`` opens is always the row below
the cursor.

Invariants: a list is newest first (the snapshot's order); "next" means older (+1),
"previous" newer (-1); with no post open, position -1 is before the first (newest) post.
Filtered lists (title filter, unread only) are memoised per list and forgotten when the
listing, the filter or the unread-only switch changes, or when a site is (re)loaded — not
when a post is read, so a post read while "unread only" is on stays in its list until then.

Across sites: stepping off the end of a site's "All posts" list goes on into the next site
in the tree's order (``Listing.order``) that has posts (unread ones, for ``N``/``P``, or
with "unread only"): ``step`` answers with ``Step.site`` and the reader, once that site is
loaded (in a thread), asks ``enter``. A category's list never crosses. Sites are skipped
by their summaries' counts, so nothing is loaded to find the next site.
"""

from __future__ import annotations

from dataclasses import dataclass

from cache.models import Post

from .listing import Listing, ListKey


@dataclass(frozen=True)
class Step:
    """Where a move landed: the post to open, or why there is none (``message``)."""

    post_id: int | None
    message: str = ""
    #: Go on into this site (load it, then ``PostLists.enter``).
    site: str | None = None


class PostLists:
    """The posts of every list (site, category) of a ``Listing``, with a title filter."""

    def __init__(self, listing: Listing | None = None, filter_text: str = "", unread_only: bool = False) -> None:
        self._listing = listing or Listing()
        self._filter = filter_text
        self._unread_only = unread_only
        self._memo: dict[ListKey, list[int]] = {}

    @property
    def listing(self) -> Listing:
        return self._listing

    @listing.setter
    def listing(self, listing: Listing) -> None:
        self._listing = listing
        self._memo.clear()

    @property
    def filter_text(self) -> str:
        return self._filter

    @filter_text.setter
    def filter_text(self, text: str) -> None:
        if text != self._filter:
            self._filter = text
            self._memo.clear()

    @property
    def unread_only(self) -> bool:
        return self._unread_only

    @unread_only.setter
    def unread_only(self, on: bool) -> None:
        if on != self._unread_only:
            self._unread_only = on
            self._memo.clear()

    def forget(self, site: str) -> None:
        """A site was (re)loaded or dropped: forget its filtered lists."""
        for key in [k for k in self._memo if k[0] == site]:
            del self._memo[key]

    def ids(self, key: ListKey) -> list[int]:
        """The post ids of a list, newest first, with the title filter (and unread only)
        applied; ``[]`` for a site that is not loaded."""
        site = self._listing.sites.get(key[0])
        if site is None:
            return []
        if not self._filter and not self._unread_only:
            return site.post_ids(key[1])
        ids = self._memo.get(key)
        if ids is None:
            ids = site.post_ids(key[1])
            if self._unread_only:
                ids = [i for i in ids if i not in site.read]
            if self._filter:
                needle = self._filter.casefold()
                ids = [i for i in ids if needle in site.by_id[i].title.casefold()]
            self._memo[key] = ids
        return ids

    def position(self, key: ListKey, post_id: int | None) -> int:
        """Where ``post_id`` is in the list (-1: not in it, or no post)."""
        ids = self.ids(key)
        if post_id is None:
            return -1
        try:
            return ids.index(post_id)
        except ValueError:
            return -1

    def neighbours(self, key: ListKey, post_id: int) -> tuple[Post | None, Post | None]:
        """The (newer, older) posts beside ``post_id`` in its list."""
        site = self._listing.sites.get(key[0])
        index = self.position(key, post_id)
        if site is None or index < 0:
            return None, None
        ids = self.ids(key)
        newer = site.by_id[ids[index - 1]] if index > 0 else None
        older = site.by_id[ids[index + 1]] if index + 1 < len(ids) else None
        return newer, older

    def step(self, key: ListKey, post_id: int | None, delta: int, *, unread: bool) -> Step:
        """The post ``delta`` places away (+1 older, -1 newer), skipping read posts when
        ``unread``; from ``post_id`` (None: before the newest)."""
        ids = self.ids(key)
        site = self._listing.sites.get(key[0])
        if site is not None:
            position = self.position(key, post_id) + delta
            while 0 <= position < len(ids):
                if not unread or ids[position] not in site.read:
                    return Step(ids[position])
                position += delta
        return self._beyond(key, delta, unread=unread)

    def enter(self, site_name: str, delta: int, *, unread: bool) -> Step:
        """Coming into a (loaded) site from its neighbour: its newest post going older
        (``delta`` > 0), its oldest going newer; on into the next site when none fits."""
        key: ListKey = (site_name, None)
        ids = self.ids(key)
        site = self._listing.sites.get(site_name)
        if site is not None:
            for post_id in ids if delta > 0 else reversed(ids):
                if not unread or post_id not in site.read:
                    return Step(post_id)
        return self._beyond(key, delta, unread=unread)

    def _beyond(self, key: ListKey, delta: int, *, unread: bool) -> Step:
        if key[1] is None:
            following = self.next_site(key[0], delta, unread=unread or self._unread_only)
            if following is not None:
                return Step(None, site=following)
        what = "unread post" if unread else "post"
        direction = "older" if delta > 0 else "newer"
        return Step(None, f"No {direction} {what} in this list.")

    def next_site(self, site_name: str, delta: int, *, unread: bool) -> str | None:
        """The site after (``delta`` > 0) or before ``site_name`` in the tree's order that has
        posts (unread ones with ``unread``), by the summaries' counts."""
        order = self._listing.order()
        try:
            index = order.index(site_name)
        except ValueError:
            return None
        index += 1 if delta > 0 else -1
        while 0 <= index < len(order):
            summary = self._listing.summaries[order[index]]
            if (summary.unread if unread else summary.post_count) > 0:
                return order[index]
            index += 1 if delta > 0 else -1
        return None
