"""The feed source against httpx.MockTransport fakes: formats, discovery, identity,
conditional GET and scheduling, categories, enclosures, time zones, comments, full text,
and hostile feeds."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from cache.errors import BadResponse
from cache.http import RetryPolicy, make_client
from cache.models import Site
from cache.safe import clean_text
from cache.sources import discover as discover_any
from cache.sources.base import Known, stable_id
from cache.sources.feed import FeedSource, parse, parse_feed

FAST = RetryPolicy(retries=0, backoff=0)
HOME = "https://news.example"
FEED = HOME + "/feed/"
RSS_NS = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:slash="http://purl.org/rss/1.0/modules/slash/" '
    'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"'
)


def rss(items: str, channel: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" {RSS_NS}><channel><title>News</title>'
        f"<link>{HOME}/</link><description>All the news</description>{channel}{items}</channel></rss>"
    ).encode()


def item(
    n: int,
    *,
    title: str | None = None,
    date: str = "Tue, 02 Jan 2024 10:00:00 +0100",
    extra: str = "",
    content: str | None = None,
    guid: str | None = None,
) -> str:
    body = f"<p>Full body of item {n}, long enough to be an article.</p>" if content is None else content
    return (
        f"<item><title>{title or f'Item {n}'}</title><link>{HOME}/{n}/</link>"
        f"<guid>{guid or f'{HOME}/?p={n}'}</guid>"
        + (f"<pubDate>{date}</pubDate>" if date else "")
        + f"<description>Summary {n}</description>"
        + (f"<content:encoded><![CDATA[{body}]]></content:encoded>" if body else "")
        + extra
        + "</item>"
    )


class FakeSite:
    """Paths → answers; honours If-None-Match; counts requests per path."""

    def __init__(self, pages: dict[str, object]) -> None:
        self.pages = pages
        self.hits: dict[str, int] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path + (("?" + request.url.query.decode()) if request.url.query else "")
        self.hits[path] = self.hits.get(path, 0) + 1
        answer = self.pages.get(path)
        if answer is None:
            return httpx.Response(404, text="not found", headers={"Content-Type": "text/html"})
        if callable(answer):
            return answer(request)
        if isinstance(answer, httpx.Response):
            return answer
        body, kind = answer if isinstance(answer, tuple) else (answer, "application/rss+xml")
        etag = f'"{hash(body) & 0xFFFFFF:x}"'
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(200, content=body, headers={"Content-Type": kind, "ETag": etag})

    @property
    def total(self) -> int:
        return sum(self.hits.values())


def source(fake, feed_url: str = FEED) -> FeedSource:
    site = Site(name="news", url=HOME + "/", kind="feed", feed_url=feed_url)
    return FeedSource(site, make_client(httpx.MockTransport(fake)), policy=FAST)


async def sync(src: FeedSource, cursors: dict | None = None, posts: dict | None = None, **kw) -> object:
    return await src.sync(Known(cursors=cursors or {"full_text": "never"}, posts=posts or {}, **kw))


# -- formats --------------------------------------------------------------------------------


async def test_rss2_items_become_posts_with_everything():
    extra = (
        "<dc:creator>Ann &amp; Bo</dc:creator><category>Politics</category><category>politics</category>"
        '<category>Local</category><enclosure url="/a.mp3" type="audio/mpeg" length="1234"/>'
        f"<wfw:commentRss>{HOME}/1/feed/</wfw:commentRss><slash:comments>3</slash:comments>"
    )
    fake = FakeSite({"/feed/": rss(item(1, extra=extra) + item(2, extra="<category>Local</category>"))})
    changes = await sync(source(fake))
    first, second = changes.posts
    assert first.id == stable_id(HOME + "/?p=1") and first.guid == HOME + "/?p=1"
    assert (first.title, first.link, first.author) == ("Item 1", HOME + "/1/", "Ann & Bo")
    assert (first.date, first.date_gmt) == ("2024-01-02T10:00:00", "2024-01-02T09:00:00")
    assert first.enclosures == [{"url": HOME + "/a.mp3", "type": "audio/mpeg", "length": 1234}]
    assert first.comments_feed == HOME + "/1/feed/" and first.comment_count == 3
    assert first.comment_status == "closed"
    assert "Full body of item 1" in changes.html[first.id]
    cats = {c.name: c for c in changes.categories}
    assert set(cats) == {"Politics", "Local"}  # case-folded duplicates are one category
    assert cats["Local"].count == 2 and cats["Politics"].count == 1 and cats["Local"].parent == 0
    assert cats["Local"].id == stable_id("category:local")
    assert set(first.categories) == {cats["Politics"].id, cats["Local"].id}
    assert changes.removed == set() and not changes.not_modified


async def test_rss1_rdf():
    data = (
        b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        b'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b'<channel rdf:about="https://r.example/"><title>R</title><link>https://r.example/</link></channel>'
        b'<item rdf:about="https://r.example/1"><title>One</title><link>https://r.example/1</link>'
        b"<dc:date>2024-01-02T10:00:00+02:00</dc:date><dc:creator>Cy</dc:creator><dc:subject>Tech</dc:subject></item>"
        b"</rdf:RDF>"
    )
    parsed = parse_feed(data, "r", "https://r.example/feed")
    (post,) = parsed.posts
    assert parsed.feed.title == "R" and parsed.feed.link == "https://r.example/"
    assert (post.guid, post.title, post.author, post.date_gmt) == (
        "https://r.example/1",
        "One",
        "Cy",
        "2024-01-02T08:00:00",
    )
    assert post.categories == [stable_id("category:tech")]


async def test_rss091_with_netscape_doctype_and_html_entities():
    data = (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel><title>Old</title>'
        b"<link>https://old.example/</link><item><title>Caf&eacute; &amp; bar</title><link>https://old.example/1</link>"
        b"<description>x</description></item></channel></rss>"
    )
    (post,) = parse_feed(data, "o").posts
    assert post.title == "Caf\xe9 & bar" and post.id == stable_id("https://old.example/1")  # no guid: the link


async def test_atom_with_time_zones_updated_and_xhtml():
    data = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">A &amp;lt;b&amp;gt;</title>
      <link href="https://a.example/"/><link rel="self" href="https://a.example/atom"/>
      <entry><id>urn:a:1</id><title type="text">x &lt; y</title><link href="/1"/>
        <published>2024-01-02T10:00:00-05:00</published><updated>2024-01-05T08:30:00Z</updated>
        <author><name>Dee</name></author><category term="t1" label="Label One"/><category term="t2"/>
        <link rel="enclosure" href="https://a.example/v.mp4" type="video/mp4" length="99"/>
        <summary>short</summary>
        <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Body <b>bold</b></p></div></content></entry>
    </feed>"""
    parsed = parse_feed(data, "a", "https://a.example/atom")
    (post,) = parsed.posts
    assert parsed.feed.link == "https://a.example/" and parsed.feed.title == "A <b>"
    assert post.title == "x < y" and post.link == "https://a.example/1" and post.author == "Dee"
    assert (post.date, post.date_gmt) == ("2024-01-02T10:00:00", "2024-01-02T15:00:00")
    assert (post.modified, post.modified_gmt) == ("2024-01-05T08:30:00", "2024-01-05T08:30:00")
    assert post.categories == [stable_id("category:label one"), stable_id("category:t2")]
    assert post.enclosures == [{"url": "https://a.example/v.mp4", "type": "video/mp4", "length": 99}]
    assert "<p >Body <b>bold</b></p>" in parsed.html[post.id]


@pytest.mark.parametrize("version", ["1", "1.1"])
async def test_json_feed(version):
    author = {"authors": [{"name": "Eve"}]} if version == "1.1" else {"author": {"name": "Eve"}}
    doc = {
        "version": f"https://jsonfeed.org/version/{version}",
        "title": "J",
        "home_page_url": "https://j.example/",
        "items": [
            {
                "id": 7,
                "url": "https://j.example/7",
                "title": "<One>",
                "content_text": "a < b\n\nsecond",
                "date_published": "2024-01-02T10:00:00+01:00",
                "date_modified": "2024-01-03T10:00:00+01:00",
                "tags": ["News", "news", "Sport"],
                **author,
                "attachments": [{"url": "https://j.example/p.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 5}],
            },
            {"id": "8", "content_html": "<p>html</p>", "summary": "s"},
        ],
    }
    parsed = parse_feed(json.dumps(doc).encode(), "j", "https://j.example/feed.json")
    first, second = parsed.posts
    assert first.guid == "7" and first.id == stable_id("7") and first.title == "<One>" and first.author == "Eve"
    assert (first.date_gmt, first.modified_gmt) == ("2024-01-02T09:00:00", "2024-01-03T09:00:00")
    assert parsed.html[first.id] == "<p>a &lt; b</p><p>second</p>"
    assert len(first.categories) == 2 and first.enclosures[0]["length"] == 5
    assert second.title == "(no title)" and parsed.html[second.id] == "<p>html</p>"


async def test_json_that_is_not_a_feed_is_refused():
    with pytest.raises(BadResponse):
        parse.read(b'{"version": "2", "items": []}')


# -- discovery ------------------------------------------------------------------------------


def html_page(head: str) -> tuple[bytes, str]:
    return f"<!doctype html><html><head><title>Home</title>{head}</head><body>hi</body></html>".encode(), "text/html"


async def test_discovery_from_html_prefers_the_site_feed_over_comments():
    page = html_page(
        '<link rel="alternate" type="application/rss+xml" title="Comments Feed" href="/comments/feed/">'
        '<link rel="alternate" type="application/feed+json" href="/feed.json">'
        '<link rel="alternate" type="application/atom+xml" title="News" href="feed/atom/">'
    )
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>News Atom</title><subtitle>Sub</subtitle>'
        b'<link href="https://news.example/"/></feed>'
    )
    fake = FakeSite({"/blog/": page, "/blog/feed/atom/": (atom, "application/atom+xml"), "/comments/feed/": rss("")})
    async with make_client(httpx.MockTransport(fake)) as client:
        found = await discover_any(client, HOME + "/blog/", kind="feed", policy=FAST)
    assert (found.kind, found.feed_url, found.url) == ("feed", HOME + "/blog/feed/atom/", HOME + "/")
    assert (found.title, found.description) == ("News Atom", "Sub")
    assert "/comments/feed/" not in fake.hits


async def test_discovery_from_a_feed_url_even_served_as_text_html():
    fake = FakeSite({"/feed.xml": (rss(item(1)), "text/html; charset=utf-8")})
    async with make_client(httpx.MockTransport(fake)) as client:
        found = await discover_any(client, HOME + "/feed.xml", kind="feed", policy=FAST)
    assert found.feed_url == HOME + "/feed.xml" and found.url == HOME + "/" and found.title == "News"
    assert fake.total == 1


async def test_discovery_from_common_paths_is_bounded():
    fake = FakeSite({"/": html_page(""), "/index.xml": rss("")})
    async with make_client(httpx.MockTransport(fake)) as client:
        found = await FeedSource.discover(client, HOME + "/", await client.get(HOME + "/"), FAST)
    assert found.feed_url == HOME + "/index.xml"
    assert list(fake.hits) == ["/", "/feed/", "/rss.xml", "/index.xml"]


async def test_not_a_feed_is_none_within_bounded_requests():
    fake = FakeSite(
        {
            "/": html_page('<link rel="alternate" type="application/rss+xml" href="/broken">'),
            "/broken": ("<html>nope</html>", "text/html"),
        }
    )
    async with make_client(httpx.MockTransport(fake)) as client:
        assert await FeedSource.discover(client, HOME + "/", await client.get(HOME + "/"), FAST) is None
        assert await FeedSource.discover(client, HOME + "/", None, FAST) is None
    assert fake.total <= 1 + 1 + 5


# -- identity, conditional GET, scheduling --------------------------------------------------


async def test_guid_stable_update_is_an_update_not_a_duplicate():
    feed = {"/feed/": rss(item(1, title="First version"))}
    src = source(FakeSite(feed))
    first = await sync(src)
    (post,) = first.posts
    known = {post.id: post.modified_gmt}
    again = await sync(source(FakeSite(feed)), first.cursors | {"etag": ""}, known)
    assert again.posts == []  # unchanged: nothing to save
    feed["/feed/"] = rss(item(1, title="Second version"))
    edited = await sync(source(FakeSite(feed)), again.cursors, known)
    (changed,) = edited.posts
    assert changed.id == post.id and changed.title == "Second version"
    assert changed.modified_gmt > post.modified_gmt and changed.date_gmt == post.date_gmt


async def test_missing_dates_are_first_seen_and_stable(monkeypatch):
    fake = FakeSite({"/feed/": rss(item(1, date=""))})
    first = await sync(source(fake))
    (post,) = first.posts
    assert post.date_gmt and post.date_gmt == post.modified_gmt
    later = time.time() + 7200
    monkeypatch.setattr(time, "time", lambda: later)
    again = await sync(
        source(FakeSite(fake.pages)), first.cursors | {"etag": "", "next_fetch_after": 0}, {post.id: post.modified_gmt}
    )
    assert again.posts == []
    fresh = await sync(source(FakeSite(fake.pages)), {"full_text": "never"}, {post.id: post.modified_gmt})
    assert fresh.posts == []  # the cursors lost: the cached stamp is kept


async def test_304_parses_nothing(monkeypatch):
    fake = FakeSite({"/feed/": rss(item(1))})
    first = await sync(source(fake))
    assert first.cursors["etag"]

    def fail(*args, **kwargs):
        raise AssertionError("parsed a 304")

    monkeypatch.setattr(parse, "read", fail)
    src = source(fake)
    again = await sync(src, first.cursors)
    assert again.not_modified and again.categories is None and again.posts == []
    assert again.cursors["etag"] == first.cursors["etag"] and src.requests[0] == 1


async def test_ttl_and_sy_update_period_schedule_and_force_overrides():
    fake = FakeSite(
        {
            "/feed/": rss(
                item(1),
                channel="<ttl>60</ttl><sy:updatePeriod>daily</sy:updatePeriod>"
                "<sy:updateFrequency>2</sy:updateFrequency>",
            )
        }
    )
    first = await sync(source(fake))
    assert first.cursors["ttl"] == 12 * 3600
    assert first.cursors["next_fetch_after"] == pytest.approx(time.time() + 12 * 3600, abs=60)
    src = source(fake)
    skipped = await sync(src, first.cursors)
    assert skipped.not_modified and src.requests[0] == 0 and skipped.cursors == first.cursors
    forced = source(fake)
    result = await sync(forced, first.cursors, force=True)
    assert forced.requests[0] == 1 and result.not_modified  # 304 from the ETag


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"Cache-Control": "public, max-age=1800"}, 1800),
        ({"Cache-Control": "no-cache, max-age=1800"}, 0),
        ({"Retry-After": "600"}, 600),
        ({"Cache-Control": "max-age=999999"}, 24 * 3600),
    ],
)
async def test_max_age_and_retry_after(headers, expected):
    body = rss(item(1))
    fake = FakeSite({"/feed/": lambda request: httpx.Response(200, content=body, headers=headers)})
    changes = await sync(source(fake))
    assert changes.cursors["next_fetch_after"] == pytest.approx(time.time() + expected, abs=60)


async def test_error_status_is_bad_response():
    fake = FakeSite({})
    with pytest.raises(BadResponse, match="404"):
        await sync(source(fake))


# -- comments -------------------------------------------------------------------------------


COMMENTS = (
    f'<rss version="2.0" {RSS_NS}><channel><title>Comments on: Item 1</title>'
    "<item><title>By: Zed</title><link>https://news.example/1/#comment-5</link><dc:creator>Zed</dc:creator>"
    "<pubDate>Wed, 03 Jan 2024 12:00:00 +0000</pubDate><guid>https://news.example/?p=1#comment-5</guid>"
    "<description>Nice</description><content:encoded><![CDATA[<p>Nice <b>post</b></p>]]></content:encoded>"
    "</item></channel></rss>"
).encode()

ATOM_COMMENTS = b"""<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
  <entry><id>c1</id><title>c1</title><author><name>A</name></author><updated>2024-01-03T12:00:00Z</updated>
    <thr:in-reply-to ref="urn:post:1"/><content type="html">top</content></entry>
  <entry><id>c2</id><title>c2</title><author><name>B</name></author><updated>2024-01-03T13:00:00Z</updated>
    <thr:in-reply-to ref="c1"/><content type="html">reply</content></entry></feed>"""


async def test_comments_for_reads_the_comment_feed():
    fake = FakeSite({"/1/feed/": COMMENTS})
    src = source(fake)
    from cache.models import Post

    post = Post(id=11, site="news", title="t", guid="https://news.example/?p=1", comments_feed=HOME + "/1/feed/")
    (comment,) = await src.comments_for(post)
    assert comment.id == stable_id("https://news.example/?p=1#comment-5") and comment.post == 11
    assert (comment.author, comment.parent, comment.date_gmt) == ("Zed", 0, "2024-01-03T12:00:00")
    assert comment.text == "Nice **post**\n" and comment.link == HOME + "/1/#comment-5"
    assert await src.comments_for(Post(id=12, site="news", title="t")) == []


async def test_atom_comments_thread_by_in_reply_to():
    from cache.models import Post

    fake = FakeSite({"/c": (ATOM_COMMENTS, "application/atom+xml")})
    post = Post(id=1, site="news", title="t", guid="urn:post:1", comments_feed=HOME + "/c")
    top, reply = await source(fake).comments_for(post)
    assert top.parent == 0 and reply.parent == top.id == stable_id("c1")


async def test_sync_reads_comment_feeds_bounded_and_conditionally():
    items = "".join(
        item(
            n,
            date=f"Tue, {n + 1:02d} Jan 2024 10:00:00 +0000",
            extra=f"<wfw:commentRss>{HOME}/{n}/feed/</wfw:commentRss><slash:comments>1</slash:comments>",
        )
        for n in range(1, 16)
    )
    pages = {
        "/feed/": rss(
            items
            + item(99, extra=f"<wfw:commentRss>{HOME}/99/feed/</wfw:commentRss><slash:comments>0</slash:comments>")
        )
    }
    pages |= {f"/{n}/feed/": COMMENTS.replace(b"comment-5", f"comment-{n}".encode()) for n in range(1, 16)}
    fake = FakeSite(pages)
    first = await sync(source(fake))
    assert len(first.comments) == 10 and "/99/feed/" not in fake.hits
    assert {"/15/feed/", "/6/feed/"} <= set(fake.hits) and "/5/feed/" not in fake.hits  # newest first
    fake.hits.clear()
    second = await sync(source(fake), first.cursors | {"etag": "", "next_fetch_after": 0})
    assert sorted(fake.hits) == sorted(["/feed/", *(f"/{n}/feed/" for n in range(1, 6))])  # the older ones now
    fake.hits.clear()
    await sync(source(fake), second.cursors | {"etag": "", "next_fetch_after": 0})
    assert list(fake.hits) == ["/feed/"]  # every count unchanged: no comment feed read


# -- full text ------------------------------------------------------------------------------


ARTICLE = (
    "<html><head><title>A</title></head><body><nav><a href='/x'>NAVLINK</a></nav><article><h1>Item 1</h1>"
    + "".join(f"<p>Paragraph {k} of the real article with enough words to count as text here.</p>" for k in range(8))
    + "<h2>Sub heading</h2><ul><li>point one</li></ul></article><footer>FOOTERTEXT</footer></body></html>"
)


@pytest.mark.parametrize("mode, fetched", [("auto", True), ("never", False), ("always", True)])
async def test_full_text_for_summary_only_items(mode, fetched):
    article = lambda request: httpx.Response(200, text=ARTICLE, headers={"Content-Type": "text/html"})  # noqa: E731
    fake = FakeSite({"/feed/": rss(item(1, content="") + item(2)), "/1/": article, "/2/": article})
    changes = await sync(source(fake), {"full_text": mode})
    one, two = (p.id for p in changes.posts)
    assert ("/1/" in fake.hits) is fetched
    assert ("/2/" in fake.hits) is (mode == "always")  # item 2 carries its full content
    if fetched:
        assert "Sub heading" in changes.html[one] and "NAVLINK" not in changes.html[one]
        assert "FOOTERTEXT" not in changes.html[one]
        again = FakeSite(fake.pages)
        await sync(
            source(again),
            changes.cursors | {"etag": "", "next_fetch_after": 0},
            {p.id: p.modified_gmt for p in changes.posts},
        )
        assert "/1/" not in again.hits  # cached: not fetched again
    else:
        assert changes.html[one] == "Summary 1"


async def test_full_text_looks_at_the_newest_items_only(monkeypatch):
    """A feed whose items carry their articles is not read to its end for summaries on every
    sync: at most FULL_TEXT_SCAN items per page it may fetch are looked at, newest first; a
    summary among them is still fetched."""
    from cache.sources import feed as feed_module

    looked = []
    real = feed_module.fulltext.summary_only
    monkeypatch.setattr(
        feed_module.fulltext, "summary_only", lambda content, summary: looked.append(1) or real(content, summary)
    )
    article = lambda request: httpx.Response(200, text=ARTICLE, headers={"Content-Type": "text/html"})  # noqa: E731
    scan = feed_module.FULL_TEXT_SCAN * feed_module.FIRST_FULL_TEXT  # a first sync
    count = scan * 3
    items = "".join(
        item(n, date=f"Tue, 02 Jan 2024 {n // 60 % 24:02d}:{n % 60:02d}:00 +0000", content="" if n == count else None)
        for n in range(1, count + 1)
    )
    fake = FakeSite({"/feed/": rss(items), f"/{count}/": article})
    changes = await sync(source(fake), {"full_text": "auto"})
    assert len(changes.posts) == count and len(looked) == scan
    assert fake.hits.get(f"/{count}/") == 1  # the newest item was a summary: fetched


async def test_full_text_failure_keeps_the_summary():
    fake = FakeSite({"/feed/": rss(item(1, content="")), "/1/": ("<html><body>tiny</body></html>", "text/html")})
    changes = await sync(source(fake), {"full_text": "auto"})
    assert changes.html[changes.posts[0].id] == "Summary 1"


# -- hostile feeds --------------------------------------------------------------------------


def test_xxe_reads_no_file():
    secret = Path("/etc/passwd").read_text().split("\n")[0][:10]
    data = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<rss><channel><title>&x;</title><item><title>&x;</title><guid>1</guid>"
        b"<description>&x;</description></item></channel></rss>"
    )
    parsed = parse_feed(data, "x")
    assert secret not in repr(parsed.posts) + repr(parsed.html) + parsed.feed.title


@pytest.mark.parametrize("kind", ["laughs", "quadratic"])
def test_entity_expansion_does_not_blow_up(kind):
    import tracemalloc

    if kind == "laughs":
        decls = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
        use = "&l9;" * 10
    else:
        decls = f'<!ENTITY x "{"a" * 100_000}">'
        use = "&x;" * 20_000
    data = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{decls}]><rss><channel><item><title>{use}</title>'
        f"<guid>1</guid></item></channel></rss>"
    ).encode()
    tracemalloc.start()
    started = time.perf_counter()
    (post,) = parse_feed(data, "x").posts
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20 and time.perf_counter() - started < 5
    assert len(post.title) <= parse.MAX_TITLE and "lollol" not in post.title and "aaaa" not in post.title


def test_invalid_utf8_and_wrong_encoding():
    broken = rss(item(1, title="ok \u00e9t\u00e9")).replace(b"Summary 1", b"bad \xff\xfe bytes")
    (post,) = parse_feed(broken, "x").posts
    assert post.title == "ok \u00e9t\u00e9" and post.excerpt.startswith("bad")
    latin = rss(item(1, title="Caf\u00e9")).decode().encode("latin-1")
    assert parse_feed(latin, "x").posts[0].title == "Caf\u00e9"
    declared = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + rss(item(1, title="na\u00efve")).decode().split(
        "?>", 1
    )[1].encode("latin-1")
    assert parse_feed(declared, "x").posts[0].title == "na\u00efve"


@pytest.mark.parametrize("raw", [False, True])
def test_escape_sequences_in_every_field_are_removed(raw):
    esc = "\x1b]0;pwned\x07\x1b[31m\u202e\x9b2J"
    extra = (
        f"<dc:creator>Ann{esc}</dc:creator><category>Cat{esc}</category>"
        f'<enclosure url="https://x.example/a{esc}.mp3" type="audio/mpeg{esc}" length="1"/>'
        f"<wfw:commentRss>https://x.example/c{esc}</wfw:commentRss>"
    )
    data = rss(
        item(1, title=f"Title{esc}", guid=f"g{esc}", extra=extra, content=f"<p>body{esc}</p>"), channel=""
    ).replace(b"<title>News</title>", f"<title>News{esc}</title>".encode())
    if not raw:  # XML 1.0 cannot carry ESC at all: as a reference, or raw (both seen in the wild)
        data = data.replace(b"\x1b", b"&#27;")
    parsed = parse_feed(data, "x")
    (post,) = parsed.posts
    strings = [
        parsed.feed.title,
        post.title,
        post.author,
        post.guid,
        post.link,
        post.comments_feed,
        post.excerpt,
        *(e["url"] + e["type"] for e in post.enclosures),
    ]
    for text in strings:
        assert text == clean_text(text) and "\x1b" not in text and "\u202e" not in text and "\x9b" not in text
    assert post.title.startswith("Title") and post.author.startswith("Ann")
    from cache.safe import html_to_markdown

    assert "\x1b" not in html_to_markdown(parsed.html[post.id])


def test_html_in_titles_is_one_plain_line():
    data = rss(
        item(1, title="&lt;b&gt;Bold&lt;/b&gt; &amp;amp; &lt;script&gt;alert(1)&lt;/script&gt;<![CDATA[ <i>it</i>]]>")
    )
    (post,) = parse_feed(data, "x").posts
    assert post.title == "Bold & it"


def test_huge_item_count_is_capped(monkeypatch):
    monkeypatch.setattr(parse, "MAX_ITEMS", 50)
    parsed = parse_feed(rss("".join(item(n) for n in range(120))), "x")
    assert len(parsed.posts) == 50 and parsed.feed.truncated == 70
    assert parsed.posts[0].title == "Item 0"  # document order: feeds list newest first


def test_malformed_dates_become_first_seen():
    data = rss(
        item(1, date="not a date")
        + item(2, date="31 Feb 2024 25:61:00 XYZ")
        + item(3, date="Sun, 01 Jan 9999 00:00:00 GMT")
    )
    posts = parse_feed(data, "x").posts
    assert len({p.date_gmt for p in posts}) == 1 and posts[0].date_gmt.startswith(time.strftime("%Y", time.gmtime()))


@pytest.mark.parametrize("data", [b"", b"<html><body>no</body></html>", b"{", b"\x00\x01\x02", b"<rss>", b"<?xml?>"])
def test_garbage_is_bad_response_or_empty(data):
    try:
        parsed = parse_feed(data, "x")
    except BadResponse:
        return
    assert parsed.posts == []


async def test_truncated_feed_keeps_what_came():
    data = rss(item(1) + item(2))[:-60]
    assert [p.title for p in parse_feed(data, "x").posts] == ["Item 1", "Item 2"]


async def test_sync_site_saves_a_feed_and_a_304_resync_changes_nothing(tmp_path):
    from cache.store import Store
    from cache.sync import sync_site

    store = Store(tmp_path / "cache")
    site = store.add_site(Site(name="news", url=HOME + "/", kind="feed", feed_url=FEED))
    fake = FakeSite({"/feed/": rss(item(1, extra="<category>Local</category>") + item(2))})
    first = await sync_site(store, site, transport=httpx.MockTransport(fake), policy=FAST, force=True)
    assert first.ok and first.new_posts == 2, first.error
    assert [c.name for c in store.categories("news")] == ["Local"]
    post = store.find_post("news", stable_id(HOME + "/?p=1"))
    assert "Full body of item 1" in store.body("news", post.id)
    again = await sync_site(store, site, transport=httpx.MockTransport(fake), policy=FAST, force=True)
    assert again.ok and again.not_modified and again.requests == 1
    assert len(store.post_ids("news")) == 2 and store.categories("news")  # a 304 keeps the categories


# -- through sync and the store ---------------------------------------------------------------


async def _store_sync(tmp_path, fake, **kw):
    from cache.store import Store
    from cache.sync import sync_site

    store = Store(tmp_path / "cache")
    try:
        site = store.site("news")
    except Exception:
        site = store.add_site(Site(name="news", url=HOME + "/", kind="feed", feed_url=FEED))
    result = await sync_site(
        store, site, transport=httpx.MockTransport(fake), policy=FAST, options={"full_text": "never"}, **kw
    )
    return store, result


async def test_a_feeds_comment_count_and_its_scrolled_out_categories_are_kept(tmp_path):
    first = rss(item(1, extra="<category>Harbour</category><slash:comments>7</slash:comments>"))
    fake = FakeSite({"/feed/": first})
    store, result = await _store_sync(tmp_path, fake)
    assert result.ok, result.error
    [post] = store.posts("news")
    assert post.comment_count == 7
    fake.pages["/feed/"] = rss(item(2, extra="<category>Weather</category>"))
    store, result = await _store_sync(tmp_path, fake)
    assert result.ok, result.error
    assert {c.name for c in store.categories("news")} == {"Harbour", "Weather"}
    assert {p.id: p.comment_count for p in store.posts("news")}[post.id] == 7


async def test_retry_after_on_a_failed_sync_is_remembered(tmp_path):
    busy = httpx.Response(503, headers={"Retry-After": "3600"}, text="busy")
    fake = FakeSite({"/feed/": busy})
    store, result = await _store_sync(tmp_path, fake)
    assert not result.ok and "asks to wait" in result.error
    fake.pages["/feed/"] = rss(item(1))
    before = fake.total
    store, result = await _store_sync(tmp_path, fake)
    assert result.ok and result.not_modified and fake.total == before, "not fetched again before the hour"
    store, result = await _store_sync(tmp_path, fake, force=True)
    assert result.ok and len(store.posts("news")) == 1


async def test_a_feed_larger_than_a_rest_page_is_read_but_a_200_mb_one_is_refused(tmp_path, monkeypatch):
    from cache.sources import feed as feed_module

    monkeypatch.setattr(feed_module, "MAX_FEED_BODY", 3 * 2**20)
    monkeypatch.setattr("cache.http.MAX_BODY", 1 * 2**20)  # what a REST page may be
    padding = "x" * 2000
    big = rss("".join(item(n, content=f"<p>{padding}</p>") for n in range(1, 801)))  # ~1.9 MB
    assert 2**20 < len(big) < 3 * 2**20
    fake = FakeSite({"/feed/": big})
    store, result = await _store_sync(tmp_path, fake)
    assert result.ok, result.error
    assert len(store.posts("news")) == 800
    fake.pages["/feed/"] = big * 2  # past the feed limit
    store, result = await _store_sync(tmp_path, fake, force=True)
    assert not result.ok and "MB" in result.error and "\n" not in result.error


@pytest.mark.parametrize(
    ("feed", "url", "ok"),
    [
        ("https://news.example/feed/", "https://news.example/2024/story/", True),
        ("https://news.example/feed/", "https://cdn.news.example/story", True),
        ("https://news.example/feed/", "http://news.example/story", False),  # downgrade
        ("https://news.example/feed/", "https://evil.example/story", False),
        ("https://news.example/feed/", "http://169.254.169.254/latest/meta-data/", False),
        ("https://news.example/feed/", "http://127.0.0.1:8384/rest/system/shutdown", False),
        ("https://news.example/feed/", "http://192.168.1.1/cgi-bin/reboot", False),
        ("https://news.example/feed/", "file:///etc/passwd", False),
        ("http://127.0.0.61:8080/feed.xml", "http://127.0.0.61:8080/post/", True),  # a local site links itself
        ("http://127.0.0.61:8080/feed.xml", "http://127.0.0.1:22/", False),
        ("https://bbc.co.uk/news/rss.xml", "https://www.bbc.co.uk/news/1", True),
        ("https://bbc.co.uk/news/rss.xml", "https://evil.co.uk/x", False),
    ],
)
def test_follow_up_fetches_stay_on_the_feeds_site(feed, url, ok):
    from cache.sources.feed import may_follow

    assert may_follow(feed, "", url) is ok


async def test_a_feed_cannot_make_us_fetch_the_local_network():
    hostile = rss(
        item(1, content="<p>short…</p>", extra="<wfw:commentRss>http://192.168.1.1/rss</wfw:commentRss>").replace(
            f"<link>{HOME}/1/</link>", "<link>http://169.254.169.254/latest/</link>"
        )
    )
    fake = FakeSite({"/feed/": hostile})
    seen: list[str] = []

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return fake(request)

    changes = await sync(source(spy), cursors={"full_text": "always"})
    assert len(changes.posts) == 1
    assert seen == [FEED], seen


def test_escape_sequences_in_xml_feeds_leave_no_residue():
    raw = (
        b'<rss version="2.0"><channel><title>Gazette \x1b]0;pwned\x07title \x1b[31mRED\x1b[0m</title>'
        b"<item><title>A &#27;]8;;http://evil/&#27;\\click&#27;]8;;&#27;\\ and &#x1b;[2J&#x1B;[Hclear</title>"
        b"<guid>1</guid></item></channel></rss>"
    )
    feed = parse.read(raw, "https://x/")
    assert feed.title == "Gazette title RED"
    assert feed.entries[0].title == "A click and clear"


async def test_a_304_rewrites_no_cache_file(tmp_path):
    fake = FakeSite({"/feed/": rss(item(1))})
    store, result = await _store_sync(tmp_path, fake)
    assert result.ok and len(store.posts("news")) == 1
    files = sorted((tmp_path / "cache").rglob("*.json"))
    before = {f: f.stat().st_mtime_ns for f in files if f.name != "sites.json"}
    store, result = await _store_sync(tmp_path, fake, force=True)
    assert result.ok and result.not_modified
    assert {f: f.stat().st_mtime_ns for f in before} == before, "nothing but sites.json is written"


@pytest.mark.parametrize("words", [10, 100, 149, 150, 151, 400, 3000])
@pytest.mark.parametrize("markup", ["", '<a href="https://example.org/a/long/path/to/something">x</a> '])
def test_has_text_agrees_with_text_length(words, markup):
    from cache.sources.feed.fulltext import has_text, text_length

    fragment = "<p>" + "".join(f"{markup}word{k % 10} " for k in range(words)) + "</p>"
    for least in (600, 1500):
        assert has_text(fragment, least) == (text_length(fragment[:20_000]) >= least)


@pytest.mark.parametrize(
    "fragment",
    [
        "<p>" + "Harbour news from the quay, " * 40 + "</p>",
        '<p><img src="https://example.org/' + "x" * 900 + '.jpg" alt=""></p><p>' + "After the image. " * 40 + "</p>",
        "<p>Short.</p>",
        "<p>" + "Caf&eacute; &amp; cr&egrave;me\n\n  " * 60 + "</p>",
        "<div>" + "<span>a</span>" * 200 + "</div>",
    ],
)
def test_excerpt_from_a_prefix_is_the_excerpt_of_the_whole(fragment):
    from cache.safe import html_to_line
    from cache.sources.feed import EXCERPT, _excerpt

    assert _excerpt(fragment) == html_to_line(fragment[:4000])[:EXCERPT]


def test_relative_links_and_images_are_resolved_against_the_item():
    from cache.safe import html_to_markdown

    body = (
        '<p>See <a href="/about">about us</a>, <a href="../older/">an older post</a> and '
        '<a href="https://other.example/x">elsewhere</a>.</p>'
        '<p><img src="//cdn.example.com/red.png" alt="Red"><img src="img/blue.png" alt="Blue"></p>'
    )
    data = rss(
        f"<item><title>t</title><link>https://news.example.com/2026/posts/one/</link>"
        f"<guid>g1</guid><description><![CDATA[{body}]]></description></item>"
    )
    parsed = parse_feed(data, "s", "https://news.example.com/feed.xml")
    markdown = html_to_markdown(next(iter(parsed.html.values())))
    assert "[about us](https://news.example.com/about)" in markdown
    assert "[an older post](https://news.example.com/2026/posts/older/)" in markdown
    assert "[elsewhere](https://other.example/x)" in markdown
    assert "![Red](https://cdn.example.com/red.png)" in markdown
    assert "![Blue](https://news.example.com/2026/posts/one/img/blue.png)" in markdown
    absolute = '<p><a href="https://a.example/">a</a> &amp; b</p>'
    assert parse.absolute_links(absolute, "https://b.example/") is absolute  # nothing to do: not rewritten
    base = "https://b.example/p/"
    quoted = '<blockquote cite="https://q.example/">q</blockquote><a href="/about">a</a><img src="x.png" data-u="https://d/">'
    assert parse.absolute_links(quoted, base) == (
        '<blockquote cite="https://q.example/">q</blockquote><a href="https://b.example/about">a</a>'
        '<img src="https://b.example/p/x.png" data-u="https://d/">'
    )
    assert (
        parse.absolute_links("<a href='../x?a=1&amp;b=2'>x</a>", base)
        == "<a href='https://b.example/x?a=1&amp;b=2'>x</a>"
    )
    assert parse.absolute_links('<a href="javascript:go()">j</a><a href="#top">t</a>', base) == (
        '<a href="javascript:go()">j</a><a href="#top">t</a>'  # not resolved: the link policy drops the first
    )
    deep = "<div>" * 400 + '<a href="x.html">x</a> para 399' + "</div>" * 400
    assert parse.absolute_links(deep, base) == deep.replace("x.html", "https://b.example/p/x.html")
