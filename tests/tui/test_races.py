"""Late answers in the reader (from a review): a second ``r``, an escaped search, and a
category removed by another process must not stack screens, show stale results or crash."""

from __future__ import annotations

import time

from cache.service import Service

from .conftest import wait_for


async def test_two_quick_r_presses_open_one_compose_screen(demo_store, make, monkeypatch):
    real = Service.draft_for

    def slow(self, *args, **kwargs):
        time.sleep(0.3)  # the outbox look-up is slow: the user presses r again meanwhile
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Service, "draft_for", slow)
    app = make(demo_store, open_post="112")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        await pilot.press("r")
        await pilot.pause(0.05)
        await pilot.press("r")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ComposeScreen")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert [type(s).__name__ for s in app.screen_stack] == ["ReaderScreen", "ComposeScreen"]


async def test_an_escaped_search_does_not_come_back(demo_store, make, monkeypatch):
    real = Service.search

    def slow(self, *args, **kwargs):
        time.sleep(0.4)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Service, "search", slow)
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        reader = app.reader
        await wait_for(pilot, lambda: reader.loaded and not reader.opening)
        await pilot.press("slash", *"harbour", "enter")
        await pilot.pause(0.1)
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        assert reader.search_query == "" and not reader.site_tree.searching


async def test_a_category_removed_meanwhile_does_not_crash_the_tree(demo_store, make):
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        reader = app.reader
        await wait_for(pilot, lambda: reader.loaded)
        summary = reader.listing.summaries["demo"]
        gone = next(iter(summary.categories))
        del summary.categories[gone]  # what a summary re-read after a shell sync holds
        reader.site_tree.site_loaded("demo")
        await pilot.pause()
        assert app.is_running


async def test_a_post_read_while_a_refresh_reads_the_cache_stays_read(demo_store, make, fake, monkeypatch):
    import threading

    import tui.listing as listing_module

    real = listing_module.Listing.load_site
    slow_now = threading.Event()

    def slow(store, site):
        found = real(store, site)
        if threading.current_thread() is not threading.main_thread() and slow_now.is_set():
            time.sleep(0.8)  # a big site's index being parsed
        return found

    monkeypatch.setattr(listing_module.Listing, "load_site", staticmethod(slow))
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        reader = app.reader
        await wait_for(pilot, lambda: reader.loaded and not reader.opening)
        assert 109 not in reader.listing.sites["demo"].read
        slow_now.set()
        await pilot.press("R")
        await pilot.pause(0.4)  # synced; the listing is being read again
        reader.open_post(("demo", None), 109)
        await pilot.pause(0.05)
        await wait_for(pilot, lambda: not reader.refreshing)
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert 109 in reader.listing.sites["demo"].read, "the snapshot read meanwhile must not undo it"


async def test_a_read_only_cache_keeps_read_state_in_memory_with_a_warning(demo_store, make, monkeypatch):
    from cache.errors import StoreError
    from cache.store import Store
    from tui.textual_compat import notifications

    def read_only(self, *args, **kwargs):
        raise StoreError("the cache dir /x is read-only (Read-only file system); nothing was changed")

    monkeypatch.setattr(Store, "mark_read", read_only)
    app = make(demo_store, open_post="112")
    async with app.run_test(size=(120, 40)) as pilot:
        reader = app.reader
        await wait_for(pilot, lambda: reader.loaded and not reader.opening)
        await pilot.press("N", "N")
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        assert app.is_running
        assert {112, 111} <= reader.listing.sites["demo"].read, "read state kept in memory"
        assert any("read-only" in str(n.message) for n in notifications(app))
