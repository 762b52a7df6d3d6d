"""Subscribing through the service: discovery by kind, duplicates, folders, OPML in and out,
per-site refresh intervals."""

from __future__ import annotations

import time

import httpx
import pytest

from cache.config import Config, SiteConfig
from cache.demo import FakeWordPress
from cache.errors import BroadsheetError, NotASite
from cache.models import Site
from cache.opml import parse_subscriptions, to_opml
from cache.service import Service, normalise_url, site_key
from tests.factories import BASE, wp_site


@pytest.fixture
def wordpress() -> FakeWordPress:
    return FakeWordPress(wp_site(posts=3))


def service(tmp_path, handler, **kw) -> Service:
    return Service(tmp_path / "cache", transport=httpx.MockTransport(handler), **kw)


async def test_a_wordpress_site_is_found_from_its_feed_url_and_kept_as_wordpress(tmp_path, wordpress):
    svc = service(tmp_path, wordpress)
    added = await svc.subscribe(BASE + "/feed/", folder="Local news")
    assert added.site.kind == "wordpress"
    assert added.site.api_root == BASE + "/wp-json/"
    assert added.site.folder == "Local news"
    assert added.site.name == "news.example.test"


@pytest.mark.parametrize(
    "again",
    [
        BASE + "/",
        BASE + "/feed/",
        BASE + "/2026/01/post-1/",
        BASE + "/?rest_route=/",
        "https://www.news.example.test/wp-json/",
    ],
)
async def test_the_same_site_is_never_subscribed_twice(tmp_path, wordpress, again):
    svc = service(tmp_path, wordpress)
    await svc.subscribe(BASE + "/")
    with pytest.raises(BroadsheetError, match=r"already subscribed as 'news.example.test'"):
        await svc.subscribe(again, name="other")
    assert [s.name for s in svc.store.sites()] == ["news.example.test"]


@pytest.mark.parametrize("url", ["http://ada:secret@news.example.test/", "https://u@news.example.test/"])
def test_credentials_in_a_url_are_refused_and_never_echoed(url):
    with pytest.raises(NotASite) as caught:
        normalise_url(url)
    assert "secret" not in str(caught.value) and "ada" not in str(caught.value)


def test_an_impossible_port_is_a_clear_error():
    with pytest.raises(NotASite, match="invalid port"):
        normalise_url("http://127.0.0.1:99999/")


def test_site_keys_identify_a_site_however_it_is_written():
    assert site_key("https://www.Example.com/blog/feed/") == site_key("https://example.com/blog/")
    assert site_key("http://example.com:8080/") != site_key("http://example.com/")


OPML = """<?xml version="1.0"?>
<opml version="1.0"><head><title>mine</title></head><body>
  <outline text="Tech"><outline text="Inner">
     <outline type="rss" text="Deep" xmlUrl="https://deep.example/feed.xml"/></outline>
     <outline type="rss" text="LWN" xmlUrl="https://lwn.example/headlines/rss" htmlUrl="https://lwn.example/"/>
  </outline>
  <outline type="rss" text="Loose &amp; free" xmlUrl="https://loose.example/atom.xml"/>
  <outline type="rss" text="Evil" xmlUrl="file:///etc/passwd"/>
</body></opml>"""


def test_opml_folders_come_from_nested_outlines():
    subs = parse_subscriptions(OPML)
    assert [(s.url, s.folder, s.title) for s in subs] == [
        ("https://deep.example/feed.xml", "Tech / Inner", "Deep"),
        ("https://lwn.example/headlines/rss", "Tech", "LWN"),
        ("https://loose.example/atom.xml", "", "Loose & free"),
    ]


def test_newsboat_urls_tags_become_folders():
    text = (
        '# mine\nhttps://a.example/rss "~A title" tech\nhttps://b.example/feed !hidden news\nquery:x:unread = "yes"\n\n'
    )
    subs = parse_subscriptions(text)
    assert [(s.url, s.title, s.folder) for s in subs] == [
        ("https://a.example/rss", "A title", "tech"),
        ("https://b.example/feed", "", "news"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body>&a;</body></opml>',
        '<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><opml><body/></opml>',
        "<opml><body><outline",
        "not a url at all\n",
    ],
)
def test_hostile_or_broken_subscription_files_are_one_line_errors(text):
    with pytest.raises(BroadsheetError) as caught:
        parse_subscriptions(text)
    assert "\n" not in str(caught.value)


def test_import_adds_without_fetching_and_skips_what_is_subscribed(tmp_path):
    def offline(request: httpx.Request) -> httpx.Response:
        raise AssertionError("import must not fetch")

    svc = service(tmp_path, offline)
    first = svc.import_subscriptions(OPML)
    assert [s.name for s in first.added] == ["deep.example", "lwn.example", "loose.example"]
    assert {s.kind for s in first.added} == {"feed"}
    again = svc.import_subscriptions(OPML)
    assert again.added == [] and len(again.skipped) == 3


def test_export_then_import_round_trips_folders_and_kinds(tmp_path):
    svc = Service(tmp_path / "a")
    svc.store.add_sites(
        [
            Site(
                name="wp",
                url="https://wp.example/",
                api_root="https://wp.example/wp-json/",
                kind="wordpress",
                feed_url="https://wp.example/feed/",
                folder="News",
                home="https://wp.example/",
                title='WP <&> "x"',
            ),
            Site(
                name="blog",
                url="https://blog.example/index.xml",
                kind="feed",
                feed_url="https://blog.example/index.xml",
                title="Blog",
            ),
        ]
    )
    svc.add_demo()
    text = svc.export_opml()
    assert "demo" not in text
    other = Service(tmp_path / "b")
    other.import_subscriptions(text)
    got = {(s.kind, s.folder, s.title, s.feed_url, s.api_root) for s in other.store.sites()}
    assert got == {
        ("wordpress", "News", 'WP <&> "x"', "https://wp.example/feed/", "https://wp.example/wp-json/"),
        ("feed", "", "Blog", "https://blog.example/index.xml", ""),
    }
    assert to_opml(other.store.sites()).count("<outline") == 3


def test_move_files_a_site_under_a_folder(tmp_path, wordpress):
    svc = service(tmp_path, wordpress)
    svc.store.add_site(Site(name="a", url=BASE))
    assert svc.move("a", "  World\x1b[31m ").folder == "World"
    assert svc.store.site("a").folder == "World"


def test_only_due_sites_are_synced_without_names(tmp_path):
    config = Config(sites={"fast": SiteConfig(refresh_minutes=5)})
    svc = Service(tmp_path / "c", config=config)
    now = time.time()
    ten_minutes_ago = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - 600))
    fast = Site(name="fast", url=BASE, last_sync=ten_minutes_ago)
    slow = Site(name="slow", url=BASE, last_sync=ten_minutes_ago)
    never = Site(name="never", url=BASE)
    svc.store.add_sites([fast, slow, never])
    for name in ("fast", "slow"):
        svc.store.save_sync(name, posts=[], cursors={"posts_modified": "2026-01-01T00:00:00"})
    assert svc.due(fast, now) and not svc.due(slow, now) and svc.due(never, now)
    (svc.store.directory / "sites" / "slow" / "index.json").write_text("{ corrupt")
    svc.store.close()
    assert not svc.due(slow, now), "a damaged index is put back from its kept version"
    for name in ("index.json", "index.json.prev"):
        (svc.store.directory / "sites" / "slow" / name).write_text("{ corrupt")
    svc.store.close()
    assert svc.due(slow, now), "a lost index is rebuilt by the next plain sync"


async def test_the_demo_is_not_synced_once_a_real_site_is_subscribed(tmp_path, wordpress):
    svc = service(tmp_path, wordpress)
    svc.add_demo()
    assert [r.site for r in await svc.sync()] == ["demo"]
    await svc.subscribe(BASE + "/")
    assert [r.site for r in await svc.sync(force=True)] == ["news.example.test"]
    assert [r.site for r in await svc.sync(["demo"])] == ["demo"]


def test_an_imported_api_root_on_another_host_is_dropped(tmp_path):
    text = (
        '<?xml version="1.0"?><opml version="2.0"><body>'
        '<outline type="rss" text="x" xmlUrl="https://a.example/feed/" htmlUrl="https://a.example/\u202e\x9b2J"'
        ' broadsheetKind="wordpress" broadsheetApi="https://attacker.example/wp-json/"/></body></opml>'
    )
    svc = Service(tmp_path / "c")
    [site] = svc.import_subscriptions(text).added
    assert site.kind == "feed" and site.api_root == "" and "attacker" not in site.to_row().__repr__()
    assert "\u202e" not in site.home and "\x9b" not in site.home


async def test_a_site_may_have_several_feeds_but_each_is_subscribed_once(tmp_path):
    feed = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>%s</title><link>https://blog.example/</link>'
        b"<item><title>x</title><guid>%s</guid></item></channel></rss>"
    )
    pages = {"/news.xml": feed % (b"News", b"n1"), "/sport.xml": feed % (b"Sport", b"s1")}

    def handler(request: httpx.Request) -> httpx.Response:
        body = pages.get(request.url.path)
        if body is None:
            return httpx.Response(404, text="no")
        return httpx.Response(200, content=body, headers={"Content-Type": "application/rss+xml"})

    svc = service(tmp_path, handler)
    first = await svc.subscribe("https://blog.example/news.xml")
    second = await svc.subscribe("https://blog.example/sport.xml")
    assert (first.site.kind, second.site.kind) == ("feed", "feed") and first.site.name != second.site.name
    with pytest.raises(BroadsheetError, match="already subscribed"):
        await svc.subscribe("https://blog.example/news.xml", name="again")


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("", "give the site's address"),
        ("htp:/bad", "write it as https://"),
        ("a b.example", "has spaces"),
    ],
)
def test_what_is_not_a_url_is_said_plainly(typed, said):
    with pytest.raises(NotASite, match=said):
        normalise_url(typed)


async def test_a_404_is_named_when_nothing_is_found(tmp_path):
    svc = service(
        tmp_path, lambda request: httpx.Response(404, text="<html>gone</html>", headers={"Content-Type": "text/html"})
    )
    with pytest.raises(NotASite, match="it answered 404"):
        await svc.subscribe("https://gone.example/page")


def test_a_site_whose_syncs_fail_waits_its_interval_too(tmp_path):
    """A dead feed was asked again at every start of the reader (a toast each time)."""
    config = Config(sites={"dead": SiteConfig(refresh_minutes=30)})
    svc = Service(tmp_path / "c", config=config)
    now = time.time()
    minutes_ago = lambda m: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - 60 * m))  # noqa: E731
    dead = Site(name="dead", url=BASE, last_attempt=minutes_ago(5), last_error="connection refused")
    svc.store.add_sites([dead])
    assert not svc.due(dead, now)
    dead.last_attempt = minutes_ago(31)
    assert svc.due(dead, now)
    assert svc.due(Site(name="new", url=BASE), now)  # never tried


async def test_every_sync_records_its_attempt(tmp_path):
    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    svc = service(tmp_path, refuse)
    svc.store.add_sites([Site(name="dead", url=BASE, api_root=BASE + "/wp-json/")])
    [result] = await svc.sync(["dead"])
    site = svc.store.site("dead")
    assert not result.ok and site.last_sync is None and site.last_attempt and site.last_error
    assert not svc.due(site)


def test_feeds_of_one_host_are_named_after_their_titles(tmp_path):
    svc = Service(tmp_path / "c")
    text = """<opml version="2.0"><body>
    <outline type="rss" text="BBC News – UK" xmlUrl="https://feeds.example.com/news/uk/rss.xml"/>
    <outline type="rss" text="BBC News – World" xmlUrl="https://feeds.example.com/news/world/rss.xml"/>
    <outline type="rss" text="Économie &amp; Société" xmlUrl="https://feeds.example.com/eco/rss.xml"/>
    <outline type="rss" text="" xmlUrl="https://feeds.example.com/untitled/rss.xml"/>
    <outline type="rss" text="BBC News – World" xmlUrl="https://feeds.example.com/news/world2/rss.xml"/>
    </body></opml>"""
    names = [site.name for site in svc.import_subscriptions(text).added]
    assert names == [
        "bbc-news-uk",  # one host, several feeds: each by its title
        "bbc-news-world",
        "economie-societe",
        "feeds.example.com",
        "feeds.example.com-2",  # its title's name is taken
    ]
    lone = svc.import_subscriptions('<opml><body><outline xmlUrl="https://lwn.example/rss" text="LWN"/></body></opml>')
    assert [site.name for site in lone.added] == ["lwn.example"]  # alone on its host: the host
