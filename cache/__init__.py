"""Broadsheet's data layer: the local cache and how it is filled.

It never imports Textual: ``tui`` reads from here, never from the network. Public surface:
``Store`` (the cache), the models, ``sync_site``/``sync_sites`` and the error hierarchy in
``cache.errors``.
"""

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
from .models import Article, Category, Comment, Post, Site
from .store import Store, thread

__all__ = [
    "Article", "AuthError", "BadResponse", "BroadsheetError", "Category", "Comment",
    "ConfigError", "InsecureTransport", "NotASite", "NotFound", "Post", "Refused", "Site",
    "SourceError", "Store", "StoreError", "Unreachable", "thread",
]
