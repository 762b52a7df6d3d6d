"""The reader's secondary screens."""

from .help import HelpScreen

__all__ = ["HelpScreen"]
