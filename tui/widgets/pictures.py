"""Pictures: an article's images drawn in the article, where its text has their labels.

Shown only with ``[reader] images = true`` on a terminal that answered for kitty's graphics
protocol or sixel at start (``tui.images``); everywhere else the labels (``[image: alt]``,
the link in ``L``) are all there is, and nothing here runs.

Design: ``ArticleView`` draws text through the line API, and a line cannot hold a sixel
image, so each picture is a ``textual-image`` widget of its own, laid over the article in
the article's pane (a layer above it, ``position: absolute``). Its size in cells is the
image's own (the widget measures it with the terminal's real cell size), scaled down to the
pane's width and ``MAX_ROWS`` in the image's proportions (``picture_size``); the article
keeps that many blank rows below the image's label (``ArticleView.reserve``), and ``place``
moves each widget over its rows whenever the article is laid out or scrolled; the pane clips
what is scrolled out of it. A picture stays hidden until it is placed, so it never covers
text.

The files come from ``Service.fetch_image`` (the site's own host only, size-bounded, cached)
and are decoded in a thread (``tui.screens.image.decode``); the reader fetches at most
``MAX_PICTURES`` per article, after the article is on screen. Opening another post removes
the widgets (``clear``).
"""

from __future__ import annotations

from typing import Any

from PIL import Image as PILImage
from textual.geometry import Size
from textual.widget import Widget

from .article import ArticleView

MAX_PICTURES = 8
"""Images fetched and drawn per article (the rest keep their labels)."""
MAX_ROWS = 24
"""No picture is taller than this many rows (a tall one is drawn narrower)."""


def picture_size(natural: tuple[int, int], room: int) -> tuple[int, int]:
    """Columns and rows of a picture whose image is ``natural`` cells at one image pixel a
    screen pixel: no wider than that nor than ``room``, no taller than ``MAX_ROWS``, in the
    image's proportions."""
    columns, rows = max(1, natural[0]), max(1, natural[1])
    width = min(room, columns, max(1, columns * MAX_ROWS // rows))
    return max(1, width), max(1, min(MAX_ROWS, round(rows * width / columns)))


class Pictures:
    """The picture widgets over one ``ArticleView`` (in its parent, the pane)."""

    def __init__(self, view: ArticleView, graphics: str) -> None:
        self.view = view
        self.graphics = graphics
        #: The post whose pictures these are: (site, post id).
        self.post: tuple[str, int] | None = None
        #: Each picture's widget and its image's size in cells (at one image pixel a screen
        #: pixel: the widget knows the terminal's cell size).
        self._widgets: dict[str, tuple[Widget, tuple[int, int]]] = {}
        self._room = 0

    def start(self, post: tuple[str, int]) -> bool:
        """Begin with ``post``'s pictures; False when they are already this post's."""
        if post == self.post:
            return False
        self.clear()
        self.post = post
        return True

    def clear(self) -> None:
        """Remove every picture (another post is open, or none)."""
        self.post = None
        widgets = [widget for widget, _ in self._widgets.values()]
        self._widgets.clear()
        for widget in widgets:
            widget.remove()

    def add(self, post: tuple[str, int], url: str, image: PILImage.Image) -> None:
        """Draw ``image`` (decoded) below the label of the image at ``url``, if ``post`` is
        still the open one and the article shows that image."""
        if post != self.post or url in self._widgets:
            return
        from ..screens.image import image_widget

        widget = image_widget(self.graphics, image, classes="picture")
        nothing = Size(0, 0)  # the widget's sizes before any style is set: the image's own
        natural = widget.get_content_width(nothing, nothing), widget.get_content_height(nothing, nothing, 0)
        widget.styles.visibility = "hidden"  # until it is placed over its rows
        self._widgets[url] = (widget, natural)
        parent = self.view.parent
        assert isinstance(parent, Widget)
        parent.mount(widget)
        self._size(url)

    def _size(self, url: str) -> None:
        """Size the picture at ``url`` for the view's width and keep that many rows for it."""
        widget, natural = self._widgets[url]
        self._room = self.view.scrollable_content_region.width
        columns, rows = picture_size(natural, max(1, self._room))
        widget.styles.width, widget.styles.height = columns, rows
        self.view.reserve(url, rows)  # lays the article out again: ``place`` follows

    def place(self, *_changed: Any) -> None:
        """Put each picture over its rows, as the article is now laid out and scrolled (the
        pane clips what is scrolled out of it); a new width sizes them again first."""
        if not self._widgets:
            return
        article = self.view.article
        if article is None or (article.post.site, article.post.id) != self.post:
            self.clear()  # another post (or a message) is on screen now
            return
        room = self.view.scrollable_content_region.width
        if room != self._room and room > 0:
            for url in list(self._widgets):
                self._size(url)
            return
        parent = self.view.parent
        assert isinstance(parent, Widget)
        left = self.view.content_region.x - parent.content_region.x
        top = self.view.content_region.y - parent.content_region.y - round(self.view.scroll_y)
        height = self.view.scrollable_content_region.height
        for url, (widget, _) in self._widgets.items():
            row = self.view.picture_top(url)
            rows = self.view.reserved(url)
            if row is None or rows == 0:
                widget.styles.visibility = "hidden"
                continue
            shown = row - round(self.view.scroll_y)  # its first row, from the view's top
            widget.styles.offset = (left, top + row)
            widget.styles.visibility = "visible" if -rows < shown < height else "hidden"
