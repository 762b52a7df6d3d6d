"""Pictures: an article's images drawn in the article, below their labels.

Shown only with ``[reader] images = true`` on a terminal that answered for kitty's graphics
protocol or sixel at start (``tui.images``); everywhere else the labels (``[image: alt]``,
the link in ``L``) are all there is, and nothing here runs.

Design: a picture is as many rows of the article as it is tall (``ArticleView.set_picture``
puts them below the image's label, moving only what follows). Its size in cells is the
image's own (``textual-image`` measures it with the terminal's real cell size), scaled down
to the pane's width and ``MAX_ROWS`` in the image's proportions (``picture_size``).

- Kitty's protocol (``tgp``) and half cells (``halfcell``, for tests) are text: the rows are
  the picture itself, drawn by the line API like any text, scrolled and clipped for free.
  Kitty's image is sent to the terminal once, when its rows are made (``textual-image``'s
  renderable), and deleted when another post opens (``clear``).
- A sixel image cannot be part of a line, so its rows are blank and a ``textual-image``
  widget is laid over them, in a layer of the article's pane (``position: absolute``).
  ``place`` moves it as the article scrolls, only when it changes, and shows it only while
  it is on screen whole: a partly visible sixel would be encoded again for every step.

The files come from ``Service.fetch_image`` (the site's own host only, size-bounded, cached),
are decoded and shrunk in a thread (``tui.screens.image.decode``); the reader fetches at
most ``MAX_PICTURES`` per article, after the article is on screen, and ``open`` of another
post drops them all.
"""

from __future__ import annotations

from typing import Any

from PIL import Image as PILImage
from rich.segment import Segment
from textual.geometry import Size
from textual.widget import Widget

from .article import ArticleView

MAX_PICTURES = 8
"""Images fetched and drawn per article (the rest keep their labels)."""
MAX_ROWS = 24
"""No picture is taller than this many rows (a tall one is drawn narrower)."""


def largest(room: int) -> tuple[int, int]:
    """The pixel size no picture in ``room`` columns needs more than (cells up to 16 × 32
    pixels): images are shrunk to it as they are decoded, so 8 large photos do not hold
    100 MB."""
    return max(1, room) * 16, MAX_ROWS * 32


def picture_size(natural: tuple[int, int], room: int, tallest: int = MAX_ROWS) -> tuple[int, int]:
    """Columns and rows of a picture whose image is ``natural`` cells at one image pixel a
    screen pixel: no wider than that nor than ``room``, no taller than ``tallest``, in the
    image's proportions."""
    tallest = max(1, tallest)
    columns, rows = max(1, natural[0]), max(1, natural[1])
    width = min(room, columns, max(1, columns * tallest // rows))
    return max(1, width), max(1, min(tallest, round(rows * width / columns)))


class Pictures:
    """The pictures of the post open in one ``ArticleView``."""

    def __init__(self, view: ArticleView, graphics: str) -> None:
        self.view = view
        self.graphics = graphics
        #: The post whose pictures these are: (site, post id).
        self.post: tuple[str, int] | None = None
        #: Each picture: its image, its size in cells at one image pixel a screen pixel,
        #: and what draws it (a sixel widget, or kitty's renderable to delete later).
        self._shown: dict[str, _Picture] = {}
        #: The view's size the pictures were drawn for (width, and height for sixel).
        self._room: tuple[int, int] = (0, 0)

    def open(self, post: tuple[str, int]) -> bool:
        """``post`` is the open one now; False when its pictures are already these."""
        if post == self.post:
            return False
        self.clear()
        self.post = post
        return True

    def clear(self) -> None:
        """Drop every picture (another post is open, or none)."""
        self.post = None
        shown = list(self._shown.values())
        self._shown.clear()
        for picture in shown:
            picture.drop()

    def add(self, post: tuple[str, int], url: str, image: PILImage.Image) -> None:
        """Draw ``image`` (decoded) below the label of the image at ``url``, if ``post`` is
        still the open one."""
        if post != self.post or url in self._shown:
            return
        from ..screens.image import image_widget

        measure = image_widget(self.graphics, image)  # never mounted: it knows the cell size
        nothing = Size(0, 0)  # before any style is set, its size is the image's own
        natural = measure.get_content_width(nothing, nothing), measure.get_content_height(nothing, nothing, 0)
        picture = _Picture(image, natural)
        self._shown[url] = picture
        if self.graphics == "sixel":
            picture.widget = image_widget(self.graphics, image, classes="picture")
            picture.widget.styles.visibility = "hidden"  # until it is placed over its rows
            parent = self.view.parent
            assert isinstance(parent, Widget)
            parent.mount(picture.widget)
        self._draw(url, picture)

    def _fits(self) -> tuple[int, int]:
        """The room a picture has: the view's width and, for a sixel picture (drawn only when
        it is on screen whole), its height; else ``MAX_ROWS``."""
        region = self.view.scrollable_content_region
        return region.width, region.height if self.graphics == "sixel" else MAX_ROWS

    def _draw(self, url: str, picture: _Picture) -> None:
        """Size the picture for the view's room and give the article its rows."""
        self._room = self._fits()
        columns, rows = picture_size(picture.natural, max(1, self._room[0]), min(MAX_ROWS, self._room[1]))
        if picture.widget is not None:
            picture.widget.styles.width, picture.widget.styles.height = columns, rows
            lines: list[list[Segment]] = [[] for _ in range(rows)]
        else:
            from textual_image.renderable import halfcell, tgp

            picture.forget()  # kitty: the image at its old size goes from the terminal
            kind = tgp.Image if self.graphics == "tgp" else halfcell.Image
            renderable = kind(picture.image, width=columns, height=rows)
            lines = self.view.draw(renderable, columns)[:rows]
            picture.renderable = renderable
        picture.placed = None
        self.view.set_picture(url, lines)  # place follows (the view is laid out)

    def _redraw(self, post: tuple[str, int] | None, urls: list[str]) -> None:
        """Draw the pictures at ``urls`` again for a new room, one a frame: kitty's are
        encoded and sent to the terminal again, tens of milliseconds each."""
        if post != self.post or not urls:
            return
        url, rest = urls[0], urls[1:]
        picture = self._shown.get(url)
        if picture is not None:
            self._draw(url, picture)
        if rest:
            self.view.call_after_refresh(self._redraw, post, rest)

    def place(self, *_changed: Any) -> None:
        """Put each sixel widget over its rows as the article is now laid out and scrolled,
        when that changed; a new width sizes every picture again first."""
        if not self._shown:
            return
        article = self.view.article
        if article is None or (article.post.site, article.post.id) != self.post:
            self.clear()  # another post (or a message) is on screen now
            return
        room = self._fits()
        if room != self._room and room[0] > 0 and room[1] > 0:
            self._redraw(self.post, list(self._shown))
            return
        parent = self.view.parent
        assert isinstance(parent, Widget)
        left = self.view.content_region.x - parent.content_region.x
        top = self.view.content_region.y - parent.content_region.y
        scroll = round(self.view.scroll_y)
        height = self.view.scrollable_content_region.height
        for url, picture in self._shown.items():
            widget = picture.widget
            row = self.view.picture_top(url)
            if widget is None:
                continue
            rows = int(widget.styles.height.value) if widget.styles.height is not None else 0
            shown = None if row is None else row - scroll  # its first row, from the view's top
            whole = shown is not None and shown >= 0 and shown + rows <= height
            where = (left, top + shown) if whole and shown is not None else None
            if where == picture.placed:
                continue  # nothing to move: no layout, no new sixel
            picture.placed = where
            if where is None:
                widget.styles.visibility = "hidden"
            else:
                widget.styles.offset = where
                widget.styles.visibility = "visible"


class _Picture:
    """One picture: its image, its natural size in cells, and what draws it."""

    def __init__(self, image: PILImage.Image, natural: tuple[int, int]) -> None:
        self.image = image
        self.natural = natural
        self.widget: Widget | None = None
        self.renderable: Any = None
        #: Where its widget is now (None: hidden).
        self.placed: tuple[int, int] | None = None

    def forget(self) -> None:
        """Take kitty's copy of the image off the terminal (a no-op for the others)."""
        if self.renderable is not None:
            try:
                self.renderable.cleanup()
            except Exception:  # the terminal is gone: nothing to free
                pass
            self.renderable = None

    def drop(self) -> None:
        self.forget()
        if self.widget is not None:
            self.widget.remove()
            self.widget = None
