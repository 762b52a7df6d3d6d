"""Sync into a real store (tmp dir) from FakeWordPress: first, incremental, failures."""

from __future__ import annotations

import httpx
import pytest

from cache.demo import FakeWordPress
from cache.http import RetryPolicy
from cache.models import Site
from cache.store import Store
from cache.sync import sync_site, sync_sites
from tests.factories import BASE, stamp, wp_comment, wp_post, wp_site

FAST = RetryPolicy(retries=1, backoff=0)


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "cache")


def subscribe(store: Store, name: str = "news") -> Site:
    return store.add_site(Site(name=name, url=BASE, api_root=BASE + "/wp-json/"))


async def run(store, site, handler, **kw):
    return await sync_site(store, site, transport=httpx.MockTransport(handler), policy=FAST, **kw)


async def test_first_sync_then_nothing_new_costs_four_requests(store):
    fake = FakeWordPress(wp_site(posts=230, comments_per_post=2))
    site = subscribe(store)
    first = await run(store, site, fake)
    assert first.ok, first.error
    assert (first.new_posts, first.updated_posts, first.new_comments) == (230, 0, 460)
    assert len(store.posts("news")) == 230
    assert store.post("news", 7).comment_count == 2

    fake.requests.clear()
    again = await run(store, store.site("news"), fake)
    assert (again.new_posts, again.updated_posts, again.new_comments) == (0, 0, 0)
    assert again.requests == len(fake.requests) <= 5


async def test_incremental_sync_picks_up_new_and_modified_posts_and_comments(store):
    data = wp_site(posts=5, comments_per_post=1)
    fake = FakeWordPress(data)
    site = subscribe(store)
    await run(store, site, fake)
    data["posts"].append(wp_post(6, minutes=500, title="Fresh news"))
    data["posts"][0].update(modified=stamp(600), modified_gmt=stamp(600), title={"rendered": "Corrected title"})
    data["comments"].append(wp_comment(2000, 3, parent=1003, minutes=5000, text="a reply"))
    fake.requests.clear()
    result = await run(store, store.site("news"), fake)
    assert (result.new_posts, result.updated_posts, result.new_comments) == (1, 1, 1)
    assert store.post("news", 1).title == "Corrected title"
    assert store.post("news", 6).title == "Fresh news"
    assert store.post("news", 3).comment_count == 2
    posts_query = next(r for r in fake.requests if r.url.path.endswith("/posts") and "modified_after" in r.url.params)
    assert posts_query.url.params["modified_after"] < stamp(5)  # from the cursor, minus a second


async def test_deleted_posts_are_removed(store):
    data = wp_site(posts=4)
    fake = FakeWordPress(data)
    site = subscribe(store)
    await run(store, site, fake)
    del data["posts"][1]
    result = await run(store, store.site("news"), fake)
    assert result.removed_posts == 1
    assert sorted(store.post_ids("news")) == [1, 3, 4]


async def test_read_state_survives_syncs(store):
    fake = FakeWordPress(wp_site(posts=3))
    site = subscribe(store)
    await run(store, site, fake)
    store.mark_read("news", [2])
    await run(store, store.site("news"), fake, full=True)
    assert store.read_ids("news") == {2}
    assert store.unread_counts() == {"news": 2}


async def test_failed_sync_keeps_everything_and_records_the_error(store):
    fake = FakeWordPress(wp_site(posts=3))
    site = subscribe(store)
    await run(store, site, fake)
    before = store.posts("news")

    result = await run(store, store.site("news"), lambda request: httpx.Response(500))
    assert not result.ok and "500" in result.error
    assert store.posts("news") == before
    assert store.site("news").last_error == result.error


async def test_malformed_page_mid_sync_commits_nothing(store):
    data = wp_site(posts=150)
    fake = FakeWordPress(data)

    def handler(request):
        if request.url.params.get("page") == "2" and request.url.path.endswith("/posts"):
            return httpx.Response(200, text="[{broken", headers={"X-WP-TotalPages": "2"})
        return fake(request)

    site = subscribe(store)
    result = await run(store, site, handler)
    assert not result.ok and "malformed JSON" in result.error
    assert store.posts("news") == [] and store.cursors("news") == {}


async def test_one_failing_site_does_not_stop_the_others(store):
    good = subscribe(store, "good")
    bad = store.add_site(Site(name="bad", url="https://bad.test", api_root="https://bad.test/wp-json/"))
    fake = FakeWordPress(wp_site(posts=2))

    def handler(request):
        if request.url.host == "bad.test":
            raise httpx.ConnectError("Connection refused", request=request)
        return fake(request)

    results = await sync_sites(store, [good, bad], transport=httpx.MockTransport(handler), policy=FAST)
    by_name = {r.site: r for r in results}
    assert by_name["good"].ok and by_name["good"].new_posts == 2
    assert not by_name["bad"].ok and "connection refused" in by_name["bad"].error


async def test_hostile_content_is_stored_safe(store):
    data = wp_site(posts=1)
    data["posts"][0]["title"] = {"rendered": "Hi\x1b]0;pwned\x07 [bold]there[/bold]"}
    data["posts"][0]["content"]["rendered"] = "<p>ok</p><script>steal()</script>\x1b[2J"
    data["comments"] = [wp_comment(5, 1, author="Eve\x1b[31m", text="evil \x9b31m text")]
    data["categories"][0]["name"] = "News\x07"
    await run(store, subscribe(store), FakeWordPress(data))
    post = store.post("news", 1)
    assert post.title == "Hi [bold]there[/bold]"
    body = store.article("news", 1).body
    assert "steal" not in body and "\x1b" not in body
    comment = store.comments("news", 1)[0]
    assert comment.author == "Eve" and "\x9b" not in comment.text
    assert store.find_category("news", "2").name == "News"


async def test_demo_site_syncs_offline(store):
    from cache.demo import add_demo_site

    site = add_demo_site(store)
    result = await sync_site(store, site)
    assert result.ok and result.new_posts >= 10 and result.new_comments >= 30


async def test_a_post_published_without_being_modified_is_still_fetched(store):
    data = wp_site(posts=3)
    fake = FakeWordPress(data)
    await run(store, subscribe(store), fake)
    # a scheduled post goes live: WordPress flips its status but leaves `modified` in the past
    data["posts"].append(wp_post(9, minutes=-100_000, title="Scheduled last week"))
    result = await run(store, store.site("news"), fake)
    assert result.ok and result.new_posts == 1
    assert store.post("news", 9).title == "Scheduled last week"


async def test_an_unexpected_failure_is_reported_not_raised(store, monkeypatch):
    fake = FakeWordPress(wp_site(posts=2))
    site = subscribe(store)

    async def broken(self, modified_after=None, include=None):
        raise KeyError("surprise")

    monkeypatch.setattr("cache.sources.wordpress.WordPressSource.posts", broken)
    result = await run(store, site, fake)
    assert not result.ok and result.error.startswith("internal error: KeyError")
    assert store.site("news").last_error == result.error


async def test_nothing_new_rewrites_no_comment_file(store):
    fake = FakeWordPress(wp_site(posts=3, comments_per_post=2))
    await run(store, subscribe(store), fake)
    shards = sorted((store.directory / "sites" / "news" / "comments").glob("*.json"))
    before = [p.stat().st_mtime_ns for p in shards]
    again = await run(store, store.site("news"), fake)
    assert again.ok and again.new_comments == 0
    assert [p.stat().st_mtime_ns for p in shards] == before


async def test_each_site_is_reported_as_soon_as_it_is_done(store):
    """``on_done`` hears of a failing site while another is still being fetched: the slow
    site's server answers only once the failure has been reported (a hang otherwise)."""
    import asyncio

    slow = subscribe(store, "slow")
    bad = store.add_site(Site(name="bad", url="https://bad.test", api_root="https://bad.test/wp-json/"))
    fake = FakeWordPress(wp_site(posts=2))
    reported = asyncio.Event()
    done: list[str] = []

    async def handler(request):
        if request.url.host == "bad.test":
            raise httpx.ConnectError("Connection refused", request=request)
        await reported.wait()
        return fake(request)

    def on_done(result):
        done.append(result.site)
        reported.set()

    results = await asyncio.wait_for(
        sync_sites(store, [slow, bad], transport=httpx.MockTransport(handler), policy=FAST, on_done=on_done), 20
    )
    assert done == ["bad", "slow"]
    assert [r.site for r in results] == ["slow", "bad"]  # the list keeps the sites' order
    assert results[0].ok and results[0].new_posts == 2 and not results[1].ok


# -- sync against other processes' changes ------------------------------------------------------


async def test_a_move_made_during_a_sync_is_kept(store):
    import asyncio

    fake = FakeWordPress(wp_site(posts=3))
    site = subscribe(store)
    other = Store(store.directory)  # another process

    async def slow(request: httpx.Request) -> httpx.Response:
        if "/wp/v2/posts" in str(request.url):
            other.update_site_fields("news", folder="Politics")  # `broadsheet move` meanwhile
            await asyncio.sleep(0)
        return fake(request)

    result = await sync_site(store, site, transport=httpx.MockTransport(slow), policy=FAST)
    assert result.ok, result.error
    assert Store(store.directory).site("news").folder == "Politics"
    assert Store(store.directory).site("news").last_sync == site.last_sync


async def test_a_site_removed_during_its_sync_does_not_come_back(store):
    fake = FakeWordPress(wp_site(posts=3))
    site = subscribe(store)
    other = Store(store.directory)

    def removing(request: httpx.Request) -> httpx.Response:
        if "/wp/v2/comments" in str(request.url) and other.has_site("news"):
            other.remove_site("news")
        return fake(request)

    result = await sync_site(store, site, transport=httpx.MockTransport(removing), policy=FAST)
    assert not result.ok and "removed while" in result.error
    assert not (store.directory / "sites" / "news").exists() or not any(
        (store.directory / "sites" / "news").glob("index.json")
    )
    again = store.add_site(Site(name="news", url="https://other.example/", api_root="https://other.example/wp-json/"))
    assert again.name == "news" and Store(store.directory).cursors("news") == {}


async def test_a_site_is_synced_by_one_process_at_a_time(store):
    import subprocess
    import sys

    site = subscribe(store)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock; "
            "l = FileLock(sys.argv[1]); l.acquire(); print('held', flush=True); time.sleep(30)",
            str(store.directory / "sites" / "news" / "sync.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    (store.directory / "sites" / "news").mkdir(parents=True, exist_ok=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = await run(store, site, FakeWordPress(wp_site(posts=3)))
        assert result.ok and result.busy and result.requests == 0
        assert "another Broadsheet is syncing it" in result.summary()
    finally:
        holder.kill()
        holder.wait()
    result = await run(store, site, FakeWordPress(wp_site(posts=3)))
    assert result.ok and not result.busy and result.new_posts == 3


async def test_queued_replies_count_against_the_sync_deadline(store, monkeypatch):
    import asyncio

    from cache import outbox, sync

    fake = FakeWordPress(wp_site(posts=3))
    site = subscribe(store)
    assert (await run(store, site, fake)).ok
    for n in range(5):
        outbox.prepare(store, "news", 1, 0, f"reply {n}", "Ada", "ada@example.com")
    monkeypatch.setattr(sync, "SYNC_DEADLINE", 0.5)

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.3)
        return fake(request)

    started = asyncio.get_running_loop().time()
    result = await run(store, site, slow)
    assert asyncio.get_running_loop().time() - started < 2.0
    assert not result.ok and ("took longer" in result.error or "in time" in result.error)
    states = [e.state for e in outbox.entries(store, "news")]
    assert "sending" not in states, "an interrupted send gives its claim back"
    assert states.count("queued") + states.count("sent") + states.count("unconfirmed") == 5


@pytest.mark.parametrize("status", [500, 429, "timeout"])
async def test_author_names_never_sink_a_first_sync(store, status):
    fake = FakeWordPress(wp_site(posts=3))

    def users_broken(request: httpx.Request) -> httpx.Response:
        if "/wp/v2/users" in str(request.url):
            if status == "timeout":
                raise httpx.ReadTimeout("slow", request=request)
            return httpx.Response(status, json={"code": "x"})
        return fake(request)

    result = await run(store, subscribe(store), users_broken)
    assert result.ok and result.new_posts == 3, result.error
    assert {p.author for p in store.posts("news")} == {""}


async def test_a_corrupt_outbox_never_stops_the_news(store):
    fake = FakeWordPress(wp_site(posts=3))
    site = subscribe(store)
    (store.directory / "outbox.json").write_text("{ not json")
    result = await run(store, site, fake)
    assert result.ok and result.new_posts == 3, result.error


def _feed(name: str, url: str) -> Site:
    return Site(name=name, url=url, kind="feed", feed_url=url + "feed.xml")


def test_split_sites_keeps_a_remote_hosts_sites_together_and_the_demo_here():
    from cache.sync import split_sites

    big = [_feed(f"paper-{i}", f"https://paper.example/{i}/") for i in range(5)]
    small = [_feed(f"blog-{i}", f"https://blog{i}.example/") for i in range(4)]
    local = [_feed(f"local-{i}", f"http://127.0.0.1:8080/{i}/") for i in range(4)]
    demo = Site(name="demo", url="https://demo.invalid/", demo=True)
    groups = split_sites([demo, *big, *small, *local], 3)

    assert groups[0][0] is demo  # served in this process: never sent to a worker
    assert sorted(s.name for g in groups for s in g) == sorted(s.name for s in [demo, *big, *small, *local])
    holding = [i for i, g in enumerate(groups) if any(s.name.startswith("paper") for s in g)]
    assert len(holding) == 1  # PER_HOST still bounds what paper.example gets
    assert sorted(len(g) for g in groups) == [4, 5, 5]  # loopback sites shared out one by one
    assert split_sites([demo, *big], 1) == [[demo, *big]]
    assert split_sites([demo], 4) == [[demo]]  # no empty worker
    assert split_sites(big, 2) == [big]  # one host: nothing to share, nothing started


def test_auto_processes_counts_sites_that_go_to_the_network(monkeypatch):
    from cache import sync

    sites = [_feed(f"f{i}", f"https://f{i}.example/") for i in range(sync.SITES_PER_PROCESS * 3)]
    monkeypatch.setattr(sync.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert sync.auto_processes(sites) == 2  # no more than the cores
    assert sync.auto_processes(sites[: sync.SITES_PER_PROCESS * 2 - 1]) == 1
    monkeypatch.setattr(sync.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert sync.auto_processes(sites) == 3
    assert sync.auto_processes([Site(name="demo", url="https://demo.invalid/", demo=True)] * 100) == 1


async def test_a_site_whose_lock_cannot_be_made_fails_alone(store):
    fake = FakeWordPress(wp_site(posts=3, comments_per_post=0))
    good, bad = subscribe(store, "good"), subscribe(store, "bad")
    store.site_dir("bad").parent.mkdir(parents=True, exist_ok=True)
    store.site_dir("bad").write_text("a file where the site's folder goes")

    results = await sync_sites(store, [good, bad], transport=httpx.MockTransport(fake), policy=FAST)

    assert results[0].ok and results[0].new_posts == 3
    assert results[1].error and "cannot" in results[1].error and "\n" not in results[1].error
    assert store.site("bad").last_error == results[1].error


async def test_a_full_sync_counts_as_updated_only_the_posts_that_changed(store):
    data = wp_site(posts=5, comments_per_post=1)
    fake = FakeWordPress(data)
    site = subscribe(store)
    await run(store, site, fake)
    again = await run(store, store.site("news"), fake, full=True)  # every post sent again
    assert (again.new_posts, again.updated_posts) == (0, 0)
    data["posts"][0].update(modified=stamp(600), modified_gmt=stamp(600), title={"rendered": "Corrected title"})
    changed = await run(store, store.site("news"), fake, full=True)
    assert (changed.new_posts, changed.updated_posts) == (0, 1)


async def test_a_new_comment_alone_updates_no_post(store):
    data = wp_site(posts=3, comments_per_post=1)
    fake = FakeWordPress(data)
    site = subscribe(store)
    await run(store, site, fake)
    data["comments"].append(wp_comment(5000, 1, minutes=900))
    full = await run(store, store.site("news"), fake, full=True)
    assert (full.updated_posts, full.new_comments) == (0, 1)
