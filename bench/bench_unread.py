"""`broadsheet unread` over 10,000 posts and 30,000 comments: the whole process.

Target (issue 2): <= 0.15 s, what newsboat's `-x print-unread` takes over 10,000 articles.
Run: .venv/bin/python bench/bench_unread.py [--runs 30]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cachegen import build_cache

TARGET = 0.15


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "cache"
        started = time.perf_counter()
        store = build_cache(directory)
        store.mark_read("bench", range(1, 2_501))
        print(f"cache: 10,000 posts, 30,000 comments, built in {time.perf_counter() - started:.1f}s")
        command = [str(Path(sys.executable).with_name("broadsheet")), "unread"]
        env = {**os.environ, "BROADSHEET_CACHE_DIR": str(directory)}
        output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout.strip()
        assert output == "7500", output
        times = []
        for _ in range(args.runs):
            begin = time.perf_counter()
            subprocess.run(command, env=env, capture_output=True, check=True)
            times.append(time.perf_counter() - begin)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(
            f"broadsheet unread -> {output}: median {statistics.median(times):.3f}s, p95 {p95:.3f}s, "
            f"min {times[0]:.3f}s over {args.runs} runs (target <= {TARGET}s)"
        )
        return 0 if statistics.median(times) <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
