"""The data spine against a real WordPress: discovery, paging, threading, safety, increments.

One private site per module (``fresh_wordpress``), seeded here with what the issue names:
a category tree three levels deep, more than 150 posts (paging), a thread five deep, a
held comment, a password-protected post, hostile markup and escape sequences.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from cache.store import Store, thread

HOSTILE_TITLE = "Breaking \x1b]0;pwned\x07news \x1b[31m[bold]red[/bold]"
HOSTILE_BODY = (
    "<p>Visible text.</p><script>document.write('stolen')</script>"
    "<style>body{display:none}</style><iframe src='https://evil.example/'>iframe text</iframe>"
    "<p>Escape \x1b[2Jclear and \x1b]8;;https://evil.example\x1b\\link</p>"
)


@pytest.fixture(scope="module")
def site():
    from tests.e2e.conftest import require_wordpress
    from tests.e2e.wpserver import WordPress

    require_wordpress()
    wp = WordPress(host="127.0.0.44").start()
    try:
        top = wp.create_category("World")
        middle = wp.create_category("Europe", parent=top)
        leaf = wp.create_category("Baltic", parent=middle)
        seeded = wp.seed_bulk(posts=160, comments=40, categories=["Sport", "Culture"], reply_ratio=0.3)
        deep = wp.create_post("A thread five deep", "<p>Discuss.</p>", categories=[leaf], date="2026-11-20 10:00:00")
        parent, chain = 0, []
        for depth in range(5):
            parent = wp.create_comment(
                deep, f"Level {depth + 1}", parent=parent, author=f"Person {depth}", date=f"2026-11-20 1{depth}:30:00"
            )
            chain.append(parent)
        held = wp.create_comment(deep, "Held for moderation", approved=False, date="2026-11-20 16:00:00")
        secret = wp.create_post(
            "Members only", "<p>The secret.</p>", categories=[top], password="hunter2", date="2026-11-21 09:00:00"
        )
        hostile = wp.create_post(HOSTILE_TITLE, HOSTILE_BODY, categories=[middle], date="2026-11-22 09:00:00")
        wp.create_comment(
            hostile,
            "Nice \x1b]0;title\x07 <script>alert(1)</script>post",
            author="Eve\x1b[5m",
            date="2026-11-22 10:00:00",
        )
        yield {
            "wp": wp,
            "cats": (top, middle, leaf),
            "deep": deep,
            "chain": chain,
            "held": held,
            "secret": secret,
            "hostile": hostile,
            "seeded": seeded,
        }
    finally:
        wp.stop()


def published(wp) -> int:
    """Published posts, counted in the database itself."""
    rows = wp.query("SELECT COUNT(*) AS n FROM wp_posts WHERE post_type = 'post' AND post_status = 'publish'")
    return int(rows[0]["n"])


def cli(cache_dir, *argv, check=True):
    env = {**os.environ, "BROADSHEET_CACHE_DIR": str(cache_dir)}
    done = subprocess.run([sys.executable, "-m", "tui", *argv], capture_output=True, text=True, env=env, timeout=300)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_add_sync_and_read_from_the_shell(site, tmp_path):
    wp = site["wp"]
    cache = tmp_path / "cache"
    added = cli(cache, "add", wp.url + "2026/", "--name", "local")
    assert "added local" in added.stdout

    synced = cli(cache, "sync")
    total_posts = published(wp)
    assert total_posts > 160
    assert synced.stdout.startswith(f"local: {total_posts} new, 0 updated posts")

    store = Store(cache)
    assert len(store.post_ids("local")) == total_posts

    # the category tree, three levels deep
    tree = json.loads(cli(cache, "categories", "--json").stdout)
    baltic = next(row for row in tree if row["name"] == "Baltic")
    assert baltic["path"] == ["World", "Europe", "Baltic"] and baltic["depth"] == 2

    # posts, filtered by a category and its children
    europe = json.loads(cli(cache, "posts", "--category", "Europe", "--json").stdout)
    assert {p["id"] for p in europe} == {site["deep"], site["hostile"]}

    # the thread five deep, and the held comment is not there
    comments = json.loads(cli(cache, "comments", str(site["deep"]), "--json").stdout)
    assert [c["id"] for c in comments] == site["chain"]
    assert [c["depth"] for c in comments] == [0, 1, 2, 3, 4]
    assert site["held"] not in [c["id"] for c in comments]

    # the protected post
    secret = cli(cache, "read", str(site["secret"])).stdout
    assert "password protected" in secret and "The secret" not in secret

    # hostile markup and escape sequences
    hostile = cli(cache, "read", str(site["hostile"]), "--json").stdout
    assert "\\u001b" not in hostile and "\x1b" not in hostile
    data = json.loads(hostile)
    assert data["title"] == "Breaking news [bold]red[/bold]"
    for bad in ("stolen", "display:none", "iframe text"):
        assert bad not in data["body"]
    assert "Visible text." in data["body"]
    said = json.loads(cli(cache, "comments", str(site["hostile"]), "--json").stdout)[0]
    assert said["author"] == "Eve" and "alert" not in said["text"] and "\x1b" not in said["text"]

    # read by URL, then the unread count follows
    before = int(cli(cache, "unread").stdout)
    unread = json.loads(cli(cache, "posts", "--unread", "--limit", "1", "--json").stdout)[0]
    cli(cache, "read", unread["link"])
    assert int(cli(cache, "unread").stdout) == before - 1


def test_incremental_sync_fetches_only_what_is_new(site, tmp_path):
    wp = site["wp"]
    cache = tmp_path / "cache"
    cli(cache, "add", wp.url, "--name", "local")
    cli(cache, "sync")
    store = Store(cache)
    cursors = store.cursors("local")

    import asyncio

    from cache.sync import sync_site

    quiet = asyncio.run(sync_site(store, store.site("local")))
    assert quiet.ok and (quiet.new_posts, quiet.updated_posts, quiet.new_comments) == (0, 0, 0)
    assert quiet.requests <= 5

    fresh = wp.create_post("Fresh off the press", "<p>New.</p>", categories=[site["cats"][0]])
    wp.update_post(site["deep"], title="A thread five deep (updated)")
    reply = wp.create_comment(site["deep"], "A late reply", parent=site["chain"][-1])
    result = asyncio.run(sync_site(store, store.site("local")))
    assert result.ok, result.error
    assert (result.new_posts, result.updated_posts, result.new_comments) == (1, 1, 1)
    assert store.post("local", fresh).title == "Fresh off the press"
    assert store.post("local", site["deep"]).title == "A thread five deep (updated)"
    depths = {c.id: d for d, c in thread(store.comments("local", site["deep"]))}
    assert depths[reply] == 5
    assert store.cursors("local")["posts_modified"] > cursors["posts_modified"]

    wp.delete_post(fresh)
    gone = asyncio.run(sync_site(store, store.site("local")))
    assert gone.removed_posts == 1 and fresh not in store.post_ids("local")


def test_a_killed_sync_leaves_the_cache_usable(site, tmp_path):
    wp = site["wp"]
    cache = tmp_path / "cache"
    cli(cache, "add", wp.url, "--name", "local")
    env = {**os.environ, "BROADSHEET_CACHE_DIR": str(cache)}
    for delay in (0.3, 0.8):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui", "sync"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        listing = cli(cache, "posts", "--json")  # readable whatever the moment of the kill
        assert isinstance(json.loads(listing.stdout), list)
    cli(cache, "sync")
    assert len(Store(cache).post_ids("local")) == published(wp)


def test_plain_permalinks_use_rest_route(fresh_wordpress, tmp_path):
    wp = fresh_wordpress(pretty_permalinks=False)
    wp.create_post("Only post", "<p>Hello.</p>")
    cache = tmp_path / "cache"
    cli(cache, "add", wp.url, "--name", "plain")
    assert "rest_route" in Store(cache).site("plain").api_root
    cli(cache, "sync")
    titles = [p["title"] for p in json.loads(cli(cache, "posts", "--json").stdout)]
    assert "Only post" in titles


def test_not_a_wordpress_site_is_one_line(site, tmp_path):
    # the PHP server's own 404 for a path outside WordPress is still WordPress: use a port nothing serves
    done = cli(tmp_path / "cache", "add", "http://127.0.0.1:9/", check=False)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
