"""Comments as the site has them, against a real WordPress in a non-UTC time zone: a comment
approved days after it was written arrives with the next sync, trashed and spammed ones
leave the cache, edited ones change, and nothing-new re-syncs stay cheap."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cache.http import RetryPolicy
from cache.models import Site
from cache.sources.wordpress import COMMENT_SWEEP
from cache.store import Store
from cache.sync import sync_site

ZONE = "Pacific/Auckland"  # UTC+12/+13: date and date_gmt differ by half a day


@pytest.fixture(scope="module")
def wp():
    from tests.e2e.conftest import require_wordpress
    from tests.e2e.wpserver import WordPress

    require_wordpress()
    server = WordPress(host="127.0.0.45", timezone=ZONE).start()
    try:
        yield server
    finally:
        server.stop()


def local(days_ago: float) -> str:
    return (datetime.now(ZoneInfo(ZONE)) - timedelta(days=days_ago)).strftime("%Y-%m-%d %H:%M:%S")


def sync(store: Store, site: Site, **kw):
    return asyncio.run(sync_site(store, site, policy=RetryPolicy(backoff=0), **kw))


def ids(store: Store, post: int) -> set[int]:
    return {c.id for c in store.comments("tz", post)}


def test_late_approval_trash_spam_and_edit_reach_the_cache(wp, tmp_path, monkeypatch):
    post = wp.create_post("Moderated news", "<p>Talk.</p>", date=local(5))
    early = wp.create_comment(post, "Approved at once", date=local(4))
    held = wp.create_comment(post, "Held three days", approved=False, date=local(3))
    doomed = wp.create_comment(post, "Will be trashed", date=local(2))
    spammy = wp.create_comment(post, "Will be spam", date=local(2))
    edited = wp.create_comment(post, "Before the edit", date=local(1))
    store = Store(tmp_path / "cache")
    site = store.add_site(Site(name="tz", url=wp.url, api_root=wp.url + "/wp-json/"))

    first = sync(store, site)
    assert first.ok, first.error
    assert ids(store, post) == {early, doomed, spammy, edited}
    assert store.post("tz", post).comment_count == 4

    wp.set_comment_status(held, "approve")
    wp.set_comment_status(doomed, "trash")
    wp.set_comment_status(spammy, "spam")
    wp.call(
        "$in = broadsheet_input(); wp_update_comment(['comment_ID' => $in, 'comment_content' => 'After the edit']);"
        "broadsheet_output(true);",
        edited,
    )

    # the next sweep of the comment window (hourly) brings all of it
    later = time.time() + COMMENT_SWEEP + 1
    monkeypatch.setattr("cache.sources.wordpress.time.time", lambda: later)
    second = sync(store, site)
    assert second.ok, second.error
    assert ids(store, post) == {early, held, edited}
    assert second.removed_comments == 2
    assert {c.id: c.text.strip() for c in store.comments("tz", post)}[edited] == "After the edit"
    assert store.post("tz", post).comment_count == 3
    dates = {c.id: (c.date, c.date_gmt) for c in store.comments("tz", post)}
    assert dates[held][0] != dates[held][1], "site-local and GMT dates are kept apart"


def test_nothing_new_costs_at_most_five_requests_even_when_the_sweep_is_due(wp, tmp_path, monkeypatch):
    wp.create_post("Quiet news", "<p>Nothing happens.</p>", date=local(1))
    store = Store(tmp_path / "cache")
    site = store.add_site(Site(name="tz", url=wp.url, api_root=wp.url + "/wp-json/"))
    assert sync(store, site).ok
    quiet = sync(store, site)
    assert quiet.ok and quiet.requests == 4 and quiet.new_comments == 0
    later = time.time() + COMMENT_SWEEP + 1
    monkeypatch.setattr("cache.sources.wordpress.time.time", lambda: later)
    swept = sync(store, site)
    assert swept.ok and swept.requests <= 5, swept.requests


def test_sync_full_removes_comments_gone_long_ago(wp, tmp_path):
    post = wp.create_post("Old news", "<p>Old.</p>", date=local(60))
    old = wp.create_comment(post, "Old comment", date=local(59))
    store = Store(tmp_path / "cache")
    site = store.add_site(Site(name="tz", url=wp.url, api_root=wp.url + "/wp-json/"))
    assert sync(store, site).ok and old in ids(store, post)
    wp.set_comment_status(old, "trash")
    assert sync(store, site, full=True).ok
    assert old not in ids(store, post)
