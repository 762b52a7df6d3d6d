"""Fixtures for the reader's Pilot tests: stores filled through the real sync path."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cache import Store
from cache.config import Config, ReaderConfig
from cache.demo import FakeWordPress, add_demo_site, load_demo
from cache.http import RetryPolicy
from cache.sync import sync_site
from tui.app import BroadsheetApp, make_app
from tui.textual_compat import notifications
from tui.textual_compat import screen_text as _screen_text

__all__ = ["notifications", "screen_text", "wait_for"]


async def wait_for(pilot: Any, condition: Callable[[], Any], timeout: float = 5.0) -> None:
    """Let the app run until ``condition()`` is true (fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.01)


async def settle(app: BroadsheetApp) -> None:
    """Wait for the app's workers; one cancelled meanwhile (an exclusive worker replaced by
    the next, as a held key does) is done too, not a failure."""
    from textual.worker import WorkerCancelled

    for _ in range(50):
        try:
            await app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            continue


def screen_text(app: BroadsheetApp) -> str:
    """The screen as plain text, one line per row."""
    return _screen_text(app.screen)


@pytest.fixture
def config() -> Config:
    """No automatic refresh (tests start it when they mean to)."""
    return Config(reader=ReaderConfig(refresh_after_minutes=0))


@pytest.fixture
def fake() -> FakeWordPress:
    """The demo site's data behind a fake WordPress that tests may change."""
    return FakeWordPress(copy.deepcopy(load_demo()))


@pytest.fixture
async def demo_store(tmp_path, fake) -> Store:
    """A store subscribed to the demo site and synced once."""
    store = Store(tmp_path / "cache")
    site = add_demo_site(store)
    result = await sync_site(store, site, transport=httpx.MockTransport(fake))
    assert result.ok, result.error
    return store


@pytest.fixture
def make(config, fake) -> Callable[..., BroadsheetApp]:
    """``make(store, **kwargs)``: the app with the fake site as its transport, no backoff."""

    def build(store: Store, **kwargs: Any) -> BroadsheetApp:
        kwargs.setdefault("transport", httpx.MockTransport(fake))
        kwargs.setdefault("policy", RetryPolicy(retries=0, backoff=0))
        return make_app(store, kwargs.pop("config", config), **kwargs)

    return build


def run(coro: Any) -> Any:
    return asyncio.run(coro)
