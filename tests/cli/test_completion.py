"""Shell completion: the completers, the scripts, and real round trips through argcomplete."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cache.models import Site
from cache.store import Store
from tui.cli import main
from tui.cli.completion import SHELLS, site_names

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_sites() -> Store:
    store = Store()
    for name in ("harbour", "hill-news"):
        store.add_site(Site(name=name, url=f"https://{name}.test/", api_root=f"https://{name}.test/wp-json/"))
    return store


def test_site_names_completes_from_sites_json(two_sites):
    assert site_names("") == ["harbour", "hill-news"]
    assert site_names("hi") == ["hill-news"]
    assert site_names("x") == []


def test_site_names_follows_cache_dir_given_on_the_line(two_sites, tmp_path):
    elsewhere = Store(tmp_path / "other")
    elsewhere.add_site(Site(name="other", url="https://o.test/", api_root="https://o.test/wp-json/"))
    assert site_names("", argparse.Namespace(cache_dir=str(tmp_path / "other"))) == ["other"]


def test_site_names_of_a_missing_or_broken_cache_is_nothing(tmp_path):
    assert site_names("") == []
    (tmp_path / "cache").mkdir(exist_ok=True)
    (tmp_path / "cache" / "sites.json").write_text("{ broken")
    assert site_names("") == []


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_prints_a_script_for_each_shell(shell, capsys):
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "broadsheet" in script and "_ARGCOMPLETE" in script


def _complete(line: str, env: dict[str, str], tmp_path: Path) -> list[str]:
    """One request in argcomplete's protocol, answered by a real `broadsheet` process."""
    answer = tmp_path / "answer"
    env = {
        **env,
        "PYTHONPATH": str(ROOT),
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_SHELL": "bash",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "_ARGCOMPLETE_IFS": "\n",
        "_ARGCOMPLETE_STDOUT_FILENAME": str(answer),
    }
    done = subprocess.run([sys.executable, "-m", "tui"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return sorted(word.strip() for word in answer.read_text().split("\n") if word.strip())


def test_protocol_round_trip_commands_options_and_sites(two_sites, tmp_path):
    env = dict(os.environ)
    assert {"read", "reply", "remove"} <= set(_complete("broadsheet re", env, tmp_path))
    assert "--keep-unread" in _complete("broadsheet read --k", env, tmp_path)
    assert _complete("broadsheet posts --site h", env, tmp_path) == ["harbour", "hill-news"]
    assert _complete("broadsheet sync hil", env, tmp_path) == ["hill-news"]
    assert _complete("broadsheet completion f", env, tmp_path) == ["fish"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_round_trip_through_the_printed_script(two_sites, tmp_path, capsys):
    """Source `broadsheet completion bash` in a real bash and ask it to complete."""
    assert main(["completion", "bash"]) == 0
    (tmp_path / "completion.bash").write_text(capsys.readouterr().out)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "broadsheet"
    launcher.write_text(f"#!{sys.executable}\nimport sys\nfrom tui.cli import main\nsys.exit(main())\n")
    launcher.chmod(0o755)
    line = "broadsheet logout ha"
    script = (
        f"source {tmp_path / 'completion.bash'}\n"
        f"COMP_LINE='{line}'; COMP_POINT={len(line)}; COMP_WORDS=(broadsheet logout ha); COMP_CWORD=2\n"
        "_python_argcomplete broadsheet broadsheet ha\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [w.strip() for w in done.stdout.splitlines() if w.strip()] == ["harbour"]


def test_folder_names_complete_from_the_sites_file(tmp_path, capsys):
    from tui.cli import main
    from tui.cli.completion import folder_names

    cache = tmp_path / "cache"
    assert main(["--cache-dir", str(cache), "add", "demo"]) == 0
    assert main(["--cache-dir", str(cache), "move", "demo", "Local papers"]) == 0
    capsys.readouterr()
    parsed = type("Args", (), {"cache_dir": str(cache)})()
    assert folder_names("Lo", parsed) == ["Local papers"]
    assert folder_names("X", parsed) == []
