"""The reader over a heavy reader's cache (issue 11): 200 sites × 500 posts (run by hand).

Builds the cache with ``cachegen.build_sites`` (through ``Store.save_sync``; ``--cache DIR``
keeps it between runs, each run measures a fresh copy) and the search index, then runs the
reader headless in a fresh process, driven as ``bench_tui.py`` drives it (keys as the
terminal driver sends them, every screen update turned into terminal bytes):

- launch → the tree painted (folders and sites, from the summaries);
- ``n`` → the next article's first lines on screen, 50 presses in 10 rounds: each round
  opens the third-oldest post of a site (not timed) and presses ``n`` five times, so the
  third press of each round crosses into the next site (whose posts are not loaded
  unless read ahead); p50/p95 over all, and p95 of the crossings alone;
- ``/`` QUERY ``enter`` → the "Search: QUERY" node with its first result on screen;
- peak RSS of the measuring process (``ru_maxrss``: the reader *plus* the harness, an
  upper bound) after all of it (20 sites visited).

Targets (issue 11): first paint ≤ 0.8 s, ``n`` p95 ≤ 50 ms including crossings, RSS ≤ 150 MB;
search results ≤ 150 ms after enter (issue 9, there on 10,000 posts; ``--sites 20``).
Run: ``.venv/bin/python bench/bench_scale_tui.py [--sites N] [--cache DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

ROUNDS = 10
QUERY = "lantern festival"


def build(directory: Path, sites: int) -> None:
    from cachegen import build_sites

    from cache.service import Service

    t0 = time.perf_counter()
    build_sites(directory, sites=sites)
    Service(directory).reindex()
    print(f"built {sites} sites in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    time.sleep(2.1)  # past the store's "racy" window, as a real cache is


def fresh_summaries(directory: Path) -> None:
    """A copy gives every index a new inode, so each ``summary.json`` no longer matches its
    index and the store would fall back to the indexes: commit a nothing-new sync per site,
    as ``broadsheet sync`` would, which rewrites the summaries for the copied files."""
    from cache.store import Store

    store = Store(directory)
    for site in store.sites():
        store.save_sync(site.name, posts=[])
        store.close()
    time.sleep(0.3)  # past the store's "racy" window


def markers(directory: str) -> dict[str, str]:
    """Each article's first words, read in the parent (its reads do not count in the RSS)."""
    from cache.store import Store

    store = Store(directory)
    found = {}
    for site in store.sites():
        for pid in (1, 2, 3, 500, 499, 498):
            body = store.body(site.name, pid)
            first = next(line for line in body.splitlines() if line.strip())
            found[f"{site.name}/{pid}"] = first.lstrip("#>-*+ ")[:30]
    store.close()
    return found


def measure(directory: str, shows: dict[str, str]) -> dict[str, float]:
    import asyncio
    import resource

    started = time.perf_counter()
    from textual import events

    from cache.config import Config, ReaderConfig
    from cache.store import Store
    from tui.app import make_app

    figures: dict[str, float] = {}

    async def run() -> None:
        app = make_app(Store(directory), Config(reader=ReaderConfig(refresh_after_minutes=0)))
        frames: list[float] = []
        wanted: list[str] = []
        seen = asyncio.Event()
        seen_at = [0.0]
        display = app._display

        def record(screen, update) -> None:
            display(screen, update)
            if update is None or app._batch_count:
                return
            output = update.render_segments(app.console)
            frames.append(time.perf_counter())
            wanted[:] = [text for text in wanted if text not in output]
            if not wanted and not seen.is_set():
                seen_at[0] = frames[-1]
                seen.set()

        app._display = record  # type: ignore[method-assign]

        async def settle(quiet: float = 0.35) -> None:
            await app.workers.wait_for_complete()
            while True:
                count = len(frames)
                await asyncio.sleep(quiet)
                if len(frames) == count and not getattr(app.reader.article_view, "rendering", False):
                    return

        async def timed(action, *texts: str) -> float:
            await settle()
            frames.clear()
            wanted[:] = texts
            seen.clear()
            t0 = time.perf_counter()
            action()
            await asyncio.wait_for(seen.wait(), 10)
            return 1000 * (seen_at[0] - t0)

        def press(*keys: str):
            def send() -> None:
                for key in keys:
                    name = "space" if key == " " else key
                    app._driver.send_message(events.Key(name, key if len(key) == 1 else None))

            return send

        wanted[:] = ["Folder 0", "Site0001 Gazette"]
        async with app.run_test(size=(160, 48)):
            reader = app.reader
            await asyncio.wait_for(seen.wait(), 20)
            figures["launch → tree painted (s)"] = seen_at[0] - started
            while not reader.loaded:
                await asyncio.sleep(0.01)
            figures["launch → summaries loaded (s)"] = time.perf_counter() - started
            order = reader.listing.order()
            shown, crossings = [], []
            site = order[0]
            for _ in range(ROUNDS):
                await settle()
                reader.open_post((site, None), 3)
                await settle()
                following = reader.lists.next_site(site, +1, unread=False)
                assert following is not None
                steps = [(site, 2), (site, 1), (following, 500), (following, 499), (following, 498)]
                for name, pid in steps:
                    ms = await timed(press("n"), shows[f"{name}/{pid}"])
                    shown.append(ms)
                    if pid == 500:
                        crossings.append(ms)
                site = reader.lists.next_site(following, +1, unread=False) or order[0]
            shown.sort()
            figures["n → next article p50 (ms)"] = shown[len(shown) // 2]
            figures["n → next article p95 (ms)"] = shown[int(len(shown) * 0.95) - 1]
            figures["n into another site, max (ms)"] = max(crossings)
            figures["site listings kept"] = len(reader.listing.sites)
            await settle()
            reader.site_tree.focus()
            press("slash")()
            await settle()  # the box takes the focus once the key is handled
            press(*QUERY)()
            await settle()
            try:
                found = await timed(press("enter"), "Search: ")
            except TimeoutError:
                from tui.textual_compat import notifications, screen_text

                print(screen_text(app.screen), [n.message for n in notifications(app)], file=sys.stderr)
                raise
            figures["/ search → results on screen (ms)"] = found
            figures["search results"] = len(reader.site_tree._search[1]) if reader.site_tree._search else 0
            await settle()
        figures["peak RSS, harness included (MB)"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    asyncio.run(run())
    return figures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--cache")
    parser.add_argument("--measure")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, json.loads(sys.stdin.read()))))
        return 0
    with tempfile.TemporaryDirectory(prefix="broadsheet-scale-tui-") as tmp:
        source = Path(args.cache) if args.cache else Path(tmp) / "built"
        if not (source / "sites.json").exists():
            build(source, args.sites)
        directory = Path(tmp) / "run"
        shutil.copytree(source, directory, copy_function=shutil.copy2)
        fresh_summaries(directory)
        # as the reader left it: the index level with the cache (in a process of its own, or
        # the measuring child would inherit this one's peak RSS at fork)
        subprocess.run(
            [sys.executable, "-c", f"from cache.service import Service; Service({str(directory)!r}).catch_up_index()"],
            cwd=ROOT,
            check=True,
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        out = subprocess.run(
            [sys.executable, __file__, "--measure", str(directory)],
            env=env,
            check=False,
            capture_output=True,
            text=True,
            input=json.dumps(markers(str(directory))),
        )
        if out.returncode:
            print(out.stderr[-3000:], file=sys.stderr)
            return 1
        figures = json.loads(out.stdout.strip().splitlines()[-1])
    targets = {
        "launch → tree painted (s)": 0.8,
        "n → next article p95 (ms)": 50,
        "/ search → results on screen (ms)": 150,
        "peak RSS, harness included (MB)": 150,
    }
    print(f"{'measure':40} {'value':>9} {'target':>8}")
    for name, value in figures.items():
        target = targets.get(name)
        mark = "" if target is None else ("  ok" if value <= target else "  OVER")
        print(f"{name:40} {value:9.3f} {'' if target is None else target:>8}{mark}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
