"""The data layer's one face: every operation the reader and the shell perform.

The two faces (``tui.app`` and ``tui.cli``) read through ``Store`` (posts, categories,
articles, comments, unread counts) and do everything else here: subscribe, remove, move,
import and export, sync, mark, log in and out, reply and the outbox, search. They never
import sources, ``cache.http``, ``cache.sync`` or ``cache.outbox``: those are this
module's business, and can change behind it.

Design:

- A ``Service`` owns one ``Store`` (TinyDB is synchronous and not thread-safe: a thread that
  needs the cache makes its own ``Service``/``Store`` on the same directory).
- Network operations are ``async`` and bounded by a total deadline inside the data layer;
  the shell runs them with ``asyncio.run``, the reader in a worker it can cancel. Nothing
  here blocks on input.
- Errors are ``cache.errors.BroadsheetError`` subclasses with one-line messages.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import BroadsheetError, NotFound
from .store import Store

if TYPE_CHECKING:
    import httpx

    from .http import RetryPolicy
    from .models import Site
    from .outbox import Entry, SendOutcome
    from .sync import SyncResult

Progress = Callable[[str, str], None]
"""``progress(site_name, message)``: what a long operation is doing now."""


@dataclass
class Removed:
    """What ``Service.remove`` did."""

    site: str
    dropped_replies: int = 0
    forgot_login: bool = False


class Service:
    """Operations on the cache in ``directory`` (default: the user cache dir).

    ``transport`` replaces the network for every request (tests, benchmarks);
    ``policy`` sets how requests are retried (tests use no back-off).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        store: Store | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.store = store if store is not None else Store(directory)
        self.transport = transport
        self.policy = policy

    @property
    def directory(self) -> Any:
        return self.store.directory

    def close(self) -> None:
        """Forget every open file."""
        self.store.close()

    @staticmethod
    def on_corruption(listener: Callable[[Any, Any], None]) -> None:
        """Call ``listener(path, moved_to)`` whenever a corrupt cache file is set aside."""
        from .storage import on_corruption

        on_corruption(listener)

    # -- subscriptions -----------------------------------------------------------------

    async def subscribe(self, url: str, *, name: str | None = None) -> Site:
        """Find the site behind ``url`` (any page of it) and subscribe to it (not synced)."""
        from .http import make_client
        from .models import Site
        from .sources.wordpress import discover, normalise_url
        from .store import valid_name

        url = normalise_url(url)
        _check_port(url)
        name = name or site_slug(url)
        if not valid_name(name):
            raise BroadsheetError(f"invalid site name {name!r}: use lowercase letters, digits, '.', '_' or '-'")
        if any(s.name == name for s in self.store.sites()):
            raise BroadsheetError(f"a site called {name!r} is already subscribed")
        async with make_client(self.transport) as client:
            info = await discover(client, url, self.policy)
        return self.store.add_site(
            Site(name=name, url=url, api_root=info["api_root"], title=info["title"], description=info["description"])
        )

    def add_demo(self) -> Site:
        """Subscribe to the bundled offline demo site (once)."""
        from .demo import add_demo_site

        return add_demo_site(self.store)

    def ensure_first_run(self) -> bool:
        """With no site subscribed, add the demo; returns whether it did."""
        if self.store.sites():
            return False
        self.add_demo()
        return True

    def remove(self, name: str, *, force: bool = False) -> Removed:
        """Unsubscribe and delete what is cached; refuses while replies are unsent (``force``
        drops them) and forgets the saved login."""
        from . import credentials, outbox

        site = self.store.site(name)
        pending = outbox.pending_for(self.store, site.name)
        if pending and not force:
            ids = ", ".join(str(e.id) for e in pending)
            raise BroadsheetError(
                f"{site.name} has {len(pending)} unsent repl{'ies' if len(pending) > 1 else 'y'} in the outbox "
                f"({ids}): send or drop them first (`broadsheet outbox`), or use --force"
            )
        for entry in pending:
            outbox.drop(self.store, entry.id)
        self.store.remove_site(site.name)
        return Removed(site.name, len(pending), credentials.remove(site.name))

    # -- sync --------------------------------------------------------------------------

    async def sync(
        self, names: Iterable[str] | None = None, *, full: bool = False, progress: Progress | None = None
    ) -> list[SyncResult]:
        """Fetch what is new on the named sites (all when ``names`` is None); one failing site
        never stops the others (its error is in its result)."""
        from .sync import sync_sites

        wanted = list(names) if names is not None else None
        sites = [self.store.site(n) for n in wanted] if wanted is not None else self.store.sites()
        if not sites:
            raise NotFound("no site is subscribed; add one with `broadsheet add URL`")
        return await sync_sites(
            self.store, sites, progress=progress, transport=self.transport, policy=self.policy, full=full
        )

    # -- read state --------------------------------------------------------------------

    def mark(self, site: str, post_ids: Iterable[int], read: bool = True) -> int:
        """Mark posts read (or unread); returns how many were named."""
        ids = list(post_ids)
        self.store.mark_read(site, ids, read)
        return len(ids)

    def mark_all(self, site: str, read: bool = True) -> int:
        """Mark every post of ``site`` read (or unread)."""
        return self.mark(site, sorted(self.store.post_ids(site)), read)

    # -- logins ------------------------------------------------------------------------

    def check_login_transport(self, site: str) -> None:
        """Raise ``InsecureTransport`` before asking for a password that could not be used."""
        from . import credentials
        from .sources.wordpress import route_url

        credentials.check_transport(route_url(self.store.site(site).api_root, "/wp/v2/users/me"))

    async def login(self, site: str, user: str, password: str) -> dict[str, Any]:
        """Check an Application Password against the site, then save it (mode 0600, bound to
        the site's address and the verified user). Returns ``{"id", "name", "path"}``."""
        import dataclasses

        from . import credentials, replies
        from .errors import AuthError
        from .http import make_client

        found = self.store.site(site)
        user, password = user.strip(), password.strip()
        if not user or not password:
            raise AuthError("no user or password given: nothing stored")
        creds = credentials.Credentials(found.name, user, password, origin=credentials.origin_of(found.api_root))
        async with make_client(self._transport_for(found)) as client:
            me = await replies.verify(client, found.api_root, creds)
        path = credentials.save(dataclasses.replace(creds, user_id=me["id"]))
        return {"id": me["id"], "name": me.get("name", ""), "path": str(path)}

    @staticmethod
    def logout(site: str) -> bool:
        """Forget a saved login; whether there was one."""
        from . import credentials

        return credentials.remove(site)

    @staticmethod
    def has_login(site: str) -> bool:
        from . import credentials

        return credentials.load(site) is not None

    # -- replies and the outbox --------------------------------------------------------

    def prepare_reply(
        self, site: str, post: int, parent: int, text: str, author: str = "", email: str = ""
    ) -> tuple[Entry, bool]:
        """Store a reply in the outbox (and its placeholder in the thread) before anything is
        sent; ``(entry, created)`` — an identical live reply is returned, not duplicated."""
        from . import outbox

        return outbox.prepare(self.store, site, post, parent, text, author, email)

    def save_draft(
        self, site: str, post: int, parent: int, text: str, author: str = "", email: str = "",
        *, draft_id: int | None = None,
    ) -> Entry | None:
        """Keep unsent text as a draft; None when the text is empty."""
        from . import outbox

        return outbox.save_draft(self.store, site, post, parent, text, author, email, draft_id=draft_id)

    def draft_for(self, site: str, post: int, parent: int) -> Entry | None:
        """The newest draft (or refused reply) answering ``post``/``parent``."""
        from . import outbox

        return outbox.draft_for(self.store, site, post, parent)

    async def send_reply(self, entry_id: int) -> SendOutcome:
        """Send one outbox entry now (unless another process is sending it)."""
        from . import outbox

        entry = outbox.get(self.store, entry_id)
        site = self.store.site(entry.site)
        return await outbox.send_now(self.store, site, entry_id, transport=self._transport_for(site))

    async def reply(
        self, site: str, post: int, parent: int, text: str, author: str = "", email: str = ""
    ) -> SendOutcome:
        """Store, then send, a reply (exactly once; see ``cache.outbox``)."""
        entry, _ = self.prepare_reply(site, post, parent, text, author, email)
        return await self.send_reply(entry.id)

    def outbox(self, site: str | None = None) -> list[Entry]:
        """Every outbox entry (of ``site``), oldest first."""
        from . import outbox

        return outbox.entries(self.store, site)

    def outbox_entry(self, entry_id: int) -> Entry:
        from . import outbox

        return outbox.get(self.store, entry_id)

    @staticmethod
    def outbox_json(entry: Entry) -> dict[str, Any]:
        """An outbox entry as plain data for scripts (no internal claim fields)."""
        from . import outbox

        return outbox.as_json(entry)

    def drop_reply(self, entry_id: int) -> Entry:
        from . import outbox

        return outbox.drop(self.store, entry_id)

    async def send_outbox(self, ids: Iterable[int] | None = None, *, site: str | None = None) -> list[SendOutcome]:
        """Send what waits (every site's queued replies, one site's, or the entries ``ids``)."""
        from . import outbox
        from .http import make_client

        wanted = list(ids) if ids is not None else None
        by_site: dict[str, list[int] | None] = {}
        if wanted:
            for entry_id in wanted:
                entry = outbox.get(self.store, entry_id)
                listed = by_site.setdefault(entry.site, [])
                assert listed is not None
                listed.append(entry_id)
        else:
            names = [site] if site else sorted({e.site for e in outbox.entries(self.store)})
            by_site = dict.fromkeys(names)
        outcomes: list[SendOutcome] = []
        for name, only in by_site.items():
            found = self.store.site(name)
            async with make_client(self._transport_for(found)) as client:
                outcomes += await outbox.send_ids(self.store, found, client, only)
        return outcomes

    # -- helpers -----------------------------------------------------------------------

    def _transport_for(self, site: Site) -> httpx.AsyncBaseTransport | None:
        if self.transport is not None:
            return self.transport
        from .sync import transport_for

        return transport_for(site)


def _check_port(url: str) -> None:
    """Refuse a port no socket can use before connecting (the connect error would surface
    as an exception group from the connection pool, not as one line)."""
    import httpx

    from .errors import NotASite

    port = httpx.URL(url).port
    if port is not None and not 0 < port < 65536:
        raise NotASite(f"{url} is not a valid URL: port {port} is out of range (1-65535)")


def site_slug(url: str) -> str:
    """A default site name from a URL's host: ``www.example.com:8080`` → ``example.com-8080``."""
    import re
    from urllib.parse import urlsplit

    netloc = urlsplit(url if "://" in url else "//" + url).netloc.lower()
    netloc = netloc.rsplit("@", 1)[-1]
    if netloc.startswith("www."):
        netloc = netloc[4:]
    slug = re.sub(r"[^a-z0-9.]+", "-", netloc).strip("-.")
    return slug[:60] or "site"
