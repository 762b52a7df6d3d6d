"""``?``: every key binding of the reader, with the keys currently bound (after the keymap)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def binding_rows(
    keymap: Mapping[str, str],
    key_display: Callable[[Binding], str],
    sections: Iterable[tuple[str, Iterable[BindingType]]],
) -> list[tuple[str, str, str, str]]:
    """``(section, keys, description, id)`` for every ``Binding``, with ``keymap`` (binding
    id → keys, as given to ``App.set_keymap``) applied; ``key_display``: e.g.
    ``App.get_key_display``."""
    rows = []
    for section, bindings in sections:
        for binding in bindings:
            if not isinstance(binding, Binding):
                continue
            keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
            shown = ", ".join(key_display(Binding(k.strip(), "")) for k in keys.split(","))
            rows.append((section, shown, binding.description or binding.action, binding.id or ""))
    return rows


class HelpScreen(ModalScreen[None]):
    """The list of keys; any of escape, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 100; height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="close_help"),
    ]

    def __init__(self, rows: list[tuple[str, str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_header=True, header_style="bold")
        table.add_column("Keys", style="bold", no_wrap=True)
        table.add_column("Action")
        table.add_column(Text("Id (config.toml [keys])"), style="dim", no_wrap=True)
        section = None
        for where, keys, description, binding_id in self.rows:
            if where != section:
                section = where
                table.add_row(Text(where, style="underline"), "", "")
            table.add_row(Text(keys), Text(description), Text(binding_id))
        with VerticalScroll():
            yield Static(Text("Broadsheet keys — escape closes", style="bold"))
            yield Static(table)

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
