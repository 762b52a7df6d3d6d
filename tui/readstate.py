"""The read-state write queue: the reader marks posts at once in memory, on disk later.

Design: opening a post must never wait for an fsync, so each change goes into a FIFO and a
background thread drains it with its own ``Service`` (TinyDB is not thread-safe). One
drainer runs at a time (a lock), so writes reach the disk in the order they were made;
consecutive changes with the same site and direction are written as one batch (order is
kept: a post marked read, then unread, is never merged across the change).

Invariants: ``put`` never blocks; ``drain`` takes everything queued so far and writes it;
a change whose write fails is reported by ``drain`` raising, and is not retried (the
in-memory snapshot already shows it; the next successful write of that post fixes the disk).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

Write = Callable[[str, list[int], bool], object]
"""``write(site, post_ids, read)``: e.g. ``Service.mark``."""


class ReadStateQueue:
    """A FIFO of ``(site, post ids, read)`` changes, drained in order."""

    def __init__(self) -> None:
        self._changes: queue.SimpleQueue[tuple[str, list[int], bool]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        #: Batches left by a failed drain, written first by the next one.
        self._held: list[tuple[str, list[int], bool]] = []

    def put(self, site: str, post_ids: list[int], read: bool) -> None:
        """Queue a change (returns at once; any thread)."""
        self._changes.put((site, list(post_ids), read))

    @property
    def empty(self) -> bool:
        return self._changes.empty() and not self._held

    def _take(self) -> list[tuple[str, list[int], bool]]:
        """Everything queued so far, consecutive same-(site, read) changes merged."""
        batches, self._held = self._held, []
        while True:
            try:
                site, ids, read = self._changes.get_nowait()
            except queue.Empty:
                return batches
            if batches and batches[-1][0] == site and batches[-1][2] == read:
                batches[-1][1].extend(ids)
            else:
                batches.append((site, ids, read))

    def drain(self, write: Write) -> int:
        """Write everything queued, in order, with ``write``; returns how many batches.

        Blocks while another thread drains (call it from a worker thread). An error from
        ``write`` propagates; batches after the failing one stay queued.
        """
        done = 0
        with self._lock:
            while batches := self._take():
                for index, (site, ids, read) in enumerate(batches):
                    try:
                        write(site, ids, read)
                    except BaseException:
                        self._held = batches[index + 1 :]
                        raise
                    done += 1
        return done
