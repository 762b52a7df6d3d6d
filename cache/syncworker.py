"""A sync worker: ``main`` runs in a process of its own (``sys.executable -P``, with the
``cache`` that started it first on its path), started by ``cache.sync.sync_sites`` when a
sync of many sites is shared among processes (``processes`` > 1).

Protocol (one JSON object per line; the parent is ``cache.sync._sync_elsewhere``):

- stdin, first line: the request — ``directory`` (the cache), ``sites`` (names), ``policy``,
  ``full``, ``force``, ``options`` (each site's settings), ``concurrency``, ``progress``.
  Nothing secret travels here: a site's credentials are read from their own file, as the
  parent would.
- stdout (ASCII JSON): ``{"type": "progress", "site", "message"}`` (when asked), ``{"type":
  "result", "result": {SyncResult's fields}, "fields": {the site's new last_sync…}}`` as
  each site ends, ``{"type": "corrupt", "path", "moved_to"}`` when a cache file was set
  aside, ``{"type": "log", "name", "level", "message"}`` for its logging (at the parent's
  level, ``log_level`` in the request).

The worker syncs exactly as the parent would (``sync_group``) and writes the sites' posts to
the store itself, under the same per-site locks; it leaves ``sites.json`` to the parent,
which writes every site's new fields at once. It ignores Ctrl-C (the parent stops it) and
ends as soon as its stdin closes: a parent that died takes its worker with it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import threading
from dataclasses import asdict
from typing import Any


def _emit(message: dict[str, Any]) -> None:
    """One line to the parent: ASCII JSON, whatever the locale (paths may not be UTF-8)."""
    sys.stdout.buffer.write(json.dumps(message).encode("ascii") + b"\n")
    sys.stdout.buffer.flush()


class _ToParent(logging.Handler):
    """The worker's log records, sent to the parent's logging."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            _emit({"type": "log", "name": record.name, "level": record.levelno, "message": text})
        except Exception:  # a log line is never worth the sync
            pass


def _end_with_stdin() -> None:
    """(A daemon thread.) Waits for stdin to close, then ends the process at once: nobody is
    listening any more, and every store write is whole or not made when a process dies."""
    while sys.stdin.buffer.read(1 << 16):
        pass
    os._exit(0)


async def _run(request: dict[str, Any]) -> None:
    from .errors import NotFound
    from .http import RetryPolicy
    from .storage import on_corruption
    from .store import Store
    from .sync import SyncResult, sync_group

    store = Store(request["directory"])
    on_corruption(lambda path, moved: _emit({"type": "corrupt", "path": str(path), "moved_to": str(moved)}))
    record: dict[str, dict[str, Any]] = {}

    def done(result: SyncResult) -> None:
        _emit({"type": "result", "result": asdict(result), "fields": record.get(result.site, {})})

    sites = []
    for name in request["sites"]:
        try:
            sites.append(store.site(name))
        except NotFound:  # removed since the parent read the list
            done(SyncResult(name, error=f"{name} was removed before it was synced; nothing fetched"))
    policy = RetryPolicy(**request["policy"]) if request.get("policy") else None
    await sync_group(
        store,
        sites,
        record,
        progress=(lambda site, message: _emit({"type": "progress", "site": site, "message": message}))
        if request.get("progress")
        else None,
        policy=policy,
        full=bool(request.get("full")),
        force=bool(request.get("force")),
        options=request.get("options") or {},
        concurrency=int(request.get("concurrency") or 8),
        on_done=done,
    )


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent is told of Ctrl-C, and stops us
    request = json.loads(sys.stdin.buffer.readline())
    handler = _ToParent()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.basicConfig(level=int(request.get("log_level", logging.WARNING)), handlers=[handler])
    threading.Thread(target=_end_with_stdin, daemon=True).start()
    asyncio.run(_run(request))


if __name__ == "__main__":
    main()
