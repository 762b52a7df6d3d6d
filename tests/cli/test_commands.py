"""The shell commands (sites, reading), run in-process against a cache synced from the offline demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cache.service import site_slug
from cache.store import Store
from tui.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def demo(capsys):
    assert run(capsys, "add", "demo")[0] == 0
    code, out, err = run(capsys, "sync")
    assert code == 0, err
    return Store()


def test_sync_prints_one_summary_line_per_site(capsys):
    run(capsys, "add", "demo")
    code, out, err = run(capsys, "sync")
    assert code == 0
    (line,) = out.strip().splitlines()
    assert line.startswith("demo: ") and " new, " in line and "comments" in line
    assert err == ""  # progress only on a terminal


def test_sites_json(demo, capsys):
    code, out, _ = run(capsys, "sites", "--json")
    sites = json.loads(out)
    assert code == 0 and sites[0]["name"] == "demo" and sites[0]["posts"] == len(demo.post_ids("demo"))


def test_categories_tree_is_indented(demo, capsys):
    code, out, _ = run(capsys, "categories")
    lines = out.splitlines()
    news = next(i for i, line in enumerate(lines) if line.startswith("News ("))
    assert lines[news + 1].startswith("  ") and any(line.startswith("    ") for line in lines)
    data = json.loads(run(capsys, "categories", "--json")[1])
    assert max(row["depth"] for row in data) == 2


def test_posts_json_fields_and_filters(demo, capsys):
    code, out, _ = run(capsys, "posts", "--json")
    posts = json.loads(out)
    assert code == 0 and len(posts) == len(demo.post_ids("demo"))
    assert {"site", "id", "title", "date", "link", "categories", "author", "comment_count", "unread"} <= set(posts[0])
    assert [p["date"] for p in posts] == sorted((p["date"] for p in posts), reverse=True)
    assert all(isinstance(name, str) for p in posts for name in p["categories"])
    harbour = json.loads(run(capsys, "posts", "--category", "Harbour", "--json")[1])
    assert harbour and all("Harbour" in p["categories"] for p in harbour)
    assert len(json.loads(run(capsys, "posts", "--limit", "2", "--json")[1])) == 2


def test_read_marks_read_and_unread_counts_follow(demo, capsys):
    total = int(run(capsys, "unread")[1])
    newest = json.loads(run(capsys, "posts", "--json", "--limit", "1")[1])[0]
    code, out, _ = run(capsys, "read", str(newest["id"]))
    assert code == 0
    assert out.startswith("Home › ") and newest["title"] in out and "By " in out
    assert int(run(capsys, "unread")[1]) == total - 1
    counts = json.loads(run(capsys, "unread", "--json")[1])
    assert counts == {"total": total - 1, "sites": {"demo": total - 1}}
    assert newest["id"] not in [p["id"] for p in json.loads(run(capsys, "posts", "--unread", "--json")[1])]


def test_read_by_url_and_keep_unread(demo, capsys):
    post = json.loads(run(capsys, "posts", "--json", "--limit", "1")[1])[0]
    total = int(run(capsys, "unread")[1])
    code, out, _ = run(capsys, "read", post["link"], "--keep-unread", "--json")
    assert code == 0 and json.loads(out)["id"] == post["id"]
    assert int(run(capsys, "unread")[1]) == total


def test_protected_post_says_so(demo, capsys):
    protected = next(p for p in demo.posts("demo") if p.protected)
    out = run(capsys, "read", str(protected.id))[1]
    assert "password protected" in out


def test_comments_threaded(demo, capsys):
    post = max(demo.posts("demo"), key=lambda p: p.comment_count)
    code, out, _ = run(capsys, "comments", str(post.id), "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == post.comment_count
    assert {"id", "parent", "author", "date", "text"} <= set(rows[0])
    assert max(r["depth"] for r in rows) >= 4
    text = run(capsys, "comments", str(post.id))[1]
    assert "\n        " in text  # indented replies


@pytest.mark.parametrize(
    "argv, message",
    [
        (["read", "999999"], "no post 999999"),
        (["posts", "--site", "nope"], "no site called 'nope'"),
        (["posts", "--category", "Weather"], "no category 'Weather'"),
        (["comments", "https://elsewhere.test/x/"], "no cached post"),
    ],
)
def test_errors_are_one_line_with_non_zero_exit(demo, capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and message in err and err.startswith("broadsheet: error: ")


def test_no_site_yet(capsys):
    code, out, err = run(capsys, "posts")
    assert code == 1 and "broadsheet add URL" in err
    assert run(capsys, "unread")[1].strip() == "0"


def test_add_refuses_what_is_not_a_site_and_saves_nothing(capsys):
    code, _, err = run(capsys, "add", "http://127.0.0.1:9/")
    assert code == 1 and "cannot reach 127.0.0.1:9" in err
    assert Store().sites() == []


def test_site_slug():
    assert site_slug("https://www.Example.com/news/") == "example.com"
    assert site_slug("http://127.0.0.1:8080/") == "127.0.0.1-8080"


def test_corrupt_cache_is_a_warning_and_sync_rebuilds(demo, capsys, tmp_path):
    index = demo.directory / "sites" / "demo" / "index.json"
    index.write_text("{ this is not json")
    code, out, err = run(capsys, "posts")
    assert code == 0 and "corrupt" in err and err.count("\n") == 1
    assert any(p.name.startswith("index.json.corrupt-") for p in index.parent.iterdir())
    assert run(capsys, "sync")[0] == 0
    assert len(json.loads(run(capsys, "posts", "--json")[1])) > 0


def test_the_installed_command_prints_no_traceback(tmp_path):
    env = {**os.environ, "BROADSHEET_CACHE_DIR": str(tmp_path / "c")}
    done = subprocess.run(
        [sys.executable, "-m", "tui", "read", "5"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and done.stderr.startswith("broadsheet: error: ")


def test_remove_refuses_while_replies_are_unsent_and_forgets_the_login(demo, capsys):
    from cache import credentials, outbox

    post = demo.posts("demo")[0]
    outbox.save_draft(demo, "demo", post.id, 0, "unfinished thought")
    credentials.save(credentials.Credentials("demo", "ada", "abcd efgh", origin="https://demo.broadsheet.invalid"))
    code, _, err = run(capsys, "remove", "demo")
    assert code == 1 and "unsent reply" in err
    assert [s.name for s in demo.sites()] == ["demo"]
    code, out, _ = run(capsys, "remove", "demo", "--force")
    assert code == 0 and "saved login" in out
    assert demo.sites() == [] and outbox.pending_for(demo, "demo") == []
    assert credentials.load("demo") is None


def test_unread_fast_path_agrees_with_the_store_and_steps_aside_when_stale(demo, capsys):
    from cache.quick import unread_counts

    demo.mark_read("demo", [demo.posts("demo")[0].id])
    assert unread_counts(demo.directory) == demo.unread_counts()
    # the index changed after ids.json was written (a sync killed between the two writes)
    index = demo.directory / "sites" / "demo" / "index.json"
    index.write_bytes(index.read_bytes() + b" ")
    assert unread_counts(demo.directory) is None
    assert run(capsys, "unread")[1].strip() == str(sum(demo.unread_counts().values()))
