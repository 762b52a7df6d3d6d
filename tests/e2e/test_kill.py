"""kill -9 at random moments of real ``broadsheet`` processes against a real WordPress.

20 trials (4 each of a first sync, an incremental sync, ``mark --all``, ``reply`` through the
comment form and ``outbox send``), each killed after a random delay over the operation's
measured duration, then checked as ``tests/e2e/killing.py`` describes: every command works,
a follow-up sync succeeds and leaves the cache level with the site, read state intact
(``mark --all``: all or none), every reply on the site exactly once or kept in the outbox,
no temporary file beside a file rewritten since.

The RNG's seed is printed (``pytest -s``) and named in every failure; set
``BROADSHEET_KILL_SEED`` to replay a run. Larger runs: ``bench/bench_kill.py``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest

from .killing import OPERATIONS, KillLab, summary

TRIALS_PER_OPERATION = 4
SEED = int(os.environ.get("BROADSHEET_KILL_SEED") or time.time_ns() % 1_000_000_007)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from tests.e2e.conftest import require_wordpress
    from tests.e2e.wpserver import WordPress

    require_wordpress()
    print(f"\nkill trials: BROADSHEET_KILL_SEED={SEED}")
    wp = WordPress(host="127.0.0.45").start()
    lab = KillLab(wp, tmp_path_factory.mktemp("kill"), random.Random(SEED))
    try:
        lab.setup(posts=120, comments=300)
        yield lab
    finally:
        lab.close()
        wp.stop()


@pytest.mark.parametrize("op", OPERATIONS)
def test_killed_at_random_moments(lab, op):
    trials = [lab.trial(op) for _ in range(TRIALS_PER_OPERATION)]
    # a quick operation (``mark --all`` is mostly interpreter start-up) can finish first in
    # every trial; then it is tried again inside the shortest time it took, until one is killed
    while not any(t.killed for t in trials) and len(trials) < 3 * TRIALS_PER_OPERATION:
        trials.append(lab.trial(op, before=0.9 * min(t.ran for t in trials)))
    for t in trials:
        print(f"  seed {SEED}: {t.describe()} [{t.seconds:.1f}s]")
    failed = [t.describe() for t in trials if not t.survived]
    assert not failed, f"BROADSHEET_KILL_SEED={SEED}: " + " | ".join(failed)
    figures = summary(trials)
    assert figures["replies_lost"] == figures["replies_doubled"] == 0
    # the trials did kill (delays up to 1.1 × the measured duration, then inside the shortest run)
    assert figures["killed"] >= 1, f"BROADSHEET_KILL_SEED={SEED}: no trial was killed"


def test_no_process_is_left_running(lab):
    """Every killed or checking subprocess was reaped (the lab waits for each one)."""
    assert not lab._procs and lab.strays() == []


#: ``outbox send`` killed at one chosen moment: right after the outbox entry was released as
#: sent, before the placeholder in the thread was swapped for the real comment (``_confirm``).
_KILLED_BEFORE_CONFIRM = (
    "import os, signal, sys, cache.outbox as o; "
    "o._confirm = lambda *a: os.kill(os.getpid(), signal.SIGKILL); "
    "from tui.cli import main; sys.exit(main(sys.argv[1:]))"
)


def test_a_send_killed_while_confirming_leaves_no_placeholder(lab):
    """Found by the random trials (a killed ``outbox send``): the reply was on the site once and
    the outbox said sent, but the thread kept a ``pending`` copy beside the real comment,
    through any number of syncs."""
    from cache import outbox
    from cache.store import Store

    from .killing import AUTHOR, EMAIL, SITE

    cache = lab._copy()
    post = lab.cached_posts(cache)[0]
    entry, _ = outbox.prepare(Store(cache), SITE, post, 0, "Killed before confirm", AUTHOR, EMAIL)
    done = subprocess.run(
        [lab.python, "-c", _KILLED_BEFORE_CONFIRM, "outbox", "send"],
        env=lab.env(cache),
        cwd=lab.workdir,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL
    # the thread is swapped before the entry is recorded sent: it is still claimed by the dead
    # process, and the next sync retakes it, finds the comment on the site and confirms it
    assert outbox.get(Store(cache), entry.id).state == "sending"
    lab.must(cache, "sync", "--force")
    assert outbox.get(Store(cache), entry.id).state == "sent"
    assert lab.on_site("Killed before confirm") == 1
    thread = Store(cache).comments(SITE, post)
    assert [c.status for c in thread if c.text.strip() == "Killed before confirm"] == ["approved"]
    assert all(c.id > 0 for c in thread)


def test_temporary_files_of_a_killed_writer_go_with_the_next_write(lab):
    """What the trials' temp-file check relies on, with the real 60 s threshold: a killed
    writer's temporary file older than that goes with the next write of its file; a young
    one stays (it may be another process's write in progress) and the check sees it."""
    import os

    cache = lab._copy()
    index = cache / "sites" / "local" / "index.json"
    old, young = index.with_name(".index.json.k1ll3d0a"), index.with_name(".index.json.k1ll3d0b")
    old.write_bytes(b'{"half": ')
    young.write_bytes(b'{"half": ')
    past = time.time() - 120
    os.utime(old, (past, past))
    lab.grow_site()  # so that the sync rewrites the index
    done = lab.run(cache, "sync", "--force", stale_zero=False)
    assert done.returncode == 0, done.stderr
    assert not old.exists() and young.exists()
    problems, allowed = lab.temp_files(cache)
    assert problems == ["temporary file sites/local/.index.json.k1ll3d0b left after index.json was rewritten"]
    assert allowed == 0
