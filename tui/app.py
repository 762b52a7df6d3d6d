"""The reader app: configuration, theme, keymap and screens around ``ReaderScreen``.

Design and invariants:

- The app is a thin shell: it owns the ``Service`` (the data layer's one face, on the UI
  thread) and the ``Config``, applies the theme and the ``[keys]`` keymap, and shows the
  screens. The reader itself — panes, keys, workers — is ``tui.screens.reader``.
- ``make_app`` builds it (tests and benchmarks call it); ``run_reader`` runs it.
- The reader imports from ``cache`` only ``service``, ``store`` (reads), ``models``,
  ``errors`` and ``config``; it never opens a socket itself.
- With no site subscribed, the bundled demo is added and synced (offline, through the same
  code path as any site).
"""

from __future__ import annotations

import time
import webbrowser
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from cache.config import Config
from cache.service import Service
from cache.store import Store

from .screens.help import HelpScreen, binding_rows
from .screens.reader import ReaderScreen
from .widgets import ArticleView, CommentThread, SiteTree

if TYPE_CHECKING:  # httpx costs ~40 ms at start, and only tests pass a transport
    import httpx


class BroadsheetApp(App[int]):
    """The reader: one ``ReaderScreen`` over one cache, plus help and compose screens."""

    CSS_PATH = "broadsheet.tcss"
    TITLE = "Broadsheet"

    def __init__(
        self,
        service: Service,
        config: Config,
        *,
        site: str | None = None,
        open_post: str | None = None,
        graphics: str | None = None,
    ) -> None:
        super().__init__()
        self.service = service
        self.config = config
        #: ``tgp`` or ``sixel`` when images are on and the terminal can draw them (see
        #: ``tui.images``), else None: images stay placeholders.
        self.graphics = graphics if config.reader.images else None
        #: Opens a URL; runs in a thread. Tests replace it.
        self.open_in_browser: Callable[[str], Any] = webbrowser.open
        #: The ``[keys]`` keymap in force (binding id → keys), as given to ``set_keymap``.
        self.keymap: dict[str, str] = {}
        self.reader = ReaderScreen(service, config, site=site, open_post=open_post)
        #: When the user last pressed a key or a mouse button (``time.monotonic``): work that
        #: would stall the screen for a moment (a full GC pass) waits until they pause.
        self.last_input = 0.0

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self.last_input = time.monotonic()
        await super().on_event(event)

    def get_default_screen(self) -> Screen[Any]:
        return self.reader

    def on_mount(self) -> None:
        reader = self.config.reader
        if reader.theme in self.available_themes:
            self.theme = reader.theme
        else:
            self.notify(f"unknown theme {reader.theme!r} in config.toml", severity="warning", markup=False)
        if self.config.keys:
            known = {row[3] for row in self.binding_rows()}
            unknown = sorted(set(self.config.keys) - known)
            if unknown:
                self.notify(
                    f"config.toml [keys]: unknown binding id(s): {', '.join(unknown)}", severity="warning", markup=False
                )
            self.keymap = {k: v for k, v in self.config.keys.items() if k in known}
            self.set_keymap(self.keymap)

    def binding_rows(self) -> list[tuple[str, str, str, str]]:
        """``(section, keys, description, id)`` of every binding, with the keymap applied."""
        from .screens.compose import ComposeScreen
        from .screens.links import LinksScreen

        sections: list[tuple[str, Iterable[BindingType]]] = [
            ("Reader", ReaderScreen.BINDINGS),
            ("Sidebar", SiteTree.BINDINGS),
            ("Article", ArticleView.BINDINGS),
            ("Comments", CommentThread.BINDINGS),
            ("Compose", ComposeScreen.BINDINGS),
            ("Links (L)", LinksScreen.BINDINGS),
            ("Help", HelpScreen.BINDINGS),
            (
                "Everywhere",
                [Binding("ctrl+p", "command_palette", "Command palette"), Binding("ctrl+q", "quit", "Quit")],
            ),
        ]
        return binding_rows(self.keymap, self.get_key_display, sections)

    def show_help(self) -> None:
        """``?``: every key and its id."""
        self.push_screen(HelpScreen(self.binding_rows()))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Textual's own "Keys" panel is left out: "Broadsheet keys" (?) lists every key with
        # the id config.toml remaps it by.
        yield from (command for command in super().get_system_commands(screen) if command.title != "Keys")
        if isinstance(screen, ReaderScreen):
            for title, help_text, callback in screen.commands():
                yield SystemCommand(title, help_text, callback)


def make_app(
    store: Store,
    config: Config,
    *,
    site: str | None = None,
    open_post: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    policy: Any = None,
    graphics: str | None = None,
) -> BroadsheetApp:
    """Build the reader over ``store`` (``transport``/``policy``: for every network call,
    see ``cache.service.Service``; tests pass a fake site and no back-off; ``graphics``:
    what ``tui.images.terminal_graphics`` found)."""
    service = Service(store=store, transport=transport, policy=policy)
    return BroadsheetApp(service, config, site=site, open_post=open_post, graphics=graphics)


def run_reader(store: Store, config: Config, *, site: str | None = None, open_post: str | None = None) -> int:
    """Run the reader until the user quits; returns the exit code."""
    graphics = None
    if config.reader.images:  # asks the terminal: only before the app reads stdin
        from .images import terminal_graphics

        graphics = terminal_graphics()
    app = make_app(store, config, site=site, open_post=open_post, graphics=graphics)
    result = app.run()
    return result if isinstance(result, int) else (app.return_code or 0)
