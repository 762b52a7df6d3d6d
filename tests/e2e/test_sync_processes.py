"""A sync of many sites shared among processes (``sync_sites(processes=N)``, the worker in
``cache.syncworker``), against feeds served by a real nginx and a server that never answers:
everything is stored once and reported once, in order; cancelling, a dead worker and a dead
parent leave no process behind and lose nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cache import storage
from cache import sync as sync_module
from cache.http import RetryPolicy
from cache.models import Site
from cache.service import Service
from cache.storage import on_corruption
from cache.store import Store
from cache.sync import split_sites, sync_sites

from .feedgen import write_feed_set, write_opml

REPO = Path(__file__).resolve().parents[2]
QUICK = RetryPolicy(retries=0, backoff=0, attempt_deadline=1.5, deadline=1.5)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not _alive(pid):
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def workers(monkeypatch) -> list[asyncio.subprocess.Process]:
    """Every worker process ``sync_sites`` starts (the real call, watched)."""
    started: list[asyncio.subprocess.Process] = []
    real = asyncio.create_subprocess_exec

    async def watched(*args, **kwargs):
        process = await real(*args, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(asyncio, "create_subprocess_exec", watched)
    return started


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback port that takes connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(512)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def _silent_sites(store: Store, base: str, count: int) -> list[Site]:
    return store.add_sites(
        [
            Site(name=f"quiet-{i:02d}", url=f"{base}/{i}/", kind="feed", feed_url=f"{base}/{i}/feed.xml")
            for i in range(count)
        ]
    )


def _feed_sites(
    static_server, tmp_path: Path, count: int, items: int, prefix: str = "f", cache: str = "cache"
) -> tuple[Store, list[Site]]:
    """A store (in ``tmp_path / cache``) subscribed to ``count`` feeds of ``items`` items,
    served by a real nginx."""
    www = tmp_path / "www"
    www.mkdir()
    feeds = write_feed_set(www, static_server(www).url, feeds=count, items=items)
    store = Store(tmp_path / cache)
    sites = [Site(name=f"{prefix}{i}", url=f.url, kind="feed", feed_url=f.url) for i, f in enumerate(feeds)]
    return store, store.add_sites(sites)


def test_many_feeds_are_shared_among_processes_and_stored_once(static_server, workers, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    feeds = write_feed_set(www, static_server(www).url, feeds=30, items=4)
    write_opml(tmp_path / "set.opml", feeds)
    service = Service(tmp_path / "cache")
    service.import_subscriptions((tmp_path / "set.opml").read_text())
    sites = service.store.sites()
    told = []

    results = asyncio.run(service.sync(processes=2, on_done=told.append, progress=lambda site, message: None))

    assert len(workers) == 1 and workers[0].returncode == 0
    assert [r.site for r in results] == [s.name for s in sites]
    assert sorted(r.site for r in told) == sorted(s.name for s in sites)
    assert all(r.ok and r.new_posts == 4 for r in results), [r.summary() for r in results if not r.ok]
    fresh = Store(tmp_path / "cache")
    for site in fresh.sites():
        assert len(fresh.posts(site.name)) == 4
        assert site.last_sync and site.last_error is None  # the worker's sites too (written by the parent)
    again = asyncio.run(service.sync(processes=2))
    assert all(r.ok and r.not_modified for r in again)


def test_cancelling_kills_the_worker_at_once(silent_server, workers, tmp_path):
    store = Store(tmp_path / "cache")
    sites = _silent_sites(store, silent_server, 8)

    async def main() -> float:
        task = asyncio.create_task(sync_sites(store, sites, processes=2))
        while not workers:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)  # the worker is waiting for answers now
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    took = asyncio.run(main())
    assert took < 1.0
    assert not _alive(workers[0].pid)


def test_a_dead_worker_costs_only_its_sites_in_one_line_each(static_server, silent_server, workers, tmp_path):
    store, live = _feed_sites(static_server, tmp_path, 6, 3, prefix="live-")
    quiet = _silent_sites(store, silent_server, 6)
    groups = split_sites([*live, *quiet], 2)
    elsewhere = {s.name for s in groups[1]}

    async def main():
        task = asyncio.create_task(sync_sites(store, [*live, *quiet], processes=2, policy=QUICK))
        while not workers:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        os.kill(workers[0].pid, signal.SIGKILL)
        return await task

    results = {r.site: r for r in asyncio.run(main())}
    stopped = "internal error: the sync worker stopped (exit -9)"
    for name, result in results.items():
        if name not in elsewhere:  # this process's sites ended as they would have
            assert result.ok if name.startswith("live") else "time" in (result.error or ""), result.summary()
        elif name.startswith("quiet"):  # still waiting for an answer when the worker died
            assert result.error is not None and result.error.startswith(stopped), result.summary()
            assert "\n" not in result.error
        else:  # done before it died (then stored), or not
            assert result.ok or (result.error or "").startswith(stopped), result.summary()
            stored = len(Store(tmp_path / "cache").posts(name))  # whole or not at all (killed
            assert stored == 3 if result.ok else stored in (0, 3)  # between saving and telling)
    for site in Store(tmp_path / "cache").sites():  # the sites it lost are recorded as failed
        assert site.last_attempt, site.name
        assert (site.last_error or "").startswith(stopped) == (results[site.name].error or "").startswith(stopped)


def test_a_worker_outlives_no_parent(silent_server, tmp_path):
    store = Store(tmp_path / "cache")
    _silent_sites(store, silent_server, 8)
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        sys.path.insert(0, {str(REPO)!r})
        from cache.store import Store
        from cache.sync import sync_sites
        real = asyncio.create_subprocess_exec
        async def watched(*args, **kwargs):
            process = await real(*args, **kwargs)
            print(process.pid, flush=True)
            return process
        asyncio.create_subprocess_exec = watched
        store = Store({str(tmp_path / "cache")!r})
        asyncio.run(sync_sites(store, store.sites(), processes=2))
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        assert _alive(worker)
        time.sleep(0.3)
        parent.kill()
        parent.wait()
        assert _wait_gone(worker), "the worker kept running after its parent died"
    finally:
        parent.kill()
        parent.wait()


def test_a_corrupt_file_found_by_the_worker_is_told_and_logged_here(
    static_server, workers, monkeypatch, caplog, tmp_path
):
    """Whatever the worker's locale: the cache is under a name that is not ASCII."""
    cache = "新聞 café"
    store, sites = _feed_sites(static_server, tmp_path, 4, 2, cache=cache)
    asyncio.run(sync_sites(store, sites, processes=1))
    victim = split_sites(sites, 2)[1][0].name
    index = store.site_dir(victim) / "index.json"
    index.write_bytes(b"{not json")
    told: list[tuple[str, str]] = []
    monkeypatch.setattr(storage, "_corruption_listeners", [])
    on_corruption(lambda path, moved: told.append((str(path), str(moved))))
    monkeypatch.setenv("PYTHONIOENCODING", "latin-1")
    caplog.set_level(logging.INFO)

    results = asyncio.run(sync_sites(Store(tmp_path / cache), Store(tmp_path / cache).sites(), processes=2))

    assert len(workers) == 1
    assert all(r.ok for r in results), [r.summary() for r in results]
    assert any(path == str(index) and Path(moved).exists() for path, moved in told), told
    assert len(Store(tmp_path / cache).posts(victim)) == 2
    logged = [r.getMessage() for r in caplog.records if "(sync worker)" in r.getMessage()]
    assert any(str(index) in line and "corrupt" in line for line in logged), logged


def test_the_worker_reports_a_site_removed_meanwhile(static_server, workers, tmp_path):
    store, sites = _feed_sites(static_server, tmp_path, 4, 2)
    gone = split_sites(sites, 2)[1][0]
    store.remove_site(gone.name)  # after the caller read the list: the worker finds it missing

    results = asyncio.run(sync_sites(store, sites, processes=2))

    by_name = {r.site: r for r in results}
    assert by_name[gone.name].error == f"{gone.name} was removed before it was synced; nothing fetched"
    assert all(r.ok for name, r in by_name.items() if name != gone.name)
    assert json.loads((tmp_path / "cache" / "sites.json").read_text())  # still readable


def test_without_processes_to_spare_the_sync_runs_here(static_server, workers, monkeypatch, tmp_path):
    store, sites = _feed_sites(static_server, tmp_path, 4, 2)

    async def refuse(*args, **kwargs):
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", refuse)
    results = asyncio.run(sync_sites(store, sites, processes=2))
    assert all(r.ok and r.new_posts == 2 for r in results)
    assert sync_module.auto_processes(sites) == 1  # four sites are not worth a second process


def test_the_readers_background_job_runs_and_stops_workers(static_server, silent_server, workers, tmp_path):
    """The reader syncs in a thread with an event loop of its own (tui.background), and its
    ``q`` cancels the job from the UI thread: workers start there and die with the job."""
    import threading

    from tui.background import CancellableJob, Cancelled

    store, sites = _feed_sites(static_server, tmp_path, 4, 2)
    job = CancellableJob()
    assert [r.new_posts for r in job.run(lambda: sync_sites(store, sites, processes=2))] == [2, 2, 2, 2]
    assert len(workers) == 1 and workers[0].returncode == 0

    quiet = _silent_sites(store, silent_server, 8)
    outcome: list[BaseException] = []

    def refresh() -> None:
        try:
            job.run(lambda: sync_sites(store, quiet, processes=2))
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=refresh)
    thread.start()
    while len(workers) < 2:
        time.sleep(0.01)
    time.sleep(0.3)
    job.cancel()
    thread.join(2.0)
    assert not thread.is_alive() and isinstance(outcome[0], Cancelled)
    assert _wait_gone(workers[1].pid, 1.0)


def test_a_cache_directory_where_the_sync_runs_is_not_imported(static_server, workers, monkeypatch, tmp_path):
    """The worker imports the ``cache`` that started it, not whatever ``./cache`` is."""
    trap = tmp_path / "trap" / "cache"
    trap.mkdir(parents=True)
    (trap / "__init__.py").write_text("raise SystemExit('the wrong cache package')\n")
    (trap / "syncworker.py").write_text("")
    store, sites = _feed_sites(static_server, tmp_path, 4, 2)
    monkeypatch.chdir(trap.parent)

    results = asyncio.run(sync_sites(store, sites, processes=2))

    assert len(workers) == 1 and workers[0].returncode == 0
    assert all(r.ok and r.new_posts == 2 for r in results), [r.summary() for r in results]


@pytest.fixture
def slow_feeds(tmp_path) -> Iterator[tuple[str, int]]:
    """Four feeds of two items on a loopback server that answers the first at once and the
    others a second later: (its URL, the feeds' count)."""
    import http.server
    import threading

    www = tmp_path / "slow"
    www.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(www), **kwargs)

        def do_GET(self):
            if not self.path.endswith("feed-000.xml"):
                time.sleep(1.0)
            super().do_GET()

        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # a client that left mid-answer (the tests stop syncs): nothing to report

    server = Server(("127.0.0.1", 0), Handler)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    write_feed_set(www, url, feeds=4, items=2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url, 4
    finally:
        server.shutdown()
        server.server_close()


def test_sync_and_unread_into_a_pipe_nobody_reads(slow_feeds, tmp_path):
    """`broadsheet sync | head -1`: whatever reads the output leaves after the first site's
    line; the sync goes on and stores every site, with no error and no traceback."""
    url, count = slow_feeds
    cache = str(tmp_path / "cache")
    store = Store(cache)
    store.add_sites(
        [Site(name=f"s{i}", url=url, kind="feed", feed_url=f"{url}feeds/feed-{i:03d}.xml") for i in range(count)]
    )
    command = [sys.executable, "-m", "tui", "--cache-dir", cache]
    for argv in (["sync"], ["unread", "--json"]):
        read, write = os.pipe()
        os.close(read)  # nobody will ever read it: the first write fails with EPIPE
        with os.fdopen(write, "w") as gone:
            done = subprocess.run([*command, *argv], stdout=gone, stderr=subprocess.PIPE, text=True, cwd=REPO)
        assert done.returncode == 0 and done.stderr == "", (argv, done.stderr)
    assert [len(Store(cache).posts(f"s{i}")) for i in range(count)] == [2] * count


def test_sigterm_stops_a_sync_and_keeps_what_finished(slow_feeds, tmp_path):
    url, count = slow_feeds
    cache = str(tmp_path / "cache")
    Store(cache).add_sites(
        [Site(name=f"s{i}", url=url, kind="feed", feed_url=f"{url}feeds/feed-{i:03d}.xml") for i in range(count)]
    )
    sync = subprocess.Popen(
        [sys.executable, "-m", "tui", "--cache-dir", cache, "sync"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    first = sync.stdout.readline()  # the quick site is done; the others wait on the server
    sync.send_signal(signal.SIGTERM)
    out, err = sync.communicate(timeout=10)
    assert first.startswith("s0: 2 new") and sync.returncode == 143, (first, out, err)
    assert err.strip().splitlines() == ["broadsheet: stopped (SIGTERM); what finished is saved"]
    synced = {site.name: site.last_sync for site in Store(cache).sites()}
    assert synced["s0"] and not any(synced[f"s{i}"] for i in range(1, count))
