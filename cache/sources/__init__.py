"""Source adapters: how a kind of site is read (and, later, written to).

A source turns a remote site into the models of ``cache.models``; it never touches the
store (``cache.sync`` does). ``Source`` is the contract; ``WordPressSource`` is the first
implementation. Methods raise only ``SourceError`` subclasses (see ``cache.errors``):

- ``Unreachable`` — transient (network, time-out, 5xx/429 after retries): try later;
- ``BadResponse`` — the site answered something malformed;
- ``NotASite`` — (discovery) the URL is not a site of this kind;
- ``AuthError`` / ``Refused`` — for writes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from ..models import Category, Comment, Post


@dataclass
class PostBatch:
    """Posts fetched by a sync, with their bodies as the site sent them (HTML) by post id.

    Bodies are stored as HTML and converted to safe Markdown when read (``Store.body``):
    converting 2,000 bodies was a quarter of a first sync's time on two cores, and reading
    one costs a fraction of a millisecond."""

    posts: list[Post] = field(default_factory=list)
    html: dict[int, str] = field(default_factory=dict)


class Source(ABC):
    """What a sync needs from a site."""

    #: Requests made so far (a one-item list so helpers can increment it).
    requests: list[int]

    @abstractmethod
    async def categories(self) -> list[Category]:
        """Every category of the site.

        Raises: Unreachable, BadResponse.
        """

    @abstractmethod
    async def posts(self, modified_after: str | None = None) -> PostBatch:
        """Published posts, all of them or those modified after a site-local time.

        Raises: Unreachable, BadResponse.
        """

    @abstractmethod
    async def post_ids(self) -> set[int]:
        """Ids of every published post (to notice deletions).

        Raises: Unreachable, BadResponse.
        """

    @abstractmethod
    async def post_total(self) -> int:
        """How many posts the site has now, as cheaply as possible.

        Raises: Unreachable, BadResponse.
        """

    @abstractmethod
    async def comments(self, after: str | None = None) -> list[Comment]:
        """Approved comments, all of them or those dated after a site-local time.

        Raises: Unreachable, BadResponse.
        """


from .wordpress import WordPressSource, discover  # noqa: E402

__all__ = ["PostBatch", "Source", "WordPressSource", "discover"]
