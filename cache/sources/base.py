"""The source contract: what sync and the outbox need from a kind of site.

A *source* turns one remote site into the plain models of ``cache.models``; it never touches
the store (``cache.sync`` does) and never names another kind. ``cache.sources`` keeps the
registry that picks a source by ``Site.kind``; sync, the outbox and the service go through
it and never import a kind's module themselves (the model is Harlequin's adapter contract).

A source reads (``sync``: what changed since the cursors it was given; ``comments_for``: one
post's comments, for sources that fetch them per post) and *may* write: ``writer()`` returns
a ``Writer`` (post a reply, check a login, find a reply that was already sent) or ``None``
for sites that take no replies (feeds).

Every method raises only ``cache.errors.SourceError`` subclasses:

- ``Unreachable`` — transient (network, time-out, 5xx/429 after retries): try later;
- ``BadResponse`` — the site answered something malformed;
- ``NotASite`` — (discovery) the URL is not a site of this kind;
- ``AuthError`` / ``Refused`` / ``Duplicate`` — writes only.

Ids: WordPress gives integer ids; feeds give strings (GUIDs). ``stable_id`` maps a string to
a positive 53-bit integer, so every kind's posts and comments are keyed the same way in the
store and an item edited in place keeps its id.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import SourceError
from ..models import MAX_ID, Category, Comment, Post, Site

if TYPE_CHECKING:
    import httpx

    from ..credentials import Credentials
    from ..http import RetryPolicy


def stable_id(text: str) -> int:
    """A positive id below 2**53 for a string identity (a feed item's GUID)."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % MAX_ID + 1


@dataclass
class Discovered:
    """What discovery learnt about a URL: enough to subscribe."""

    kind: str
    url: str
    """The site's home page (or the URL given, when there is none)."""
    api_root: str = ""
    feed_url: str = ""
    title: str = ""
    description: str = ""
    note: str = ""
    """One line for the user about how the site was found (e.g. a fallback to its feed)."""


@dataclass
class Known:
    """What the cache holds for a site, handed to ``Source.sync``."""

    cursors: dict[str, Any] = field(default_factory=dict)
    """As the last successful sync returned them (``Changes.cursors``)."""
    posts: dict[int, str] = field(default_factory=dict)
    """Cached post id → ``modified_gmt``."""
    full: bool = False
    """Fetch everything again, ignoring the cursors."""
    force: bool = False
    """Ignore what the site said about how often to fetch (``sync --force``)."""


@dataclass
class Changes:
    """What a sync found. The store applies it in one commit (``Store.save_sync``)."""

    posts: list[Post] = field(default_factory=list)
    """New or changed posts (unchanged ones may be left out)."""
    html: dict[int, str] = field(default_factory=dict)
    """Bodies as the site sent them (HTML), by post id: converted when read."""
    comments: list[Comment] = field(default_factory=list)
    categories: list[Category] | None = None
    """The whole category set, or ``None`` when unchanged (a feed answering 304)."""
    categories_complete: bool = True
    """False when ``categories`` are only those seen now (a feed's items scroll out, their
    categories must not vanish from the tree): the store adds them to what it has."""
    removed: set[int] = field(default_factory=set)
    """Post ids the site no longer has."""
    comments_complete_since: str | None = None
    """When set, ``comments`` holds every comment the site shows dated after this site-local
    time ("" = all time): cached comments of the site in that range that are missing from it
    were trashed, spammed or unapproved, and the store drops them. None: only new comments."""
    cursors: dict[str, Any] = field(default_factory=dict)
    """Stored with the index; handed back in ``Known.cursors`` next time."""
    not_modified: bool = False
    """The site said nothing changed (HTTP 304) or was not due: nothing was parsed."""


@dataclass
class Posted:
    """A reply the site accepted: ``status`` is ``approved`` or ``hold``."""

    status: str
    comment_id: int | None = None
    link: str = ""
    comment: Comment | None = None
    """The comment as the site returned it, when it did."""

    @property
    def held(self) -> bool:
        return self.status != "approved"


class Duplicate(SourceError):
    """The site already has this comment (409): it was sent before, or is an older copy."""


class Writer(ABC):
    """The write side of a source: replies and the login check."""

    @abstractmethod
    def login_url(self) -> str:
        """The URL credentials are sent to (checked against plain-http rules first)."""

    @abstractmethod
    async def verify(self, credentials: Credentials) -> dict[str, Any]:
        """Check a login; returns ``{"id", "name"}``.

        Raises: InsecureTransport, AuthError, Unreachable, BadResponse.
        """

    @abstractmethod
    async def post(
        self, post: int, parent: int, text: str, *, credentials: Credentials | None, author: str, email: str
    ) -> Posted:
        """Send a reply once (never retried here: the outbox decides).

        Raises: Duplicate, Refused, AuthError, Unreachable, InsecureTransport, BadResponse.
        """

    @abstractmethod
    async def find(
        self, post: int, parent: int, text: str, *, author: str, credentials: Credentials | None, since: str
    ) -> Posted | None:
        """Our reply on the site, if it is there (written by us, since ``since``).

        Raises: Unreachable, AuthError, InsecureTransport.
        """

    async def comment_exists(self, post: int, comment_id: int) -> bool | None:
        """Whether ``comment_id`` is a visible comment of ``post`` (None: cannot tell)."""
        return None


class Source(ABC):
    """One site of one kind, read through ``client``."""

    #: The ``Site.kind`` this source reads.
    kind: ClassVar[str]
    #: Whether sites of this kind take replies (``writer()`` is not None).
    writes: ClassVar[bool] = False

    def __init__(self, site: Site, client: httpx.AsyncClient, *, policy: RetryPolicy | None = None) -> None:
        from ..http import RetryPolicy

        self.site = site
        self.client = client
        self.policy = policy or RetryPolicy()
        #: Requests made so far (a one-item list so helpers can increment it).
        self.requests = [0]
        #: Malformed items left out so far.
        self.skipped = 0

    @classmethod
    @abstractmethod
    async def discover(
        cls, client: httpx.AsyncClient, url: str, page: httpx.Response | None, policy: RetryPolicy | None
    ) -> Discovered | None:
        """Recognise a site of this kind from ``url`` (``page``: the answer to GET ``url``,
        already fetched, or None when it failed). None: not this kind.

        Raises: Unreachable, BadResponse.
        """

    @abstractmethod
    async def sync(self, known: Known) -> Changes:
        """What changed on the site since ``known``.

        Raises: Unreachable, BadResponse.
        """

    async def comments_for(self, post: Post) -> list[Comment] | None:
        """One post's comments, for sources that read them per post (None: not supported).

        Raises: Unreachable, BadResponse.
        """
        return None

    def writer(self) -> Writer | None:
        """The write side, or None when this kind of site takes no replies."""
        return None
