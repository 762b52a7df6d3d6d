"""Feeds from real producers: a Hugo site served by nginx (ETag, Last-Modified, 304s) and the
e2e WordPress's own feeds, through the shell as a user would drive it."""

from __future__ import annotations

import json

import pytest

from tui.cli import main


def cli(capsys, cache, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--cache-dir", str(cache), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def posts(capsys, cache) -> list[dict]:
    code, out, err = cli(capsys, cache, "posts", "--json")
    assert code == 0, err
    return json.loads(out)


def test_a_hugo_site_from_its_home_page(feedsite, capsys, tmp_path):
    cache = tmp_path / "cache"
    code, out, err = cli(capsys, cache, "add", feedsite.url, "--name", "hugo", "--folder", "Blogs")
    assert code == 0, err
    assert "(feed)" in out
    code, out, err = cli(capsys, cache, "sync", "hugo")
    assert code == 0, err
    got = posts(capsys, cache)
    assert len(got) == len(feedsite.posts)
    for post in got:  # the site's titles carry escape sequences and bidi overrides: none survive
        assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F or 0x202A <= ord(ch) <= 0x202E for ch in post["title"])
    # every category of the site is in the tree
    code, out, err = cli(capsys, cache, "categories", "--json")
    names = {row["name"] for row in json.loads(out)}
    assert {c for p in feedsite.posts for c in p.categories} <= names
    # summary-only items were completed from the article page (full text, auto)
    # (a first sync fetches the article pages of the newest few summary-only items)
    short = max((p for p in feedsite.posts if p.summary_only), key=lambda p: p.date)
    match = next(p for p in got if p["link"].rstrip("/").endswith(short.slug))
    code, out, err = cli(capsys, cache, "read", str(match["id"]), "--json")
    body = json.loads(out)["body"]
    import re

    summary_words = set(re.findall(r"\w+", short.summary or ""))
    later = [w for w in re.findall(r"\w{6,}", re.sub(r"<[^>]+>", " ", short.body)) if w not in summary_words]
    assert later and all(w in body for w in later[-3:]), "the text after <!--more--> came from the article page"
    # nothing on screen carries a control character
    assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in out)


def test_conditional_get_and_incremental_updates_against_nginx(feedsite, capsys, tmp_path):
    cache = tmp_path / "cache"
    assert cli(capsys, cache, "add", feedsite.feed_url, "--name", "hugo")[0] == 0
    assert cli(capsys, cache, "sync", "hugo")[0] == 0
    before = len(posts(capsys, cache))
    mark = len(feedsite.server.requests())
    code, out, err = cli(capsys, cache, "sync", "--force", "hugo")
    assert code == 0 and "nothing new" in out, out + err
    feed_hits = [r for r in feedsite.server.requests(mark) if r.path.endswith("index.xml")]
    assert feed_hits and all(r.status == 304 and r.if_none_match for r in feed_hits), feed_hits

    first = feedsite.posts[0]
    feedsite.edit_post(first.slug, title="Edited in place")
    feedsite.add_post("A brand new post", "<p>Fresh.</p>", categories=["Harbour"])
    feedsite.rebuild()
    code, out, err = cli(capsys, cache, "sync", "--force", "hugo")
    assert code == 0, err
    after = posts(capsys, cache)
    assert len(after) == before + 1, "the edit updated its post; only the new one was added"
    assert "Edited in place" in {p["title"] for p in after}


def test_the_same_feed_is_never_subscribed_twice(feedsite, capsys, tmp_path):
    cache = tmp_path / "cache"
    assert cli(capsys, cache, "add", feedsite.url)[0] == 0
    code, _, err = cli(capsys, cache, "add", feedsite.feed_url, "--name", "again")
    assert code == 1 and "already subscribed" in err


def test_wordpress_by_its_feed_url_is_still_wordpress(wordpress, capsys, tmp_path):
    cache = tmp_path / "cache"
    code, out, err = cli(capsys, cache, "add", wordpress.url + "/feed/", "--name", "wp")
    assert code == 0 and "(WordPress)" in out, out + err


@pytest.mark.parametrize("path", ["/feed/", "/feed/atom/", "/feed/rdf/"])
def test_wordpress_feeds_read_as_feeds(wordpress, capsys, tmp_path, path):
    post = wordpress.create_post(f"Feed check {path}", "<p>Through the feed.</p>")
    wordpress.create_comment(post, "A comment through the comment feed")
    cache = tmp_path / "cache"
    code, out, err = cli(capsys, cache, "add", wordpress.url + path, "--kind", "feed", "--name", "wpfeed")
    assert code == 0 and "(feed)" in out, out + err
    code, out, err = cli(capsys, cache, "sync", "wpfeed")
    assert code == 0, err
    mine = [p for p in posts(capsys, cache) if p["title"] == f"Feed check {path}"]
    assert len(mine) == 1
    if path == "/feed/":  # RSS2 carries wfw:commentRss: the post's comment feed was read
        code, out, err = cli(capsys, cache, "comments", str(mine[0]["id"]), "--json")
        assert "A comment through the comment feed" in out
    code, _, err = cli(capsys, cache, "reply", str(mine[0]["id"]), "-m", "hello", "--author", "A", "--email", "a@b.c")
    assert code == 1 and "takes no replies" in err
    code, out, _ = cli(capsys, cache, "outbox", "--json")
    assert json.loads(out) == [], "nothing is queued for a site that takes no replies"
