"""`broadsheet login/logout/reply/outbox` against the in-process fake WordPress."""

from __future__ import annotations

import io
import json
import stat
import sys

import httpx
import pytest

from cache import credentials, sources
from cache.demo import FakeWordPress, load_demo
from tui.cli import main

PASSWORD = "abcd efgh ijkl mnop"
USER = "morwenna-tregear"  # a user of the demo site


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def fake(monkeypatch) -> FakeWordPress:
    """The demo site, served by one FakeWordPress the test can inspect and break."""
    wp = FakeWordPress(load_demo(), app_passwords={USER: PASSWORD})
    wp.offline = False

    def handler(request: httpx.Request) -> httpx.Response:
        if wp.offline:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return wp(request)

    monkeypatch.setattr(sources, "transport_for", lambda site: httpx.MockTransport(handler))
    assert main(["add", "demo"]) == 0
    assert main(["sync", "demo"]) == 0
    return wp


def stdin(monkeypatch, text: str, tty: bool = False) -> None:
    monkeypatch.setattr(sys, "stdin", Tty(text) if tty else io.StringIO(text))


def ours(fake: FakeWordPress, text: str) -> list[dict]:
    return [c for c in fake.data["comments"] if c.get("_raw") == text]


def test_reply_published_prints_the_url(fake, capsys):
    capsys.readouterr()
    code = main(["reply", "101", "-m", "Lovely harbour.", "--author", "Ada", "--email", "ada@example.com"])
    out = capsys.readouterr().out.strip()
    [comment] = ours(fake, "Lovely harbour.")
    assert code == 0 and out == comment["link"]
    main(["comments", "101", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in rows if r["text"].strip() == "Lovely harbour."] == ["approved"]


def test_reply_author_and_email_from_config(fake, tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text('[reply]\nauthor = "Ada From Config"\nemail = "ada@example.com"\n')
    assert main(["--config", str(config), "reply", "101", "--to", "1001", "-m", "From config"]) == 0
    [comment] = ours(fake, "From config")
    assert comment["author_name"] == "Ada From Config" and comment["parent"] == 1001


def test_reply_held_for_moderation(fake, capsys):
    fake.moderate = True
    code = main(["reply", "101", "-m", "Hold me", "--author", "Ada", "--email", "ada@example.com"])
    assert code == 0 and "held for moderation" in capsys.readouterr().out


def test_offline_reply_is_queued_exit_75_and_sync_sends_it_once(fake, capsys):
    fake.offline = True
    code = main(["reply", "101", "-m", "Offline words", "--author", "Ada", "--email", "ada@example.com"])
    err = capsys.readouterr().err
    assert code == 75 and "queued" in err and "outbox" in err
    assert ours(fake, "Offline words") == []
    main(["outbox", "--json"])
    [entry] = json.loads(capsys.readouterr().out)
    assert (entry["state"], entry["text"]) == ("queued", "Offline words")
    fake.offline = False
    assert main(["sync", "demo"]) == 0
    assert "1 replies sent" in capsys.readouterr().out
    assert len(ours(fake, "Offline words")) == 1
    assert main(["outbox", "send"]) == 0
    assert len(ours(fake, "Offline words")) == 1


def test_outbox_send_and_drop(fake, capsys):
    fake.offline = True
    main(["reply", "101", "-m", "one", "--author", "Ada", "--email", "a@b.c"])
    main(["reply", "101", "-m", "two", "--author", "Ada", "--email", "a@b.c"])
    capsys.readouterr()
    assert main(["outbox", "send"]) == 75
    fake.offline = False
    assert main(["outbox", "drop", "2"]) == 0
    assert main(["outbox", "send"]) == 0
    assert len(ours(fake, "one")) == 1 and ours(fake, "two") == []
    assert main(["outbox", "drop", "99"]) == 1
    assert "no reply 99" in capsys.readouterr().err


def test_refused_exit_1_with_the_sites_reason_and_kept(fake, capsys):
    code = main(["reply", "105", "-m", "Closed post", "--author", "Ada", "--email", "a@b.c"])
    err = capsys.readouterr().err
    assert code == 1 and "comments are closed" in err and "draft" in err
    main(["outbox", "--json"])
    [entry] = json.loads(capsys.readouterr().out)
    assert (entry["state"], entry["text"]) == ("refused", "Closed post")


def test_the_demo_answers_as_the_demo_reader_without_a_name(fake, capsys):
    # (a real site's form refusing a reply without a name is tested in tests/cache/test_replies.py)
    assert main(["reply", "101", "-m", "who am I"]) == 0
    [comment] = ours(fake, "who am I")
    assert comment["author_name"] == "Demo reader"


def test_text_from_stdin_and_file(fake, monkeypatch, tmp_path):
    stdin(monkeypatch, "Piped in\n")
    assert main(["reply", "101", "--author", "Ada", "--email", "a@b.c"]) == 0
    note = tmp_path / "note.txt"
    note.write_text("From a file\n\nSecond paragraph\n")
    assert main(["reply", "101", "-F", str(note), "--author", "Ada", "--email", "a@b.c"]) == 0
    assert ours(fake, "Piped in") and ours(fake, "From a file\n\nSecond paragraph")


def test_editor_gets_a_quoting_template(fake, monkeypatch, tmp_path, capsys):
    seen = tmp_path / "template.txt"
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys, shutil\n"
        f"shutil.copy(sys.argv[1], {str(seen)!r})\n"
        "text = open(sys.argv[1]).read()\n"
        "open(sys.argv[1], 'w').write('Typed in the editor\\n' + text)\n"
    )
    monkeypatch.setenv("VISUAL", f"{sys.executable} {script}")
    stdin(monkeypatch, "", tty=True)
    assert main(["reply", "101", "--to", "1001", "--author", "Ada", "--email", "a@b.c"]) == 0
    template = seen.read_text()
    assert "# Replying to" in template and "#1001" in template and "# > " in template
    assert ours(fake, "Typed in the editor")


def test_an_empty_editor_result_sends_nothing(fake, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("VISUAL", "true")  # leaves the template as it is: only '#' lines
    stdin(monkeypatch, "", tty=True)
    before = len(fake.data["comments"])
    assert main(["reply", "101", "--author", "Ada", "--email", "a@b.c"]) == 1
    assert "empty" in capsys.readouterr().err
    assert len(fake.data["comments"]) == before


# -- login -----------------------------------------------------------------------------------


def test_login_stores_a_private_file_and_reply_uses_rest(fake, monkeypatch, tmp_path, capsys):
    stdin(monkeypatch, PASSWORD + "\n")
    assert main(["login", "demo", "--user", USER]) == 0
    out = capsys.readouterr().out
    assert PASSWORD not in out and "logged in" in out
    path = tmp_path / "config" / "credentials.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = credentials.load("demo")
    assert saved.user == USER
    # bound to the address it was checked against, and to the verified user
    assert (saved.origin, saved.user_id) == ("https://demo.broadsheet.invalid", 1)
    assert main(["reply", "101", "-m", "As a user"]) == 0
    [comment] = ours(fake, "As a user")
    assert comment["author_name"] == "Morwenna Tregear"
    assert any(r.method == "POST" and r.url.path.endswith("/wp/v2/comments") for r in fake.requests)
    assert main(["logout", "demo"]) == 0
    assert credentials.load("demo") is None
    assert main(["logout", "demo"]) == 1


def test_login_with_a_wrong_password_stores_nothing(fake, monkeypatch, tmp_path, capsys):
    stdin(monkeypatch, "not the password\n")
    assert main(["login", "demo", "--user", USER]) == 1
    err = capsys.readouterr().err
    assert "refused" in err and "not the password" not in err
    assert not (tmp_path / "config" / "credentials.toml").exists()


def test_login_refuses_plain_http_to_a_remote_host(tmp_path, monkeypatch, capsys):
    from cache.models import Site
    from cache.store import Store

    Store().add_site(Site(name="plain", url="http://news.example.test/", api_root="http://news.example.test/wp-json/"))
    stdin(monkeypatch, PASSWORD + "\n")
    assert main(["login", "plain", "--user", "ada"]) == 1
    assert "plain http" in capsys.readouterr().err
    assert not (tmp_path / "config" / "credentials.toml").exists()


def test_a_login_is_not_used_for_another_site_given_the_same_name(fake, monkeypatch, capsys):
    stdin(monkeypatch, PASSWORD + "\n")
    assert main(["login", "demo", "--user", USER]) == 0
    from cache.models import Site
    from cache.store import Store

    store = Store()
    site = store.site("demo")
    store.update_site(Site.from_row({**site.to_row(), "api_root": "https://moved.example.test/wp-json/"}))
    requests_before = len(fake.requests)
    capsys.readouterr()
    assert main(["reply", "101", "-m", "Where does this go?"]) == 1
    err = capsys.readouterr().err
    assert "credentials were saved for https://demo.broadsheet.invalid" in err and "login demo" in err
    assert len(fake.requests) == requests_before


def test_reply_to_a_comment_not_in_the_cache_is_refused_and_posts_nothing(fake, capsys):
    requests_before = len(fake.requests)
    comments_before = len(fake.data["comments"])
    capsys.readouterr()
    code = main(["reply", "101", "--to", "99999", "-m", "Into the void", "--author", "Ada", "--email", "a@b.c"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "no comment 99999" in err and "broadsheet sync" in err
    assert len(fake.requests) == requests_before and len(fake.data["comments"]) == comments_before
    main(["outbox", "--json"])
    assert json.loads(capsys.readouterr().out) == []


def test_reply_transport_can_be_injected_through_main(capsys):
    """``main(transport=...)`` reaches the network through ``Service(transport=...)``."""
    wp = FakeWordPress(load_demo())
    transport = httpx.MockTransport(wp)
    assert main(["add", "demo"], transport=transport) == 0
    assert main(["sync"], transport=transport) == 0
    assert main(["reply", "101", "-m", "Injected", "--author", "Ada", "--email", "a@b.c"], transport=transport) == 0
    assert ours(wp, "Injected")
