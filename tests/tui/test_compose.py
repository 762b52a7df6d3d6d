"""The compose screen, standalone in a tiny App."""

from __future__ import annotations

import sys
import time

from textual.app import App

from cache.models import Comment, Post
from tui.screens.compose import ComposeResult, ComposeScreen
from tui.textual_compat import screen_text

POST = Post(id=5, site="news", title="[bold]Harbour[/bold] news", excerpt="The pontoon grows.")
COMMENT = Comment(id=9, site="news", post=5, author="Sam [red]", text="I disagree, strongly.\n")


class Host(App):
    def __init__(self, screen: ComposeScreen) -> None:
        super().__init__()
        self.compose_screen = screen
        self.results: list[ComposeResult | None] = []

    def on_mount(self) -> None:
        self.push_screen(self.compose_screen, self.results.append)


async def wait_for(pilot, condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.01)


def shown(app: App) -> str:
    return screen_text(app.screen)


async def test_ctrl_s_sends_what_was_typed():
    app = Host(ComposeScreen.for_post(POST))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen))
        text = shown(app)
        assert "[bold]Harbour[/bold]" in text, "remote strings are shown literally, never as markup"
        await pilot.press(*"Hello", "enter", *"there")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.results)
    assert app.results == [ComposeResult("send", "Hello\nthere")]


async def test_ctrl_s_with_nothing_typed_stays_open():
    app = Host(ComposeScreen.for_post(POST))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen) and app.results == []


async def test_escape_keeps_a_draft_prefilled_from_the_old_one():
    app = Host(ComposeScreen.for_comment(POST, COMMENT, draft="Half written"))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen))
        assert "Sam [red]" in shown(app) and "I disagree, strongly." in shown(app)
        await pilot.press(*" and done")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.results)
    assert app.results == [ComposeResult("draft", "Half written and done")]


async def test_escape_with_nothing_typed_returns_none():
    app = Host(ComposeScreen("Reply to something"))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.results)
    assert app.results == [None]


async def test_ctrl_e_edits_in_the_external_editor(tmp_path, monkeypatch):
    script = tmp_path / "editor.py"
    script.write_text("import sys\np = sys.argv[1]\nt = open(p).read()\nopen(p, 'w').write(t.upper() + ' EDITED')\n")
    monkeypatch.setenv("VISUAL", f"{sys.executable} {script}")
    app = Host(ComposeScreen.for_post(POST, draft="draft text"))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen))
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: app.screen.text == "DRAFT TEXT EDITED")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.results)
    assert app.results == [ComposeResult("send", "DRAFT TEXT EDITED")]


def test_bindings_have_ids():
    ids = {b.id for b in ComposeScreen.BINDINGS}
    assert ids == {"send_reply", "keep_draft", "external_editor"}


async def test_save_runs_before_the_screen_closes():
    import threading

    gate = threading.Event()
    saved: list[ComposeResult] = []

    def save(result: ComposeResult) -> str:
        gate.wait(5)
        saved.append(result)
        return "entry-1"

    app = Host(ComposeScreen.for_post(POST, draft="Keep me", save=save))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Saving…" in shown(app))
        await pilot.press("escape", "x")  # nothing happens while saving
        assert isinstance(app.screen, ComposeScreen) and app.screen.text == "Keep me"
        gate.set()
        await wait_for(pilot, lambda: app.results)
    assert saved == [ComposeResult("send", "Keep me")]
    assert app.results == [ComposeResult("send", "Keep me", saved="entry-1")]
