"""One place for HTTP: client construction, deadlines, redirects, retries, body limits, errors.

Every request a source makes goes through :func:`send`. It assumes the server may be
slow, lying or hostile, and guarantees:

- **A total deadline.** httpx's time-outs apply per read, so a server that drips one byte
  per read time-out never trips them. Each attempt runs under ``asyncio.timeout``
  (``RetryPolicy.attempt_deadline``, 30 s) and the whole call — every attempt, redirect and
  back-off sleep — under another (``RetryPolicy.deadline`` or ``deadline=``, 60 s). A sleep
  that would end past the deadline is not started: ``send`` gives up at once, and a
  ``Retry-After`` longer than ``MAX_WAIT`` or than the time left is obeyed by giving up,
  not by waiting. :func:`time_limit` sets a budget shared by every ``send`` inside it (a
  whole sync), through a context variable, so nothing has to be threaded through sources.
- **Prompt cancellation.** Nothing here shields or swallows ``CancelledError``: cancelling
  the task (the reader's ``q``, Ctrl-C in the shell) ends ``send`` within milliseconds,
  mid-connect, mid-body or mid-sleep.
- **Redirects stay on the site.** The client does not follow redirects; ``send`` does, at
  most ``MAX_REDIRECTS`` hops, and only to the same host with the same scheme and port, or
  the same host upgraded from http to https. Another host, a downgrade to http, or any
  other scheme (``file:``…) is refused in one line (``BadResponse``) and never retried;
  so is a loop. ``cross_host=True`` (discovery, where any page of a site is accepted) lifts
  the same-host rule but not the others. ``follow_redirects=False`` returns 3xx responses
  to the caller (the classic comment form answers with a 302).
- **Bounded bodies, read with public API only.** The body is read raw from httpx's
  streaming API and decompressed here with ``zlib``'s ``max_length``, so what is held
  never exceeds ``max_body`` (32 MB) plus one network chunk, even for a gzip bomb;
  stacked encodings (``gzip, gzip``) and unknown ones are refused. ``send`` returns a new, fully read ``httpx.Response`` carrying the decoded
  bytes (``Content-Encoding``/``-Length`` dropped, since they no longer describe them).
  We advertise only ``gzip, deflate``.
- **Retry only what may succeed.** Transport failures, truncated bodies, time-outs, 5xx
  and 429 are retried with exponential back-off. Invalid URLs, unsupported schemes,
  unknown hosts, TLS certificate errors and off-site redirects are not; other 4xx are
  returned to the caller. A malformed answer (bad status line or headers) is retried once,
  at once, then refused: a kept-alive connection can be poisoned by the previous answer's
  lying ``Content-Length``, and a fresh connection tells the two apart.
- **One line for every failure**: ``Unreachable`` (transient: time-out, network, 5xx/429
  after retries) or ``BadResponse`` (malformed, off-site, too big); never a traceback, no
  other exception type, and never request headers (credentials) in a message.
- **Counting**: ``counter[0]`` grows by one per request put on the wire (each attempt and
  each redirect hop), so benchmarks and tests can check how many a sync costs.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import ssl
import time
import zlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import BadResponse, Unreachable
from .safe import clean_line

USER_AGENT = "Broadsheet/0.1 (terminal newsreader)"
TIMEOUT = httpx.Timeout(20.0, connect=10.0)
"""httpx's per-operation time-outs; the deadlines below bound the total."""
ATTEMPT_DEADLINE = 30.0
"""Seconds one attempt (connect, redirects, headers and the whole body) may take."""
DEADLINE = 60.0
"""Seconds one ``send`` (every attempt and back-off sleep) may take."""
MAX_WAIT = 30.0
"""The longest ``Retry-After`` obeyed by waiting; a longer one makes ``send`` give up."""
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5
NOT_SENT = "not_sent"
"""``Unreachable.code`` when the last try failed before the request left (no connection)."""
MAX_BODY = 32 * 2**20
"""The largest response accepted, after decompression (a page of 100 posts is ~0.5–2 MB)."""
ACCEPT_ENCODING = "gzip, deflate"

_SCHEMES = ("http", "https")
_END: ContextVar[float | None] = ContextVar("broadsheet_http_end", default=None)


@dataclass
class RetryPolicy:
    """How often and how patiently to retry (tests set ``backoff=0`` and short deadlines)."""

    retries: int = 3
    backoff: float = 0.5
    attempt_deadline: float = ATTEMPT_DEADLINE
    deadline: float = DEADLINE


def make_client(
    transport: httpx.AsyncBaseTransport | None = None, *, connections: int | None = 8, **kwargs: Any
) -> httpx.AsyncClient:
    """An ``AsyncClient`` with Broadsheet's time-outs and user agent, at most ``connections``
    open at once (None: as many as its users ask for, when they bound themselves).

    It does not follow redirects itself: :func:`send` does, and keeps them on the site.
    """
    if transport is None and "verify" not in kwargs:
        kwargs["verify"] = _tls_context()  # loading the CA bundle costs ~25 ms per client
    return httpx.AsyncClient(
        transport=transport,
        timeout=kwargs.pop("timeout", TIMEOUT),
        follow_redirects=kwargs.pop("follow_redirects", False),
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING, **kwargs.pop("headers", {})},
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=8),
        **kwargs,
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every client of this process (it is read-only once built)."""
    return httpx.create_ssl_context()


def is_loopback(host: str) -> bool:
    """Whether ``host`` is certainly this machine: a literal loopback IP or ``localhost``.

    Names such as ``foo.localhost`` are not trusted: a resolver may send them elsewhere.
    """
    import ipaddress

    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_of(url: str | httpx.URL) -> str:
    """The host[:port] of ``url``, for messages."""
    parsed = httpx.URL(str(url))
    return parsed.host + (f":{parsed.port}" if parsed.port else "")


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Within this block (and tasks started in it), every ``send`` ends by ``seconds`` from now.

    For a whole sync: ``with time_limit(300): await sync(...)``. Nested limits keep the
    earlier end. Must be entered inside a running event loop.
    """
    end = asyncio.get_running_loop().time() + seconds
    outer = _END.get()
    token = _END.set(end if outer is None else min(end, outer))
    try:
        yield
    finally:
        _END.reset(token)


class _Transient(Exception):
    """An attempt failed in a way another attempt may not; ``str()`` is the one-line problem,
    ``code`` is ``NOT_SENT`` when the request never left (no connection was made)."""

    def __init__(self, problem: str, code: str = "") -> None:
        super().__init__(problem)
        self.code = code


class _Malformed(_Transient):
    """An unparseable answer: retried once at once (a kept-alive connection may have been
    poisoned by an earlier response's lying Content-Length), a ``BadResponse`` the second time."""


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    policy: RetryPolicy | None = None,
    counter: list[int] | None = None,
    retry: bool = True,
    deadline: float | None = None,
    max_body: int | None = None,
    cross_host: bool = False,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request within a deadline, retrying transient failures; return the read response.

    ``kwargs`` go to ``client.build_request`` (``params``, ``json``, ``headers``…), except
    ``auth`` and ``follow_redirects`` (default True: same-site redirects are followed;
    False returns 3xx responses). ``deadline`` overrides ``policy.deadline`` for this call.
    Responses with error statuses other than 5xx/429 are returned for the caller to
    interpret.

    Raises: Unreachable (time-out, network failure, 5xx/429 after retries, invalid URL),
    BadResponse (malformed or oversized answer, off-site redirect or redirect loop).
    """
    policy = policy or RetryPolicy()
    loop = asyncio.get_running_loop()
    limit = policy.deadline if deadline is None else deadline
    end = loop.time() + limit
    shared = _END.get()
    if shared is not None and shared < end:
        end, limit = shared, max(0.0, shared - loop.time())
    host = _checked_host(url)
    follow = kwargs.pop("follow_redirects", True)
    auth = kwargs.pop("auth", httpx.USE_CLIENT_DEFAULT)
    try:
        request = client.build_request(method, url, **kwargs)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
        raise _invalid(url, error) from None
    limit_body = MAX_BODY if max_body is None else max_body
    exchange = _Exchange(client, request, auth, follow, cross_host, limit_body, counter, host)
    try:
        async with asyncio.timeout_at(end) as whole:
            return await _attempts(exchange, policy, retry, end, host)
    except TimeoutError:
        if not whole.expired():
            raise
        raise Unreachable(f"{host} did not answer in time ({limit:.3g} s)") from None


async def _attempts(exchange: _Exchange, policy: RetryPolicy, retry: bool, end: float, host: str) -> httpx.Response:
    loop = asyncio.get_running_loop()
    attempts = max(1, policy.retries + 1 if retry else 1)
    problem = ""
    code = ""
    malformed = False
    for attempt in range(attempts):
        wait = policy.backoff * (2**attempt)
        try:
            async with asyncio.timeout_at(min(loop.time() + policy.attempt_deadline, end)) as scope:
                response = await exchange.run()
        except TimeoutError:
            if not scope.expired():
                raise
            problem, code = f"{host} did not answer in time", ""
        except _Malformed as error:
            if malformed or attempt + 1 >= attempts:
                raise BadResponse(str(error)) from None
            problem, malformed, wait = str(error), True, 0.0
        except _Transient as error:
            problem, code = str(error), error.code
        else:
            if response.status_code not in RETRY_STATUS:
                return response
            problem = f"{host} answered {response.status_code} {clean_line(response.reason_phrase)[:60]}".rstrip()
            hint = retry_after(response)
            if hint is not None:
                if hint > MAX_WAIT or loop.time() + hint >= end:
                    later = Unreachable(f"{problem} and asks to wait {_duration(hint)}; try again later")
                    later.after = hint
                    raise later from None
                wait = hint
        tries = f" (after {attempt + 1} tries)" if attempt else ""
        if attempt + 1 >= attempts or loop.time() + wait >= end:
            raise Unreachable(problem + tries, code)
        await asyncio.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises


class _Exchange:
    """One attempt: the request, its same-site redirects, and the capped body."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        request: httpx.Request,
        auth: Any,
        follow: bool,
        cross_host: bool,
        max_body: int,
        counter: list[int] | None,
        host: str,
    ) -> None:
        self.client, self.request, self.auth = client, request, auth
        self.follow, self.cross_host, self.max_body = follow, cross_host, max_body
        self.counter, self.host = counter, host

    async def run(self) -> httpx.Response:
        request = self.request
        seen = {str(request.url)}
        history: list[httpx.Response] = []
        while True:
            if self.counter is not None:
                self.counter[0] += 1
            auth = self.auth if request.url.host == self.request.url.host else None
            response = await self._call(
                self.client.send(request, stream=True, auth=auth, follow_redirects=False), "head"
            )
            try:
                target = response.next_request if self.follow and response.has_redirect_location else None
                if target is None:
                    body = await self._call(_read_body(response, self.host, self.max_body), "body")
                    break
                refusal = _redirect_refusal(self.request.url, request.url, target.url, self.cross_host)
                if refusal:
                    raise BadResponse(f"{self.host} redirected to {refusal}")
                if str(target.url) in seen:
                    raise BadResponse(f"{self.host} redirects in a loop")
                if len(history) >= MAX_REDIRECTS:
                    raise BadResponse(f"{self.host} redirects more than {MAX_REDIRECTS} times")
            finally:
                await response.aclose()
            seen.add(str(target.url))
            history.append(response)
            request = target
        headers = [
            (key, value)
            for key, value in response.headers.multi_items()
            if key.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        read = httpx.Response(
            response.status_code, headers=headers, content=body, request=request, extensions=response.extensions
        )
        read.history = history
        return read

    async def _call(self, step: Any, phase: str) -> Any:
        """Await ``step``, turning whatever httpx and below raise into our errors."""
        host = self.host
        try:
            return await step
        except httpx.ConnectTimeout:
            raise _Transient(f"{host} did not answer in time", NOT_SENT) from None
        except httpx.TimeoutException:
            raise _Transient(f"{host} did not answer in time") from None
        except httpx.UnsupportedProtocol as error:
            raise _invalid(str(self.request.url), error) from None
        except httpx.RemoteProtocolError as error:
            text = _first_line(error)
            if "Invalid URL in location" in text:
                raise BadResponse(f"{host} redirected to an invalid URL") from None
            if phase == "body" and "peer closed" in text:
                raise _Transient(f"{host} closed the connection before the whole response arrived") from None
            if "disconnected" in text or "peer closed" in text:
                raise _Transient(f"{host} closed the connection without answering") from None
            raise _Malformed(f"{host} sent a malformed response ({text[:100]})") from None
        except httpx.TransportError as error:
            reason = _reason(error)
            problem = f"cannot reach {host}: {reason}"
            sent = "" if phase == "body" or not isinstance(error, httpx.ConnectError) else NOT_SENT
            if reason in ("unknown host", "invalid TLS certificate"):
                raise Unreachable(problem, NOT_SENT) from None  # another try will not change it
            raise _Transient(problem, sent) from None
        except httpx.InvalidURL:  # the request's URL was checked: this is a redirect's Location
            raise BadResponse(f"{host} redirected to an invalid URL") from None
        except httpx.DecodingError:
            raise BadResponse(f"{host} sent a body that cannot be decoded") from None
        except httpx.HTTPError as error:  # anything else httpx raises: one line, never a traceback
            raise BadResponse(f"{host}: {_first_line(error)[:160] or type(error).__name__}") from None
        except (OSError, ValueError, ExceptionGroup) as error:  # e.g. a port out of range, from the socket layer
            raise Unreachable(f"cannot reach {host}: {_first_line(error)[:120] or type(error).__name__}") from None


def _redirect_refusal(first: httpx.URL, current: httpx.URL, target: httpx.URL, cross_host: bool) -> str:
    """Why a redirect from ``current`` to ``target`` must not be followed ("" if it may)."""
    where = clean_line(str(target.copy_with(query=None, fragment=None)))[:100]
    if target.scheme not in _SCHEMES:
        return f"a {clean_line(target.scheme)[:20]}: URL; not following it"
    if current.scheme == "https" and target.scheme == "http":
        return f"plain http ({where}); not following it"
    if cross_host:
        if _local(target.host) and not _local(first.host):
            return f"{clean_line(host_of(target))[:100]} (this machine or the local network); not following it"
        return ""
    upgrade = current.scheme == "http" and target.scheme == "https"
    if target.host != first.host or (not upgrade and _port(target) != _port(current)):
        return f"{clean_line(host_of(target))[:100]}; not following it off the site"
    return ""


def _local(host: str) -> bool:
    """A loopback, private or link-local address, or a name for this machine."""
    import ipaddress

    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local or address.is_unspecified


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


async def _read_body(response: httpx.Response, host: str, limit: int) -> bytes:
    """The decoded body, refusing more than ``limit`` bytes after decompression."""
    too_big = f"{host} sent more than {_size(limit)} in one response"
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise BadResponse(f"{host} sent a response of {_size(int(declared))}; the limit is {_size(limit)}")
    try:
        ready = response.content  # already read and decoded: a response built in memory (MockTransport)
    except httpx.ResponseNotRead:
        pass
    else:
        if len(ready) > limit:
            raise BadResponse(too_big)
        return ready
    inflater = _Inflater.for_encoding(response.headers.get("content-encoding", ""), host)
    chunks: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        data = inflater.feed(raw, limit - size) if inflater else raw
        size += len(data)
        if size > limit:
            raise BadResponse(too_big)
        chunks.append(data)
    if inflater:
        tail = inflater.finish()
        size += len(tail)
        if size > limit:
            raise BadResponse(too_big)
        chunks.append(tail)
    return b"".join(chunks)


class _Inflater:
    """Streaming gzip/deflate decoding whose output never exceeds the room it is given."""

    def __init__(self, host: str, gzip: bool) -> None:
        self.host = host
        self.gzip = gzip
        self.started = False
        self.raw = False
        self.z = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)

    @classmethod
    def for_encoding(cls, header: str, host: str) -> _Inflater | None:
        codings = [c.strip().lower() for c in header.split(",") if c.strip() and c.strip().lower() != "identity"]
        if not codings:
            return None
        if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
            return cls(host, codings[0] != "deflate")
        raise BadResponse(f"{host} sent a body in an encoding Broadsheet does not read ({clean_line(header)[:40]})")

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode ``data``; stop (with more than ``room`` bytes) as soon as ``room`` is exceeded."""
        parts: list[bytes] = []
        while data:
            try:
                out = self.z.decompress(data, max(room, 0) + 1)
            except zlib.error:
                if self.gzip or self.started or self.raw:
                    raise BadResponse(f"{self.host} sent a body that cannot be decoded") from None
                self.z = zlib.decompressobj(-zlib.MAX_WBITS)  # "deflate" sent raw, without the zlib header
                self.raw = True
                continue
            self.started = True
            parts.append(out)
            room -= len(out)
            if room < 0 or self.z.eof:
                break
            data = self.z.unconsumed_tail
        return b"".join(parts)

    def finish(self) -> bytes:
        try:
            return self.z.flush()
        except zlib.error:
            raise BadResponse(f"{self.host} sent a body that cannot be decoded") from None


def _checked_host(url: str) -> str:
    try:
        parsed = httpx.URL(str(url))
        if parsed.scheme not in _SCHEMES or not parsed.host:
            raise httpx.UnsupportedProtocol("only http:// and https:// URLs are supported")
        if parsed.port is not None and not 0 < parsed.port < 65536:
            raise httpx.InvalidURL(f"invalid port {parsed.port}")
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, TypeError, ValueError) as error:
        raise _invalid(str(url), error) from None
    return parsed.host + (f":{parsed.port}" if parsed.port else "")


def _invalid(url: str, error: Exception) -> Unreachable:
    return Unreachable(f"invalid URL {clean_line(url)[:200]!r}: {_first_line(error)[:120]}")


def _first_line(error: BaseException) -> str:
    lines = clean_line(str(error)).splitlines()
    return lines[0] if lines else ""


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def _size(count: int) -> str:
    return f"{count / 2**20:.3g} MB"


def _reason(error: BaseException) -> str:
    """A short reason for a transport failure, from the first informative link of its chain."""
    chain: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and len(chain) < 8:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    for link in chain:
        if type(link).__name__ == "SSLCertVerificationError" or "CERTIFICATE_VERIFY_FAILED" in str(link):
            return "invalid TLS certificate"
        if isinstance(link, ConnectionResetError):
            return "connection reset"
    text = next((line for line in map(_first_line, chain) if line), type(error).__name__)
    for marker, short in (
        ("Connection refused", "connection refused"),
        ("All connection attempts failed", "connection refused"),
        ("Connection reset", "connection reset"),
        ("Name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("Temporary failure in name resolution", "unknown host (offline?)"),
        ("No address associated", "unknown host"),
        ("Network is unreachable", "network is unreachable"),
    ):
        if marker in text:
            return short
    return text[:120]
