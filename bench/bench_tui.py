"""Reader benchmarks (run by hand: ``python bench/bench_tui.py``; not collected by pytest).

Builds a 10,000-post cache (bodies ~4 KB, 40 categories, one post with a 1,000-comment
thread) with ``Store.save_sync`` in a temporary directory, then, in a fresh process so
the figures are the reader's own:

- launch → first paint of an article opened with ``--open`` (imports included);
- ``n`` → the next article's first lines on screen: p50/p95 over 50 presses; also p95 to
  the last screen update the key caused, and how many updates it took;
- ``n`` held down (30 presses a second): the last article on screen after the last press;
- opening the 1,000-comment thread (article and first comment on screen);
- opening a 10,000-word article (first screen, then the whole article drawn);
- ``pagedown`` in the comments;
- peak RSS (``resource.getrusage``).

"On screen" means in a screen update turned into terminal output; see ``measure``.
``--cache DIR`` keeps the built cache between runs (each run measures a fresh copy).

Targets (issue): launch ≤ 0.8 s, ``n`` p95 ≤ 50 ms, 1,000 comments ≤ 300 ms, RSS ≤ 150 MB.
"""

from __future__ import annotations

import json
import os
import random
import shutil
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
HELD = 20  # presses of n "held down"
WORDS = [
    "harbour",
    "pontoon",
    "ferry",
    "council",
    "tide",
    "quay",
    "sailing",
    "library",
    "review",
    "market",
    "weather",
    "fog",
    "lantern",
]


def _para(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def to_html(markdown: str) -> str:
    """The HTML a WordPress site would send for a synthetic Markdown body."""
    from markdown_it import MarkdownIt  # Rich's own Markdown parser

    return MarkdownIt("commonmark").enable("table").render(markdown)


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
    store.add_site(
        Site(name=SITE, url="https://bench.invalid/", title="Bench Gazette", last_sync="2099-01-01T00:00:00")
    )
    cats = [
        Category(id=i, site=SITE, name=f"Section {i}", slug=f"s{i}", parent=0 if i <= 10 else (i % 10) + 1)
        for i in range(1, 41)
    ]
    posts, bodies = [], {}
    for pid in range(1, POSTS + 1):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_600_000_000 + pid * 3600))
        posts.append(
            Post(
                id=pid,
                site=SITE,
                title=f"Post {pid}: {_para(rng, 8)}",
                date=stamp,
                date_gmt=stamp,
                modified=stamp,
                modified_gmt=stamp,
                link=f"https://bench.invalid/?p={pid}",
                author="Reporter",
                categories=[rng.randint(1, 40), rng.randint(1, 40)],
                excerpt=_para(rng, 30),
            )
        )
        bodies[pid] = _body(rng)
    bodies[LONG_POST] = "\n\n".join(("## Part %d\n\n" % i if i % 10 == 0 else "") + _para(rng, 100) for i in range(100))
    comments = []
    for cid in range(1, 1001):
        parent = 0 if cid % 5 == 1 else cid - 1
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_700_000_000 + cid * 60))
        comments.append(
            Comment(
                id=cid,
                site=SITE,
                post=BIG_THREAD,
                parent=parent,
                author=f"Reader {cid % 37}",
                date=stamp,
                date_gmt=stamp,
                text=_para(rng, rng.randint(10, 80)),
            )
        )
    for start in range(0, POSTS, 2000):
        chunk = posts[start : start + 2000]
        # stored as a sync stores them: HTML, converted to Markdown when the reader reads it
        store.save_sync(
            SITE,
            posts=chunk,
            html={p.id: to_html(bodies[p.id]) for p in chunk},
            comments=[],
            categories=cats if start == 0 else None,
        )
    store.save_sync(SITE, posts=[], bodies={}, comments=comments)
    # as a sync leaves a cache: with its search index (`/` searches it)
    from cache.service import Service

    Service(store=store).catch_up_index()


def _marker(body: str) -> str:
    """Text that shows only once an article's body is drawn: the start of its first line."""
    first = next(line for line in body.splitlines() if line.strip())
    return first.lstrip("#>-*+ ")[:30]


def screen_markers(directory: str) -> dict[str, str]:
    """What shows that each post the benchmark opens is on screen (read in the parent process,
    so the bodies it reads do not count in the reader's RSS)."""
    sys.path.insert(0, str(ROOT))
    from cache import Store

    store = Store(directory)
    found = {
        str(pid): _marker(store.body(SITE, pid))
        for pid in [*range(POSTS, POSTS - 52 - HELD, -1), BIG_THREAD, LONG_POST]
    }
    found["first comment"] = store.comments(SITE, BIG_THREAD)[0].text[:20]
    store.close()
    return found


def measure(directory: str, shows: dict[str, str]) -> dict[str, float]:
    """Run the reader headless over the cache and time it (call in a fresh process).

    Honest frames: a key goes in as the terminal driver would send it (not through the
    pilot, which forces screen updates), and every screen update is turned into the bytes
    a terminal would get (headless apps skip that step). A key's latency runs to the
    first update that contains the new article's first line; "settled" runs to the last
    update the key caused (the rest of a long article, say).
    """
    import asyncio
    import resource

    started = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from textual import events

    from cache import Store
    from cache.config import Config, ReaderConfig
    from tui.app import make_app

    figures: dict[str, float] = {}
    markers = {int(k): v for k, v in shows.items() if k.isdigit()}
    first_comment = shows["first comment"]

    async def run() -> None:
        store = Store(directory)
        app = make_app(store, Config(reader=ReaderConfig(refresh_after_minutes=0)), open_post=str(POSTS))
        frames: list[float] = []
        wanted: list[str] = []
        seen = asyncio.Event()
        seen_at = [0.0]
        display = app._display

        def record(screen, update) -> None:
            display(screen, update)
            if update is None or app._batch_count:
                return
            output = update.render_segments(app.console)  # what a terminal would be sent
            frames.append(time.perf_counter())
            wanted[:] = [text for text in wanted if text not in output]
            if not wanted and not seen.is_set():
                seen_at[0] = frames[-1]
                seen.set()

        app._display = record  # type: ignore[method-assign]

        async def settle(quiet: float = 0.35) -> None:
            """Wait until the app has drawn nothing for ``quiet`` seconds — longer than the
            reader's deferred work (the header's unread count, 0.25 s after the last key), so
            one key's deferred redraw is not charged to the next key."""
            await app.workers.wait_for_complete()
            while True:
                count = len(frames)
                await asyncio.sleep(quiet)
                if len(frames) == count and not getattr(getattr(app, "reader", app).article_view, "rendering", False):
                    return

        async def timed(action, *texts: str) -> tuple[float, float, int]:
            """(ms to the update that showed the last of ``texts``, ms to the last update,
            updates)."""
            await settle()
            frames.clear()
            wanted[:] = texts
            seen.clear()
            t0 = time.perf_counter()
            action()
            await asyncio.wait_for(seen.wait(), 5)
            await settle()
            return 1000 * (seen_at[0] - t0), 1000 * (frames[-1] - t0), len(frames)

        def press(key: str):
            def send() -> None:
                app._driver.send_message(events.Key(key, key if len(key) == 1 else None))

            return send

        wanted[:] = [markers[POSTS]]
        async with app.run_test(size=(120, 40)):
            reader = getattr(app, "reader", app)  # the reader screen (the app itself before the split)
            await asyncio.wait_for(seen.wait(), 10)
            figures["launch → article painted (s)"] = seen_at[0] - started
            while not reader.loaded:
                await asyncio.sleep(0.01)
            figures["launch → sidebar loaded (s)"] = time.perf_counter() - started
            shown, settled, updates = [], [], []
            for pid in range(POSTS - 1, POSTS - 51, -1):
                first, last, count = await timed(press("n"), markers[pid])
                shown.append(first)
                settled.append(last)
                updates.append(count)
            shown.sort()
            settled.sort()
            figures["n → next article p50 (ms)"] = shown[len(shown) // 2]
            figures["n → next article p95 (ms)"] = shown[int(len(shown) * 0.95) - 1]
            figures["n → settled p95 (ms)"] = settled[int(len(settled) * 0.95) - 1]
            figures["n → screen updates (mean)"] = sum(updates) / len(updates)
            # n held down (30 presses a second, a usual key repeat): nothing is ready ahead
            await settle()
            last = POSTS - 50 - HELD  # the loop above stopped at POSTS - 50
            frames.clear()
            wanted[:] = [markers[last]]
            seen.clear()
            for _ in range(HELD):
                press("n")()
                t0 = time.perf_counter()
                await asyncio.sleep(1 / 30)
            await asyncio.wait_for(seen.wait(), 5)
            figures["n held: last article after last key (ms)"] = 1000 * (seen_at[0] - t0)
            first, _, _ = await timed(
                lambda: reader.open_post((SITE, None), BIG_THREAD), markers[BIG_THREAD], first_comment
            )
            figures["open 1,000-comment thread (ms)"] = first
            first, last, _ = await timed(lambda: reader.open_post((SITE, None), LONG_POST), markers[LONG_POST])
            figures["open 10,000-word article (ms)"] = first
            figures["10,000-word article settled (ms)"] = last
            reader.open_post((SITE, None), BIG_THREAD)
            reader.comment_thread.focus()
            pages = [(await timed(press("pagedown")))[1] for _ in range(50)]
            pages.sort()
            figures["comments: pagedown p95 (ms)"] = pages[int(len(pages) * 0.95) - 1]
        figures["peak RSS (MB)"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    asyncio.run(run())
    return figures


def _measure_in_child(directory: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, __file__, "--measure", directory],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        input=json.dumps(screen_markers(directory)),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _build_aged(directory: str) -> None:
    t0 = time.perf_counter()
    build(directory)
    print(f"built a {POSTS:,}-post cache in {time.perf_counter() - t0:.1f}s")
    time.sleep(2.1)  # let the files age past the store's "racy" window, as a real cache is


def main() -> int:
    """``bench_tui.py`` (a fresh cache) or ``bench_tui.py --cache DIR`` (kept; built if absent)."""
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--measure":
        print(json.dumps(measure(args[1], json.loads(sys.stdin.read()))))
        return 0
    if len(args) == 2 and args[0] == "--cache":
        if not (Path(args[1]) / "sites" / SITE).is_dir():
            _build_aged(args[1])
        with tempfile.TemporaryDirectory(prefix="broadsheet-bench-") as directory:
            # a fresh copy (every post unread again); copy2 keeps the files' old mtimes
            shutil.copytree(args[1], directory, dirs_exist_ok=True, copy_function=shutil.copy2)
            figures = _measure_in_child(directory)
    else:
        with tempfile.TemporaryDirectory(prefix="broadsheet-bench-") as directory:
            _build_aged(directory)
            figures = _measure_in_child(directory)
    targets = {
        "launch → article painted (s)": 0.8,
        "n → next article p95 (ms)": 50,
        "open 1,000-comment thread (ms)": 300,
        "peak RSS (MB)": 150,
    }
    print(f"{'measure':40} {'value':>9} {'target':>8}")
    for name, value in figures.items():
        target = targets.get(name)
        mark = "" if target is None else ("  ok" if value <= target else "  OVER")
        print(f"{name:40} {value:9.3f} {'' if target is None else target:>8}{mark}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
