"""Reader benchmarks (run by hand: ``python bench/bench_tui.py``; not collected by pytest).

Builds a 10,000-post cache (bodies ~4 KB, 40 categories, one post with a 1,000-comment
thread) with ``Store.save_sync`` in a temporary directory, then, in a fresh process so
the figures are the reader's own:

- launch → first paint of an article opened with ``--open`` (imports included);
- ``n`` → next article rendered: p50/p95 over 50 presses;
- opening the 1,000-comment thread (article + comments drawn);
- opening a 10,000-word article (first screen drawn);
- peak RSS (``resource.getrusage``).

Targets (issue): launch ≤ 0.8 s, ``n`` p95 ≤ 50 ms, 1,000 comments ≤ 300 ms, RSS ≤ 150 MB.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE = "bench"
POSTS = 10_000
BIG_THREAD = 5_000  # the post with 1,000 comments
LONG_POST = 5_001  # the 10,000-word article
WORDS = "harbour pontoon ferry council tide quay sailing library review market weather fog lantern".split()


def _para(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _body(rng: random.Random, size: int = 4000) -> str:
    parts, length = [], 0
    while length < size:
        kind = rng.random()
        if kind < 0.1:
            part = "## " + _para(rng, 4)
        elif kind < 0.2:
            part = "\n".join(f"- {_para(rng, 6)}" for _ in range(3))
        elif kind < 0.25:
            part = "> " + _para(rng, 30)
        else:
            part = _para(rng, 60)
        parts.append(part)
        length += len(part)
    return "\n\n".join(parts)


def build(directory: str) -> None:
    """Fill a cache with the benchmark site."""
    sys.path.insert(0, str(ROOT))
    from cache import Category, Comment, Post, Site, Store

    rng = random.Random(7)
    store = Store(directory)
    store.add_site(Site(name=SITE, url="https://bench.invalid/", title="Bench Gazette", last_sync="2099-01-01T00:00:00"))
    cats = [Category(id=i, site=SITE, name=f"Section {i}", slug=f"s{i}", parent=0 if i <= 10 else (i % 10) + 1) for i in range(1, 41)]
    posts, bodies = [], {}
    for pid in range(1, POSTS + 1):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_600_000_000 + pid * 3600))
        posts.append(Post(
            id=pid, site=SITE, title=f"Post {pid}: {_para(rng, 8)}", date=stamp, date_gmt=stamp, modified=stamp,
            modified_gmt=stamp, link=f"https://bench.invalid/?p={pid}", author="Reporter",
            categories=[rng.randint(1, 40), rng.randint(1, 40)], excerpt=_para(rng, 30),
        ))
        bodies[pid] = _body(rng)
    bodies[LONG_POST] = "\n\n".join(("## Part %d\n\n" % i if i % 10 == 0 else "") + _para(rng, 100) for i in range(100))
    comments = []
    for cid in range(1, 1001):
        parent = 0 if cid % 5 == 1 else cid - 1
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_700_000_000 + cid * 60))
        comments.append(Comment(id=cid, site=SITE, post=BIG_THREAD, parent=parent, author=f"Reader {cid % 37}",
                                date=stamp, date_gmt=stamp, text=_para(rng, rng.randint(10, 80))))
    for start in range(0, POSTS, 2000):
        chunk = posts[start:start + 2000]
        store.save_sync(SITE, posts=chunk, bodies={p.id: bodies[p.id] for p in chunk}, comments=[],
                        categories=cats if start == 0 else None)
    store.save_sync(SITE, posts=[], bodies={}, comments=comments)


def measure(directory: str) -> dict[str, float]:
    """Run the reader headless over the cache and time it (call in a fresh process)."""
    import asyncio
    import resource

    started = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from cache import Store
    from cache.config import Config, ReaderConfig
    from tui.app import make_app

    figures: dict[str, float] = {}

    async def run() -> None:
        store = Store(directory)
        app = make_app(store, Config(reader=ReaderConfig(refresh_after_minutes=0)), open_post=str(POSTS))
        async with app.run_test(size=(120, 40)) as pilot:
            while not (app.article_view.article and app.article_view._pool and app.article_view._pool[0].region.height):
                await pilot.pause(0)
            figures["launch → article painted (s)"] = time.perf_counter() - started
            while not app.loaded:
                await pilot.pause(0.01)
            figures["launch → sidebar loaded (s)"] = time.perf_counter() - started
            await app.workers.wait_for_complete()
            # Latency = key posted → the last frame that work produced (the pilot's own
            # idle-waiting after that frame is not counted).
            frames: list[float] = []
            display = app._display

            def record(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
                frames.append(time.perf_counter())
                return display(*args, **kwargs)

            app._display = record  # type: ignore[method-assign]

            async def timed(action) -> float:  # noqa: ANN001
                frames.clear()
                t0 = time.perf_counter()
                await action()
                await pilot.pause()
                return (frames[-1] if frames else time.perf_counter()) - t0

            times = []
            for _ in range(50):
                times.append(await timed(lambda: pilot.press("n")))
                await app.workers.wait_for_complete()
            times.sort()
            figures["n → next article p50 (ms)"] = 1000 * times[len(times) // 2]
            figures["n → next article p95 (ms)"] = 1000 * times[int(len(times) * 0.95) - 1]
            for label, pid in (("open 1,000-comment thread (ms)", BIG_THREAD), ("open 10,000-word article (ms)", LONG_POST)):
                async def open_it(pid=pid) -> None:  # noqa: ANN001
                    app.open_post((SITE, None), pid)
                figures[label] = 1000 * await timed(open_it)
            thread = app.comment_thread
            app.open_post((SITE, None), BIG_THREAD)
            await pilot.pause()
            thread.focus()
            pages = sorted([await timed(lambda: pilot.press("pagedown")) for _ in range(50)])
            figures["comments: pagedown p95 (ms)"] = 1000 * pages[int(len(pages) * 0.95) - 1]
        figures["peak RSS (MB)"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    asyncio.run(run())
    return figures


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(json.dumps(measure(sys.argv[2])))
        return 0
    with tempfile.TemporaryDirectory(prefix="broadsheet-bench-") as directory:
        t0 = time.perf_counter()
        build(directory)
        print(f"built a {POSTS:,}-post cache in {time.perf_counter() - t0:.1f}s")
        time.sleep(2.1)  # let the files age past the store's "racy" window, as a real cache is
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, __file__, "--measure", directory], env=env, check=True,
                             capture_output=True, text=True)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
    targets = {"launch → article painted (s)": 0.8, "n → next article p95 (ms)": 50,
               "open 1,000-comment thread (ms)": 300, "peak RSS (MB)": 150}
    print(f"{'measure':40} {'value':>9} {'target':>8}")
    for name, value in figures.items():
        target = targets.get(name)
        mark = "" if target is None else ("  ok" if value <= target else "  OVER")
        print(f"{name:40} {value:9.3f} {'' if target is None else target:>8}{mark}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
