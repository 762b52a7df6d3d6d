"""Fault injection: SIGKILL real ``broadsheet`` processes at random moments, then check the cache.

Shared by ``tests/e2e/test_kill.py`` (20 trials, part of ``make test``) and
``bench/bench_kill.py`` (hundreds). A :class:`KillLab` owns one real WordPress (see
``wpserver.py``) and a *template* cache synced from it; every trial works on its own copy
of the template (or, for a first sync, on an empty cache), so trials are independent.

One trial (:meth:`KillLab.trial`):

1. prepare what the operation needs: posts marked read (read state to watch), new posts and
   comments on the site (incremental sync), queued replies (``outbox send``);
2. start the operation as a real ``python -m tui …`` subprocess and SIGKILL it after a delay
   drawn from a seeded RNG, uniformly from 0.7 × the start-up time of the CLI (``outbox
   --json``: interpreter and imports, where a kill tests nothing) to 1.1 × the operation's
   measured duration (a process that finished first is a "completed" trial and is checked
   all the same);
3. check, with real subprocesses, that every command still works (``posts --json``,
   ``unread --json``, ``outbox --json``, ``comments ID --json``, ``search``);
4. run a follow-up ``sync --force`` (it must exit 0; it also sends the outbox and retakes
   replies claimed by the dead process), then check against the site itself:

   * the cache's post count and approved comment count equal the REST API's ``X-WP-Total``
     (what an anonymous reader can see);
   * posts read before the kill are still read; a killed ``mark --all`` left either none or
     all of the posts read — ``state.json`` is written in one atomic replace, so all or
     nothing is what is guaranteed (not "a prefix");
   * every reply is either on the site exactly once (counted in the database, any status)
     with its outbox entry ``sent``/``held``/``unconfirmed``, or not on the site and still in
     the outbox (``queued``/``unconfirmed``/``refused``/``draft``): never lost (not on the
     site and gone from the outbox, or marked sent), never doubled (two comments with its
     text). After the follow-up sync no entry may stay ``sending`` (the dead claimer's entry
     must be retaken). A ``reply`` killed before its entry was written leaves no trace at
     all: counted as "not written", which is allowed (the user saw no answer);
   * no temporary file (``.<name>.<8 random chars>``, ``cache.storage.atomic_write``) is left
     beside a file that has been rewritten since. The follow-up commands run with
     ``cache.storage.STALE_TEMP`` set to 0 (``run_tui_with_stale_temp``), so "the next write
     cleans" is tested at once instead of after 60 s; temporary files beside files nobody
     has written since are allowed by design and only counted (``leftover_temps``).

Replies use unique texts, so comments are counted by text. ``duplicate_check(False)`` installs
a must-use plugin whose ``duplicate_comment_id`` filter returns 0 (WordPress then accepts the
same comment twice): exactly-once must not lean on WordPress's 409; ``moderation(True)`` holds
anonymous comments, which an anonymous reader cannot see (so a lost answer cannot be checked
and the entry must be parked ``unconfirmed``, not resent).
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SITE = "local"
AUTHOR, EMAIL = "Kill Tester", "kill@example.com"
OPERATIONS = ("first", "incremental", "mark", "reply", "send")
#: ``atomic_write``'s temporary files: ``.<target name>.<mkstemp's 8 random characters>``.
TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}$")
#: Problems already reported and covered by an ``xfail(strict=True)`` test: counted in
#: ``Trial.known`` (and in the bench's figures) but not failing a trial. Remove a tag here
#: when its bug is fixed. "placeholder": ``tests/e2e/test_kill.py::
#: test_a_send_killed_between_sent_and_confirm_leaves_no_placeholder``.
KNOWN_BUGS: set[str] = set()
#: Outbox states in which a reply not (yet) on the site is kept for the user.
KEPT = {"queued", "unconfirmed", "refused", "draft"}
#: Outbox states that say (or allow) that the reply is on the site.
ON_SITE = {"sent", "held", "unconfirmed"}

_STALE_TEMP_ZERO = (
    "import sys, cache.storage as s; s.STALE_TEMP = 0.0; from tui.cli import main; sys.exit(main(sys.argv[1:]))"
)

NO_DUPLICATE_CHECK_PHP = """<?php
// Installed at run time by tests/e2e/killing.py: a site without WordPress's duplicate
// comment check (a resend becomes a second comment).
add_filter('duplicate_comment_id', '__return_zero', 99);
"""


@dataclass
class Trial:
    """One killed (or completed) operation and what the checks found."""

    op: str
    delay: float
    killed: bool = False
    returncode: int | None = None
    problems: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)  # problems of KNOWN_BUGS
    replies: Counter = field(default_factory=Counter)  # outcome -> count
    leftover_temps: int = 0
    seconds: float = 0.0
    ran: float = 0.0  # how long the process ran (to its end, or to the kill)

    @property
    def survived(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        what = "killed" if self.killed else f"completed (exit {self.returncode})"
        known = "".join(f" (known bug: {k})" for k in self.known)
        return f"{self.op} after {self.delay:.3f}s, {what}: " + ("; ".join(self.problems) or "ok") + known


class KillLab:
    """Kill trials against ``wp`` (a started :class:`~tests.e2e.wpserver.WordPress`);
    caches live under ``workdir``. ``rng`` draws the delays and the posts used."""

    def __init__(self, wp: Any, workdir: Path, rng: random.Random, *, python: str = sys.executable) -> None:
        self.wp = wp
        self.workdir = Path(workdir)
        self.rng = rng
        self.python = python
        self.template = self.workdir / "template"
        self.durations: dict[str, float] = {}
        self.startup = 0.0
        self._n = 0
        self._procs: set[subprocess.Popen] = set()

    # -- processes ---------------------------------------------------------------------

    def env(self, cache: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env["BROADSHEET_CACHE_DIR"] = str(cache)
        env["BROADSHEET_CONFIG_DIR"] = str(self.workdir / "config")
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        return env

    def argv(self, *args: str, stale_zero: bool = False) -> list[str]:
        if stale_zero:
            return [self.python, "-c", _STALE_TEMP_ZERO, *args]
        return [self.python, "-m", "tui", *args]

    def run(
        self, cache: Path, *args: str, stale_zero: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        """Run ``broadsheet ARGS`` to the end (the checks' commands: ``STALE_TEMP`` 0)."""
        return subprocess.run(
            self.argv(*args, stale_zero=stale_zero),
            env=self.env(cache),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def must(self, cache: Path, *args: str) -> subprocess.CompletedProcess:
        done = self.run(cache, *args)
        if done.returncode != 0:
            raise AssertionError(f"broadsheet {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
        return done

    def kill_after(self, cache: Path, args: list[str], delay: float) -> tuple[bool, int | None, float]:
        """Start ``broadsheet ARGS`` (plain ``python -m tui``) and SIGKILL it after ``delay``
        seconds; ``(killed, returncode, seconds it ran)`` — killed False when it had finished
        by then."""
        started = time.monotonic()
        proc = subprocess.Popen(
            self.argv(*args), env=self.env(cache), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._procs.add(proc)
        try:
            try:
                code = proc.wait(timeout=delay)
                return False, code, time.monotonic() - started
            except subprocess.TimeoutExpired:
                pass
            proc.send_signal(signal.SIGKILL)
            code = proc.wait(timeout=30)
            return code == -signal.SIGKILL, code, time.monotonic() - started
        finally:
            self._procs.discard(proc)

    def strays(self) -> list[int]:
        """Pids of live processes started with this lab's config dir (none should remain)."""
        marker = f"BROADSHEET_CONFIG_DIR={self.workdir / 'config'}".encode()
        found = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as handle:
                    env = handle.read().split(b"\0")
                with open(f"/proc/{entry.name}/stat", "rb") as handle:
                    state = handle.read().rsplit(b")", 1)[1].split()[0]
            except OSError:
                continue
            if marker in env and state != b"Z":
                found.append(int(entry.name))
        return found

    def close(self) -> None:
        """Kill and reap any subprocess still running (a check that raised half-way)."""
        for proc in list(self._procs):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        self._procs.clear()

    # -- the site ----------------------------------------------------------------------

    def rest_total(self, route: str) -> int:
        """``X-WP-Total`` of an anonymous ``GET route?per_page=1``: what readers can see."""
        url = self.wp.rest_root + route + ("&" if "?" in self.wp.rest_root + route else "?") + "per_page=1"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=30) as resp:
            return int(resp.headers["X-WP-Total"])

    def on_site(self, text: str) -> int:
        """Comments with exactly this text in the database (any status)."""
        quoted = text.replace("\\", "\\\\").replace("'", "''")
        sql = f"SELECT COUNT(*) AS n FROM {{prefix}}comments WHERE comment_content = '{quoted}'"
        return int(self.wp.query(sql)[0]["n"] or 0)

    def duplicate_check(self, on: bool) -> None:
        """Switch WordPress's duplicate-comment check (a must-use plugin file, read per request)."""
        plugin = Path(self.wp.tmp) / "wp-content" / "mu-plugins" / "broadsheet-no-duplicate-check.php"
        if on:
            plugin.unlink(missing_ok=True)
        else:
            plugin.write_text(NO_DUPLICATE_CHECK_PHP)

    def moderation(self, on: bool) -> None:
        """Hold every anonymous comment for moderation (or not)."""
        self.wp.set_option("comment_moderation", "1" if on else "0")

    def grow_site(self) -> None:
        """New posts and comments on old and new posts (what an incremental sync must fetch)."""
        tag = secrets.token_hex(3)
        new = [
            self.wp.create_post(f"Kill trial {tag} #{i}", f"<p>Fresh {tag} {i}.</p>")
            for i in range(self.rng.randint(1, 3))
        ]
        old = self.cached_posts(self.template)
        for i in range(self.rng.randint(2, 6)):
            target = self.rng.choice(new + old)
            self.wp.create_comment(target, f"Comment {tag} {i}", author="Grower")

    # -- caches ------------------------------------------------------------------------

    def setup(self, posts: int = 120, comments: int = 300) -> None:
        """Seed the site, build the template cache, measure each operation's duration."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.wp.seed_bulk(posts=posts, comments=comments, seed=self.rng.randrange(1 << 30))
        self.must(self.template, "add", self.wp.url, "--name", SITE)
        self.must(self.template, "sync")
        times = []
        for _ in range(3):
            t = time.monotonic()
            self.must(self.template, "outbox", "--json")
            times.append(time.monotonic() - t)
        self.startup = min(times)
        for op in OPERATIONS:
            cache, args, _ = self._prepare(op)
            t = time.monotonic()
            self.must(cache, *args)
            self.durations[op] = time.monotonic() - t
            shutil.rmtree(cache, ignore_errors=True)

    def _copy(self) -> Path:
        self._n += 1
        cache = self.workdir / f"trial-{self._n}"
        shutil.copytree(self.template, cache)
        return cache

    def cached_posts(self, cache: Path) -> list[int]:
        from cache.store import Store

        return sorted(Store(cache).post_ids(SITE))

    def read_ids(self, cache: Path) -> set[int]:
        from cache.store import Store

        return set(Store(cache).read_ids(SITE))

    def cached_comments(self, cache: Path) -> list[Any]:
        from cache.store import Store

        store = Store(cache)
        return [c for pid in store.post_ids(SITE) for c in store.comments(SITE, pid)]

    def _prepare(self, op: str) -> tuple[Path, list[str], dict[str, Any]]:
        """A cache ready for ``op``, the command to kill, and what to check afterwards."""
        info: dict[str, Any] = {"texts": [], "read": set()}
        if op == "first":
            self._n += 1
            cache = self.workdir / f"trial-{self._n}"
            self.must(cache, "add", self.wp.url, "--name", SITE)
            return cache, ["sync"], info
        cache = self._copy()
        posts = self.cached_posts(cache)
        marked = self.rng.sample(posts, 3)
        self.must(cache, "mark", *map(str, marked))
        info["read"] = self.read_ids(cache)
        info["all"] = set(posts)
        if op == "incremental":
            self.grow_site()
            return cache, ["sync", "--force"], info
        if op == "mark":
            return cache, ["mark", "--all"], info
        text = f"Kill reply {secrets.token_hex(6)}"
        info["texts"] = [text]
        if op == "reply":
            return cache, ["reply", str(self.rng.choice(posts)), "-m", text, "--author", AUTHOR, "--email", EMAIL], info
        from cache import outbox
        from cache.store import Store

        store = Store(cache)
        info["texts"] = [f"Kill queued {secrets.token_hex(6)}" for _ in range(self.rng.randint(1, 3))]
        for text in info["texts"]:
            outbox.prepare(store, SITE, self.rng.choice(posts), 0, text, AUTHOR, EMAIL)
        info["prepared"] = True
        return cache, ["outbox", "send"], info

    # -- one trial ---------------------------------------------------------------------

    def trial(self, op: str, *, keep: bool = False, before: float | None = None) -> Trial:
        """Prepare, kill ``op`` at a random moment, check; see the module docstring.
        ``before`` (seconds) bounds the delay instead of the measured duration: a quick
        operation that finished first in every trial is tried again inside the time it took."""
        started = time.monotonic()
        cache, args, info = self._prepare(op)
        end = 1.1 * self.durations.get(op, 1.0) if before is None else before
        delay = self.rng.uniform(min(0.7 * self.startup, end / 2), end)
        t = Trial(op, delay)
        t.killed, t.returncode, t.ran = self.kill_after(cache, args, delay)
        try:
            self._check(t, cache, info)
        except Exception as error:
            t.problems.append(f"{type(error).__name__}: {error}")
        if not keep:
            shutil.rmtree(cache, ignore_errors=True)
        t.seconds = time.monotonic() - started
        return t

    def _check(self, t: Trial, cache: Path, info: dict[str, Any]) -> None:
        problems = t.problems
        # 1. every command works on the cache as the kill left it
        listing = self._json(t, cache, "posts", "--json")
        self._json(t, cache, "unread", "--json")
        self._json(t, cache, "outbox", "--json")
        if listing:
            self._json(t, cache, "comments", str(self.rng.choice(listing)["id"]), "--json")
        done = self.run(cache, "search", "kill")
        if done.returncode != 0:
            problems.append(f"search exited {done.returncode}: {done.stderr.strip()[-300:]}")
        # 2. the follow-up sync works and brings the cache level with the site
        done = self.run(cache, "sync", "--force")
        if done.returncode != 0:
            problems.append(f"follow-up sync exited {done.returncode}: {done.stderr.strip()[-300:]}")
        posts, comments = self.rest_total("wp/v2/posts"), self.rest_total("wp/v2/comments")
        cached = self.cached_posts(cache)
        approved = [c for c in self.cached_comments(cache) if c.id > 0 and c.status == "approved"]
        if len(cached) != posts:
            problems.append(f"{len(cached)} posts in the cache, {posts} on the site")
        if len(approved) != comments:
            problems.append(f"{len(approved)} approved comments in the cache, {comments} on the site")
        # 3. read state
        read = self.read_ids(cache)
        if not info["read"] <= read:
            problems.append(f"posts read before the kill are unread now: {sorted(info['read'] - read)}")
        if t.op == "mark" and read not in (info["read"], info["read"] | info["all"]):
            problems.append(
                f"a killed mark --all left {len(read - info['read'])} of "
                f"{len(info['all'] - info['read'])} posts marked (neither none nor all)"
            )
        # 4. replies
        entries = {e["text"]: e for e in (self._json(t, cache, "outbox", "--json") or [])}
        for e in entries.values():
            if e["state"] == "sending":
                problems.append(f"reply {e['id']} still 'sending' after the follow-up sync (not retaken)")
        for text in info["texts"]:
            n = self.on_site(text)
            entry = entries.get(text)
            state = entry["state"] if entry else None
            if n > 1:
                t.replies["doubled"] += 1
                problems.append(f"reply {text!r} is on the site {n} times (outbox: {state})")
            elif n == 1:
                t.replies["on the site"] += 1
                if state not in ON_SITE:
                    problems.append(f"reply {text!r} is on the site but its outbox entry is {state}")
            elif entry is None:
                if info.get("prepared"):
                    t.replies["lost"] += 1
                    problems.append(f"reply {text!r} is neither on the site nor in the outbox (lost)")
                else:
                    t.replies["not written"] += 1
            elif state in KEPT:
                t.replies["kept " + state] += 1
            else:
                t.replies["lost"] += 1
                problems.append(f"reply {text!r} is not on the site but its outbox entry is {state} (lost)")
            if (
                entry
                and state in ("sent", "held")
                and any(c.id == -entry["id"] and c.status == "pending" for c in self.cached_comments(cache))
            ):
                where = t.known if "placeholder" in KNOWN_BUGS else problems
                where.append(f"reply {entry['id']} was sent but its placeholder is still in the thread")
        # 5. temporary files
        found, t.leftover_temps = self.temp_files(cache)
        problems.extend(found)

    @staticmethod
    def temp_files(cache: Path) -> tuple[list[str], int]:
        """``(problems, allowed)``: temporary files beside a file rewritten after them (the
        write should have removed them), and the number of those beside files not written since."""
        problems, allowed = [], 0
        for temp in cache.rglob(".*"):
            m = TEMP_NAME.match(temp.name)
            if not m or not temp.is_file():
                continue
            target = temp.with_name(m.group("target"))
            try:
                rewritten = target.stat().st_mtime_ns > temp.stat().st_mtime_ns
            except FileNotFoundError:
                rewritten = False
            if rewritten:
                problems.append(f"temporary file {temp.relative_to(cache)} left after {target.name} was rewritten")
            else:
                allowed += 1
        return problems, allowed

    def _json(self, t: Trial, cache: Path, *args: str) -> Any:
        done = self.run(cache, *args)
        if done.returncode != 0:
            t.problems.append(f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-300:]}")
            return None
        try:
            return json.loads(done.stdout)
        except ValueError:
            t.problems.append(f"{' '.join(args)} printed no JSON: {done.stdout[:200]!r}")
            return None


def summary(trials: list[Trial]) -> dict[str, Any]:
    """Figures over trials: survived/run, killed, replies by outcome, per operation."""
    replies: Counter = Counter()
    for t in trials:
        replies.update(t.replies)
    per_op = {}
    for op in OPERATIONS:
        mine = [t for t in trials if t.op == op]
        if mine:
            per_op[op] = {
                "run": len(mine),
                "killed": sum(t.killed for t in mine),
                "survived": sum(t.survived for t in mine),
            }
    return {
        "run": len(trials),
        "survived": sum(t.survived for t in trials),
        "killed": sum(t.killed for t in trials),
        "replies_lost": replies["lost"],
        "replies_doubled": replies["doubled"],
        "replies": dict(replies),
        "leftover_temps": sum(t.leftover_temps for t in trials),
        "per_op": per_op,
        "known_bugs": [f"{t.op}: {k}" for t in trials for k in t.known],
    }
