"""The reader's screens: the reader itself, help, and compose."""

from .compose import ComposeScreen
from .help import HelpScreen
from .reader import ReaderScreen

__all__ = ["ComposeScreen", "HelpScreen", "ReaderScreen"]
