"""Can this terminal show images? Asked once, before the reader takes the terminal.

Design and invariants:

- Images are opt-in (``[reader] images = true``) and drawn by ``textual-image`` only with a
  real graphics protocol: kitty's (``tgp``) or sixel. Anything else — not a terminal, tmux or
  screen (they do not pass the protocols through reliably), a terminal that does not answer,
  ``textual-image`` not installed — gives ``None``, and the reader keeps the placeholder
  (``[image: alt]``, its link in ``L``) exactly as without the setting.
- ``textual-image`` asks the terminal on import (escape sequences answered on stdin), which
  only works before Textual reads stdin: ``terminal_graphics`` is called by ``run_reader``
  before ``App.run``, never once the app runs, and never when the setting is off.
- Nothing here fetches anything: images come from ``Service.fetch_image``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

GRAPHICS = ("tgp", "sixel")
"""The protocols images are shown with."""


def terminal_graphics(environ: Mapping[str, str] = os.environ) -> str | None:
    """``"tgp"`` or ``"sixel"`` when the terminal answers for one, else None.

    Call only before the app runs (it writes queries to the terminal and reads the answers)."""
    if environ.get("TMUX") or environ.get("TERM", "").startswith(("screen", "tmux")):
        return None
    stdout = sys.__stdout__
    if stdout is None or not stdout.isatty():
        return None
    try:
        import textual_image.widget  # noqa: F401  (it measures the cell size on import)
        from textual_image import renderable
    except Exception:  # not installed, or the terminal query failed: no images
        return None
    if renderable.Image is renderable.SixelImage:
        return "sixel"
    if renderable.Image is renderable.TGPImage:
        return "tgp"
    return None
