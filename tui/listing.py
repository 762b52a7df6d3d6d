"""What the sidebar and the post navigation read: an in-memory snapshot of the cache.

Design: listing 10,000 posts and counting unread posts per category cost tens of
milliseconds, too much for the event loop. ``Listing.load`` does it once, in a thread, with
its own ``Store``; the UI then answers every "which posts are in this list", "what comes
next", "how many unread" question from memory. The snapshot is replaced wholesale after a
refresh; read-state changes made in the UI are applied to it in place (``set_read``) and
written to the store separately.

Invariants: ``posts`` is newest first (the store's order); a category's list holds its posts
and those of every category below it, like a WordPress category archive; unread counts
follow the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cache.models import Category, Post, Site, breadcrumb, category_chain
from cache.store import Store

#: The key of a post list: (site name, category id), with category ``None`` for all posts.
ListKey = tuple[str, int | None]


@dataclass
class SiteListing:
    """One site's posts, categories and read state."""

    site: Site
    posts: list[Post]
    categories: dict[int, Category]
    read: set[int]
    children: dict[int, list[int]] = field(default_factory=dict)
    #: Every category a post belongs to, with their ancestors (post id → category ids).
    post_cats: dict[int, frozenset[int]] = field(default_factory=dict)
    #: Unread posts per category, counting the categories below it.
    unread_by_cat: dict[int, int] = field(default_factory=dict)
    by_id: dict[int, Post] = field(default_factory=dict)
    _lists: dict[int | None, list[int]] = field(default_factory=dict)

    @classmethod
    def build(cls, site: Site, posts: list[Post], categories: list[Category], read: set[int]) -> SiteListing:
        cats = {c.id: c for c in categories}
        listing = cls(site=site, posts=posts, categories=cats, read=read)
        for cat in sorted(categories, key=lambda c: c.name.casefold()):
            parent = cat.parent if cat.parent in cats and cat.parent != cat.id else 0
            listing.children.setdefault(parent, []).append(cat.id)
        ancestors = {cid: frozenset(c.id for c in category_chain(cats, cid)) for cid in cats}
        empty: frozenset[int] = frozenset()
        unread = listing.unread_by_cat
        for post in posts:
            listing.by_id[post.id] = post
            found = empty.union(*(ancestors.get(c, empty) for c in post.categories))
            listing.post_cats[post.id] = found
            if post.id not in read:
                for cid in found:
                    unread[cid] = unread.get(cid, 0) + 1
        return listing

    @property
    def unread(self) -> int:
        """Unread posts in the site."""
        return sum(1 for p in self.posts if p.id not in self.read)

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
        for cid in self.post_cats.get(post_id, ()):
            self.unread_by_cat[cid] = self.unread_by_cat.get(cid, 0) + delta
        return True

    def crumbs(self, post: Post) -> list[str]:
        """Home › the deepest of the post's category paths."""
        return breadcrumb(post, self.categories)


@dataclass
class Listing:
    """Every subscribed site's ``SiteListing``, in subscription order."""

    sites: dict[str, SiteListing] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Store) -> Listing:
        """Read the whole index (slow for big caches: call it from a thread)."""
        listing = cls()
        for site in store.sites():
            listing.sites[site.name] = SiteListing.build(
                site, store.posts(site.name), store.categories(site.name), store.read_ids(site.name)
            )
        return listing

    @property
    def unread(self) -> int:
        return sum(s.unread for s in self.sites.values())
