"""Every use of a private Textual name, in one place (Textual is pinned to 8.2.x).

Each function here leans on something Textual does not promise to keep; each has a test in
``tests/tui/test_textual_compat.py`` that fails loudly when a Textual release changes it.
Everything else in ``tui/`` uses public APIs only. When a public way appears, replace the
function's body and keep its name.

- ``SizeUpdateHook``: ``Widget._size_updated`` is where the layout tells a widget its new
  size, before the screen update that draws it (``on_resize`` comes one update later).
  The article re-renders its text for a new width there, so the first frame at a size shows
  text, not a blank pane.
- ``set_virtual_size_quietly``: assigning ``ScrollView.virtual_size`` re-lays out the whole
  screen; ``ScrollView._scroll_update`` updates only the view's scrollbars (it still asks
  for a layout when a scrollbar appears or disappears). One screen update per article.
- ``screen_text``/``notifications``: what tests read (the compositor's last frame as plain
  text; the notifications raised so far).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.geometry import Size
from textual.scroll_view import ScrollView

if TYPE_CHECKING:
    from textual.app import App
    from textual.notifications import Notification
    from textual.screen import Screen


class SizeUpdateHook(ScrollView):
    """A ``ScrollView`` whose ``size_updated`` runs as soon as the layout sizes it."""

    def size_updated(self) -> None:
        """Called after each new size from the layout (override)."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        changed = super()._size_updated(size, virtual_size, container_size, layout)
        self.size_updated()
        return changed


def set_virtual_size_quietly(view: ScrollView, size: Size) -> None:
    """Set ``view.virtual_size`` and its scrollbars without re-laying out the screen."""
    if size != view.virtual_size:
        view.set_reactive(ScrollView.virtual_size, size)
        view._scroll_update(size)


def screen_text(screen: Screen[Any]) -> str:
    """The screen's current frame as plain text, one line per row."""
    return "\n".join(strip.text for strip in screen._compositor.render_strips())


def notifications(app: App[Any]) -> list[Notification]:
    """The notifications the app has raised and not yet expired."""
    return list(app._notifications)
