"""One place for HTTP: client construction, time-outs, retries, and error mapping.

Every request a source makes goes through :func:`send`, which

- retries transport failures, 5xx and 429 with exponential back-off, honouring
  ``Retry-After`` (capped at ``MAX_WAIT`` seconds),
- maps what is left to one-line ``SourceError``\\s: ``Unreachable`` for transient failures,
  and never includes request headers (credentials) in a message,
- counts requests (``RequestCounter``), so benchmarks and tests can check how many a
  sync costs.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import BadResponse, Unreachable
from .safe import clean_line

USER_AGENT = "Broadsheet/0.1 (terminal newsreader)"
TIMEOUT = httpx.Timeout(20.0, connect=10.0)
MAX_WAIT = 30.0
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
NOT_SENT = "not_sent"
"""``Unreachable.code`` when the last try failed before the request left (no connection)."""
MAX_BODY = 32 * 2**20
"""The largest response accepted (a page of 100 posts is ~0.5–2 MB)."""


@dataclass
class RetryPolicy:
    """How often and how patiently to retry (tests set ``backoff=0``)."""

    retries: int = 3
    backoff: float = 0.5


def make_client(transport: httpx.AsyncBaseTransport | None = None, **kwargs: Any) -> httpx.AsyncClient:
    """An ``AsyncClient`` with Broadsheet's time-outs, redirects and user agent."""
    return httpx.AsyncClient(
        transport=transport,
        timeout=kwargs.pop("timeout", TIMEOUT),
        follow_redirects=kwargs.pop("follow_redirects", True),
        headers={"User-Agent": USER_AGENT, **kwargs.pop("headers", {})},
        limits=httpx.Limits(max_connections=8, max_keepalive_connections=8),
        **kwargs,
    )


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
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    policy: RetryPolicy | None = None,
    counter: list[int] | None = None,
    retry: bool = True,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request, retrying transient failures; raise ``Unreachable`` when they persist.

    Responses with other error statuses are returned for the caller to interpret.
    """
    policy = policy or RetryPolicy()
    attempts = policy.retries + 1 if retry else 1
    host = host_of(url)
    send_options = {k: kwargs.pop(k) for k in ("auth", "follow_redirects") if k in kwargs}
    problem = ""
    code = ""
    for attempt in range(attempts):
        if counter is not None:
            counter[0] += 1
        wait = policy.backoff * (2**attempt)
        try:
            request = client.build_request(method, url, **kwargs)
            response = await client.send(request, stream=True, **send_options)
            try:
                await _read_capped(response, host)
            finally:
                await response.aclose()
        except httpx.ConnectTimeout:
            problem, code = f"{host} did not answer in time", NOT_SENT
        except httpx.TimeoutException:
            problem, code = f"{host} did not answer in time", ""
        except httpx.TooManyRedirects:
            raise BadResponse(f"{host} redirects in a loop") from None
        except httpx.DecodingError:
            raise BadResponse(f"{host} sent a body that cannot be decoded") from None
        except httpx.TransportError as error:
            problem = f"cannot reach {host}: {_reason(error)}"
            code = NOT_SENT if isinstance(error, httpx.ConnectError) else ""
            if problem.endswith("unknown host"):
                attempts = attempt + 1  # a name that does not resolve will not start to
                break
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
            raise Unreachable(f"invalid URL {clean_line(url)[:200]!r}: {clean_line(str(error))[:120]}") from None
        except httpx.HTTPError as error:  # anything else httpx raises: one line, never a traceback
            raise BadResponse(f"{host}: {clean_line(str(error))[:160] or type(error).__name__}") from None
        else:
            if response.status_code not in RETRY_STATUS:
                return response
            problem = f"{host} answered {response.status_code} {clean_line(response.reason_phrase)[:60]}".rstrip()
            hint = retry_after(response)
            if hint is not None:
                wait = min(hint, MAX_WAIT)
        if attempt + 1 < attempts:
            await asyncio.sleep(wait)
    tries = f" (after {attempts} tries)" if attempts > 1 else ""
    raise Unreachable(problem + tries, code)


async def _read_capped(response: httpx.Response, host: str) -> None:
    """Read the body, refusing more than ``MAX_BODY`` bytes (after decompression)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BadResponse(f"{host} sent a response of {int(declared) // 2**20} MB; the limit is {MAX_BODY // 2**20} MB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY:
            raise BadResponse(f"{host} sent more than {MAX_BODY // 2**20} MB in one response")
        chunks.append(chunk)
    # httpx keeps a read body here; setting it lets .content/.json() work after the stream closed
    response._content = b"".join(chunks)


def _reason(error: Exception) -> str:
    text = clean_line(str(error)) or type(error).__name__
    text = text.splitlines()[0]
    for marker, short in (
        ("Connection refused", "connection refused"),
        ("All connection attempts failed", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("Temporary failure in name resolution", "unknown host (offline?)"),
        ("No address associated", "unknown host"),
        ("Network is unreachable", "network is unreachable"),
    ):
        if marker in text:
            return short
    return text[:120]
