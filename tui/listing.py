"""What the sidebar and the post navigation read: per-site summaries, and a few sites' posts.

Design (issue 11: 200 sites, 100,000 posts): two levels, both read in threads.

- ``SiteSummary`` — every site the tree shows: its ``Site`` (name, title, folder), post
  count, unread count, categories and unread posts per category. ``Listing.load`` reads only
  these, from each site's small ``summary.json`` (``Store.summary``), so the tree paints
  without parsing a single post index, and what it keeps does not grow with the posts.
- ``SiteListing`` — one site's post rows (``Store.posts``), read by ``Listing.load_site`` only
  when that site is opened, expanded or stepped into. ``Listing`` keeps the ``CAPACITY``
  most recently used ones (and never drops a pinned one: the open post's site), so memory is
  bounded by a few sites, not by the cache.

Counting (the same rule as ``broadsheet categories``, ``Summary.category_unread``): a post
counts as unread in each category it is filed under (not in their parents); a site counts
its unread posts once each; a folder adds up its sites. A category's *list* holds its posts
and those of every category below it, like a WordPress category archive.

Invariants: ``posts`` is newest first (the store's order); a loaded site's counts live in
its own ``SiteSummary`` (``SiteListing.summary``, the same object as ``Listing.summaries``
holds for it), so read-state changes made in the UI (``set_read``) update the numbers the
tree shows whether or not the site stays loaded. The demo site is left out as soon as any
other site is subscribed (it stays one ``broadsheet add demo`` away). Names sort with
``sort_key`` (accents and case ignored, without the machine's locale).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from cache.models import Category, Post, Site, breadcrumb, category_chain, name_key
from cache.store import Store

#: The key of a post list: (site name, category id), with category ``None`` for all posts.
ListKey = tuple[str, int | None]

CAPACITY = 4
"""Site listings (post rows) kept in memory besides the pinned ones."""


sort_key = name_key  # one order for the reader and the shell (cache.models)


def category_children(categories: dict[int, Category]) -> dict[int, list[int]]:
    """Parent id (0: the top) → child category ids, by ``sort_key``; a category whose parent
    is unknown (or itself) goes to the top."""
    children: dict[int, list[int]] = {}
    for cat in sorted(categories.values(), key=lambda c: sort_key(c.name)):
        parent = cat.parent if cat.parent in categories and cat.parent != cat.id else 0
        children.setdefault(parent, []).append(cat.id)
    return children


@dataclass
class SiteSummary:
    """What the tree shows of a site without its posts."""

    site: Site
    post_count: int = 0
    unread: int = 0
    categories: dict[int, Category] = field(default_factory=dict)
    #: Unread posts per category id (each post in the categories it is filed under).
    unread_by_cat: dict[int, int] = field(default_factory=dict)
    #: The index file's stamp when this was read (what the reader's watcher compares).
    stamp: Any = None
    children: dict[int, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.children and self.categories:
            self.children = category_children(self.categories)

    @classmethod
    def read(cls, store: Store, site: Site) -> SiteSummary:
        """From the site's ``summary.json`` (or its index when that is stale)."""
        stamp = store.stamps(site.name)[0]
        summary = store.summary(site.name)
        return cls(
            site,
            summary.post_count,
            summary.unread_count,
            {c.id: c for c in summary.categories},
            summary.category_unread(),
            stamp,
        )

    @property
    def name(self) -> str:
        return self.site.name


@dataclass
class SiteListing:
    """One site's posts, categories and read state."""

    site: Site
    posts: list[Post]
    categories: dict[int, Category]
    read: set[int]
    summary: SiteSummary = field(default=None)  # type: ignore[assignment] # set by build
    #: Every category a post belongs to, with their ancestors (post id → category ids):
    #: which lists hold it.
    post_cats: dict[int, frozenset[int]] = field(default_factory=dict)
    by_id: dict[int, Post] = field(default_factory=dict)
    _lists: dict[int | None, list[int]] = field(default_factory=dict)

    @classmethod
    def build(
        cls, site: Site, posts: list[Post], categories: list[Category], read: set[int], stamp: Any = None
    ) -> SiteListing:
        cats = {c.id: c for c in categories}
        listing = cls(site=site, posts=posts, categories=cats, read=read)
        ancestors = {cid: frozenset(c.id for c in category_chain(cats, cid)) for cid in cats}
        empty: frozenset[int] = frozenset()
        unread_by_cat: dict[int, int] = {}
        unread = 0
        for post in posts:
            listing.by_id[post.id] = post
            listing.post_cats[post.id] = empty.union(*(ancestors.get(c, empty) for c in post.categories))
            if post.id not in read:
                unread += 1
                for cid in set(post.categories):
                    unread_by_cat[cid] = unread_by_cat.get(cid, 0) + 1
        listing.summary = SiteSummary(site, len(posts), unread, cats, unread_by_cat, stamp)
        return listing

    @property
    def unread(self) -> int:
        """Unread posts in the site."""
        return self.summary.unread

    @property
    def unread_by_cat(self) -> dict[int, int]:
        return self.summary.unread_by_cat

    @property
    def children(self) -> dict[int, list[int]]:
        return self.summary.children

    def post_ids(self, category: int | None) -> list[int]:
        """Ids of the posts in a list (``None``: all posts), newest first; memoised."""
        ids = self._lists.get(category)
        if ids is None:
            if category is None:
                ids = [p.id for p in self.posts]
            else:
                ids = [p.id for p in self.posts if category in self.post_cats.get(p.id, ())]
            self._lists[category] = ids
        return ids

    def set_read(self, post_id: int, read: bool) -> bool:
        """Record a read-state change; returns whether anything changed."""
        if post_id not in self.by_id or (post_id in self.read) == read:
            return False
        delta = -1 if read else 1
        if read:
            self.read.add(post_id)
        else:
            self.read.discard(post_id)
        counts = self.summary.unread_by_cat
        self.summary.unread += delta
        for cid in set(self.by_id[post_id].categories):
            counts[cid] = counts.get(cid, 0) + delta
        return True

    def crumbs(self, post: Post) -> list[str]:
        """Home › the deepest of the post's category paths."""
        return breadcrumb(post, self.categories)


@dataclass
class Listing:
    """Every shown site's ``SiteSummary`` (subscription order) and the loaded ``SiteListing``s."""

    sites: dict[str, SiteListing] = field(default_factory=dict)
    summaries: dict[str, SiteSummary] = field(default_factory=dict)
    capacity: int = CAPACITY

    def __post_init__(self) -> None:
        self.sites = OrderedDict(self.sites)
        for name, site in self.sites.items():
            self.summaries.setdefault(name, site.summary)

    @classmethod
    def load(cls, store: Store, *, sites: list[str] = ()) -> Listing:  # type: ignore[assignment]
        """Every site's summary, and the posts of ``sites`` (call it from a thread)."""
        listing = cls()
        shown = store.sites()
        if any(not s.demo for s in shown):  # the demo stays one `broadsheet add demo` away
            shown = [s for s in shown if not s.demo]
        for site in shown:
            if site.name in sites:  # its posts give its counts: no summary to read
                listing.summaries[site.name] = SiteSummary(site)
                listing.add(cls.load_site(store, site))
            else:
                listing.summaries[site.name] = SiteSummary.read(store, site)
        return listing

    @staticmethod
    def load_site(store: Store, site: Site) -> SiteListing:
        """One site's posts (parses its index: call it from a thread)."""
        stamp = store.stamps(site.name)[0]
        return SiteListing.build(
            site, store.posts(site.name), store.categories(site.name), store.read_ids(site.name), stamp
        )

    def add(self, site: SiteListing, pinned: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
        """Keep a loaded site (its summary becomes the one shown); drops the least recently
        used unpinned sites beyond ``capacity``; returns the names dropped."""
        name = site.site.name
        self.sites[name] = site
        self.sites.move_to_end(name)  # type: ignore[attr-defined]
        self.summaries[name] = site.summary
        dropped = []
        for other in list(self.sites):
            if len(self.sites) - len(pinned & set(self.sites)) <= self.capacity:
                break
            if other != name and other not in pinned:
                del self.sites[other]
                dropped.append(other)
        return dropped

    def touch(self, name: str) -> None:
        """Mark a loaded site as just used."""
        if name in self.sites:
            self.sites.move_to_end(name)  # type: ignore[attr-defined]

    def order(self) -> list[str]:
        """Site names in the tree's order: folders first (by name), then the sites in none;
        subscription order within each."""
        folders: dict[str, list[str]] = {}
        loose: list[str] = []
        for name, summary in self.summaries.items():
            if summary.site.folder:
                folders.setdefault(summary.site.folder, []).append(name)
            else:
                loose.append(name)
        return [n for f in sorted(folders, key=sort_key) for n in folders[f]] + loose

    def folders(self) -> dict[str, list[str]]:
        """Folder name → its sites, in the tree's order."""
        found: dict[str, list[str]] = {}
        for name in self.order():
            folder = self.summaries[name].site.folder
            if folder:
                found.setdefault(folder, []).append(name)
        return found

    @property
    def unread(self) -> int:
        return sum(s.unread for s in self.summaries.values())
