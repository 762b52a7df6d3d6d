"""The reader's widgets: nouns that show one thing each and talk through messages."""

from .article import ArticleView
from .comments import CommentThread
from .site_tree import SiteTree

__all__ = ["ArticleView", "CommentThread", "SiteTree"]
