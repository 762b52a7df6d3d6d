"""The compose screen: write a reply to a post or a comment.

A self-contained ``ModalScreen`` that shows what is answered (as plain text: remote strings
are never parsed as markup) above a ``TextArea``. It does no I/O besides the external
editor; it returns a ``ComposeResult`` and the app does the rest::

    screen = ComposeScreen.for_post(post, draft=draft.text if draft else "")
    self.push_screen(screen, on_composed)            # on_composed(result | None)

    def on_composed(result):
        if result is None: return                    # closed with nothing typed
        if result.action == "send":
            entry, _ = outbox.prepare(store, site.name, post.id, parent, result.text, author, email)
            # refresh the thread (the pending placeholder is there), then in a thread worker:
            outcome = asyncio.run(outbox.send_now(store, site, entry.id))
        else:                                        # "draft"
            outbox.save_draft(store, site.name, post.id, parent, result.text, draft_id=...)

Bindings (ids for remapping): ``ctrl+s`` ``send_reply``, ``escape`` ``keep_draft``,
``ctrl+e`` ``external_editor`` (suspends the app and runs ``$VISUAL``/``$EDITOR``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from textual.app import ComposeResult as Widgets
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static, TextArea


@dataclass(frozen=True)
class ComposeResult:
    """What the user chose: ``send`` the text, or keep it as a ``draft``."""

    action: Literal["send", "draft"]
    text: str


class ComposeScreen(ModalScreen[ComposeResult | None]):
    """Compose a reply; dismissed with a ``ComposeResult``, or None when nothing was typed."""

    DEFAULT_CSS = """
    ComposeScreen {
        align: center middle;
    }
    ComposeScreen > #compose {
        width: 90%;
        max-width: 110;
        height: 80%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    ComposeScreen #compose-heading {
        text-style: bold;
        margin-bottom: 0;
    }
    ComposeScreen #compose-quote {
        color: $text-muted;
        max-height: 6;
        margin-bottom: 1;
    }
    ComposeScreen TextArea {
        height: 1fr;
    }
    """

    BINDINGS = [
        Binding("ctrl+s", "send", "Send", id="send_reply", priority=True),
        Binding("escape", "keep_draft", "Keep draft", id="keep_draft", priority=True),
        Binding("ctrl+e", "external_editor", "$EDITOR", id="external_editor", priority=True),
    ]

    def __init__(self, heading: str, quote: str = "", *, text: str = "", name: str | None = None) -> None:
        """``heading``: what is answered (one line); ``quote``: an excerpt of it; ``text``:
        a draft to start from."""
        super().__init__(name=name)
        self.heading = heading
        self.quote = quote
        self.initial_text = text

    @classmethod
    def for_post(cls, post: Any, *, draft: str = "") -> ComposeScreen:
        """Answer a post (any object with ``title`` and ``excerpt``)."""
        return cls(f"Reply to “{post.title}”", _excerpt(getattr(post, "excerpt", "")), text=draft)

    @classmethod
    def for_comment(cls, post: Any, comment: Any, *, draft: str = "") -> ComposeScreen:
        """Answer a comment (``author``, ``text``) on ``post`` (``title``)."""
        return cls(f"Reply to {comment.author} on “{post.title}”", _excerpt(comment.text), text=draft)

    def compose(self) -> Widgets:
        with Vertical(id="compose"):
            yield Static(self.heading, id="compose-heading", markup=False)
            if self.quote:
                yield Static(self.quote, id="compose-quote", markup=False)
            yield TextArea(self.initial_text, id="compose-text", soft_wrap=True, show_line_numbers=False)
        yield Footer()

    def on_mount(self) -> None:
        area = self.text_area
        area.focus()
        area.move_cursor(area.document.end)

    @property
    def text_area(self) -> TextArea:
        return self.query_one("#compose-text", TextArea)

    @property
    def text(self) -> str:
        return self.text_area.text

    # -- actions -----------------------------------------------------------------------

    def action_send(self) -> None:
        if not self.text.strip():
            self.notify("Nothing to send: type a reply first.", severity="warning")
            return
        self.dismiss(ComposeResult("send", self.text.strip()))

    def action_keep_draft(self) -> None:
        self.dismiss(ComposeResult("draft", self.text.strip()) if self.text.strip() else None)

    def action_external_editor(self) -> None:
        from textual.app import SuspendNotSupported

        from cache.errors import BroadsheetError

        from ..editor import edit_text

        try:
            try:
                with self.app.suspend():
                    edited = edit_text(self.text)
            except SuspendNotSupported:
                if not self.app.is_headless:
                    self.notify("Cannot suspend the reader here to run an editor.", severity="error")
                    return
                edited = edit_text(self.text)  # tests: no terminal to hand over
        except BroadsheetError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.text_area.load_text(edited.rstrip("\n"))
        self.text_area.move_cursor(self.text_area.document.end)


def _excerpt(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat[:limit] + ("…" if len(flat) > limit else "")
