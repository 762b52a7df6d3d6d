"""Feeds: Broadsheet against newsboat, side by side in one run, on feeds served by nginx.

Targets (issue 7):
- first sync of one 10,000-item RSS feed (~39 MB) <= 1.0x ``newsboat -x reload`` on a fresh cache;
- first sync of 200 feeds x 50 items <= 1.0x newsboat with ``reload-threads 8``;
- re-sync of the 200 unchanged feeds: every feed answered 304, <= 1.0 s;
- ``broadsheet import`` of a 1,000-feed OPML <= 1 s (no network).

Everything is generated (tests/e2e/feedgen.py) into a temp dir and served by a private nginx
on loopback (tests/e2e/feedsite.py: ETag and Last-Modified, no gzip). Each tool runs as a
whole process on a fresh cache; wall time from spawn to exit, peak RSS from the process's own
peak (GNU time's ``%M``; see :func:`run`). Each round runs newsboat and Broadsheet back to back on the same
server, so the ratios compare like with like on a busy machine; the figures are medians over
the rounds. nginx's access log says what each run asked for and got (200s, 304s, conditional
headers sent).

newsboat: ``newsboat -x reload -u URLS -c CACHE -C CONFIG`` with HOME in the temp dir, an
empty config (``reload-threads 8`` for the feed set). Its re-sync figure is its third reload:
2.21 keeps a feed's ETag and Last-Modified only from the second download on
(newsboat/newsboat#2734), so its second reload downloads everything again. Broadsheet: ``python -m tui`` from this
checkout (or ``--broadsheet-repo DIR``), ``--cache-dir`` and ``--config`` in the temp dir: ``import OPML``, ``sync``,
``sync`` again; a part that Broadsheet cannot do yet (no feed support, no ``import``) is
reported as "broadsheet: not available (...)" and the rest still runs.

Needs Debian's newsboat and nginx-light. Run:
    .venv/bin/python bench/bench_feeds.py [--rounds 3] [--items 10000] [--feeds 200 --per-feed 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.e2e.feedgen import (
    FeedRef,
    unreachable_feeds,
    write_big_feed,
    write_feed_set,
    write_newsboat_urls,
    write_opml,
)
from tests.e2e.feedsite import StaticServer, available

BROADSHEET = [sys.executable, "-m", "tui"]
BROADSHEET_REPO = REPO  # --broadsheet-repo: the checkout whose `python -m tui` is measured


@dataclass
class Run:
    """One process run: wall seconds, peak RSS in MB, exit status, output tail, server log."""

    wall: float
    rss_mb: float
    code: int
    out: str
    requests: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.code == 0

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for r in self.requests:
            counts[r.status] = counts.get(r.status, 0) + 1
        return counts

    def error(self) -> str:
        lines = [line for line in self.out.strip().splitlines() if line.strip()]
        return lines[-1][:160] if lines else f"exit status {self.code}"


GNU_TIME = Path("/usr/bin/time")


def run(
    argv: Sequence[str], *, env: dict[str, str], cwd: Path, server: StaticServer | None = None, timeout: float = 600
) -> Run:
    """Run a whole process: wall time from spawn to exit, and its own peak RSS.

    Linux's ``ru_maxrss`` of a child never falls below its parent's RSS at fork (the value
    survives exec), so rusage from this Python process would report its own size for small
    children. The peak comes from GNU time (``%M``: its child is forked from the small time
    process) when installed, else from sampling the child's VmHWM every 10 ms."""
    mark = len(server.requests()) if server else 0
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "time"
        command = list(argv)
        if GNU_TIME.exists():
            command = [str(GNU_TIME), "-q", "-f", "%M", "-o", str(report), *command]
        with open(Path(scratch) / "out", "w+b") as out:
            started = time.perf_counter()
            proc = subprocess.Popen(
                command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
            peak_kb = 0
            try:
                if GNU_TIME.exists():
                    proc.wait(timeout)
                else:
                    deadline = started + timeout
                    while proc.poll() is None and time.perf_counter() < deadline:
                        peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
                        time.sleep(0.01)
                    proc.wait(max(0.0, deadline - time.perf_counter()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            wall = time.perf_counter() - started
            out.seek(0)
            text = out.read().decode(errors="replace")
        if GNU_TIME.exists():
            try:
                peak_kb = int(report.read_text().split()[-1])
            except (OSError, ValueError, IndexError):
                peak_kb = 0
    return Run(wall, peak_kb / 1024, proc.returncode, text[-4000:], server.requests(mark) if server else [])


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
    )
    env.pop("BROADSHEET_CACHE_DIR", None)
    env["BROADSHEET_CONFIG_DIR"] = str(home / "bs-config")
    return env


# -- newsboat ------------------------------------------------------------------------------


def newsboat_reload(
    work: Path, feeds: Sequence[FeedRef], server: StaticServer, *, threads: int | None, reloads: int = 1
) -> tuple[list[Run], int]:
    """``reloads`` runs of ``-x reload``, the first on a fresh cache; returns the runs and
    the number of articles newsboat stored. newsboat 2.21 stores a feed's ETag and
    Last-Modified only from its second download on (newsboat/newsboat#2734), so its
    conditional re-sync is the third reload."""
    work.mkdir(parents=True)
    write_newsboat_urls(work / "urls", feeds)
    (work / "config").write_text(f"reload-threads {threads}\n" if threads else "")
    argv = [
        "newsboat",
        "-x",
        "reload",
        "-u",
        str(work / "urls"),
        "-c",
        str(work / "cache.db"),
        "-C",
        str(work / "config"),
    ]
    env = clean_env(work)
    runs = [run(argv, env=env, cwd=work, server=server) for _ in range(reloads)]
    try:
        with sqlite3.connect(work / "cache.db") as db:
            stored = db.execute("SELECT count(*) FROM rss_item").fetchone()[0]
    except sqlite3.Error:
        stored = -1
    return runs, stored


# -- broadsheet ----------------------------------------------------------------------------


def broadsheet_missing(work: Path) -> str | None:
    """Why Broadsheet cannot run the feed benchmarks yet, or None."""
    work.mkdir(parents=True, exist_ok=True)
    r = run([*BROADSHEET, "import", "--help"], env=clean_env(work), cwd=BROADSHEET_REPO)
    if r.code != 0:
        return f"no `broadsheet import` command: {r.error()}"
    return None


def broadsheet(work: Path, *args: str, server: StaticServer | None = None) -> Run:
    argv = [*BROADSHEET, "--cache-dir", str(work / "cache"), "--config", str(work / "config.toml"), *args]
    return run(argv, env=clean_env(work), cwd=BROADSHEET_REPO, server=server)


def broadsheet_sync(work: Path, opml: Path, server: StaticServer, *, again: bool) -> tuple[Run, Run | None, str]:
    """import OPML, sync, and (``again``) a second sync; the third value is the reason the
    feed part failed ("" when it ran)."""
    work.mkdir(parents=True)
    (work / "config.toml").write_text("")
    (work / "bs-config").mkdir()
    imported = broadsheet(work, "import", str(opml))
    if not imported.ok:
        return imported, None, f"import failed: {imported.error()}"
    first = broadsheet(work, "sync", server=server)
    if not first.ok:
        return first, None, f"sync failed: {first.error()}"
    # right after the first sync no site is due yet: --force asks every feed again (each
    # with its validators, so an unchanged feed answers 304); it ignores <ttl> and the like
    second = broadsheet(work, "sync", "--force", server=server) if again else None
    if second is not None and not second.ok:
        return first, second, f"second sync failed: {second.error()}"
    return first, second, ""


def broadsheet_unread(work: Path) -> str:
    r = broadsheet(work, "unread")
    return r.out.strip().splitlines()[-1] if r.ok and r.out.strip() else "?"


# -- report --------------------------------------------------------------------------------


def med(runs: Sequence[Run | None], attr: str = "wall") -> float | None:
    values = [getattr(r, attr) for r in runs if r is not None and r.ok]
    return statistics.median(values) if values else None


def fmt(seconds: float | None, rss: float | None = None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds:6.2f} s" + (f" {rss:5.0f} MB" if rss is not None else "")


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a is not None and b else "—"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--items", type=int, default=10_000, help="items in the big feed")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--per-feed", type=int, default=50)
    parser.add_argument("--threads", type=int, default=8, help="newsboat reload-threads for the feed set")
    parser.add_argument("--import-feeds", type=int, default=1000)
    parser.add_argument("--no-broadsheet", action="store_true", help="measure newsboat only")
    parser.add_argument(
        "--broadsheet-repo", type=Path, default=REPO, help="run `python -m tui` from this checkout (default: this one)"
    )
    args = parser.parse_args()
    global BROADSHEET_REPO
    BROADSHEET_REPO = args.broadsheet_repo.resolve()
    if reason := available(hugo=False):
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    if not shutil.which("newsboat"):
        print("cannot run: newsboat is missing (apt-get install newsboat)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="broadsheet-bench-feeds-") as tmp_name:
        tmp = Path(tmp_name)
        www = tmp / "www"
        www.mkdir()
        with StaticServer(www) as server:
            t = time.perf_counter()
            big = write_big_feed(www, server.url, items=args.items)
            feeds = write_feed_set(www, server.url, feeds=args.feeds, items=args.per_feed)
            write_opml(tmp / "big.opml", [big])
            write_opml(tmp / "set.opml", feeds)
            write_opml(tmp / "import.opml", unreachable_feeds(args.import_feeds))
            print(
                f"generated in {time.perf_counter() - t:.1f}s: 1 feed x {args.items:,} items "
                f"({big.size / 1e6:.1f} MB); {args.feeds} feeds x {args.per_feed} items "
                f"({sum(f.size for f in feeds) / 1e6:.1f} MB); served by nginx at {server.url}",
                flush=True,
            )

            missing = None if not args.no_broadsheet else "--no-broadsheet"
            if missing is None:
                missing = broadsheet_missing(tmp / "probe")
            import_missing = missing  # the import figure needs only `import`, not feed sync
            results: dict[str, list] = {
                k: []
                for k in (
                    "nb_big",
                    "nb_set",
                    "nb_set1",
                    "nb_set2",
                    "bs_big",
                    "bs_set",
                    "bs_set2",
                    "bs_find",
                    "bs_find2",
                )
            }
            stored: dict[str, object] = {}
            for n in range(args.rounds):
                (nb_big,), stored["nb_big"] = newsboat_reload(tmp / f"nb-big-{n}", [big], server, threads=None)
                (nb_set, nb_set1, nb_set2), stored["nb_set"] = newsboat_reload(
                    tmp / f"nb-set-{n}", feeds, server, threads=args.threads, reloads=3
                )
                for key, r in (("nb_big", nb_big), ("nb_set", nb_set), ("nb_set1", nb_set1), ("nb_set2", nb_set2)):
                    if not r.ok:
                        print(f"newsboat failed ({key}): {r.error()}", file=sys.stderr)
                    results[key].append(r)
                line = (
                    f"round {n + 1}: newsboat big {nb_big.wall:.2f}s {nb_big.rss_mb:.0f} MB, "
                    f"set {nb_set.wall:.2f}s {nb_set.rss_mb:.0f} MB, 2nd reload {nb_set1.wall:.2f}s "
                    f"({nb_set1.statuses()}), 3rd {nb_set2.wall:.2f}s ({nb_set2.statuses()})"
                )
                if missing is None:
                    bs_big, _, why = broadsheet_sync(tmp / f"bs-big-{n}", tmp / "big.opml", server, again=False)
                    if not why:
                        results["bs_big"].append(bs_big)
                        stored["bs_big"] = broadsheet_unread(tmp / f"bs-big-{n}")
                        bs_set, bs_set2, why = broadsheet_sync(
                            tmp / f"bs-set-{n}", tmp / "set.opml", server, again=True
                        )
                    if why:
                        missing = why
                    else:
                        results["bs_set"].append(bs_set)
                        results["bs_set2"].append(bs_set2)
                        stored["bs_set"] = broadsheet_unread(tmp / f"bs-set-{n}")
                        # a sync does not index: the first search indexes the 10,000 posts
                        results["bs_find"].append(broadsheet(tmp / f"bs-set-{n}", "search", "harbour"))
                        results["bs_find2"].append(broadsheet(tmp / f"bs-set-{n}", "search", "harbour"))
                        line += (
                            f"; broadsheet big {bs_big.wall:.2f}s {bs_big.rss_mb:.0f} MB, set {bs_set.wall:.2f}s, "
                            f"again {bs_set2.wall:.2f}s ({bs_set2.statuses()})"
                        )
                print(line, flush=True)

            nb_import = run(
                [
                    "newsboat",
                    "-i",
                    str(tmp / "import.opml"),
                    "-u",
                    str(tmp / "nb-import-urls"),
                    "-c",
                    str(tmp / "nb-import.db"),
                    "-C",
                    str(tmp / "nb-import-config"),
                ],
                env=clean_env(tmp),
                cwd=tmp,
            )
            try:
                nb_imported = len((tmp / "nb-import-urls").read_text().splitlines())
            except OSError:
                nb_imported = 0
            if nb_imported != args.import_feeds:
                print(
                    f"newsboat -i imported {nb_imported} of {args.import_feeds} feeds: {nb_import.error()}",
                    file=sys.stderr,
                )
            bs_import = None
            if import_missing is None:
                work = tmp / "bs-import"
                work.mkdir()
                (work / "config.toml").write_text("")
                (work / "bs-config").mkdir()
                bs_import = broadsheet(work, "import", str(tmp / "import.opml"))
                if not bs_import.ok:
                    import_missing = f"import of {args.import_feeds} feeds failed: {bs_import.error()}"
                    bs_import = None

    last_set2 = results["nb_set2"][-1] if results["nb_set2"] else None
    bs_set2 = results["bs_set2"][-1] if results["bs_set2"] else None
    print()
    print(
        f"Medians of {args.rounds} round(s); whole processes, fresh caches. "
        "This machine is shared: figures are indicative."
    )
    head = f"{'what':44} {'newsboat':>17} {'broadsheet':>17} {'ratio':>7}  target"
    print(head)
    print("-" * len(head))
    rows = [
        (f"first sync, 1 feed x {args.items:,} items", "nb_big", "bs_big", "≤ 1.0× newsboat"),
        (
            f"first sync, {args.feeds} feeds x {args.per_feed} (threads {args.threads})",
            "nb_set",
            "bs_set",
            "≤ 1.0× newsboat",
        ),
    ]
    for label, nb, bs, target in rows:
        a, b = med(results[bs]), med(results[nb])
        print(
            f"{label:44} {fmt(b, med(results[nb], 'rss_mb')):>17} {fmt(a, med(results[bs], 'rss_mb')):>17} "
            f"{ratio(a, b):>7}  {target}"
        )
    a, b = med(results["bs_set2"]), med(results["nb_set2"])
    print(f"{f're-sync, {args.feeds} unchanged feeds':44} {fmt(b):>17} {fmt(a):>17} {ratio(a, b):>7}  ≤ 1.0 s, all 304")
    for label, key in (
        (f"first search after it (indexes {args.feeds * args.per_feed:,} posts)", "bs_find"),
        ("the next search (nothing to index)", "bs_find2"),
    ):
        print(f"{label:44} {'':>17} {fmt(med(results[key])):>17} {'':>7}  (no target; newsboat has no index)")
    imp = bs_import.wall if bs_import else None
    print(
        f"{f'import of a {args.import_feeds:,}-feed OPML':44} {fmt(nb_import.wall if nb_import.ok else None):>17} "
        f"{fmt(imp):>17} {ratio(imp, nb_import.wall if nb_import.ok else None):>7}  ≤ 1 s"
    )
    print()
    print(
        f"stored: newsboat {stored.get('nb_big')} articles (big), {stored.get('nb_set')} (set); "
        f"broadsheet unread {stored.get('bs_big', '—')} (big), {stored.get('bs_set', '—')} (set)"
    )
    if last_set2 is not None:
        conditional = sum(1 for r in last_set2.requests if r.if_none_match or r.if_modified_since)
        print(
            f"newsboat re-sync (its 3rd reload: newsboat/newsboat#2734) asked {len(last_set2.requests)} "
            f"times, {conditional} conditional; answers {last_set2.statuses()}"
        )
    if bs_set2 is not None:
        print(
            f"broadsheet re-sync asked {len(bs_set2.requests)} times; answers {bs_set2.statuses()}"
            + ("" if bs_set2.statuses() == {304: args.feeds} else f"  (target: {{304: {args.feeds}}})")
        )
        a = med(results["bs_set2"])
        print(
            "targets: re-sync "
            + ("met" if a is not None and a <= 1.0 and bs_set2.statuses() == {304: args.feeds} else "NOT met")
        )
    if missing:
        print(f"broadsheet: not available ({missing})")
    if import_missing and import_missing != missing:
        print(f"broadsheet import: not available ({import_missing})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
