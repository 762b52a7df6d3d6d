"""The shell commands over a heavy reader's cache: 200 sites × 500 posts (issue 11).

Each command runs as a whole process (``python -m tui …`` from this checkout, from bytecode
kept in a temporary ``PYTHONPYCACHEPREFIX``, after one warm-up run) under GNU
``/usr/bin/time -f %M``, which reports the child's own peak RSS (``getrusage`` of children
would report at least this script's size). Wall time is the median over ``--runs``.

Targets (issue 11): ``posts --limit 20``, ``categories`` and ``sites`` ≤ 0.2 s and ≤ 60 MB
each on 200 sites × 500 posts (+1,500 comments per site); ``unread`` stays fast.

Run: .venv/bin/python bench/bench_scale.py [--sites 200 --posts 500 --comments 1500]
     [--runs 10] [--cache DIR]   (DIR is built once and reused when it already exists)
The 1,000-site variant: --sites 1000 --posts 100 --comments 300.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cachegen import build_sites

SECONDS, MEGABYTES = 0.2, 60
PYCACHE = tempfile.mkdtemp(prefix="bench-pycache-")  # bytecode outside the source tree
COMMANDS = [
    ("posts --limit 20", True),
    ("posts --limit 20 --unread", True),
    ("categories", True),
    ("sites", True),
    ("unread", False),
]


def measure(command: str, directory: Path, runs: int) -> tuple[float, float, float, int]:
    """(median wall seconds, median CPU seconds, peak RSS in MB over the runs, lines printed)
    of one command. CPU time is the steadier figure on a shared machine."""
    argv = [
        "/usr/bin/time",
        "-f",
        "%M %U %S",
        sys.executable,
        "-m",
        "tui",
        "--cache-dir",
        str(directory),
        *command.split(),
    ]
    env = {**os.environ, "BROADSHEET_CONFIG_DIR": str(directory / "no-config"), "PYTHONPYCACHEPREFIX": PYCACHE}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed Broadsheet runs from bytecode
    env.pop("PYTHONUNBUFFERED", None)  # and prints as a user's shell has it print
    subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, check=False)  # warm: bytecode, page cache
    times, cpu, peaks, lines = [], [], [], 0
    for _ in range(runs):
        begin = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - begin)
        if done.returncode != 0:
            raise SystemExit(f"{command}: exit {done.returncode}: {done.stderr.strip()}")
        rss, user, system = done.stderr.strip().splitlines()[-1].split()
        peaks.append(int(rss) / 1024)
        cpu.append(float(user) + float(system))
        lines = len(done.stdout.splitlines())
    return statistics.median(times), statistics.median(cpu), max(peaks), lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--comments", type=int, default=1_500)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--cache", type=Path, help="build the cache here (once) and keep it")
    args = parser.parse_args()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return bench(args, args.cache or Path(tmp) / "cache")
    finally:
        shutil.rmtree(PYCACHE, ignore_errors=True)


def bench(args: argparse.Namespace, directory: Path) -> int:
    if not (directory / "sites.json").exists():
        started = time.perf_counter()
        build_sites(directory, args.sites, args.posts, args.comments, read=args.posts // 5)
        print(f"built {directory} in {time.perf_counter() - started:.0f}s")
    print(
        f"cache: {args.sites} sites × {args.posts} posts, {args.comments} comments each "
        f"(figures: median of {args.runs} runs, peak RSS the worst run)"
    )
    ok = True
    for command, targeted in COMMANDS:
        seconds, cpu, peak, lines = measure(command, directory, args.runs)
        verdict = ""
        if targeted:
            good = seconds <= SECONDS and peak <= MEGABYTES
            ok &= good
            verdict = "ok" if good else f"MISSES (target ≤ {SECONDS}s, ≤ {MEGABYTES} MB)"
        print(f"  {command:<28} {seconds:6.3f}s (cpu {cpu:5.2f}s) {peak:6.1f} MB  {lines:>5} lines  {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
