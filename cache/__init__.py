"""Broadsheet's data layer: the local cache and how it is filled.

It never imports Textual: ``tui`` reads from here, never from the network. Public surface:
``Store`` (the cache), the models, ``sync_site``/``sync_sites`` and the error hierarchy in
``cache.errors``.
"""

from typing import TYPE_CHECKING

from .errors import (
    AuthError,
    BadResponse,
    BroadsheetError,
    ConfigError,
    InsecureTransport,
    NotASite,
    NotFound,
    Refused,
    SourceError,
    StoreError,
    Unreachable,
)

if TYPE_CHECKING:
    from .models import Article, Category, Comment, Post, Site
    from .store import Store, thread

_LAZY = {
    "Article": "models",
    "Category": "models",
    "Comment": "models",
    "Post": "models",
    "Site": "models",
    "Store": "store",
    "thread": "store",
}


def __getattr__(name: str) -> object:
    """Import the models and the store on first use: ``broadsheet unread`` needs neither."""
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Article",
    "AuthError",
    "BadResponse",
    "BroadsheetError",
    "Category",
    "Comment",
    "ConfigError",
    "InsecureTransport",
    "NotASite",
    "NotFound",
    "Post",
    "Refused",
    "Site",
    "SourceError",
    "Store",
    "StoreError",
    "Unreachable",
    "thread",
]
