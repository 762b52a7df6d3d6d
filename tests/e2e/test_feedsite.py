"""Tests of the feed producers themselves: Hugo's feeds are served by nginx, parse, carry the
posts, answer conditional GET, change (and only change) when the site does, and nothing is
left running afterwards."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import require_feed_producers
from .feedgen import (
    FOLDERS,
    rss_feed,
    unreachable_feeds,
    write_big_feed,
    write_feed_set,
    write_newsboat_urls,
    write_opml,
)
from .feedsite import FeedSite, StaticServer
from .wpserver import _group_members

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
_C0 = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, follow_redirects=False, timeout=30) as client:
        yield client


def _rss_items(body: bytes) -> list[ET.Element]:
    return ET.fromstring(body).findall("./channel/item")


def _nginx_pids_naming(path: Path | str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if b"nginx" in cmd and str(path).encode() in cmd:
                found.append(int(entry.name))
    return found


def test_rss_carries_every_post_with_categories_dates_and_summaries(feedsite: FeedSite, http: httpx.Client) -> None:
    r = http.get(feedsite.feed_url)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/xml")
    items = _rss_items(r.content)
    by_guid = {item.findtext("guid"): item for item in items}
    assert len(items) == len(feedsite.posts) == 12
    for post in feedsite.posts:
        item = by_guid[f"{feedsite.url}posts/{post.slug}/"]
        assert item.findtext("title") == _C0.sub("", post.title)
        assert item.findtext(f"{DC}creator") == post.author
        cats = [c.text for c in item.findall("category") if c.get("domain") is None]
        tags = [c.text for c in item.findall("category") if c.get("domain") == "tag"]
        assert (cats, tags) == (list(post.categories), list(post.tags))
        assert item.findtext("pubDate") == post.date.strftime("%a, %d %b %Y %H:%M:%S %z")
        description = item.findtext("description")
        if post.summary_only:
            assert description == post.summary
        else:
            assert "<p>" in description and "Summary of post" not in description
    assert len({item.findtext("pubDate")[-5:] for item in items}) > 3  # several time zones
    assert sum(p.summary_only for p in feedsite.posts) == 4
    enclosures = [item.find("enclosure") for item in items if item.find("enclosure") is not None]
    assert len(enclosures) == 1
    assert http.get(enclosures[0].get("url")).status_code == 200


def test_atom_and_json_feed_have_the_same_ids_and_json_keeps_control_characters(
    feedsite: FeedSite, http: httpx.Client
) -> None:
    rss_ids = {item.findtext("guid") for item in _rss_items(http.get(feedsite.feed_url).content)}
    atom = ET.fromstring(http.get(feedsite.atom_url).content)
    entries = atom.findall(f"{ATOM}entry")
    assert {e.findtext(f"{ATOM}id") for e in entries} == rss_ids
    assert sum(e.find(f"{ATOM}summary") is not None for e in entries) == 4
    assert all(re.search(r"[+-]\d\d:\d\d$", e.findtext(f"{ATOM}published")) for e in entries)

    j = http.get(feedsite.json_url)
    assert j.status_code == 200
    feed = j.json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert {i["id"] for i in feed["items"]} == rss_ids
    titles = {i["title"] for i in feed["items"]}
    assert {p.title for p in feedsite.posts} == titles
    assert any("\x1b[2J" in t for t in titles) and any("\u009b31m" in t for t in titles)
    assert sum("summary" in i for i in feed["items"]) == 4


def test_home_page_advertises_the_feeds_and_articles_have_chrome(feedsite: FeedSite, http: httpx.Client) -> None:
    home = http.get(feedsite.url).text
    for kind, url in (("rss", feedsite.feed_url), ("atom", feedsite.atom_url), ("feed", feedsite.json_url)):
        assert re.search(rf'<link rel="alternate" type="application/{kind}\+[a-z]+" [^>]*href="{re.escape(url)}"', home)
    page = http.get(f"{feedsite.url}posts/{feedsite.posts[0].slug}/").text
    assert "<article" in page and "<nav>" in page and "<aside" in page and "<footer" in page


def test_conditional_get_answers_304(feedsite: FeedSite, http: httpx.Client) -> None:
    first = http.get(feedsite.feed_url)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('"')  # strong: gzip is off
    by_etag = http.get(feedsite.feed_url, headers={"If-None-Match": etag})
    assert (by_etag.status_code, by_etag.content) == (304, b"")
    by_date = http.get(feedsite.feed_url, headers={"If-Modified-Since": last_modified})
    assert by_date.status_code == 304
    stale = http.get(feedsite.feed_url, headers={"If-None-Match": '"0-0"'})
    assert stale.status_code == 200 and stale.content == first.content
    log = feedsite.server.requests()
    assert [(r.status, r.if_none_match) for r in log[-3:]] == [(304, etag), (304, ""), (200, '"0-0"')]
    assert log[-2].if_modified_since == last_modified


def test_rebuild_changes_etag_only_when_the_feed_changes(feedsite: FeedSite, http: httpx.Client) -> None:
    before = http.get(feedsite.feed_url)
    etag = before.headers["etag"]
    assert feedsite.rebuild() == []
    assert http.get(feedsite.feed_url, headers={"If-None-Match": etag}).status_code == 304

    post = feedsite.add_post("Nouvelle ère — ça commence", "<p>Fresh.</p>", categories=["News"])
    changed = feedsite.rebuild()
    assert {"index.xml", "atom.xml", "feed.json", f"posts/{post.slug}/index.html"} <= set(changed)
    after = http.get(feedsite.feed_url, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    items = _rss_items(after.content)
    assert len(items) == 13
    assert items[0].findtext("title") == "Nouvelle ère — ça commence"
    assert http.get(feedsite.feed_url, headers={"If-None-Match": after.headers["etag"]}).status_code == 304


def test_edit_keeps_the_guid_and_remove_drops_the_item(feedsite: FeedSite, http: httpx.Client) -> None:
    slug = feedsite.posts[4].slug
    guid = f"{feedsite.url}posts/{slug}/"
    old_atom = ET.fromstring(http.get(feedsite.atom_url).content)
    old_updated = next(
        e.findtext(f"{ATOM}updated") for e in old_atom.findall(f"{ATOM}entry") if e.findtext(f"{ATOM}id") == guid
    )

    feedsite.edit_post(slug, title="Edited in place", body="<p>Corrected text.</p>")
    feedsite.rebuild()
    items = _rss_items(http.get(feedsite.feed_url).content)
    assert [i.findtext("guid") for i in items].count(guid) == 1
    edited = next(i for i in items if i.findtext("guid") == guid)
    assert edited.findtext("title") == "Edited in place"
    assert "Corrected text." in edited.findtext("description")
    entry = next(
        e
        for e in ET.fromstring(http.get(feedsite.atom_url).content).findall(f"{ATOM}entry")
        if e.findtext(f"{ATOM}id") == guid
    )
    assert entry.findtext(f"{ATOM}updated") > old_updated

    feedsite.remove_post(slug)
    feedsite.rebuild()
    assert guid not in {i.findtext("guid") for i in _rss_items(http.get(feedsite.feed_url).content)}
    assert http.get(guid).status_code == 404


def test_raw_controls_make_the_xml_feeds_ill_formed(http: httpx.Client) -> None:
    require_feed_producers()
    with FeedSite(posts=4, raw_controls=True) as site:
        rss = http.get(site.feed_url).content
        assert b"\x1b[2J" in rss
        with pytest.raises(ET.ParseError):
            ET.fromstring(rss)
        assert any("\x1b]8;;" in i["title"] for i in http.get(site.json_url).json()["items"])


def test_gzip_option(http: httpx.Client) -> None:
    require_feed_producers()
    with FeedSite(posts=3, gzip=True) as site:
        r = http.get(site.feed_url, headers={"Accept-Encoding": "gzip"})
        assert r.headers.get("content-encoding") == "gzip"
        assert r.headers["etag"].startswith('W/"')
        assert len(_rss_items(r.content)) == 3


def test_stop_leaves_nothing_running(http: httpx.Client) -> None:
    require_feed_producers()
    site = FeedSite(posts=2).start()
    tmp, conf = site.tmp, site.server.tmp
    pgids, host, port = list(site.server.pgids), site.server.host, site.server.port
    assert _nginx_pids_naming(conf)
    site.stop()
    assert not site.running
    assert not any(_group_members(g, zombies=True) for g in pgids)
    assert not _nginx_pids_naming(conf)
    assert not tmp.exists() and not conf.exists()
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=1).close()
    assert not [
        line
        for line in subprocess.run(["pgrep", "-a", "hugo"], capture_output=True, text=True).stdout.splitlines()
        if str(tmp) in line
    ]


def test_watchdog_kills_nginx_when_python_dies(tmp_path: Path) -> None:
    require_feed_producers(hugo=False)
    (tmp_path / "www").mkdir()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {str(REPO)!r})
            from tests.e2e.feedsite import StaticServer
            s = StaticServer({str(tmp_path / "www")!r}).start()
            print(s.tmp, *s.pgids, flush=True)
            time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        tmp, *pgids = child.stdout.readline().split()
        assert _nginx_pids_naming(tmp)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    deadline = time.monotonic() + 10
    while _nginx_pids_naming(tmp) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _nginx_pids_naming(tmp)
    assert not any(_group_members(int(g)) for g in pgids)
    # the next start sweeps the dead harness's temp dir
    require_feed_producers(hugo=False)
    with StaticServer(tmp_path / "www"):
        assert not Path(tmp).exists()


def test_static_server_and_generated_feeds(
    tmp_path: Path, static_server: Callable[..., StaticServer], http: httpx.Client
) -> None:
    www = tmp_path / "www"
    www.mkdir()
    server = static_server(www)
    big = write_big_feed(www, server.url, items=300)
    feeds = write_feed_set(www, server.url, feeds=7, items=5)
    assert big.url == server.url_for(big.path) and big.size == big.path.stat().st_size
    items = _rss_items(http.get(big.url).content)
    assert len(items) == 300 and len({i.findtext("guid") for i in items}) == 300
    assert all(len(_rss_items(http.get(f.url).content)) == 5 for f in feeds)
    assert rss_feed(3, title="t", base_url="http://x/", slug="a") == rss_feed(
        3, title="t", base_url="http://x/", slug="a"
    )
    assert server.requests()[-1].path == "/feeds/feed-006.xml"

    write_opml(tmp_path / "f.opml", feeds)
    body = ET.parse(tmp_path / "f.opml").getroot().find("body")
    tech = next(o for o in body if o.get("text") == "Tech")
    assert [o.get("text") for o in tech if o.get("xmlUrl") is None] == ["Linux"]
    assert len(body.findall(".//outline[@xmlUrl]")) == 7
    assert {o.get("text") for o in body if o.get("xmlUrl") is None} == {f for f in FOLDERS if f and "/" not in f}

    write_newsboat_urls(tmp_path / "urls", feeds)
    lines = (tmp_path / "urls").read_text().splitlines()
    assert lines[3] == f'{feeds[3].url} "Tech/Linux" "~{feeds[3].title}"'
    assert len(unreachable_feeds(1000)) == 1000


def test_json_feed_is_valid_json_after_many_rebuilds(feedsite: FeedSite, http: httpx.Client) -> None:
    for n in range(3):
        feedsite.add_post(f"Post {n} “quoted” \\ backslash", summary=f"<p>Short {n}</p>", tags=["x"])
        feedsite.rebuild()
    feed = json.loads(http.get(feedsite.json_url).content)
    assert len(feed["items"]) == 15
    assert feed["items"][0]["summary"].strip() == "Short 2"
