"""A misbehaving HTTP/1.1 server on loopback, for fault-injection tests and bench/bench_hostile.py.

A real asyncio TCP server (``127.0.0.1``, a free port chosen by the kernel), so the client
under test meets real sockets: partial reads, resets, half-written headers. Each request's
path selects a behaviour (see ``BEHAVIOURS``); query parameters tune it
(``/drip?interval=0.2``, ``/status/503?retry-after=3600``).

Bounded by construction: at most ``max_connections`` connections at once (more are closed
on arrival), each lives at most ``lifetime`` seconds, request heads are capped at 16 KB,
and :meth:`HostileServer.stop` closes the listener and cancels every connection.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import socket
import struct
import time
import zlib
from collections.abc import Awaitable, Callable
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

Writer = asyncio.StreamWriter
Behaviour = Callable[["HostileServer", Writer, str, dict[str, str]], Awaitable[bool]]
"""A behaviour writes a response; it returns whether the connection may serve another request."""


class HostileServer:
    """``async with HostileServer() as server: server.url("/drip")``."""

    def __init__(self, *, max_connections: int = 64, lifetime: float = 120.0, drip_interval: float = 5.0) -> None:
        self.max_connections = max_connections
        self.lifetime = lifetime
        self.drip_interval = drip_interval
        self.port = 0
        self.requests: list[str] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        """The absolute URL of ``path`` on this server."""
        return f"http://{host}:{self.port}{path}"

    async def start(self) -> HostileServer:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0, limit=16 * 1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> HostileServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _connection(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._tasks) >= self.max_connections:
            writer.transport.abort()
            return
        self._tasks.add(task)
        try:
            async with asyncio.timeout(self.lifetime):
                while True:
                    try:
                        head = await reader.readuntil(b"\r\n\r\n")
                    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                        return
                    line = head.split(b"\r\n", 1)[0].decode("latin-1")
                    parts = line.split(" ")
                    target = parts[1] if len(parts) == 3 else "/"
                    self.requests.append(target)
                    split = urlsplit(target)
                    name = split.path.strip("/").split("/", 1)[0]
                    behaviour = BEHAVIOURS.get(name, _not_found)
                    if not await behaviour(self, writer, split.path, dict(parse_qsl(split.query))):
                        return
        except (TimeoutError, ConnectionError, OSError, asyncio.CancelledError):
            return  # the client went away, the lifetime ran out, or stop() cancelled us
        finally:
            self._tasks.discard(task)
            if not writer.transport.is_closing():
                writer.transport.abort()


# -- helpers ------------------------------------------------------------------------------


async def _respond(
    writer: Writer,
    status: str = "200 OK",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    length: int | None = None,
) -> None:
    lines = [f"HTTP/1.1 {status}"]
    fields = {"Content-Type": "application/json; charset=UTF-8", **(headers or {})}
    if "Transfer-Encoding" not in fields:
        fields["Content-Length"] = str(len(body) if length is None else length)
    lines += [f"{key}: {value}" for key, value in fields.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()


def _reset(writer: Writer) -> None:
    """Close with a TCP RST (SO_LINGER 0) instead of a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _forever() -> None:
    await asyncio.Event().wait()


@lru_cache(maxsize=4)
def bomb(megabytes: int) -> bytes:
    """``megabytes`` MB of zeros, gzipped (about 1,000:1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(2**20)
    return b"".join(compressor.compress(block) for _ in range(megabytes)) + compressor.flush()


# -- behaviours ----------------------------------------------------------------------------


async def _ok(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    await _respond(writer, body=b'{"ok": true, "path": "%s"}' % path.encode())
    return True


async def _not_found(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    await _respond(writer, "404 Not Found", b'{"code": "rest_no_route"}')
    return True


async def _status(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    code = path.rsplit("/", 1)[-1]
    headers = {}
    if "retry-after" in query:
        headers["Retry-After"] = query["retry-after"]
    if "retry-after-in" in query:  # as an HTTP date, that many seconds from now
        headers["Retry-After"] = email.utils.formatdate(time.time() + float(query["retry-after-in"]), usegmt=True)
    reasons = {"429": "Too Many Requests", "500": "Internal Server Error", "503": "Service Unavailable"}
    await _respond(writer, f"{code} {reasons.get(code, 'Whatever')}", b'{"code": "x"}', headers)
    return True


async def _slow_headers(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    interval = float(query.get("interval", server.drip_interval))
    writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while True:
        await writer.drain()
        await asyncio.sleep(interval)
        writer.write(b"a")


async def _drip(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    interval = float(query.get("interval", server.drip_interval))
    await _respond(writer, length=10**6)
    while True:
        await asyncio.sleep(interval)
        writer.write(b" ")
        await writer.drain()


async def _silence(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    await _forever()
    return False


async def _reset_behaviour(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    _reset(writer)
    return False


async def _truncated(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    await _respond(writer, body=b'{"truncat', length=1000)
    return False


async def _truncated_chunked(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    await _respond(writer, headers={"Transfer-Encoding": "chunked"}, body=b"5\r\n[1, 2\r\n")
    return False


async def _lie_short(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    """Content-Length smaller than the body: the rest looks like the next response's start."""
    await _respond(writer, body=b'{"a": 1}' + b" trailing garbage that is not HTTP\r\n\r\n", length=8)
    return True


async def _lie_long(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    """Content-Length larger than the body, and the connection kept open."""
    await _respond(writer, body=b'{"a": 1}', length=1000)
    await _forever()
    return False


async def _redirect(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    await _respond(writer, query.get("code", "302") + " Found", headers={"Location": query.get("to", "/ok")})
    return True


def _redirect_to(location: str) -> Behaviour:
    async def behaviour(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
        await _respond(writer, "302 Found", headers={"Location": location})
        return True

    return behaviour


async def _hops(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    """``/hops/N`` redirects to ``/hops/N-1`` … ``/hops/0``, which answers 200."""
    left = int(path.rsplit("/", 1)[-1] or 0)
    if left <= 0:
        return await _ok(server, writer, path, query)
    await _respond(writer, "302 Found", headers={"Location": f"/hops/{left - 1}"})
    return True


async def _bad_utf8(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    await _respond(writer, body=b'[{"id": 1, "title": "\xff\xfe\xc3("}]')
    return True


async def _big(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    """``size`` bytes, declared in Content-Length unless ``declare=0`` (then chunked)."""
    size = int(query.get("size", 2**20))
    block = b"x" * 65536
    if query.get("declare", "1") == "1":
        await _respond(writer, length=size)
        while size > 0:
            writer.write(block[:size])
            size -= len(block)
            await writer.drain()
        return True
    await _respond(writer, headers={"Transfer-Encoding": "chunked"})
    while size > 0:
        piece = block[:size]
        writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        size -= len(piece)
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    return True


async def _endless(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    await _respond(writer, headers={"Transfer-Encoding": "chunked"})
    chunk = b"%x\r\n%s\r\n" % (65536, b"y" * 65536)
    while True:
        writer.write(chunk)
        await writer.drain()


async def _gzip_bomb(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    await _respond(writer, body=bomb(int(query.get("mb", 64))), headers={"Content-Encoding": "gzip"})
    return True


async def _gzip_stack(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    body = gzip.compress(bomb(int(query.get("mb", 64))))
    await _respond(writer, body=body, headers={"Content-Encoding": "gzip, gzip"})
    return True


async def _gzip_ok(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    await _respond(writer, body=gzip.compress(b'{"ok": true}'), headers={"Content-Encoding": "gzip"})
    return True


async def _bad_gzip(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
    await _respond(writer, body=b"\x1f\x8b this is not gzip at all", headers={"Content-Encoding": "gzip"})
    return True


def _raw(data: bytes) -> Behaviour:
    async def behaviour(server: HostileServer, writer: Writer, path: str, query: dict[str, str]) -> bool:
        writer.write(data)
        await writer.drain()
        return False

    return behaviour


BEHAVIOURS: dict[str, Behaviour] = {
    "ok": _ok,
    "status": _status,
    "slow-headers": _slow_headers,
    "drip": _drip,
    "silence": _silence,
    "reset": _reset_behaviour,
    "truncated": _truncated,
    "truncated-chunked": _truncated_chunked,
    "lie-short": _lie_short,
    "lie-long": _lie_long,
    "redirect": _redirect,
    "loop": _redirect_to("/loop"),
    "loop-a": _redirect_to("/loop-b"),
    "loop-b": _redirect_to("/loop-a"),
    "hops": _hops,
    "cross-host": _redirect_to("http://elsewhere.invalid/wp-json/"),
    "file": _redirect_to("file:///etc/passwd"),
    "invalid-location": _redirect_to("http://[::1/x"),
    "bad-utf8": _bad_utf8,
    "big": _big,
    "endless": _endless,
    "gzip-bomb": _gzip_bomb,
    "gzip-stack": _gzip_stack,
    "gzip-ok": _gzip_ok,
    "bad-gzip": _bad_gzip,
    "malformed-status": _raw(b"HTTP/1.1 two hundred OK\r\nContent-Length: 0\r\n\r\n"),
    "malformed-header": _raw(b"HTTP/1.1 200 OK\r\nthis line has no colon\r\nContent-Length: 0\r\n\r\n"),
    "garbage": _raw(b"\x00\xff\xfe SSH-2.0-not-http\r\n\r\n"),
}
