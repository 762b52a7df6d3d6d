"""``L``: the links of the open article (and of the focused comment), numbered.

A ``ModalScreen`` over a plain list: it does no I/O. Choosing a link dismisses the screen
with it, and the reader opens it in the browser (through ``BroadsheetApp.open_in_browser``,
in a worker); ``y`` copies the highlighted link (``App.copy_to_clipboard``) and stays.

Keys: a digit picks a link by number — digits typed one after the other make one number
(``1`` then ``2`` is 12 when there are 12 or more links); a number that no further digit
could extend opens at once, otherwise ``enter`` opens the highlighted link.

The numbers are those shown after the links in the article (``[n]``); a comment's links
follow the article's. Labels are ``Text``: no remote string is parsed as markup.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from ..widgets.markdown import Link


class LinksScreen(ModalScreen[Link | None]):
    """Numbered links; dismissed with the link to open, or None."""

    DEFAULT_CSS = """
    LinksScreen { align: center middle; }
    LinksScreen > #links {
        width: 90%; max-width: 120; height: auto; max-height: 80%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    LinksScreen #links-heading { text-style: bold; }
    LinksScreen OptionList { height: auto; max-height: 30; border: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_link", "Open", id="open_link", priority=True),
        Binding("y", "copy_link", "Copy", id="copy_link"),
        Binding("escape,q,L", "close", "Close", id="close_links"),
    ]

    def __init__(self, links: list[Link], heading: str = "Links") -> None:
        super().__init__()
        self.links = links
        self.heading = heading
        self._typed = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="links"):
            yield Static(Text(f"{self.heading} — a number or enter opens, y copies, escape closes"), id="links-heading")
            if self.links:
                yield OptionList(*(Option(self._label(link)) for link in self.links), id="links-list")
            else:
                yield Static(Text("No links in this article.", style="italic"), id="links-empty")
        yield Footer()

    def on_mount(self) -> None:
        if self.links:
            self.option_list.highlighted = 0
            self.option_list.focus()

    @staticmethod
    def _label(link: Link) -> Text:
        text = Text()
        text.append(f"[{link.number}] ", style="bold")
        if link.where:
            text.append(f"({link.where}) ", style="dim")
        text.append(f"image: {link.text}" if link.image else link.text)
        text.append("\n    ")
        text.append(link.url, style="underline")
        return text

    @property
    def option_list(self) -> OptionList:
        return self.query_one("#links-list", OptionList)

    @property
    def highlighted(self) -> Link | None:
        """The link under the cursor."""
        if not self.links:
            return None
        index = self.option_list.highlighted
        return self.links[index] if index is not None and 0 <= index < len(self.links) else None

    def on_key(self, event: events.Key) -> None:
        if event.character is None or not event.character.isdigit() or not self.links:
            return
        event.stop()
        typed = self._typed + event.character
        numbers = {link.number: i for i, link in enumerate(self.links)}
        if int(typed) not in numbers:
            typed = event.character
        if int(typed) not in numbers:
            self._typed = ""
            self.notify(f"No link {typed}.", timeout=2)
            return
        self._typed = typed
        self.option_list.highlighted = numbers[int(typed)]
        if int(typed) * 10 > max(numbers):  # no further digit can make a larger number
            self._typed = ""
            self.action_open_link()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.option_list.highlighted = event.option_index
        self.action_open_link()

    def action_open_link(self) -> None:
        link = self.highlighted
        if link is not None:
            self.dismiss(link)

    def action_copy_link(self) -> None:
        link = self.highlighted
        if link is not None:
            self.app.copy_to_clipboard(link.url)
            self.notify(f"Copied {link.url}", markup=False, timeout=2)

    def action_close(self) -> None:
        self.dismiss(None)
