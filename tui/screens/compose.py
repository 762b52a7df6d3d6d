"""The compose screen: write a reply to a post or a comment.

A self-contained ``ModalScreen`` that shows what is answered (as plain text: remote strings
are never parsed as markup) above a ``TextArea``. Besides the external editor it does one
kind of I/O, and only if asked: ``save``, a blocking function the screen runs in a thread
worker before it closes, so the text is safe on disk before the box goes away::

    def save(result):                                # in a thread: its own Service
        service = Service(directory)
        if result.action == "send":
            return service.prepare_reply(site, post.id, parent, result.text, author, email)
        return service.save_draft(site, post.id, parent, result.text, author, email)

    screen = ComposeScreen.for_post(post, draft=draft.text if draft else "", save=save)
    self.push_screen(screen, on_composed)            # on_composed(result | None)
    # result.saved is what save returned; then send the prepared entry in a worker

While ``save`` runs the screen stays open, read-only, saying "Saving…"; if it raises a
``BroadsheetError`` the screen stays open with the text and the error's one line, so
nothing typed is ever lost. Without ``save`` the screen closes at once with the text.

``ask_identity``: the site has no login and no name/email is configured, so the screen
asks for them (two fields above the text); they come back in the result (``author``,
``email``) for the caller to save to config.toml, and sending waits until both are given.
``notice``: a line shown above the text from the start (e.g. why the site refused this
draft when it was last sent) — a pre-filled draft is never sent without ``ctrl+s``.

Bindings (ids for remapping): ``ctrl+s`` ``send_reply``, ``escape`` ``keep_draft``,
``ctrl+e`` ``external_editor`` (suspends the app and runs ``$VISUAL``/``$EDITOR``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

from textual import work
from textual.app import ComposeResult as Widgets
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static, TextArea
from textual.worker import Worker, WorkerState

from cache.errors import BroadsheetError


@dataclass(frozen=True)
class ComposeResult:
    """What the user chose: ``send`` the text, or keep it as a ``draft``."""

    action: Literal["send", "draft"]
    text: str
    saved: Any = None
    """What the screen's ``save`` returned for this text (None without ``save``)."""
    author: str = ""
    email: str = ""
    """The name and email typed in the identity fields ("" when not asked)."""


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
    ComposeScreen #compose-status {
        height: auto;
        display: none;
        color: $text-muted;
    }
    ComposeScreen #compose-status.-error {
        color: $text-error;
    }
    ComposeScreen #compose-identity { height: auto; }
    ComposeScreen #compose-identity Input { width: 1fr; }
    ComposeScreen #compose-identity-help { color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send", id="send_reply", priority=True),
        Binding("escape", "keep_draft", "Keep draft", id="keep_draft", priority=True),
        Binding("ctrl+e", "external_editor", "$EDITOR", id="external_editor", priority=True),
    ]

    saving: reactive[bool] = reactive(False)
    """``save`` is running: the text is read-only and the keys wait."""

    def __init__(
        self,
        heading: str,
        quote: str = "",
        *,
        text: str = "",
        save: Callable[[ComposeResult], Any] | None = None,
        name: str | None = None,
        ask_identity: bool = False,
        notice: str = "",
    ) -> None:
        """``heading``: what is answered (one line); ``quote``: an excerpt of it; ``text``:
        a draft to start from; ``save``: stores the result (runs in a thread) before the
        screen closes; ``ask_identity``: ask for a name and email; ``notice``: a line
        shown from the start (as an error)."""
        super().__init__(name=name)
        self.heading = heading
        self.quote = quote
        self.initial_text = text
        self.save = save
        self.ask_identity = ask_identity
        self.notice = notice

    @classmethod
    def for_post(
        cls, post: Any, *, draft: str = "", save: Callable[[ComposeResult], Any] | None = None, **options: Any
    ) -> ComposeScreen:
        """Answer a post (any object with ``title`` and ``excerpt``)."""
        return cls(f"Reply to “{post.title}”", _excerpt(getattr(post, "excerpt", "")), text=draft, save=save, **options)

    @classmethod
    def for_comment(
        cls,
        post: Any,
        comment: Any,
        *,
        draft: str = "",
        save: Callable[[ComposeResult], Any] | None = None,
        **options: Any,
    ) -> ComposeScreen:
        """Answer a comment (``author``, ``text``) on ``post`` (``title``)."""
        return cls(
            f"Reply to {comment.author} on “{post.title}”", _excerpt(comment.text), text=draft, save=save, **options
        )

    def compose(self) -> Widgets:
        with Vertical(id="compose"):
            yield Static(self.heading, id="compose-heading", markup=False)
            if self.quote:
                yield Static(self.quote, id="compose-quote", markup=False)
            if self.ask_identity:
                yield Static(
                    "You have no login on this site: comment as (asked once, saved to config.toml)",
                    id="compose-identity-help",
                    markup=False,
                )
                with Horizontal(id="compose-identity"):
                    yield Input(placeholder="Your name", id="compose-author")
                    yield Input(placeholder="Your email (not shown on the site)", id="compose-email")
            yield TextArea(self.initial_text, id="compose-text", soft_wrap=True, show_line_numbers=False)
            yield Static("", id="compose-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        area = self.text_area
        area.move_cursor(area.document.end)
        if self.ask_identity:
            self.query_one("#compose-author", Input).focus()
        else:
            area.focus()
        if self.notice:
            self._show_status(self.notice, error=True)

    @property
    def identity(self) -> tuple[str, str]:
        """The name and email typed ("" when not asked)."""
        if not self.ask_identity:
            return "", ""
        return (
            " ".join(self.query_one("#compose-author", Input).value.split()),
            self.query_one("#compose-email", Input).value.strip(),
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    @property
    def text_area(self) -> TextArea:
        return self.query_one("#compose-text", TextArea)

    @property
    def text(self) -> str:
        return self.text_area.text

    @property
    def status(self) -> Static:
        return self.query_one("#compose-status", Static)

    def _show_status(self, message: str, *, error: bool = False) -> None:
        status = self.status
        status.update(message)
        status.set_class(error, "-error")
        status.display = bool(message)

    def watch_saving(self, saving: bool) -> None:
        self.text_area.read_only = saving
        if saving:
            self._show_status("Saving…")

    # -- actions -----------------------------------------------------------------------

    def action_send(self) -> None:
        if self.saving:
            return
        if not self.text.strip():
            self.notify("Nothing to send: type a reply first.", severity="warning")
            return
        author, email = self.identity
        if self.ask_identity and (not author or "@" not in email):
            self._show_status("Give the name and the email to comment with (the site asks for both).", error=True)
            self.query_one("#compose-email" if author else "#compose-author", Input).focus()
            return
        self._finish(ComposeResult("send", self.text.strip(), author=author, email=email))

    def action_keep_draft(self) -> None:
        if self.saving:
            return
        author, email = self.identity
        self._finish(
            ComposeResult("draft", self.text.strip(), author=author, email=email) if self.text.strip() else None
        )

    def _finish(self, result: ComposeResult | None) -> None:
        """Close with ``result``, once ``save`` (if any) has stored it."""
        if result is None or self.save is None:
            self.dismiss(result)
            return
        self.saving = True
        self._save(result)

    @work(thread=True, exclusive=True, group="compose-save", exit_on_error=False)
    def _save(self, result: ComposeResult) -> ComposeResult:
        assert self.save is not None
        return replace(result, saved=self.save(result))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "compose-save":
            return
        if event.state == WorkerState.SUCCESS:
            self.dismiss(event.worker.result)
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            message = (
                str(error) if isinstance(error, BroadsheetError) else f"internal error: {type(error).__name__}: {error}"
            )
            self.saving = False
            self._show_status(f"Not saved: {message} — your text is still here.", error=True)

    def action_external_editor(self) -> None:
        from textual.app import SuspendNotSupported

        from ..editor import edit_text

        if self.saving:
            return
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
