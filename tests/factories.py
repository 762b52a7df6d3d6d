"""Test data shaped like WordPress REST JSON, for FakeWordPress and the store."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

BASE = "https://news.example.test"


def stamp(minutes: int) -> str:
    return (datetime(2026, 1, 1) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S")


def wp_post(
    post_id: int,
    *,
    minutes: int | None = None,
    title: str | None = None,
    body: str | None = None,
    categories: list[int] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    when = stamp(post_id if minutes is None else minutes)
    return {
        "id": post_id,
        "date": when,
        "date_gmt": when,
        "modified": when,
        "modified_gmt": when,
        "slug": f"post-{post_id}",
        "status": "publish",
        "type": "post",
        "link": f"{BASE}/2026/01/post-{post_id}/",
        "title": {"rendered": title if title is not None else f"Post number {post_id}"},
        "content": {"rendered": body if body is not None else f"<p>Body of post {post_id}.</p>", "protected": False},
        "excerpt": {"rendered": f"<p>Excerpt {post_id}</p>", "protected": False},
        "author": 1,
        "comment_status": "open",
        "sticky": False,
        "categories": categories if categories is not None else [2],
        **extra,
    }


def wp_comment(
    comment_id: int,
    post: int,
    *,
    parent: int = 0,
    minutes: int | None = None,
    text: str = "",
    author: str = "Reader",
    status: str = "approved",
) -> dict[str, Any]:
    when = stamp(10_000 + (comment_id if minutes is None else minutes))
    return {
        "id": comment_id,
        "post": post,
        "parent": parent,
        "author": 0,
        "author_name": author,
        "date": when,
        "date_gmt": when,
        "content": {"rendered": f"<p>{text or f'Comment {comment_id}'}</p>"},
        "link": f"{BASE}/2026/01/post-{post}/#comment-{comment_id}",
        "status": status,
        "type": "comment",
    }


def wp_site(posts: int = 5, comments_per_post: int = 0) -> dict[str, Any]:
    cats = [
        {"id": 2, "name": "News", "slug": "news", "parent": 0, "count": posts, "link": f"{BASE}/category/news/"},
        {"id": 3, "name": "Local", "slug": "local", "parent": 2, "count": 0, "link": f"{BASE}/category/news/local/"},
        {"id": 4, "name": "Harbour &amp; Docks", "slug": "harbour", "parent": 3, "count": 0, "link": ""},
        {"id": 5, "name": "Sport", "slug": "sport", "parent": 0, "count": 0, "link": ""},
    ]
    data = {
        "name": "Example News",
        "description": "Testing",
        "url": BASE,
        "users": [{"id": 1, "name": "Ada Writer", "slug": "ada"}],
        "categories": cats,
        "posts": [wp_post(i) for i in range(1, posts + 1)],
        "comments": [],
    }
    cid = 1000
    for post in range(1, posts + 1):
        for _ in range(comments_per_post):
            cid += 1
            data["comments"].append(wp_comment(cid, post))
    return data


def many_sites(store: Any, sites: int = 3, posts: int = 130, read: int = 40) -> list[str]:
    """Fill ``store`` with ``sites`` sites through ``save_sync``: more posts than a summary's
    newest rows, a category tree, dates that tie across sites, the oldest ``read`` marked
    read. Returns the site names."""
    from cache.models import Category, Post, Site

    names = [f"s{n}" for n in range(sites)]
    for n, name in enumerate(names):
        store.add_site(Site(name=name, url=f"https://{name}.test", title=f"Site {n}", folder="F" if n % 2 else ""))
        cats = [
            Category(1, name, "World"),
            Category(2, name, "Local", parent=1),
            Category(3, name, "Harbour", parent=2),
            Category(4, name, "sport", slug="sport"),
            Category(5, name, "Empty"),
        ]
        rows = [
            Post(
                pid,
                name,
                f"{name} post {pid}",
                date=stamp(pid * 10 + n % 2),
                date_gmt=stamp(pid * 10 + n % 2),
                link=f"https://{name}.test/{pid}/",
                categories=[1 + pid % 4] + ([2] if pid % 7 == 0 else []),
                comment_count=pid % 3,
                sticky=pid == 5,
            )
            for pid in range(1, posts + 1)
        ]
        store.save_sync(name, posts=rows, categories=cats)
        store.mark_read(name, range(1, read + 1))
    return names
