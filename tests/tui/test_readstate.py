"""``tui.readstate.ReadStateQueue`` without Textual: order, batching, errors, one drainer."""

from __future__ import annotations

import threading
import time

import pytest

from cache.errors import StoreError
from tui.readstate import ReadStateQueue


def test_changes_are_written_in_order_with_same_direction_runs_merged():
    queue = ReadStateQueue()
    queue.put("a", [1], True)
    queue.put("a", [2], True)
    queue.put("a", [1], False)
    queue.put("b", [7], False)
    queue.put("a", [3], True)
    written: list[tuple[str, list[int], bool]] = []
    assert queue.drain(lambda site, ids, read: written.append((site, ids, read))) == 4
    assert written == [("a", [1, 2], True), ("a", [1], False), ("b", [7], False), ("a", [3], True)]
    assert queue.empty
    assert queue.drain(lambda *args: written.append(args)) == 0


def test_a_failed_write_raises_and_keeps_what_follows_first_in_line():
    queue = ReadStateQueue()
    queue.put("a", [1], True)
    queue.put("a", [2], False)
    queue.put("a", [3], True)

    def failing(site, ids, read):
        if ids == [2]:
            raise StoreError("cache dir is read-only")

    with pytest.raises(StoreError):
        queue.drain(failing)
    queue.put("a", [4], True)  # queued after the failure: written after what was held
    written = []
    queue.drain(lambda site, ids, read: written.append((ids, read)))
    assert written == [([3, 4], True)]


def test_one_drainer_at_a_time():
    queue = ReadStateQueue()
    inside = []
    active = [0]

    def slow(site, ids, read):
        active[0] += 1
        inside.append(active[0])
        time.sleep(0.01)
        active[0] -= 1

    threads = []
    for i in range(8):
        queue.put("a", [i], i % 2 == 0)
        threads.append(threading.Thread(target=queue.drain, args=(slow,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert inside and max(inside) == 1
    assert queue.empty
