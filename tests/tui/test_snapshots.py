"""The reader's main screens as pictures (pytest-textual-snapshot), at 80×24 and 160×48.

The SVGs live in ``__snapshots__/`` beside this file and are reviewed in diffs; update them
with ``pytest tests/tui/test_snapshots.py --snapshot-update`` after a deliberate change.
Deterministic by construction: the demo site's dates are fixed, no clock is shown, the
text cursor does not blink, every worker has finished and notifications are cleared
before the picture is taken.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import TextArea

from cache import Store
from cache.config import Config, ReaderConfig
from cache.demo import FakeWordPress, add_demo_site, load_demo
from cache.http import RetryPolicy
from cache.sync import sync_site
from tui.app import BroadsheetApp, make_app

from .conftest import wait_for

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
CONFIG = Config(reader=ReaderConfig(refresh_after_minutes=0))


@pytest.fixture
def fake() -> FakeWordPress:
    return FakeWordPress(copy.deepcopy(load_demo()))


@pytest.fixture
def synced(tmp_path, fake) -> Store:
    """The demo site, synced once (a sync fixture: snapshot tests run their own loop)."""
    store = Store(tmp_path / "cache")
    site = add_demo_site(store)
    result = asyncio.run(sync_site(store, site, transport=httpx.MockTransport(fake)))
    assert result.ok, result.error
    return store


def app_for(store: Store, fake: FakeWordPress | None, **kwargs: Any) -> BroadsheetApp:
    transport = httpx.MockTransport(fake) if fake is not None else None
    return make_app(store, CONFIG, transport=transport, policy=RetryPolicy(retries=0, backoff=0), **kwargs)


async def settle(pilot: Pilot) -> None:
    """Wait until nothing is left to change on screen."""
    app = pilot.app
    reader = app.reader  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: reader.loaded and not reader.refreshing)
    await wait_for(pilot, lambda: not reader.opening and not reader.article_view.rendering)
    await app.workers.wait_for_complete()
    await pilot.pause(0.35)  # the header's unread count is redrawn 0.25 s after the last change
    for area in app.screen.query(TextArea):
        area.cursor_blink = False
    app.clear_notifications()
    await pilot.pause()


def steps(*actions: Callable[[Pilot], Awaitable[None]]) -> Callable[[Pilot], Awaitable[None]]:
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        for action in actions:
            await action(pilot)
            await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_demo_first_run(snap_compare, tmp_path, size) -> None:
    app = app_for(Store(tmp_path / "empty"), None)  # the demo is served offline
    assert snap_compare(app, terminal_size=size, run_before=steps())


@pytest.mark.parametrize("size", SIZES)
def test_article_and_comments(snap_compare, synced, fake, size) -> None:
    async def to_comments(pilot: Pilot) -> None:
        pilot.app.reader.comment_thread.focus()  # type: ignore[attr-defined]
        await pilot.press("j")

    assert snap_compare(app_for(synced, fake, open_post="112"), terminal_size=size, run_before=steps(to_comments))


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare, synced, fake, size) -> None:
    async def help_(pilot: Pilot) -> None:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "HelpScreen")

    assert snap_compare(app_for(synced, fake, open_post="112"), terminal_size=size, run_before=steps(help_))


@pytest.mark.parametrize("size", SIZES)
def test_compose_screen(snap_compare, synced, fake, size) -> None:
    async def compose(pilot: Pilot) -> None:
        await pilot.press("r")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "ComposeScreen")
        await pilot.press(*"A fine harbour, and a fine pontoon.")

    assert snap_compare(app_for(synced, fake, open_post="112"), terminal_size=size, run_before=steps(compose))


@pytest.mark.parametrize("size", [pytest.param((80, 24), id="80x24"), pytest.param((110, 48), id="110x48")])
def test_narrow_layout(snap_compare, synced, fake, size) -> None:
    """Below 120 columns the comments go under the article."""

    async def next_post(pilot: Pilot) -> None:
        await pilot.press("n")

    assert snap_compare(app_for(synced, fake, open_post="111"), terminal_size=size, run_before=steps(next_post))


@pytest.mark.parametrize("size", SIZES)
def test_search_results(snap_compare, synced, fake, size) -> None:
    async def search(pilot: Pilot) -> None:
        await pilot.press("slash", *"pontoon", "enter")
        reader = pilot.app.reader  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: reader.search_query == "pontoon")

    assert snap_compare(app_for(synced, fake), terminal_size=size, run_before=steps(search))
