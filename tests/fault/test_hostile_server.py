"""``cache.http.send`` against a real misbehaving server on loopback.

Every behaviour must end in the expected one-line ``cache.errors`` error (or response)
within a time bound, with short deadlines and no back-off so the module runs in seconds.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc

import pytest

from cache.errors import BadResponse, BroadsheetError, Unreachable
from cache.http import RetryPolicy, make_client, send, time_limit
from cache.sources.wordpress import decode

from .server import HostileServer

ATTEMPT = 0.4
DEADLINE = 0.8
SLACK = 2.0
"""Loose bound over the deadline: the machine is shared."""
POLICY = RetryPolicy(retries=2, backoff=0, attempt_deadline=ATTEMPT, deadline=DEADLINE)
CAP = 2**20


@pytest.fixture
async def server():
    async with HostileServer(drip_interval=0.1, lifetime=30) as running:
        yield running


@pytest.fixture
async def client():
    async with make_client() as made:
        yield made


async def outcome(client, url: str, **kwargs) -> tuple[BaseException | object, float, int]:
    """(the error raised or the response, seconds taken, requests sent)."""
    counter = [0]
    kwargs.setdefault("policy", POLICY)
    kwargs.setdefault("max_body", CAP)
    start = time.perf_counter()
    try:
        result: object = await send(client, "GET", url, counter=counter, **kwargs)
    except Exception as error:
        result = error
    return result, time.perf_counter() - start, counter[0]


def one_line(error: object, kind: type[BroadsheetError], *fragments: str) -> None:
    assert isinstance(error, kind), f"{type(error).__name__}: {error}"
    text = str(error)
    assert "\n" not in text and "Traceback" not in text and len(text) < 300
    for fragment in fragments:
        assert fragment in text


# -- slow servers: the deadline holds -------------------------------------------------------

SLOW = ["/slow-headers", "/drip", "/silence", "/lie-long"]


@pytest.mark.parametrize("path", SLOW)
async def test_slow_servers_end_at_the_deadline(server, client, path):
    error, took, sent = await outcome(client, server.url(path))
    one_line(error, Unreachable, "did not answer in time")
    assert DEADLINE * 0.9 <= took < DEADLINE + SLACK
    assert sent == 2  # 0.4 s, then the rest of the 0.8 s: the third try never starts


async def test_a_per_call_deadline_overrides_the_policy(server, client):
    error, took, _ = await outcome(client, server.url("/drip"), deadline=0.3)
    one_line(error, Unreachable, "did not answer in time (0.3 s)")
    assert took < 0.3 + SLACK


async def test_a_time_limit_bounds_every_send_inside_it(server, client):
    patient = RetryPolicy(backoff=0)  # the default 30 s / 60 s deadlines
    start = time.perf_counter()
    with time_limit(0.5):
        results = await asyncio.gather(
            *(outcome(client, server.url(p), policy=patient) for p in ("/drip", "/silence")),
        )
    assert time.perf_counter() - start < 0.5 + SLACK
    for error, _, _ in results:
        one_line(error, Unreachable, "did not answer in time")


# -- cancellation -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/drip", "/silence", "/slow-headers", "/status/503?retry-after=25"])
async def test_cancelling_a_send_ends_it_at_once(server, client, path):
    """Mid-body, mid-headers, and mid-sleep (a 25 s Retry-After within the 60 s default)."""
    task = asyncio.create_task(send(client, "GET", server.url(path), policy=RetryPolicy()))
    await asyncio.sleep(0.3)
    assert not task.done()
    start = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.perf_counter() - start < 1.0
    # the client is still usable afterwards
    response = await send(client, "GET", server.url("/ok"), policy=POLICY)
    assert response.json()["ok"] is True


# -- failures that retrying may cure ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/reset", "connection reset"),
        ("/truncated", "closed the connection before the whole response arrived"),
        ("/truncated-chunked", "closed the connection before the whole response arrived"),
        ("/status/500", "answered 500 Internal Server Error"),
        ("/status/503?retry-after=0", "answered 503 Service Unavailable"),
        ("/status/429?retry-after-in=0", "answered 429 Too Many Requests"),
    ],
)
async def test_transient_failures_are_retried_then_one_line(server, client, path, fragment):
    error, took, sent = await outcome(client, server.url(path))
    one_line(error, Unreachable, fragment, "(after 3 tries)")
    assert sent == 3
    assert took < DEADLINE + SLACK


async def test_a_refused_connection_is_retried_then_one_line(client):
    error, took, sent = await outcome(client, "http://127.0.0.1:9/")
    one_line(error, Unreachable, "cannot reach 127.0.0.1:9: connection refused", "(after 3 tries)")
    assert sent == 3 and took < DEADLINE + SLACK


@pytest.mark.parametrize("path", ["/status/503?retry-after=3600", "/status/429?retry-after-in=3600"])
async def test_a_long_retry_after_gives_up_at_once_without_sleeping(server, client, path):
    error, took, sent = await outcome(client, server.url(path), policy=RetryPolicy())
    one_line(error, Unreachable, "asks to wait 60 min")
    assert sent == 1 and took < 0.5


async def test_a_retry_after_past_the_deadline_gives_up_at_once(server, client):
    error, took, sent = await outcome(client, server.url("/status/503?retry-after=5"), deadline=2)
    one_line(error, Unreachable, "asks to wait 5 s")
    assert sent == 1 and took < 0.5


async def test_a_back_off_never_sleeps_past_the_deadline(server, client):
    slow_back_off = RetryPolicy(retries=5, backoff=0.4, attempt_deadline=5, deadline=1.0)
    error, took, sent = await outcome(client, server.url("/status/500"), policy=slow_back_off)
    one_line(error, Unreachable, "answered 500")
    assert sent == 2  # a 0.4 s sleep, then a 0.8 s one would end past the deadline: give up
    assert 0.35 < took < 0.8


# -- failures that retrying cannot cure: one try, one line ----------------------------------------


@pytest.mark.parametrize(
    ("path", "fragment", "sent"),
    [
        ("/loop", "redirects in a loop", 1),
        ("/loop-a", "redirects in a loop", 2),
        ("/hops/6", "redirects more than 5 times", 6),
        ("/cross-host", "redirected to elsewhere.invalid; not following it off the site", 1),
        ("/file", "redirected to a file: URL; not following it", 1),
        ("/redirect?to=http://localhost:1/", "redirected to localhost:1; not following it off the site", 1),
        ("/invalid-location", "redirected to an invalid URL", 1),
        ("/redirect?to=javascript:alert(1)", "redirected to an invalid URL", 1),
        ("/big?size=3000000", "sent a response of 2.86 MB; the limit is 1 MB", 1),
        ("/big?size=3000000&declare=0", "sent more than 1 MB", 1),
        ("/endless", "sent more than 1 MB", 1),
        ("/gzip-stack", "an encoding Broadsheet does not read (gzip, gzip)", 1),
        ("/bad-gzip", "cannot be decoded", 1),
        ("/malformed-status", "sent a malformed response", 2),
        ("/malformed-header", "sent a malformed response", 2),
        ("/garbage", "sent a malformed response", 2),
    ],
)
async def test_hopeless_answers_are_one_line_and_not_retried(server, client, path, fragment, sent):
    error, took, count = await outcome(client, server.url(path))
    one_line(error, BadResponse, fragment)
    assert count == sent
    assert took < 1.0


async def test_a_gzip_bomb_is_capped_by_its_decompressed_size(server, client):
    tracemalloc.start()
    try:
        error, took, _ = await outcome(client, server.url("/gzip-bomb?mb=64"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    one_line(error, BadResponse, "sent more than 1 MB")
    assert peak < 8 * CAP  # a 64 KB read of this bomb inflates to ~64 MB if decoded uncapped
    assert took < 2.0


async def test_invalid_urls_are_one_line_and_never_sent(client):
    for url in ("http://127.0.0.1:99999/", "file:///etc/passwd", "http://[::1:99/", "ftp://example.com/"):
        error, _, sent = await outcome(client, url)
        one_line(error, Unreachable, "invalid URL")
        assert sent == 0


# -- answers that are fine, or fine enough ---------------------------------------------------------


async def test_same_site_redirects_are_followed(server, client):
    response, _, sent = await outcome(client, server.url("/hops/5"))
    assert response.status_code == 200 and response.url.path == "/hops/0" and sent == 6
    assert [r.status_code for r in response.history] == [302] * 5


async def test_redirects_are_returned_when_not_followed(server, client):
    response, _, sent = await outcome(client, server.url("/cross-host"), follow_redirects=False)
    assert response.status_code == 302 and sent == 1
    assert response.headers["location"] == "http://elsewhere.invalid/wp-json/"


async def test_gzip_bodies_are_decoded(server, client):
    response, _, _ = await outcome(client, server.url("/gzip-ok"))
    assert response.json() == {"ok": True}
    assert "content-encoding" not in response.headers


async def test_a_body_exactly_at_the_cap_is_accepted(server, client):
    response, _, _ = await outcome(client, server.url(f"/big?size={CAP}&declare=0"))
    assert len(response.content) == CAP


async def test_a_short_content_length_does_not_poison_the_next_request(server, client):
    response, _, _ = await outcome(client, server.url("/lie-short"))
    assert response.content == b'{"a": 1}'
    response, _, sent = await outcome(client, server.url("/ok"))
    assert response.json()["ok"] is True
    assert sent <= 2  # at most one immediate retry on a fresh connection


async def test_invalid_utf8_json_is_a_one_line_error_for_the_source(server, client):
    response, _, _ = await outcome(client, server.url("/bad-utf8"))
    with pytest.raises(BadResponse) as caught:
        decode(response, "/wp/v2/posts")
    one_line(caught.value, BadResponse, "sent malformed JSON for /wp/v2/posts")


async def test_the_server_is_bounded_and_stops(server, client):
    """The fixture itself: connections over the limit are closed; stop() ends drips at once."""
    small = HostileServer(max_connections=2, drip_interval=0.1)
    await small.start()
    tasks = [asyncio.create_task(send(client, "GET", small.url("/drip"), policy=RetryPolicy())) for _ in range(3)]
    await asyncio.sleep(0.3)
    start = time.perf_counter()
    await small.stop()
    assert time.perf_counter() - start < 1.0
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, (asyncio.CancelledError, BroadsheetError)) for r in results)
