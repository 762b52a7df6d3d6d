"""Plain data models, and the category-tree walks every face shares.

Every string field of a model is already *safe* (see ``cache.safe``): each source cleans
what its site sent when it builds a model (``cache.sources.*``: parsing a wire format lives
with its source, never here). Rows are the JSON-able dicts the store keeps; ``from_row``
ignores unknown keys so an older Broadsheet can read a newer cache.

Dates are ``YYYY-MM-DDTHH:MM:SS``: ``date`` in the site's own time zone, ``date_gmt`` in
UTC — so they sort as strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Self


class _Row:
    """Conversion to and from the store's JSON rows."""

    #: Compact rows leave out ``site`` (the file says it) and fields at their default: the
    #: post index is parsed whole by every reader, and every key left out is an object fewer.
    COMPACT: ClassVar[bool] = False

    def to_row(self) -> dict[str, Any]:
        """A JSON-able dict (shallow: ``dataclasses.asdict`` deep-copies, and was most of
        the cost of saving a large sync). Lists and dicts are copied one level."""
        row = {}
        defaults = field_defaults(type(self)) if self.COMPACT else {}
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


_NAMES: dict[type, tuple[str, ...]] = {}
_DEFAULTS: dict[type, dict[str, Any]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names (cached per class: rows are built by the thousand)."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def field_defaults(cls: type) -> dict[str, Any]:
    """A dataclass's default values by field name (cached per class)."""
    found = _DEFAULTS.get(cls)
    if found is None:
        found = _DEFAULTS[cls] = {}
        for f in fields(cls):
            if f.default is not MISSING:
                found[f.name] = f.default
            elif f.default_factory is not MISSING:
                found[f.name] = f.default_factory()
    return found


MAX_ID = 2**53 - 1
"""WordPress ids are positive; ours (pending replies) are negative; JSON is safe to 2**53."""


def valid_id(value: Any) -> bool:
    """Whether ``value`` can be a WordPress id."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


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
    #: When a sync last tried the site, whatever came of it (a dead feed is not retried at
    #: every start of the reader: it waits its refresh interval like any other).
    last_attempt: str | None = None
    demo: bool = False
    #: The feed read for a ``feed`` site (also kept for WordPress sites that have one).
    feed_url: str = ""
    #: The folder the site is filed under in the sidebar ("" for none).
    folder: str = ""
    #: The site's home page, for links and the duplicate check.
    home: str = ""


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
    #: The item's identity in its feed (GUID / Atom id / JSON Feed id); "" for WordPress.
    guid: str = ""
    #: Media attached to a feed item: ``{"url", "type", "length"}``.
    enclosures: list[dict[str, Any]] = field(default_factory=list)
    #: Where the post's comments can be read separately (a feed's ``wfw:commentRss``).
    comments_feed: str = ""


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


def name_key(text: str) -> str:
    """Accent- and case-insensitive order ("Économie" before "World"), the same on every
    machine (no locale): casefolded NFKD without combining marks; the text breaks ties."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)) + "\0" + text


def category_rows(cats: Iterable[Category]) -> list[tuple[int, Category]]:
    """``(depth, category)`` depth-first, by name at every level; a category whose parent is
    unknown (or in a cycle) is shown at the top rather than lost."""
    by_id = {c.id: c for c in cats}
    children: dict[int, list[Category]] = {}
    for cat in sorted(by_id.values(), key=lambda c: name_key(c.name)):
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
