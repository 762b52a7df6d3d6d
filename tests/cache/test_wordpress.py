"""The WordPress source against httpx.MockTransport fakes (paging, errors, discovery)."""

from __future__ import annotations

import httpx
import pytest

from cache.demo import FakeWordPress
from cache.errors import BadResponse, NotASite, Unreachable
from cache.http import RetryPolicy, make_client, send
from cache.models import Site
from cache.service import normalise_url
from cache.sources.wordpress import WordPressSource, discover, route_url
from tests.factories import BASE, wp_comment, wp_post, wp_site

FAST = RetryPolicy(retries=2, backoff=0)


def source_for(handler, api_root=BASE + "/wp-json/") -> WordPressSource:
    site = Site(name="news", url=api_root, api_root=api_root)
    return WordPressSource(site, make_client(httpx.MockTransport(handler)), policy=FAST)


async def test_discovery_from_link_header():
    fake = FakeWordPress(wp_site())
    async with make_client(httpx.MockTransport(fake)) as client:
        info = await discover(client, BASE + "/2026/01/some-post/")
    assert info["api_root"] == BASE + "/wp-json/"
    assert info["title"] == "Example News"


async def test_discovery_from_html_link_when_no_header():
    fake = FakeWordPress(wp_site())

    def handler(request):
        response = fake(request)
        if "wp-json" not in request.url.path:
            return httpx.Response(200, headers={"Content-Type": "text/html"}, text=response.text)
        return response

    async with make_client(httpx.MockTransport(handler)) as client:
        info = await discover(client, BASE)
    assert info["api_root"] == BASE + "/wp-json/"


async def test_discovery_falls_back_to_rest_route():
    fake = FakeWordPress(wp_site(), pretty=False)

    def handler(request):
        if "rest_route" in request.url.params:
            return fake(request)
        return httpx.Response(200, headers={"Content-Type": "text/html"}, text="<html>no hints</html>")

    async with make_client(httpx.MockTransport(handler)) as client:
        info = await discover(client, BASE)
    assert info["api_root"] == BASE + "/?rest_route=/"
    assert route_url(info["api_root"], "/wp/v2/posts") == BASE + "/?rest_route=%2Fwp%2Fv2%2Fposts"


async def test_a_site_that_is_not_wordpress():
    def handler(request):
        if request.url.path == "/":
            return httpx.Response(200, headers={"Content-Type": "text/html"}, text="<h1>Just a page</h1>")
        return httpx.Response(404, text="not found")

    async with make_client(httpx.MockTransport(handler)) as client:
        with pytest.raises(NotASite, match="is not a WordPress site"):
            await discover(client, BASE)


def test_url_normalisation():
    assert normalise_url("example.com") == "https://example.com"
    assert normalise_url("127.0.0.1:8080/x") == "http://127.0.0.1:8080/x"
    with pytest.raises(NotASite):
        normalise_url("ftp://example.com")


async def test_posts_are_paged_100_at_a_time_concurrently():
    fake = FakeWordPress(wp_site(posts=250))
    source = source_for(fake)
    batch = await source.posts()
    assert len(batch.posts) == 250 and len({p.id for p in batch.posts}) == 250
    pages = [r for r in fake.requests if r.url.path.endswith("/posts")]
    assert sorted(r.url.params["page"] for r in pages) == ["1", "2", "3"]
    assert all(r.url.params["per_page"] == "100" for r in pages)
    assert batch.posts[0].author == "Ada Writer"
    assert batch.html[1] == "<p>Body of post 1.</p>"  # converted when read


async def test_incremental_posts_use_modified_after():
    fake = FakeWordPress(wp_site(posts=5))
    source = source_for(fake)
    batch = await source.posts(modified_after="2026-01-01T00:03:00")
    assert sorted(p.id for p in batch.posts) == [4, 5]
    assert fake.requests[0].url.params["orderby"] == "modified"


async def test_protected_posts_are_flagged_with_no_body():
    data = wp_site(posts=1)
    data["posts"][0]["content"] = {"rendered": "", "protected": True}
    batch = await source_for(FakeWordPress(data)).posts()
    assert batch.posts[0].protected and batch.html[1] == ""


async def test_comments_of_the_whole_site_threaded_fields():
    data = wp_site(posts=2)
    data["comments"] = [wp_comment(10, 1), wp_comment(11, 1, parent=10), wp_comment(12, 2, status="hold")]
    comments = await source_for(FakeWordPress(data)).comments()
    assert [(c.id, c.parent) for c in comments] == [(10, 0), (11, 10)]  # held ones are never public


async def test_retries_5xx_then_succeeds():
    fake = FakeWordPress(wp_site(posts=3))
    failures = {"left": 2}

    def handler(request):
        if failures["left"]:
            failures["left"] -= 1
            return httpx.Response(503)
        return fake(request)

    source = source_for(handler)
    assert len((await source.posts()).posts) == 3
    assert source.requests[0] >= 3


async def test_persistent_5xx_is_unreachable_with_one_line():
    source = source_for(lambda request: httpx.Response(502))
    with pytest.raises(Unreachable) as caught:
        await source.categories()
    assert "502" in str(caught.value) and "\n" not in str(caught.value)
    assert source.requests[0] == FAST.retries + 1


async def test_429_honours_retry_after(monkeypatch):
    waits = []

    async def fake_sleep(seconds):
        waits.append(seconds)

    monkeypatch.setattr("cache.http.asyncio.sleep", fake_sleep)
    calls = {"n": 0}

    def handler(request):
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(429, headers={"Retry-After": "7"})
        return httpx.Response(200, json=[])

    async with make_client(httpx.MockTransport(handler)) as client:
        response = await send(client, "GET", BASE, policy=RetryPolicy(retries=2, backoff=0.01))
    assert response.status_code == 200 and waits == [7.0]


async def test_timeout_is_unreachable():
    def handler(request):
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(Unreachable, match="did not answer in time"):
        await source_for(handler).categories()


async def test_malformed_json_is_bad_response():
    def handler(request):
        return httpx.Response(200, text="{not json", headers={"X-WP-TotalPages": "1"})

    with pytest.raises(BadResponse, match="malformed JSON"):
        await source_for(handler).categories()


async def test_unexpected_shape_is_bad_response():
    def handler(request):
        return httpx.Response(200, json={"posts": []})

    with pytest.raises(BadResponse, match="other than a list"):
        await source_for(handler).posts()


async def test_malformed_items_are_skipped_not_fatal():
    good = wp_site(posts=2)["posts"]
    rows = [
        {"id": "seven", "title": {"rendered": "x"}},
        {"id": 2**70, "title": {"rendered": "huge"}},
        {"id": -1, "title": {"rendered": "negative"}},
        {**good[0], "author": []},
        good[1],
    ]

    def handler(request):
        if request.url.path.endswith("/posts"):
            return httpx.Response(200, json=rows, headers={"X-WP-Total": "5", "X-WP-TotalPages": "1"})
        return httpx.Response(200, json=[], headers={"X-WP-Total": "0", "X-WP-TotalPages": "0"})

    source = source_for(handler)
    batch = await source.posts()
    assert sorted(p.id for p in batch.posts) == [1, 2] and source.skipped == 3


async def test_a_site_cannot_make_us_send_a_million_requests():
    def handler(request):
        return httpx.Response(200, json=[], headers={"X-WP-Total": "3", "X-WP-TotalPages": "1000000"})

    source = source_for(handler)
    await source.comments()
    assert source.requests[0] == 1  # X-WP-Total says one page

    def liar(request):
        return httpx.Response(200, json=[], headers={"X-WP-TotalPages": "1000000"})

    with pytest.raises(BadResponse, match="claims 1000000 pages"):
        await source_for(liar).comments()


async def test_escape_sequences_in_a_status_line_are_removed():
    source = source_for(
        lambda request: httpx.Response(503, extensions={"reason_phrase": b"\x1b]0;PWNED\x07\x1b[2JBusy"})
    )
    with pytest.raises(Unreachable) as caught:
        await source.categories()
    assert "\x1b" not in str(caught.value) and "\x07" not in str(caught.value) and "Busy" in str(caught.value)


async def test_redirect_loops_and_bad_encodings_are_one_line_errors():
    def loop(request):
        return httpx.Response(302, headers={"Location": str(request.url)})

    with pytest.raises(BadResponse, match="redirects in a loop"):
        await source_for(loop).categories()

    def broken_gzip(request):
        return httpx.Response(200, content=b"not gzip at all", headers={"Content-Encoding": "gzip"})

    with pytest.raises(BadResponse, match="cannot be decoded"):
        await source_for(broken_gzip).categories()


async def test_oversized_responses_are_refused(monkeypatch):
    monkeypatch.setattr("cache.http.MAX_BODY", 1000)

    def big(request):
        return httpx.Response(200, json=[{"id": i, "name": "x" * 50} for i in range(100)])

    with pytest.raises(BadResponse, match="MB"):
        await source_for(big).categories()


async def test_duplicate_categories_across_pages_are_merged():
    cats = [{"id": 5, "name": "A", "parent": 0}, {"id": 5, "name": "A", "parent": 0}]

    def handler(request):
        return httpx.Response(200, json=cats, headers={"X-WP-Total": "2", "X-WP-TotalPages": "1"})

    assert [c.id for c in await source_for(handler).categories()] == [5]


async def test_collection_shrinking_while_paging_is_not_an_error():
    fake = FakeWordPress(wp_site(posts=150))

    def handler(request):
        if request.url.params.get("page") == "2":
            return FakeWordPress.error(fake, 400, "rest_post_invalid_page_number", "too far")
        return fake(request)

    batch = await source_for(handler).posts()
    assert len(batch.posts) == 100


async def test_rest_route_roots_keep_the_route_when_adding_parameters():
    fake = FakeWordPress(wp_site(posts=120), pretty=False)
    source = source_for(fake, api_root=BASE + "/?rest_route=/")
    batch = await source.posts()
    assert len(batch.posts) == 120
    routes = [r.url.params["rest_route"] for r in fake.requests if "page" in r.url.params]
    assert routes.count("/wp/v2/posts") == 2 and set(routes) == {"/wp/v2/posts", "/wp/v2/users"}


def test_malformed_urls_are_not_a_site():
    with pytest.raises(NotASite, match="not a valid URL"):
        normalise_url("http://[::1")


@pytest.mark.parametrize("page_two", ["repeat", "short", "empty"])
async def test_lying_page_totals_cost_at_most_one_window_of_requests(page_two):
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1"))
        calls.append(number)
        if number == 1 or page_two == "repeat":
            rows = [wp_post(i) for i in range(1, 101)]  # page 1 again and again: a site ignoring `page`
        elif page_two == "short" and number == 2:
            rows = [wp_post(101)]
        else:
            rows = []
        return httpx.Response(200, json=rows, headers={"X-WP-TotalPages": "4999", "X-WP-Total": "499900"})

    src = source_for(handler)
    src.authors = {1: "Ada"}  # no author look-up in this count
    batch = await src.posts()
    assert len(batch.posts) == (101 if page_two == "short" else 100)
    assert len(calls) <= 1 + src.concurrency, calls
