"""WordPress REST JSON → plain models (``cache.models``), cleaning every string.

Malformed items raise ``BadResponse`` (the caller skips them and counts them). Fields are
capped (``MAX_TITLE``…): a hostile site once sent a 1 MB title, stored whole, that made
every later command parse it. Dates are WordPress's: ``date`` site-local, ``date_gmt`` UTC.
"""

from __future__ import annotations

from typing import Any

from ...errors import BadResponse
from ...models import MAX_ID, Category, Comment, Post
from ...safe import clean_line, html_to_line, html_to_markdown

MAX_TITLE = 1_000
MAX_NAME = 200
MAX_URL = 2_000
MAX_COMMENT = 200_000
"""Characters kept of a title, a name (author, category), a URL and a comment."""


def rendered(data: dict[str, Any], key: str) -> str:
    """``data[key]["rendered"]`` (or ``data[key]`` when it is a string), else ""."""
    value = data.get(key)
    if isinstance(value, dict):
        value = value.get("rendered")
    return value if isinstance(value, str) else ""


def number(data: dict[str, Any], key: str, default: int | None = None) -> int:
    """An id-like field: ``id`` must be a WordPress id; ``parent``/``post``/``count`` >= 0."""
    value = data.get(key, default)
    if value is None and default is not None:
        return default
    low = 1 if key == "id" else 0
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_ID:
        raise BadResponse(f"the site sent an invalid {key!r}: {clean_line(str(value))[:40]!r}")
    return value


def date(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or len(value) < 10:
        return ""
    return clean_line(value[:40])[:19]


def line(value: Any, limit: int) -> str:
    """A short plain string field, cleaned and capped."""
    return clean_line(str(value or "")[: limit * 4])[:limit]


def category(site: str, data: dict[str, Any]) -> Category:
    """A ``/wp/v2/categories`` item."""
    if not isinstance(data, dict):
        raise BadResponse("the site sent a category that is not an object")
    raw = data.get("name")
    name = raw if isinstance(raw, str) else ""
    return Category(
        id=number(data, "id"),
        site=site,
        name=html_to_line(name[: MAX_NAME * 4])[:MAX_NAME],
        slug=line(data.get("slug"), MAX_NAME),
        parent=number(data, "parent", 0),
        count=number(data, "count", 0),
        link=line(data.get("link"), MAX_URL),
    )


def post(site: str, data: dict[str, Any], authors: dict[int, str] | None = None) -> Post:
    """A ``/wp/v2/posts`` item (``authors`` maps user id → name)."""
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
    excerpt = "" if protected else html_to_line(rendered(data, "excerpt")[:4000])
    return Post(
        id=number(data, "id"),
        site=site,
        title=html_to_line(rendered(data, "title")[: MAX_TITLE * 4])[:MAX_TITLE] or "(no title)",
        date=date(data, "date"),
        date_gmt=date(data, "date_gmt") or date(data, "date"),
        modified=date(data, "modified") or date(data, "date"),
        modified_gmt=date(data, "modified_gmt") or date(data, "date_gmt"),
        link=line(data.get("link"), MAX_URL),
        slug=line(data.get("slug"), MAX_NAME),
        author=line(author, MAX_NAME),
        categories=[c for c in categories[:1000] if isinstance(c, int) and not isinstance(c, bool)],
        sticky=bool(data.get("sticky")),
        protected=protected,
        comment_status=line(data.get("comment_status") or "open", 20),
        excerpt=excerpt[:300],
    )


def comment(site: str, data: dict[str, Any]) -> Comment:
    """A ``/wp/v2/comments`` item."""
    if not isinstance(data, dict):
        raise BadResponse("the site sent a comment that is not an object")
    author = data.get("author_name")
    return Comment(
        id=number(data, "id"),
        site=site,
        post=number(data, "post", 0),
        parent=number(data, "parent", 0),
        author=html_to_line(str(author or "")[: MAX_NAME * 4])[:MAX_NAME] or "Anonymous",
        date=date(data, "date"),
        date_gmt=date(data, "date_gmt") or date(data, "date"),
        text=html_to_markdown(rendered(data, "content")[:MAX_COMMENT]),
        link=line(data.get("link"), MAX_URL),
        status=line(data.get("status") or "approved", 20),
    )
