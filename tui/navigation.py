"""Moving through post lists: which posts a list holds, neighbours, next/previous (unread).

Design: this is the reader's navigation without Textual, so it is tested with plain unit
tests. ``PostLists`` answers from a ``Listing`` snapshot and the title filter; the sidebar
shows the same lists (``SiteTree.ids`` asks it), so what ``n`` opens is always the row below
the cursor.

Invariants: a list is newest first (the snapshot's order); "next" means older (+1),
"previous" newer (-1); with no post open, position -1 is before the first (newest) post.
Filtered lists are memoised per (list, filter) and forgotten when the listing or the
filter changes (read state does not change which posts a list holds).
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


class PostLists:
    """The posts of every list (site, category) of a ``Listing``, with a title filter."""

    def __init__(self, listing: Listing | None = None, filter_text: str = "") -> None:
        self._listing = listing or Listing()
        self._filter = filter_text
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

    def ids(self, key: ListKey) -> list[int]:
        """The post ids of a list, newest first, with the title filter applied."""
        site = self._listing.sites.get(key[0])
        if site is None:
            return []
        if not self._filter:
            return site.post_ids(key[1])
        ids = self._memo.get(key)
        if ids is None:
            needle = self._filter.casefold()
            ids = [i for i in site.post_ids(key[1]) if needle in site.by_id[i].title.casefold()]
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
        what = "unread post" if unread else "post"
        direction = "older" if delta > 0 else "newer"
        return Step(None, f"No {direction} {what} in this list.")
