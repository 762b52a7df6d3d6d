"""A feed site in the reader: comments read from the post's comment feed when it is opened,
and no reply offered."""

from __future__ import annotations

import httpx

from cache.models import Post, Site
from cache.store import Store
from tui.textual_compat import notifications

from .conftest import screen_text, wait_for

COMMENTS = b"""<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Comments</title><link>https://blog.example/one/</link>
<item><title>By Ada</title><dc:creator>Ada</dc:creator><guid>c1</guid>
<pubDate>Tue, 02 Jan 2024 11:00:00 +0000</pubDate><description>First from the comment feed</description></item>
</channel></rss>"""


async def test_a_feed_posts_comments_are_fetched_when_it_is_opened(tmp_path, make):
    store = Store(tmp_path / "cache")
    store.add_site(
        Site(
            name="blog",
            url="https://blog.example/",
            kind="feed",
            feed_url="https://blog.example/feed/",
            last_sync="2099-01-01T00:00:00",
        )
    )
    post = Post(
        7,
        "blog",
        "One",
        date="2024-01-02T10:00:00",
        date_gmt="2024-01-02T10:00:00",
        link="https://blog.example/one/",
        comment_status="closed",
        comments_feed="https://blog.example/one/feed/",
    )
    store.save_sync("blog", posts=[post], html={7: "<p>Hello</p>"}, cursors={"etag": "x"})
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path == "/one/feed/":
            return httpx.Response(200, content=COMMENTS, headers={"Content-Type": "application/rss+xml"})
        return httpx.Response(404)

    app = make(store, transport=httpx.MockTransport(handler), open_post="7")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "First from the comment feed" in screen_text(app))
        assert asked == ["/one/feed/"]
        assert "Comments (1)  read only" in screen_text(app) and "closed" not in screen_text(app)
        await pilot.press("r")
        await wait_for(pilot, lambda: any("takes no replies" in str(n.message) for n in notifications(app)))


async def test_a_feed_without_comments_says_so_not_closed(tmp_path, make):
    """Found by a new user: every feed item showed "Comments (0) closed"."""
    store = Store(tmp_path / "cache")
    store.add_site(Site(name="blog", url="https://blog.example/", kind="feed", last_sync="2099-01-01T00:00:00"))
    post = Post(8, "blog", "Two", date_gmt="2024-01-02T10:00:00", link="https://blog.example/two/")
    store.save_sync("blog", posts=[post], html={8: "<p>Hello</p>"}, cursors={"etag": "x"})
    app = make(store, open_post="8")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "This feed has no comments." in screen_text(app))
        assert "none in this feed" in screen_text(app) and "Comments are closed" not in screen_text(app)


async def test_the_byline_keeps_the_feeds_comment_count_without_a_comment_feed(tmp_path, make):
    store = Store(tmp_path / "cache")
    store.add_site(Site(name="blog", url="https://blog.example/", kind="feed", last_sync="2099-01-01T00:00:00"))
    post = Post(8, "blog", "Two", date_gmt="2024-01-02T10:00:00", link="https://blog.example/two/", comment_count=42)
    store.save_sync("blog", posts=[post], html={8: "<p>Hello</p>"}, cursors={"etag": "x"})
    app = make(store, open_post="8")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "This feed has no comments." in screen_text(app))
        await pilot.pause()
        assert "42 comments" in screen_text(app)  # slash:comments, though none is in the cache
