"""Odd input, unwritable caches and corrupt files: each gives one clear line (issue 8)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cache.errors import StoreError
from cache.models import Site
from cache.store import Store
from tui.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def demo(capsys):
    assert run(capsys, "add", "demo")[0] == 0
    assert run(capsys, "sync")[0] == 0
    return Store()


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("broadsheet: error: ") and "internal error" not in lines[0]
    return lines[0]


def test_add_with_an_impossible_port_is_one_line_and_saves_nothing(capsys):
    code, out, err = run(capsys, "add", "http://127.0.0.1:99999/")
    assert code == 1 and out == ""
    assert "port 99999" in one_error_line(err)
    assert Store().sites() == []


@pytest.mark.parametrize("argv", [["read", "²"], ["comments", "²"], ["mark", "--site", "demo", "²"], ["read", "1x"]])
def test_a_post_id_that_is_no_number_is_one_line(demo, capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert "not a post id" in one_error_line(err)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["posts", "--limit", "0"], "--limit: must be 1 or more"),
        (["posts", "--limit", "-1"], "--limit: must be 1 or more"),
        (["posts", "--limit", "many"], "--limit: expected a whole number"),
        (["read"], "required: POST"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["posts", "--nope"], "unrecognized arguments: --nope"),
        (["reply", "101", "-m", "a", "-F", "b"], "not allowed with argument"),
        (["completion", "tcsh"], "invalid choice: 'tcsh'"),
    ],
)
def test_usage_errors_are_one_line_and_a_hint_exit_2(demo, capsys, argv, message):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    out, err = capsys.readouterr()
    assert stopped.value.code == 2 and out == ""
    first, *rest = err.splitlines()
    assert first.startswith("broadsheet: error: ") and message in first
    assert len(rest) <= 1 and "usage:" not in err
    assert not rest or "--help" in rest[0]


def test_read_prints_the_post_before_marking_it(demo, capsys, monkeypatch):
    post = demo.posts("demo")[0]

    def full_disk(self, site, ids, read=True):
        raise StoreError(f"cannot write {self.directory}/sites/demo/state.json: No space left on device")

    monkeypatch.setattr(Store, "mark_read", full_disk)
    code, out, err = run(capsys, "read", str(post.id))
    assert code == 1
    assert post.title in out and "By " in out
    [line] = err.splitlines()
    assert line.startswith("broadsheet: warning: ") and f"post {post.id} not marked read" in line
    assert "No space left" in line
    monkeypatch.undo()
    assert post.id not in Store(demo.directory).read_ids("demo")  # undo() also undid the isolated dirs


def test_a_read_only_cache_is_named_in_one_line(demo, capsys, monkeypatch):
    import cache.storage

    def read_only(path, payload, **_):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(cache.storage, "atomic_write", read_only)
    code, out, err = run(capsys, "mark", "--site", "demo", "--all")
    assert code == 1 and out == ""
    assert f"cache dir {demo.directory} is read-only" in one_error_line(err)
    # `read` still shows the post, then says why it stays unread
    code, out, err = run(capsys, "read", str(demo.posts("demo")[0].id))
    assert code == 1 and out and "is read-only" in err and err.count("\n") == 1


def test_an_unwritable_lock_file_is_named_in_one_line(demo, capsys, monkeypatch):
    """The lock file is created before any write: its OSError must not be an internal error."""

    def locked_out(self, site, ids, read=True):
        path = self.directory / "sites" / site / "state.json.lock"
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(Store, "mark_read", locked_out)
    code, out, err = run(capsys, "mark", "--site", "demo", "--all")
    assert code == 1
    assert f"cache dir {demo.directory} is read-only" in one_error_line(err)


def test_corrupt_sites_json_says_what_recovers_it(demo, capsys):
    (demo.directory / "sites.json").write_text("{ not json")
    code, out, err = run(capsys, "sites")
    [line] = err.splitlines()
    assert line.startswith("broadsheet: warning: ") and "sites.json.corrupt-" in line
    assert "were put back" in line and "broadsheet sync" not in line
    assert "demo" in out  # the previous version came back
    assert any(p.name.startswith("sites.json.corrupt-") for p in demo.directory.iterdir())
    # with no previous version to put back, it says how to subscribe again
    (demo.directory / "sites.json.prev").unlink()
    (demo.directory / "sites.json").write_text("")  # truncated: as corrupt as garbage
    code, out, err = run(capsys, "sites")
    [line] = err.splitlines()
    assert "broadsheet add URL" in line and "kept" not in line.split(":")[-1]


def test_corrupt_outbox_json_says_the_copy_holds_the_replies(demo, capsys):
    (demo.directory / "outbox.json").write_text("{ not json")
    code, out, err = run(capsys, "outbox")
    assert code == 0
    [line] = err.splitlines()
    assert "outbox.json.corrupt-" in line and "unsent replies" in line
    assert "cannot rebuild" in line  # and does not send the user to `sync` for it


def test_corrupt_index_still_advises_sync(demo, capsys):
    (demo.directory / "sites" / "demo" / "index.json").write_text("{ not json")
    code, out, err = run(capsys, "posts")
    [line] = err.splitlines()
    assert "index.json.corrupt-" in line and "`broadsheet sync demo`" in line


def _modules_after(argv: list[str], env: dict[str, str]) -> tuple[str, list[str]]:
    code = (
        "import io, sys, contextlib\n"
        "from tui.cli import main\n"
        "out = io.StringIO()\n"
        f"with contextlib.redirect_stdout(out): code = main({argv!r})\n"
        "heavy = sorted(m for m in ('tinydb', 'cache.store', 'cache.service', 'argcomplete', 'httpx', 'textual')"
        " if m in sys.modules)\n"
        "print(out.getvalue().strip() + '|' + ','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    output, _, heavy = done.stdout.strip().partition("|")
    return output, [m for m in heavy.split(",") if m]


@pytest.mark.parametrize(
    "argv",
    [["unread"], ["--cache-dir", "{d}", "unread"], ["--cache-dir={d}", "unread"], ["unread", "--cache-dir", "{d}"]],
)
def test_unread_takes_the_fast_path_with_or_without_cache_dir(demo, argv, tmp_path):
    demo.mark_read("demo", [demo.posts("demo")[0].id])
    expected = str(sum(demo.unread_counts().values()))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if any("{d}" in a for a in argv):
        env["BROADSHEET_CACHE_DIR"] = str(tmp_path / "elsewhere")  # only --cache-dir can find it
    argv = [a.replace("{d}", str(demo.directory)) for a in argv]
    output, heavy = _modules_after(argv, env)
    assert output == expected
    assert heavy == []  # neither the store, the service, argcomplete, httpx nor Textual


def test_cache_dir_is_accepted_after_any_command(demo, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("BROADSHEET_CACHE_DIR", str(tmp_path / "elsewhere"))
    code, out, _ = run(capsys, "posts", "--json", "--cache-dir", str(demo.directory))
    assert code == 0 and len(json.loads(out)) == len(demo.post_ids("demo"))


def test_one_line_folds_control_characters():
    from tui.cli import one_line

    assert one_line("bad\x1b[31m\nnews\u202e here") == "bad [31m news here"
    assert len(one_line("x" * 1000)) == 300


def test_ids_as_posts_prints_them_are_accepted_and_odd_digits_refused(capsys):
    from tui.cli import main

    assert main(["add", "demo"]) == 0 and main(["sync", "demo"]) == 0
    capsys.readouterr()
    assert main(["read", "--keep-unread", "demo:112"]) == 0
    assert "Harbour Authority" in capsys.readouterr().out
    for odd in ("²", "https://demo.broadsheet.invalid/?p=²", "demo:²"):
        code = main(["read", odd])
        err = capsys.readouterr().err
        assert code == 1 and err.count("\n") == 1 and "internal error" not in err, (odd, err)
    assert main(["mark", "--all"]) == 0  # no --site needed: every site
    assert "marked" in capsys.readouterr().out


def test_unread_leaves_the_demo_out_once_a_real_site_is_subscribed(capsys, tmp_path):
    import json

    from cache.models import Post, Site
    from cache.store import Store
    from tui.cli import main

    assert main(["add", "demo"]) == 0 and main(["sync", "demo"]) == 0
    store = Store()
    store.add_site(Site(name="real", url="https://real.example/"))
    store.save_sync("real", posts=[Post(1, "real", "One"), Post(2, "real", "Two")])
    capsys.readouterr()
    assert main(["unread", "--json"]) == 0  # the fast path
    assert json.loads(capsys.readouterr().out) == {"total": 2, "sites": {"real": 2}}
    assert store.unread_counts() == {"real": 2}  # the store's own path agrees


def test_small_things_a_new_user_met(demo, capsys):
    """Adding the demo twice says so; a search for nothing is a usage error; several sites
    and a bare id name the SITE:ID form."""
    code, out, _ = run(capsys, "add", "demo")
    assert code == 0 and "already subscribed" in out
    code, out, err = run(capsys, "search", "  ")
    assert code == 2 and out == "" and err.startswith("broadsheet: error: search: give a word")
    Store(demo.directory).add_site(Site(name="other", url="https://o.test"))
    code, _, err = run(capsys, "read", "110")
    assert code == 1 and "SITE:ID" in one_error_line(err)


def test_the_readers_site_option_before_a_command_is_refused(demo, capsys):
    """Found by a new user: `broadsheet --site nosuch posts` listed every site's posts (the
    command's own --site silently replaced the reader's)."""
    code, out, err = run(capsys, "--site", "nosuch", "posts")
    assert code == 2 and out == ""
    first, hint = err.splitlines()
    assert first.startswith("broadsheet: error: posts: --site before the command is the reader's")
    assert "--help" in hint
