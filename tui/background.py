"""Network work the reader can cancel at once: a coroutine on its own loop in a thread.

Why: the data layer's network calls are ``async`` but also touch TinyDB synchronously (it
is not thread-safe and slow on big caches), so they cannot run on the UI's event loop. They
run in a thread worker with an event loop of their own. A thread cannot be stopped, but its
loop's task can: ``cancel()`` (from any thread) cancels the task through
``loop.call_soon_threadsafe``; the coroutine gets ``CancelledError`` at its next ``await``
(an HTTP read, a back-off sleep), its ``finally`` blocks close the clients, and the thread
ends within milliseconds. The app cancels every job on unmount, so quitting during a
refresh never waits for a silent server.

Invariants: a job runs at most one coroutine at a time; ``cancel()`` before or during
``run`` makes ``run`` raise ``Cancelled``; after ``cancel()`` every later ``run`` raises at
once (a job belongs to one screen's lifetime).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class Cancelled(Exception):
    """The job was cancelled before its coroutine finished."""


class CancellableJob:
    """Runs coroutines on a private event loop in the calling thread; cancellable from any
    thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._running: set[tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]]] = set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``make()`` to completion in this thread (a worker thread, never the UI's).

        Raises ``Cancelled`` when ``cancel()`` is called first or meanwhile.
        """

        async def main() -> T:
            task = asyncio.current_task()
            assert task is not None
            entry = (asyncio.get_running_loop(), task)
            with self._lock:
                if self._cancelled:
                    raise Cancelled
                self._running.add(entry)
            try:
                return await make()
            finally:
                with self._lock:
                    self._running.discard(entry)

        try:
            return asyncio.run(main())
        except asyncio.CancelledError:
            raise Cancelled from None

    def cancel(self) -> None:
        """Cancel what runs now and everything asked later (any thread; returns at once)."""
        with self._lock:
            self._cancelled = True
            running = list(self._running)
        for loop, task in running:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop closed meanwhile: nothing left to cancel
                pass
