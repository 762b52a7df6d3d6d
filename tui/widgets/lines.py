"""``LineView``: what the line-API panes (article, comments) share."""

from __future__ import annotations

from rich.style import Style
from textual.scroll_view import ScrollView


class LineView(ScrollView, can_focus=True):
    """A focusable line-API view with a cache of its component styles.

    Looking a style up costs ~0.5 ms and ``render_line`` needs several per line, so they are
    cached; the cache is forgotten whenever the styles (theme) or the focus (colours) change.
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._styles: dict[str, Style] = {}

    def notify_style_update(self) -> None:
        self._styles.clear()
        super().notify_style_update()

    def on_focus(self) -> None:
        self._styles.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._styles.clear()
        self.refresh()
