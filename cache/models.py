"""Plain data models, each able to build itself from WordPress REST JSON.

Every string field of a model is already *safe* (see ``cache.safe``): models are built
only through ``from_wp``/``from_row``, and ``from_wp`` cleans what the site sent. Rows are
the JSON-able dicts the store keeps; ``from_row`` ignores unknown keys so an older
Broadsheet can read a newer cache.

Dates are kept as WordPress gives them: ``date`` is site-local, ``date_gmt`` is UTC, both
``YYYY-MM-DDTHH:MM:SS`` — so they sort as strings.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Self

from .errors import BadResponse
from .safe import clean_line, html_to_line, html_to_markdown


class _Row:
    """Conversion to and from the store's JSON rows."""

    #: Compact rows leave out ``site`` (the file says it) and fields at their default: the
    #: post index is parsed whole by every reader, and every key left out is an object fewer.
    COMPACT: ClassVar[bool] = False

    def to_row(self) -> dict[str, Any]:
        """A JSON-able dict (shallow: ``dataclasses.asdict`` deep-copies, and was most of
        the cost of saving a large sync). Lists and dicts are copied one level."""
        row = {}
        defaults = _defaults(type(self)) if self.COMPACT else {}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            if self.COMPACT and (name == "site" or (name in defaults and defaults[name] == value)):
                continue
            row[name] = value.copy() if isinstance(value, (list, dict)) else value
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any], site: str | None = None) -> Self:
        """Build from a stored row; ``site`` fills in what compact rows leave out."""
        names = _field_names(cls)
        values = {k: v for k, v in row.items() if k in names}
        if site is not None and "site" in names:
            values.setdefault("site", site)
        return cls(**values)


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


@functools.cache
def _defaults(cls: type) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for f in fields(cls):
        if f.default is not MISSING:
            found[f.name] = f.default
        elif f.default_factory is not MISSING:
            found[f.name] = f.default_factory()
    return found


def _rendered(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, dict):
        value = value.get("rendered")
    return value if isinstance(value, str) else ""


MAX_ID = 2**53 - 1
"""WordPress ids are positive; ours (pending replies) are negative; JSON is safe to 2**53."""


def valid_id(value: Any) -> bool:
    """Whether ``value`` can be a WordPress id."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _int(data: dict[str, Any], key: str, default: int | None = None) -> int:
    """An id-like field: ``id`` must be a WordPress id; ``parent``/``post``/``count`` >= 0."""
    value = data.get(key, default)
    if value is None and default is not None:
        return default
    low = 1 if key == "id" else 0
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_ID:
        raise BadResponse(f"the site sent an invalid {key!r}: {clean_line(str(value))[:40]!r}")
    return value


def _date(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or len(value) < 10:
        return ""
    return clean_line(value)[:19]


@dataclass(slots=True)
class Site(_Row):
    """A subscribed site."""

    name: str
    url: str
    api_root: str = ""
    title: str = ""
    description: str = ""
    kind: str = "wordpress"
    added: str = ""
    last_sync: str | None = None
    last_error: str | None = None
    demo: bool = False
    #: Incremental-sync cursors (``posts_modified``, ``comments_date``, ...).
    cursors: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Category(_Row):
    """A category of a site; ``parent`` is 0 at the top of the tree."""

    id: int
    site: str
    name: str
    slug: str = ""
    parent: int = 0
    count: int = 0
    link: str = ""

    @classmethod
    def from_wp(cls, site: str, data: dict[str, Any]) -> Self:
        return cls(
            id=_int(data, "id"),
            site=site,
            name=html_to_line(data.get("name") if isinstance(data.get("name"), str) else ""),
            slug=clean_line(str(data.get("slug") or "")),
            parent=_int(data, "parent", 0),
            count=_int(data, "count", 0),
            link=clean_line(str(data.get("link") or "")),
        )


@dataclass(slots=True)
class Post(_Row):
    """A post's index entry: everything but the body. Read state lives apart."""

    COMPACT: ClassVar[bool] = True

    id: int
    site: str
    title: str
    date: str = ""
    date_gmt: str = ""
    modified: str = ""
    modified_gmt: str = ""
    link: str = ""
    slug: str = ""
    author: str = ""
    categories: list[int] = field(default_factory=list)
    sticky: bool = False
    protected: bool = False
    comment_status: str = "open"
    comment_count: int = 0
    excerpt: str = ""

    @classmethod
    def from_wp(cls, site: str, data: dict[str, Any], authors: dict[int, str] | None = None) -> Self:
        """Build from a ``/wp/v2/posts`` item (``authors`` maps user id → name)."""
        if not isinstance(data, dict):
            raise BadResponse("the site sent a post that is not an object")
        categories = data.get("categories") or []
        if not isinstance(categories, list):
            categories = []
        author_id = data.get("author")
        author = ""
        if authors and isinstance(author_id, int):
            author = authors.get(author_id, "")
        content = data.get("content")
        protected = bool(isinstance(content, dict) and content.get("protected"))
        excerpt = "" if protected else html_to_line(_rendered(data, "excerpt"))
        return cls(
            id=_int(data, "id"),
            site=site,
            title=html_to_line(_rendered(data, "title")) or "(no title)",
            date=_date(data, "date"),
            date_gmt=_date(data, "date_gmt") or _date(data, "date"),
            modified=_date(data, "modified") or _date(data, "date"),
            modified_gmt=_date(data, "modified_gmt") or _date(data, "date_gmt"),
            link=clean_line(str(data.get("link") or "")),
            slug=clean_line(str(data.get("slug") or "")),
            author=clean_line(author),
            categories=[c for c in categories if isinstance(c, int) and not isinstance(c, bool)],
            sticky=bool(data.get("sticky")),
            protected=protected,
            comment_status=clean_line(str(data.get("comment_status") or "open")),
            excerpt=excerpt[:300],
        )


@dataclass(slots=True)
class Comment(_Row):
    """A comment; ``parent`` is 0 for a top-level comment.

    ``status`` is ``approved`` for comments from the site; replies of ours that the site
    has not confirmed yet are ``pending`` (in the outbox) or ``hold`` (awaiting moderation).
    """

    COMPACT: ClassVar[bool] = True

    id: int
    site: str
    post: int
    parent: int = 0
    author: str = ""
    date: str = ""
    date_gmt: str = ""
    text: str = ""
    link: str = ""
    status: str = "approved"

    @classmethod
    def from_wp(cls, site: str, data: dict[str, Any]) -> Self:
        """Build from a ``/wp/v2/comments`` item."""
        if not isinstance(data, dict):
            raise BadResponse("the site sent a comment that is not an object")
        return cls(
            id=_int(data, "id"),
            site=site,
            post=_int(data, "post", 0),
            parent=_int(data, "parent", 0),
            author=html_to_line(str(data.get("author_name") or "")) or "Anonymous",
            date=_date(data, "date"),
            date_gmt=_date(data, "date_gmt") or _date(data, "date"),
            text=html_to_markdown(_rendered(data, "content")),
            link=clean_line(str(data.get("link") or "")),
            status=clean_line(str(data.get("status") or "approved")),
        )


@dataclass(slots=True)
class Article:
    """A post with its body (Markdown) and its place in the category tree."""

    post: Post
    body: str
    unread: bool
    breadcrumb: list[str] = field(default_factory=list)


# -- the category tree (sites send it flat, with ``parent``) --------------------------------


def category_chain(cats: dict[int, Category], category_id: int) -> list[Category]:
    """``category_id`` and its ancestors, from the top of the tree down (cycles stop)."""
    chain: list[Category] = []
    seen: set[int] = set()
    current = cats.get(category_id)
    while current is not None and current.id not in seen:
        seen.add(current.id)
        chain.append(current)
        current = cats.get(current.parent)
    return chain[::-1]


def breadcrumb(post: Post, cats: dict[int, Category]) -> list[str]:
    """``Home`` and the names along the deepest of the post's category paths."""
    chains = (category_chain(cats, cid) for cid in post.categories)
    deepest = max(chains, key=len, default=[])
    return ["Home", *(c.name for c in deepest)]


def category_rows(cats: Iterable[Category]) -> list[tuple[int, Category]]:
    """``(depth, category)`` depth-first, by name at every level; a category whose parent is
    unknown (or in a cycle) is shown at the top rather than lost."""
    by_id = {c.id: c for c in cats}
    children: dict[int, list[Category]] = {}
    for cat in sorted(by_id.values(), key=lambda c: c.name.casefold()):
        parent = cat.parent if cat.parent in by_id and cat.parent != cat.id else 0
        children.setdefault(parent, []).append(cat)
    rows: list[tuple[int, Category]] = []
    seen: set[int] = set()
    stack = [(0, c) for c in reversed(children.get(0, []))]
    while stack:
        depth, cat = stack.pop()
        if cat.id not in seen:
            seen.add(cat.id)
            rows.append((depth, cat))
            stack.extend((depth + 1, c) for c in reversed(children.get(cat.id, [])))
    rows.extend((0, c) for c in by_id.values() if c.id not in seen)
    return rows
