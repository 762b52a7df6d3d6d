"""Peak memory of the reader itself, in a real terminal (tmux), over a 10,000-post cache.

`bench_tui.py` reports the peak RSS of its own measuring process, which also renders every
screen update to terminal bytes and keeps its bookkeeping: an upper bound. This script
runs `broadsheet` as a user would, in tmux, drives it (launch on a post, 50 × `n`, the
1,000-comment thread, the 10,000-word article) and reads the process's VmHWM.

Target (issue 3): peak RSS <= 150 MB. Needs tmux. Run: .venv/bin/python bench/bench_rss.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tui import BIG_THREAD, LONG_POST, POSTS, SITE, build

SESSION = "broadsheet-bench-rss"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def keys(*names: str, pause: float = 0.08) -> None:
    for name in names:
        tmux("send-keys", "-t", SESSION, name)
        time.sleep(pause)


def wait_for(text: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while text not in tmux("capture-pane", "-p", "-t", SESSION):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {text!r} on screen")
        time.sleep(0.1)


def open_by_title(title: str) -> None:
    keys("/", pause=0.3)
    keys("C-u", pause=0.1)
    tmux("send-keys", "-t", SESSION, "-l", title)
    time.sleep(1.0)
    keys("Enter", "n", pause=0.5)
    keys("Escape", pause=0.3)


def main() -> int:
    if not shutil.which("tmux"):
        print("needs tmux")
        return 2
    broadsheet = str(Path(sys.executable).with_name("broadsheet"))
    with tempfile.TemporaryDirectory(prefix="broadsheet-rss-") as tmp:
        build(tmp)
        time.sleep(2.1)
        env = f"BROADSHEET_CACHE_DIR={tmp} BROADSHEET_CONFIG_DIR={tmp}/config"
        tmux(
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            "120",
            "-y",
            "40",
            f"env {env} {broadsheet} --site {SITE} --open {POSTS}",
        )
        try:
            wait_for(f"Post {POSTS}:")
            found = subprocess.run(
                ["pgrep", "-f", f"python[0-9.]* {broadsheet} --site {SITE}"], capture_output=True, text=True
            ).stdout.split()
            pid = int(found[0])  # the interpreter itself, not tmux's shell
            time.sleep(2)
            keys(*["n"] * 50)
            time.sleep(1)
            open_by_title(f"Post {BIG_THREAD}:")
            wait_for("Comments (1000)")
            open_by_title(f"Post {LONG_POST}:")
            time.sleep(2)
            status = Path(f"/proc/{pid}/status").read_text()
            peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
        finally:
            subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    print(f"reader peak RSS (VmHWM) in tmux: {peak / 1024:.1f} MB (target <= 150 MB)")
    return 0 if peak / 1024 <= 150 else 1


if __name__ == "__main__":
    raise SystemExit(main())
