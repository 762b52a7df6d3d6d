"""Property-based tests of the feed parser: arbitrary bytes raise nothing but BadResponse,
and whatever a feed's fields hold, every string that leaves the parser is clean."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache.errors import BadResponse
from cache.safe import clean_line, clean_text
from cache.sources.feed import parse, parse_feed

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HOSTILE = st.lists(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8)
    | st.sampled_from(
        ["\x1b", "\x1b[31m", "\x1b]0;x\x07", "\x9b", "\u202e", "\r", "\n", "&", "<", "]]>", "&nbsp;", "&#27;", "\x00"]
    ),
    max_size=8,
).map("".join)


def assert_clean_post(post) -> None:
    for text in (
        post.title,
        post.author,
        post.guid,
        post.link,
        post.comments_feed,
        post.excerpt,
        post.slug,
        *(e["url"] + e["type"] for e in post.enclosures),
    ):
        assert text == clean_line(text), repr(text)
        assert "\x1b" not in text and "\u202e" not in text and "\n" not in text
    assert post.date_gmt == "" or len(post.date_gmt) == 19


@SETTINGS
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_raise_only_bad_response(data):
    try:
        parsed = parse_feed(data, "x", "https://x.example/feed")
    except BadResponse:
        return
    for post in parsed.posts:
        assert_clean_post(post)


@SETTINGS
@given(
    st.binary(max_size=2000),
    st.sampled_from(
        [
            b"<rss><channel><item><title>",
            b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><title>",
            b'{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"',
        ]
    ),
)
def test_feed_like_prefixes_with_garbage(data, prefix):
    try:
        parsed = parse_feed(prefix + data, "x")
    except BadResponse:
        return
    for post in parsed.posts:
        assert_clean_post(post)


@SETTINGS
@given(HOSTILE, HOSTILE, HOSTILE, HOSTILE, HOSTILE)
def test_rss_fields_come_out_clean(title, author, category, link, date):
    def xml(text: str) -> str:
        return escape(text)

    data = (
        f'<rss xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>{xml(title)}</title><item>'
        f"<title>{xml(title)}</title><link>https://x.example/{xml(link)}</link><guid>{xml(link)}</guid>"
        f"<dc:creator>{xml(author)}</dc:creator><category>{xml(category)}</category>"
        f"<pubDate>{xml(date)}</pubDate><description>{xml(title)}</description></item></channel></rss>"
    ).encode("utf-8", "surrogatepass")
    parsed = parse_feed(data, "x")
    assert parsed.feed.title == clean_line(parsed.feed.title)
    for post in parsed.posts:
        assert_clean_post(post)


@SETTINGS
@given(HOSTILE, HOSTILE, st.lists(HOSTILE, max_size=5))
def test_json_feed_fields_come_out_clean(title, author, tags):
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "items": [
            {
                "id": title,
                "title": title,
                "authors": [{"name": author}],
                "tags": tags,
                "content_text": title,
                "url": "https://x.example/" + author,
            }
        ],
    }
    parsed = parse_feed(json.dumps(doc).encode(), "x")
    assert parsed.feed.title == clean_line(parsed.feed.title)
    (post,) = parsed.posts
    assert_clean_post(post)
    assert clean_text(parsed.html[post.id]) == parsed.html[post.id] or "\x1b" not in clean_text(parsed.html[post.id])


@SETTINGS
@given(st.text(max_size=60))
def test_dates_never_raise(text):
    found = parse.parse_date(text)
    assert found is None or found.tzinfo is not None
