"""Every private Textual name the reader uses lives in ``tui.textual_compat``; these tests
fail loudly when a Textual release changes one of them (Textual is pinned to 8.2.x)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from textual.app import App, ComposeResult
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.widgets import Static

from tui import textual_compat
from tui.textual_compat import (
    SizeUpdateHook,
    notifications,
    screen_text,
    set_virtual_size_quietly,
)

TUI = Path(textual_compat.__file__).parent
PRIVATE = ["_keymap", "_scroll_update", "_size_updated", "_tree_lines", "_compositor", "_notifications"]


class Hooked(SizeUpdateHook):
    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[Size] = []

    def size_updated(self) -> None:
        self.sizes.append(self.size)


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("hello compat", id="label")
        yield Hooked()


def test_private_names_appear_only_in_the_compat_module():
    for path in TUI.rglob("*.py"):
        if path.name == "textual_compat.py" or path.parent.name == "cli" or path.name in {"cli.py", "replies_cli.py"}:
            continue
        text = path.read_text()
        for name in PRIVATE:
            assert not re.search(rf"\.{name}\b", text), f"{path.name} uses Textual's private {name}"


def test_size_updated_signature_is_what_the_hook_overrides():
    params = list(inspect.signature(ScrollView._size_updated).parameters)
    assert params == ["self", "size", "virtual_size", "container_size", "layout"]


async def test_size_updated_hook_runs_with_the_laid_out_size():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        view = app.query_one(Hooked)
        assert view.sizes and view.sizes[-1] == view.size and view.size.width == 60


async def test_set_virtual_size_quietly_updates_size_and_scrollbar():
    assert callable(getattr(ScrollView, "_scroll_update", None)), "ScrollView._scroll_update is gone"
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(Hooked)
        set_virtual_size_quietly(view, Size(view.size.width, 500))
        await pilot.pause()
        assert view.virtual_size == Size(view.size.width, 500)
        assert view.max_scroll_y > 0
        view.scroll_to(y=100, animate=False, immediate=True)
        assert view.scroll_y == 100


async def test_screen_text_and_notifications():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        lines = screen_text(app.screen).splitlines()
        assert len(lines) == 20 and lines[0].startswith("hello compat")
        app.notify("a note", title="T")
        await pilot.pause()
        assert [n.message for n in notifications(app)] == ["a note"]
