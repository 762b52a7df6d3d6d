"""Full-text search (``cache.search``) over 10,000 posts and 30,000 comments.

Target (issue 9): ``search`` <= 0.3 s as a whole process (interpreter start, imports, query,
printing the hits). Also reported: a full rebuild, the index's size on disk, and what keeping
it up to date adds to a sync (``refresh`` after saving 100 new posts with 300 comments,
beside the ``save_sync`` of those posts itself).
Run: .venv/bin/python bench/bench_search.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cachegen import build_cache, paragraph

TARGET = 0.3

# What `broadsheet search QUERY` will do: import only the search module, query, print.
QUERY = """
import sys
sys.path.insert(0, sys.argv[1])
from cache.search import SearchIndex
hits = SearchIndex(sys.argv[2]).search(sys.argv[3])
for h in hits:
    print(f"{h.site} {h.id:<6} {h.date[:10]} {h.title[:40]}  {h.marked()}")
heavy = sorted(m for m in ("tinydb", "httpx", "textual", "html_to_markdown", "nh3") if m in sys.modules)
print(len(hits), "hits; heavy modules:", ",".join(heavy) or "none", file=sys.stderr)
"""

QUERIES = [
    ("common word (in every post)", "harbour"),
    ("two words, last as prefix", "harbour qua"),
    ("phrase", '"council vote"'),
    ("rare (one title)", "Post 5000"),
    ("no match", "zanzibar"),
]


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    from cache.models import Comment, Post
    from cache.search import SearchIndex

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "cache"
        store, built = timed(lambda: build_cache(directory))
        print(f"cache: 10,000 posts, 30,000 comments, built in {built:.1f}s")
        index = SearchIndex(directory)
        count, took = timed(lambda: index.rebuild(store))
        size = sum(p.stat().st_size for p in directory.glob("search.sqlite*"))
        print(
            f"rebuild: {count} posts in {took:.2f}s; index on disk {size / 1e6:.1f} MB "
            f"(the cache itself: {sum(p.stat().st_size for p in directory.rglob('*.json')) / 1e6:.1f} MB)"
        )
        _, took = timed(lambda: index.stale_sites(store))
        print(f"stale_sites (fresh index): {took * 1000:.1f} ms")

        failed = False
        command = [sys.executable, "-c", QUERY, str(ROOT), str(directory)]
        for label, query in QUERIES:
            done = subprocess.run([*command, query], capture_output=True, text=True, check=True)
            times = []
            for _ in range(args.runs):
                begin = time.perf_counter()
                subprocess.run([*command, query], capture_output=True, check=True)
                times.append(time.perf_counter() - begin)
            times.sort()
            median, p95 = statistics.median(times), times[max(int(len(times) * 0.95) - 1, 0)]
            failed |= median > TARGET
            print(
                f"search {query!r} ({label}): {done.stderr.strip()}; whole process median {median:.3f}s, "
                f"p95 {p95:.3f}s, min {times[0]:.3f}s over {args.runs} runs (target <= {TARGET}s)"
            )
        baseline = []
        for _ in range(args.runs):
            begin = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            baseline.append(time.perf_counter() - begin)
        print(f"  (a bare `python -c pass` here: median {statistics.median(baseline):.3f}s)")

        # A sync bringing 100 new posts (300 comments), then keeping the index fresh.
        import random

        rng = random.Random(7)
        stamp = "2099-01-01T00:00:00"
        new_posts = [
            Post(
                pid,
                "bench",
                f"Fresh {pid}: {paragraph(rng, 6)}",
                date=stamp,
                date_gmt=stamp,
                modified=stamp,
                modified_gmt=stamp,
                link=f"https://bench.test/p/{pid}/",
            )
            for pid in range(10_001, 10_101)
        ]
        html = {p.id: "".join(f"<p>{paragraph(rng, 60)}</p>\n" for _ in range(9)) for p in new_posts}
        comments = [
            Comment(100_000 + n, "bench", 10_001 + n % 100, text=paragraph(rng, 30), date_gmt="2099-01-02T00:00:00")
            for n in range(300)
        ]
        _, saved = timed(lambda: store.save_sync("bench", posts=new_posts, html=html, comments=comments))
        stale = index.stale_sites(store)
        indexed, refreshed = timed(lambda: index.refresh(store))
        print(
            f"sync of 100 new posts + 300 comments: save_sync {saved:.2f}s; then refresh "
            f"(stale {stale}) re-indexed {indexed} posts in {refreshed:.2f}s (+{refreshed / saved:.0%})"
        )
        hits = index.search("fresh")
        assert hits and hits[0].id >= 10_001, hits[:1]
        _, nothing = timed(lambda: index.refresh(store))
        print(f"refresh with nothing changed: {nothing * 1000:.1f} ms")
        indexed, took = timed(lambda: index.update(store, "bench", range(10_001, 10_101)))
        print(f"update(store, site, 100 post ids) (no diff, no stamps): {indexed} posts in {took:.2f}s")
        more = [
            Comment(200_000 + n, "bench", 1 + n * 97, text=paragraph(rng, 30), date_gmt="2099-01-03T00:00:00")
            for n in range(100)
        ]
        _, saved = timed(lambda: store.save_sync("bench", posts=[], comments=more))
        indexed, took = timed(lambda: index.refresh(store))
        print(f"100 new comments on old posts: save_sync {saved:.2f}s, refresh {took:.2f}s")
        size = sum(p.stat().st_size for p in directory.glob("search.sqlite*"))
        print(f"index on disk after the updates: {size / 1e6:.1f} MB")
        return 1 if failed else 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
