"""The reader's screens: the reader itself, help, and compose (``.compose``, imported when
first needed: its ``TextArea`` costs ~10 ms at start)."""

from .help import HelpScreen
from .reader import ReaderScreen

__all__ = ["HelpScreen", "ReaderScreen"]
