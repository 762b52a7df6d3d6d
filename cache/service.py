"""The data layer's one face: every operation the reader and the shell perform.

The two faces (``tui.app`` and ``tui.cli``) read through ``Store`` (posts, categories,
articles, comments, unread counts) and do everything else here: subscribe, remove, move,
import and export, sync, mark, log in and out, reply and the outbox, search, images. They never
import sources, ``cache.http``, ``cache.sync`` or ``cache.outbox``: those are this
module's business, and can change behind it.

Design:

- A ``Service`` owns one ``Store`` (TinyDB is synchronous and not thread-safe: a thread that
  needs the cache makes its own ``Service``/``Store`` on the same directory).
- Network operations are ``async`` and bounded by a total deadline inside the data layer;
  the shell runs them with ``asyncio.run``, the reader in a worker it can cancel. Nothing
  here blocks on input.
- Errors are ``cache.errors.BroadsheetError`` subclasses with one-line messages.
- Importing this module stays light (no asyncio, sources or httpx): every shell command
  starts by making a ``Service``, and the listings must answer in well under 0.2 s.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Config
from .errors import BadResponse, BroadsheetError, NotFound, StoreError
from .models import Site
from .safe import clean_line
from .store import Store

if TYPE_CHECKING:
    import httpx

    from .http import RetryPolicy
    from .outbox import Entry, SendOutcome
    from .search import Hit
    from .sync import SyncResult

READER_STATE = "reader-state.json"
IMAGES = "images"
"""Images fetched for the reader (``[reader] images``), one file per URL, in the cache directory."""
IMAGE_MAX_BYTES = 5 * 2**20
"""The largest image fetched; a larger one is refused (``BadResponse``)."""
IMAGES_MAX_BYTES = 50 * 2**20
"""The most the image cache holds; the oldest files are deleted past it."""
"""The reader's last open post and scroll position, in the cache directory."""

Progress = Callable[[str, str], None]
"""``progress(site_name, message)``: what a long operation is doing now."""


@dataclass
class Subscribed:
    """A new subscription, and a note on how the site was found ("" when plain)."""

    site: Site
    note: str = ""


@dataclass
class Imported:
    """What ``Service.import_subscriptions`` did."""

    added: list[Site] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


@dataclass
class Removed:
    """What ``Service.remove`` did."""

    site: str
    dropped_replies: int = 0
    forgot_login: bool = False


class Service:
    """Operations on the cache in ``directory`` (default: the user cache dir).

    ``transport`` replaces the network for every request (tests, benchmarks);
    ``policy`` sets how requests are retried (tests use no back-off); ``config`` gives the
    per-site settings (refresh intervals, full text).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        store: Store | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: RetryPolicy | None = None,
        config: Config | None = None,
    ) -> None:
        self.store = store if store is not None else Store(directory)
        self.transport = transport
        self.policy = policy
        self.config = config if config is not None else Config()

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

    async def subscribe(self, url: str, *, name: str | None = None, folder: str = "", kind: str = "auto") -> Subscribed:
        """Find the site behind ``url`` (a home page, an article, or a feed) and subscribe to
        it (nothing is fetched yet). ``kind``: ``auto`` (WordPress first, then feeds),
        ``wordpress`` or ``feed``.

        Raises: NotASite, Unreachable, BadResponse, and ``BroadsheetError`` when the name or
        the site itself is already subscribed (naming the existing subscription).
        """
        from . import sources
        from .http import make_client
        from .models import Site
        from .store import valid_name

        url = normalise_url(url)
        self._refuse_duplicate(url, "")
        if name is not None and not valid_name(name):
            raise BroadsheetError(f"invalid site name {name!r}: use lowercase letters, digits, '.', '_' or '-'")
        if name is not None and any(s.name == name for s in self.store.sites()):
            raise BroadsheetError(f"a site called {name!r} is already subscribed")
        async with make_client(self.transport) as client:
            found = await sources.discover(client, url, kind=kind, policy=self.policy)
        if found.kind == "feed":  # a site may have several feeds: only the same feed is a duplicate
            self._refuse_duplicate(found.feed_url, "feed")
        else:
            for candidate in (found.url, found.api_root):
                if candidate:
                    self._refuse_duplicate(candidate, "wordpress")
        name = name or free_name(site_slug(found.url or url), {s.name for s in self.store.sites()}, found.title)
        site = Site(
            name=name,
            url=url,
            api_root=found.api_root,
            title=found.title,
            description=found.description,
            kind=found.kind,
            feed_url=found.feed_url,
            folder=clean_folder(folder),
            home=found.url,
        )
        return Subscribed(self.store.add_site(site), found.note)

    def _refuse_duplicate(self, url: str, kind: str) -> None:
        """Refuse a URL that leads to a site already subscribed: anything on a WordPress
        site's home (a page, a post, its feed, ``?rest_route=``); a feed already read; and,
        for a new WordPress site, any subscription of the same home. ``kind`` is what the URL
        was found to be ("" before discovery)."""
        key = site_key(url)
        for site in self.store.sites():
            if site.demo:
                continue
            if site.kind == "wordpress":
                keys = {site_key(u) for u in (site.url, site.home, site.api_root) if u}
                clash = key in keys or any(key.startswith(k + "/") for k in keys if k)
            else:
                feeds = {site_key(u) for u in (site.feed_url, site.url) if u}
                homes = {site_key(site.home)} if site.home else set()
                clash = key in feeds or (kind == "wordpress" and key in homes)
            if clash:
                shown = clean_line(site.home or site.url)[:200]
                raise BroadsheetError(f"{clean_line(url)[:200]} is already subscribed as {site.name!r} ({shown})")

    def import_subscriptions(self, text: str) -> Imported:
        """Subscribe to every feed of an OPML document or a newsboat ``urls`` file, in one
        write and without fetching anything (the next sync does). Feeds already subscribed
        are skipped."""
        from collections import Counter

        from .models import Site
        from .opml import parse_subscriptions

        imported = Imported()
        taken = {s.name for s in self.store.sites()}
        keys = {site_key(u): s.name for s in self.store.sites() for u in (s.url, s.feed_url, s.api_root) if u}
        new: list[Site] = []
        subscriptions = parse_subscriptions(text)
        hosts = Counter(site_slug(sub.home or sub.url) for sub in subscriptions)
        for sub in subscriptions:
            try:
                url = normalise_url(sub.url)
            except BroadsheetError as error:
                imported.refused.append(f"{sub.url}: {error}")
                continue
            key = site_key(url)
            if key in keys:
                imported.skipped.append(f"{url} (already subscribed as {keys[key]!r})")
                continue
            base = site_slug(sub.home or url)
            name = free_name(base, taken, sub.title, shared=hosts[base] > 1)
            taken.add(name)
            keys[key] = name
            home = _same_site_url(sub.home, url)
            api_root = _same_site_url(sub.api_root, url)
            wordpress = sub.kind == "wordpress" and bool(api_root)
            new.append(
                Site(
                    name=name,
                    url=(home or url) if wordpress else url,
                    api_root=api_root if wordpress else "",
                    title=sub.title,
                    kind="wordpress" if wordpress else "feed",
                    feed_url=url,
                    folder=clean_folder(sub.folder),
                    home=home,
                )
            )
        imported.added = self.store.add_sites(new)
        return imported

    def export_opml(self) -> str:
        """Every subscription (but the demo) as OPML 2.0 with folders."""
        from .opml import to_opml

        return to_opml(self.store.sites())

    def move(self, name: str, folder: str) -> Site:
        """File a site under ``folder`` ("" takes it out of any folder)."""
        site = self.store.site(name)
        site.folder = clean_folder(folder)
        self.store.update_site_fields(site.name, folder=site.folder)
        return site

    def add_demo(self) -> Site:
        """Subscribe to the bundled offline demo site (once)."""
        from .demo import add_demo_site

        site: Site = add_demo_site(self.store)
        return site

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
        from .search import SearchIndex

        try:
            with SearchIndex(self.store.directory) as index:
                index.remove(site.name)
        except BroadsheetError:
            pass  # derived data: the next refresh drops sites that are gone
        return Removed(site.name, len(pending), credentials.remove(site.name))

    # -- sync --------------------------------------------------------------------------

    async def sync(
        self,
        names: Iterable[str] | None = None,
        *,
        full: bool = False,
        force: bool = False,
        due_only: bool | None = None,
        progress: Progress | None = None,
        on_done: Callable[[SyncResult], None] | None = None,
        processes: int | None = None,
    ) -> list[SyncResult]:
        """Fetch what is new on the named sites, or on every site that is due (its
        ``refresh_minutes`` have passed since its last sync) when ``names`` is None. ``force``
        fetches every site named or not, ignoring the sites' own hints (``<ttl>``,
        ``Retry-After``). ``due_only=False`` fetches every site without names though none is
        due (the reader's ``R``). One failing site never stops the others (its error is in its
        result). ``on_done(result)`` is told of each site as soon as it finishes.
        ``processes``: how many processes share the work (default: what the number of sites
        is worth on this machine, ``auto_processes``).

        The search index is not updated here: ``search`` (and the reader, in the background,
        after a refresh) brings it up to date with what changed (``catch_up_index``), so a
        sync costs what fetching and storing cost.
        """
        from .sync import auto_processes, sync_sites

        wanted = list(names) if names is not None else None
        if wanted is not None:
            sites = [self.store.site(n) for n in wanted]
        else:
            sites = self.store.sites()
            if not sites:
                raise NotFound("no site is subscribed; add one with `broadsheet add URL`")
            if any(not s.demo for s in sites):  # the demo stays one `sync demo` away
                sites = [s for s in sites if not s.demo]
            if due_only if due_only is not None else not (force or full):
                sites = [site for site in sites if self.due(site)]
        return await sync_sites(
            self.store,
            sites,
            progress=progress,
            transport=self.transport,
            policy=self.policy,
            full=full,
            force=force,
            options={s.name: self._options(s) for s in sites},
            on_done=on_done,
            processes=auto_processes(sites) if processes is None else processes,
        )

    def due(self, site: Site, now: float | None = None) -> bool:
        """Whether ``site``'s refresh interval has passed since a sync last tried it (or its
        index is missing, or no sync ever tried it). A site whose syncs fail waits its
        interval too (a dead feed is not asked again at every start of the reader)."""
        import time
        from datetime import datetime

        minutes = self.config.refresh_minutes(site.name)
        tried = max(site.last_sync or "", site.last_attempt or "")
        if not tried or minutes <= 0:
            return True
        try:
            if site.last_sync is not None and not self.store.has_index(site.name):
                return True  # its index was lost (corrupt, deleted): rebuild it now
        except BroadsheetError:
            return True
        try:
            last = datetime.fromisoformat(tried).replace(tzinfo=UTC).timestamp()
        except ValueError:
            return True
        return (now if now is not None else time.time()) - last >= minutes * 60

    def _options(self, site: Site) -> dict[str, Any]:
        return {"full_text": self.config.full_text(site.name)}

    async def fetch_comments(self, site: str, post_id: int) -> int:
        """Read one post's comments from the site into the store, for sources that keep
        them apart (a feed's per-post comment feed); returns how many it has (0 when the
        source reads comments with the rest of a sync)."""
        import asyncio

        from . import sources
        from .http import make_client

        found = self.store.site(site)
        post = self.store.post(site, post_id)
        async with make_client(self._transport_for(found)) as client:
            comments = await sources.make_source(found, client, self.policy).comments_for(post)
        if not comments:
            return 0
        await asyncio.to_thread(self.store.save_sync, site, posts=[], comments=comments)
        return len(comments)

    # -- search ------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        site: str | None = None,
        limit: int = 50,
        snippets: bool = True,
        catch_up: bool = True,
        stop: Callable[[], bool] | None = None,
    ) -> list[Hit]:
        """Posts (title, body) and comments matching ``query``, newest first, from an index
        first brought up to date with the cache (``catch_up_index``; ``catch_up=False``: the
        caller keeps it so, as the reader does in the background); ``snippets=False`` leaves
        the hits' snippets empty (much faster: see ``SearchIndex.search``).

        Raises: StoreError when the index is damaged (it is reset; ``reindex`` rebuilds it);
        Stopped when ``stop()`` turned true meanwhile.
        """
        from .search import SearchIndex

        if site is not None:
            self.store.site(site)  # NotFound for a name that is not subscribed
        with SearchIndex(self.store.directory, stop=stop) as index:
            if catch_up or not index.indexed_sites():  # (never built: build it now)
                self._catch_up(index)
            return index.search(query, site=site, limit=limit, snippets=snippets)

    def catch_up_index(self, stop: Callable[[], bool] | None = None) -> int:
        """Index what changed in the cache since the search index last saw it (sites synced,
        replies stored, sites removed); returns how many posts were (re)indexed. Stats alone
        when nothing changed. ``stop()`` true: ends soon with ``Stopped``, nothing kept."""
        from .search import SearchIndex

        with SearchIndex(self.store.directory, stop=stop) as index:
            return self._catch_up(index)

    def _catch_up(self, index: Any) -> int:
        names = {s.name for s in self.store.sites()}
        stale = index.stale_sites(self.store)
        gone = set(index.indexed_sites()) - names
        if stale or gone:  # (only the stale sites are stat'd again; all when some are gone)
            return int(index.refresh(self.store, None if gone else stale))
        return 0

    @staticmethod
    def query_terms(query: str) -> list[str]:
        """The words and phrases ``search`` looks for in ``query`` (to highlight them)."""
        from .search import query_terms

        return [text for text, _ in query_terms(query)]

    def reindex(self) -> int:
        """Rebuild the search index from the cache; returns how many posts it holds."""
        from .search import SearchIndex

        with SearchIndex(self.store.directory) as index:
            return index.rebuild(self.store)

    # -- read state --------------------------------------------------------------------

    def mark(self, site: str, post_ids: Iterable[int], read: bool = True) -> int:
        """Mark posts read (or unread); returns how many were named."""
        ids = list(post_ids)
        self.store.mark_read(site, ids, read)
        return len(ids)

    def mark_all(self, site: str, read: bool = True) -> int:
        """Mark every post of ``site`` read (or unread)."""
        return self.mark(site, sorted(self.store.post_ids(site)), read)

    def mark_category(self, site: str, category: int, read: bool = True) -> int:
        """Mark every post of a category (and of the categories below it) read (or unread)."""
        return self.mark(site, [p.id for p in self.store.posts(site, category=category)], read)

    # -- images ------------------------------------------------------------------------

    async def fetch_image(self, site: str, url: str) -> Path | None:
        """The image at ``url`` (from a post of ``site``) as a file in the image cache,
        fetched when not there yet; None when it may not be fetched: not http(s), or not on
        the site's own host or domain (the rule feeds follow for full text). At most
        ``IMAGE_MAX_BYTES`` per image; the cache is kept under ``IMAGES_MAX_BYTES`` by
        deleting the oldest files. Written atomically (temp file, then rename).

        Raises: NotFound (no such site), Unreachable, BadResponse (an error status, not an
        image, too big), StoreError (the cache cannot be written)."""
        import asyncio
        import hashlib

        from .http import make_client, send
        from .sources.feed import may_follow

        found = self.store.site(site)
        if not may_follow(found.feed_url or found.url, found.home or found.url, url):
            return None
        folder = self.store.directory / IMAGES
        path = folder / hashlib.sha256(url.encode("utf-8")).hexdigest()
        if await asyncio.to_thread(_touch, path):
            return path
        async with make_client(self._transport_for(found)) as client:
            response = await send(client, "GET", url, policy=self.policy, max_body=IMAGE_MAX_BYTES)
        where = clean_line(str(response.url.host))
        if response.status_code != 200:
            raise BadResponse(f"{where} answered {response.status_code} for an image")
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if not kind.startswith("image/"):
            raise BadResponse(f"{where} sent {clean_line(kind) or 'no content type'}, not an image")
        await asyncio.to_thread(_store_image, folder, path, response.content)
        return path

    # -- the reader's own state ----------------------------------------------------------

    def reader_state(self) -> dict[str, Any]:
        """What the reader kept of the last session (``{"site", "post", "scroll"}``); ``{}``
        when there is none or it cannot be read (it is a convenience, never an error)."""
        from .storage import AtomicJSONStorage

        try:
            data = AtomicJSONStorage(self.store.directory / READER_STATE).read()
        except BroadsheetError:
            return {}
        state = (data or {}).get("state")
        return state if isinstance(state, dict) else {}

    def save_reader_state(self, state: dict[str, Any]) -> None:
        """Replace the reader's state (atomically, under the file's lock).

        Raises: StoreError when the cache cannot be written."""
        from .storage import AtomicJSONStorage

        AtomicJSONStorage(self.store.directory / READER_STATE).write({"state": dict(state)})

    # -- logins ------------------------------------------------------------------------

    def check_login_transport(self, site: str) -> None:
        """Before asking for a password: raise ``Refused`` for a site that takes no replies and
        ``InsecureTransport`` when the password could not be sent safely."""
        from . import credentials, sources

        found = self.store.site(site)
        writer = sources.make_source(found, None).writer()  # type: ignore[arg-type] # no request is made
        if writer is None:
            from .errors import Refused
            from .outbox import NO_REPLIES

            raise Refused(NO_REPLIES, "no_replies")
        credentials.check_transport(writer.login_url())

    async def login(self, site: str, user: str, password: str) -> dict[str, Any]:
        """Check an Application Password against the site, then save it (mode 0600, bound to
        the site's address and the verified user). Returns ``{"id", "name", "path"}``."""
        import dataclasses

        from . import credentials, sources
        from .errors import AuthError, Refused
        from .http import make_client
        from .outbox import NO_REPLIES

        found = self.store.site(site)
        user, password = user.strip(), password.strip()
        if not user or not password:
            raise AuthError("no user or password given: nothing stored")
        creds = credentials.Credentials(found.name, user, password, origin=credentials.origin_of(found.api_root))
        async with make_client(self._transport_for(found)) as client:
            writer = sources.make_source(found, client, self.policy).writer()
            if writer is None:
                raise Refused(NO_REPLIES, "no_replies")
            me = await writer.verify(creds)
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

    @staticmethod
    def replies_refused(site: Site) -> str:
        """Why ``site`` takes no replies (one line), or "" when it takes them (imports the
        sources: call it off the reader's UI thread)."""
        from . import outbox, sources

        return "" if sources.can_reply(site) else outbox.NO_REPLIES

    def prepare_reply(
        self, site: str, post: int, parent: int, text: str, author: str = "", email: str = ""
    ) -> tuple[Entry, bool]:
        """Store a reply in the outbox (and its placeholder in the thread) before anything is
        sent; ``(entry, created)`` — an identical live reply is returned, not duplicated."""
        from . import outbox

        return outbox.prepare(self.store, site, post, parent, text, author, email)

    def save_draft(
        self,
        site: str,
        post: int,
        parent: int,
        text: str,
        author: str = "",
        email: str = "",
        *,
        draft_id: int | None = None,
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
        from . import sources

        return sources.transport_for(site)


def _touch(path: Path) -> bool:
    """Whether ``path`` exists; if so its time is renewed, so the least recently shown
    image is the first deleted."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    except OSError as error:
        raise StoreError(f"cannot read the image cache: {error.strerror or error}") from None
    return True


def _store_image(folder: Path, path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, then delete the oldest images until the
    folder holds at most ``IMAGES_MAX_BYTES`` (the new one is kept)."""
    temp = folder / f".{path.name}.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(temp, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
        files = []
        for entry in os.scandir(folder):
            if entry.is_file() and not entry.name.startswith("."):
                stat = entry.stat()
                files.append((stat.st_mtime, entry.name, stat.st_size))
        total = sum(size for _, _, size in files)
        for _, name, size in sorted(files):
            if total <= IMAGES_MAX_BYTES:
                break
            if name != path.name:
                (folder / name).unlink(missing_ok=True)
                total -= size
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise StoreError(f"cannot write the image cache: {error.strerror or error}") from None


def normalise_url(url: str) -> str:
    """An http(s) URL from what a user typed: a scheme added to a bare host (http for
    loopback, https otherwise); a user name or password in it is refused, never stored.

    Raises: NotASite.
    """
    import httpx

    from .errors import NotASite
    from .http import is_loopback
    from .safe import clean_line

    url = url.strip()
    if not url:
        raise NotASite("give the site's address: a home page, an article or a feed URL")
    if any(ch.isspace() for ch in url):
        raise NotASite(f"{clean_line(url)[:200]!r} is not a URL (it has spaces)")
    if "://" not in url:
        first = url.split("/", 1)[0]
        host, _, port = first.rpartition(":") if ":" in first else (first, "", "")
        if ":" in first and not (port.isascii() and port.isdigit()):
            raise NotASite(f"{clean_line(url)[:200]!r} is not a URL: write it as https://… or http://…")
        url = ("http://" if is_loopback(host) else "https://") + url
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise NotASite(f"{clean_line(url)[:200]} is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise NotASite(f"{clean_line(url)[:200]} is not an http(s) URL")
    if parsed.userinfo:
        shown = clean_line(str(parsed.copy_with(username=None, password=None)))[:200]
        raise NotASite(
            f"the URL carries a user name or password; give it without them ({shown}) "
            "and use `broadsheet login` for replies"
        )
    try:
        parsed.port  # noqa: B018 - validates the port (httpx accepts 99999 until it connects)
    except ValueError:
        raise NotASite(f"{clean_line(url)[:200]} has an invalid port") from None
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise NotASite(f"{clean_line(url)[:200]} has an invalid port: port {parsed.port} is out of range (1-65535)")
    return str(parsed)


def _same_site_url(candidate: str, feed_url: str) -> str:
    """``candidate`` (a home page or API root from an imported file), normalised, when it is
    on the feed's host; "" otherwise — a file must not point a later login at another host."""
    from urllib.parse import urlsplit

    if not candidate:
        return ""
    try:
        url = normalise_url(candidate)
    except BroadsheetError:
        return ""
    here, there = urlsplit(url).hostname or "", urlsplit(feed_url).hostname or ""
    return url if here.removeprefix("www.") == there.removeprefix("www.") else ""


def site_key(url: str) -> str:
    """A URL reduced to what identifies a site: host (no ``www.``, no default port) and
    path without ``index.php``, ``wp-json``, feed suffixes or a trailing slash; a
    ``?rest_route=`` or ``?p=`` query is dropped."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host += f":{parts.port}"
    path = parts.path
    for suffix in ("/wp-json/", "/wp-json", "/index.php", "/feed/atom/", "/feed/rdf/", "/feed/rss2/", "/feed/"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return host + path.rstrip("/")


def clean_folder(folder: str) -> str:
    """A folder name as shown: one safe line, at most 100 characters."""
    from .safe import clean_line

    return clean_line(folder)[:100]


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


def free_name(base: str, taken: set[str], title: str = "", *, shared: bool = False) -> str:
    """A name for a new site: ``base`` (from its host); when another site of that host has
    it (or will: ``shared``), the site's title as a slug (``BBC News – UK`` →
    ``bbc-news-uk``: what the sidebar shows, so the two are easy to match); else ``base-2``,
    ``base-3``…"""
    import re
    import unicodedata

    base = base[:56].rstrip("-.")  # room for "-NNNNNN" in a name (at most 63 characters)
    if base not in taken and not shared:
        return base
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title).strip("-")[:40].strip("-")
    if slug and slug not in taken:
        return slug
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


__all__ = ["Imported", "Removed", "Service", "Subscribed", "SyncResult", "normalise_url", "site_key", "site_slug"]
