"""One image from an article, drawn with the terminal's graphics protocol.

Shown from ``L`` (``enter`` on an image) when ``[reader] images = true`` and
``tui.images.terminal_graphics`` found kitty's protocol or sixel at start. The reader fetches
the file through ``Service.fetch_image`` and decodes it in a thread (bounded to
``MAX_PIXELS`` and scaled down to ``MAX_SIDE``); this screen only draws the decoded image, so
it does no I/O. Its title is ``Text``: no remote string is parsed as markup.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from PIL import Image as PILImage
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Static

MAX_PIXELS = 40_000_000
"""Larger images are refused before they are decoded (a 5 MB file can hide a huge one)."""
MAX_SIDE = 2000
"""Images are scaled down to at most this many pixels a side before they are drawn."""


def decode(path: Path) -> PILImage.Image:
    """(Any thread.) The image in ``path``, decoded and scaled down for drawing.

    Raises: ValueError with a one-line message when it is not an image or is too large."""
    try:
        with PILImage.open(path) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                raise ValueError(f"the image is too large to show ({opened.width}×{opened.height})")
            image = opened.copy() if opened.mode in ("RGB", "RGBA") else opened.convert("RGBA")
    except (OSError, PILImage.DecompressionBombError) as error:
        reason = str(error).splitlines()[0] if str(error) else "unreadable"
        raise ValueError(f"cannot show this image: {reason}") from None
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    return image


def image_widget(graphics: str, image: PILImage.Image, *, id: str | None = None, classes: str | None = None) -> Widget:
    """A ``textual-image`` widget drawing ``image`` with ``graphics`` (``tgp`` or ``sixel``;
    ``halfcell``, never chosen at start, lets tests draw one without a graphics terminal)."""
    from textual_image.widget import HalfcellImage, SixelImage, TGPImage

    kinds: dict[str, Callable[..., Widget]] = {"tgp": TGPImage, "sixel": SixelImage, "halfcell": HalfcellImage}
    return kinds[graphics](image, id=id, classes=classes)


class ImageScreen(ModalScreen[None]):
    """An image over the reader; any of its keys closes it."""

    DEFAULT_CSS = """
    ImageScreen { align: center middle; }
    ImageScreen > #image-box {
        width: 90%; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    ImageScreen #image-title { text-style: bold; height: auto; }
    ImageScreen #image { width: auto; height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter", "close", "Close", id="close_image"),
    ]

    def __init__(self, image: PILImage.Image, graphics: str, title: str) -> None:
        super().__init__()
        self.image = image
        self.graphics = graphics
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="image-box"):
            yield Static(Text(self.title_text), id="image-title")
            yield image_widget(self.graphics, self.image, id="image")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
