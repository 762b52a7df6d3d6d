"""cache.http with ``httpx.MockTransport``: redirect rules, what is retried, decoding, Retry-After.

The real-socket behaviours (drips, resets, bombs, cancellation) are in tests/fault.
"""

from __future__ import annotations

import email.utils
import ssl
import time
import zlib

import httpx
import pytest

from cache.errors import BadResponse, Unreachable
from cache.http import RetryPolicy, make_client, retry_after, send

FAST = RetryPolicy(retries=3, backoff=0, attempt_deadline=2, deadline=4)


def client_for(handler) -> httpx.AsyncClient:
    return make_client(httpx.MockTransport(handler))


def redirecting(location: str, landing: str = "ok"):
    """A handler that redirects the first request to ``location`` and answers the rest."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(301, headers={"Location": location})
        return httpx.Response(200, json={"at": str(request.url), "landing": landing})

    return handler, seen


@pytest.mark.parametrize(
    ("start", "location"),
    [
        ("http://news.test/wp-json/", "https://news.test/wp-json/"),  # upgrade to https
        ("https://news.test/wp-json/", "/wp-json/wp/v2/"),  # relative, same site
        ("https://news.test:8443/a", "https://news.test:8443/b"),  # same port
    ],
)
async def test_same_site_redirects_are_followed(start, location):
    handler, seen = redirecting(location)
    async with client_for(handler) as client:
        response = await send(client, "GET", start, policy=FAST)
    assert response.status_code == 200 and len(seen) == 2
    assert response.json()["at"] == str(httpx.URL(start).join(location))


@pytest.mark.parametrize(
    ("start", "location", "fragment"),
    [
        ("https://news.test/", "https://evil.test/wp-json/", "redirected to evil.test; not following it off the site"),
        ("https://news.test/", "http://news.test/", "redirected to plain http (http://news.test/)"),
        ("https://news.test/", "https://news.test:8443/", "redirected to news.test:8443; not following it off"),
        ("https://news.test/", "file:///etc/passwd", "redirected to a file: URL"),
        ("https://news.test/", "gopher://news.test/", "redirected to a gopher: URL"),
        ("http://127.0.0.1:8080/", "http://localhost:8080/", "redirected to localhost:8080; not following"),
    ],
)
async def test_off_site_redirects_are_refused_in_one_line_and_not_retried(start, location, fragment):
    handler, seen = redirecting(location)
    async with client_for(handler) as client:
        with pytest.raises(BadResponse) as caught:
            await send(client, "GET", start, policy=FAST)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)
    assert len(seen) == 1


async def test_cross_host_lets_discovery_follow_to_another_host_but_not_downgrade():
    handler, seen = redirecting("https://www.news.test/")
    async with client_for(handler) as client:
        response = await send(client, "GET", "https://news.test/", policy=FAST, cross_host=True, auth=("ada", "pw"))
        assert response.status_code == 200
        assert "authorization" in seen[0].headers and "authorization" not in seen[1].headers
    handler, _ = redirecting("http://www.news.test/")
    async with client_for(handler) as client:
        with pytest.raises(BadResponse, match="plain http"):
            await send(client, "GET", "https://news.test/", policy=FAST, cross_host=True)


async def test_make_client_alone_follows_no_redirect():
    handler, seen = redirecting("https://evil.test/")
    async with client_for(handler) as client:
        response = await client.get("https://news.test/")
    assert response.status_code == 301 and len(seen) == 1


async def test_redirect_hops_are_counted():
    handler, _ = redirecting("/next")
    counter = [0]
    async with client_for(handler) as client:
        await send(client, "GET", "https://news.test/", policy=FAST, counter=counter)
    assert counter == [2]


def refusing(error: Exception):
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise error

    return handler, calls


def certificate_error() -> httpx.ConnectError:
    try:
        try:
            raise ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed certificate")
        except ssl.SSLError as low:
            raise httpx.ConnectError("[SSL] certificate verify failed") from low
    except httpx.ConnectError as error:
        return error


@pytest.mark.parametrize(
    ("error", "fragment", "tries"),
    [
        (certificate_error(), "cannot reach news.test: invalid TLS certificate", 1),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "cannot reach news.test: unknown host", 1),
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused (after 4 tries)", 4),
        (httpx.ReadTimeout("timed out"), "news.test did not answer in time (after 4 tries)", 4),
    ],
)
async def test_only_what_may_succeed_is_retried(error, fragment, tries):
    handler, calls = refusing(error)
    async with client_for(handler) as client:
        with pytest.raises(Unreachable) as caught:
            await send(client, "GET", "https://news.test/", policy=FAST)
    assert fragment in str(caught.value)
    assert len(calls) == tries


async def test_client_errors_are_returned_not_retried():
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(404, json={"code": "rest_no_route"})

    async with client_for(handler) as client:
        response = await send(client, "GET", "https://news.test/", policy=FAST)
    assert response.status_code == 404 and response.json()["code"] == "rest_no_route" and len(calls) == 1


async def test_post_with_retry_false_is_sent_once():
    handler, calls = refusing(httpx.ConnectError("[Errno 111] Connection refused"))
    async with client_for(handler) as client:
        with pytest.raises(Unreachable, match=r"connection refused$"):
            await send(client, "POST", "https://news.test/", policy=FAST, retry=False, json={"a": 1})
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", lambda data: zlib.compress(data, wbits=16 + zlib.MAX_WBITS)),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw deflate, no header
    ],
)
async def test_compressed_bodies_are_decoded_from_a_real_stream(encoding, body):
    data = b'{"ok": true, "pad": "' + b"x" * 100_000 + b'"}'

    def handler(request):
        # a stream, not bytes: httpx has not read or decoded it
        return httpx.Response(200, headers={"Content-Encoding": encoding}, stream=httpx.ByteStream(body(data)))

    async with client_for(handler) as client:
        response = await send(client, "GET", "https://news.test/", policy=FAST)
        assert response.content == data and response.json()["ok"] is True
        assert "content-encoding" not in response.headers
        assert response.headers["content-length"] == str(len(data))
        with pytest.raises(BadResponse, match="sent more than"):
            await send(client, "GET", "https://news.test/", policy=FAST, max_body=len(data) - 1)


async def test_the_response_keeps_status_headers_and_url():
    def handler(request):
        return httpx.Response(
            200, headers={"X-WP-TotalPages": "3"}, stream=httpx.ByteStream(b"[]"), extensions={"reason_phrase": b"Fine"}
        )

    async with client_for(handler) as client:
        response = await send(client, "GET", "https://news.test/wp-json/wp/v2/posts", params={"page": 2}, policy=FAST)
    assert response.headers["x-wp-totalpages"] == "3"
    assert str(response.url) == "https://news.test/wp-json/wp/v2/posts?page=2"
    assert response.reason_phrase == "Fine" and response.json() == []


def answer(status: int, retry: str):
    return httpx.Response(status, headers={"Retry-After": retry})


def test_retry_after_reads_seconds_and_dates_and_ignores_garbage():
    assert retry_after(answer(503, "120")) == 120
    soon = retry_after(answer(503, email.utils.formatdate(time.time() + 60, usegmt=True)))
    assert soon is not None and 55 < soon <= 60
    assert retry_after(answer(503, email.utils.formatdate(time.time() - 60, usegmt=True))) == 0
    for garbage in ("soon", "-5", "Mon, 99 Foo 99999 99:99:99 GMT", "1e9999"):
        assert retry_after(answer(503, garbage)) is None


async def test_a_cross_host_redirect_never_leads_into_the_local_network():
    from cache.errors import BadResponse
    from cache.http import make_client, send

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "public.example":
            return httpx.Response(302, headers={"Location": "http://192.168.1.1/admin"})
        raise AssertionError("followed into the local network")

    async with make_client(httpx.MockTransport(handler)) as client:
        with pytest.raises(BadResponse, match="local network"):
            await send(client, "GET", "http://public.example/", cross_host=True)
