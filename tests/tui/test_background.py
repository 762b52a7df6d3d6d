"""``tui.background.CancellableJob`` without Textual: a coroutine cancelled from another thread."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tui.background import CancellableJob, Cancelled


def test_runs_to_completion():
    async def work() -> int:
        await asyncio.sleep(0)
        return 42

    assert CancellableJob().run(work) == 42


def test_cancel_from_another_thread_stops_a_silent_wait_at_once():
    job = CancellableJob()
    started = threading.Event()
    outcome: list[object] = []
    cleaned = threading.Event()

    async def silent() -> None:
        started.set()
        try:
            await asyncio.Event().wait()  # a server that never answers
        finally:
            cleaned.set()

    def worker() -> None:
        try:
            job.run(silent)
        except Cancelled as error:
            outcome.append(error)

    thread = threading.Thread(target=worker)
    thread.start()
    assert started.wait(5)
    t0 = time.monotonic()
    job.cancel()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - t0 < 1
    assert isinstance(outcome[0], Cancelled) and cleaned.is_set()


def test_after_cancel_nothing_more_runs():
    job = CancellableJob()
    job.cancel()
    ran = []

    async def work() -> None:
        ran.append(1)

    with pytest.raises(Cancelled):
        job.run(work)
    assert ran == [] and job.cancelled
