"""The reader: a Textual app over the local cache.

Design and invariants:

- The UI reads only from the ``Store`` and never opens a socket. A refresh is
  ``cache.sync.sync_site`` run in an exclusive thread worker that has its own ``Store``
  (TinyDB is not thread-safe) and reaches the UI only through messages.
- Anything proportional to the cache's size (listing every post, unread counts) is done
  in a thread by ``Listing.load``; the UI then answers from that snapshot. Single-post reads
  (an article's body, its comments) are a few milliseconds and happen on the UI thread.
- Read-state writes go through a FIFO drained by thread workers with their own ``Store``,
  so opening a post never waits for an fsync, and the in-memory snapshot is updated first.
- No remote string is ever parsed as markup: labels are ``Text``/``Content``, notifications
  use ``markup=False``.
- With no site subscribed, the bundled demo is added and synced (offline, through the same
  WordPress code path).
"""

from __future__ import annotations

import asyncio
import gc
import queue
import threading
import webbrowser
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static

from cache import Article, BroadsheetError, Post, Store, thread
from cache.config import Config

if TYPE_CHECKING:  # imported when a refresh runs: httpx and the sync stack cost ~80 ms at start
    import httpx

    from cache.http import RetryPolicy
    from cache.sync import SyncResult

from .screens import HelpScreen
from .screens.help import binding_rows
from .widgets import ArticleView, CommentThread, Listing, ListKey, SiteTree

SUBTITLE_DELAY = 0.25
"""Seconds after the last read-state change before the header's unread count is redrawn."""

WATCH_SECONDS = 2.0
"""How often the reader looks for changes another process (a shell sync or reply) made."""

NARROW = 120
"""Below this many columns the comments go under the article instead of beside it."""


class BroadsheetApp(App[int]):
    """Sidebar tree, article pane and comments pane over one ``Store``."""

    CSS_PATH = "broadsheet.tcss"
    TITLE = "Broadsheet"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next_post", "Next", id="next_post"),
        Binding("p", "previous_post", "Prev", id="previous_post"),
        Binding("N", "next_unread", "Next unread", id="next_unread"),
        Binding("P", "previous_unread", "Prev unread", show=False, id="previous_unread"),
        Binding("space", "page_down", "Page down, then next unread", show=False, id="page_down"),
        Binding("c", "toggle_comments", "Comments", id="toggle_comments"),
        Binding("C", "wide_comments", "Comments full width", show=False, id="wide_comments"),
        Binding("r", "reply", "Reply", id="reply"),
        Binding("R", "refresh", "Refresh", id="refresh"),
        Binding("o", "open_browser", "Browser", id="open_browser"),
        Binding("m", "toggle_read", "Read/unread", id="toggle_read"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("escape", "clear_filter", "Clear the filter", show=False, id="clear_filter"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("tab", "focus_next", "Next pane", show=False, id="focus_next"),
        Binding("shift+tab", "focus_previous", "Previous pane", show=False, id="focus_previous"),
    ]

    show_comments: reactive[bool] = reactive(True)
    wide_comments: reactive[bool] = reactive(False)
    narrow: reactive[bool] = reactive(False)
    refreshing: reactive[bool] = reactive(False)

    @dataclass
    class ListingLoaded(Message):
        """A snapshot of the cache was read (at start or after a refresh)."""

        listing: Listing
        results: list[Any] = field(default_factory=list)  # cache.sync.SyncResult
        refreshed: bool = False

    @dataclass
    class ReplyFinished(Message):
        """A reply's send attempt ended (``outcome``: a ``cache.outbox.SendOutcome``)."""

        site: str
        post_id: int
        outcome: Any

    @dataclass
    class SyncProgressed(Message):
        """A running refresh reported what it is doing."""

        site: str
        message: str

    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        site: str | None = None,
        open_post: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.config = config
        self.start_site = site
        self.start_post = open_post
        self.transport = transport
        #: How refreshes retry (``None``: the data layer's default). Tests use no backoff.
        self.retry_policy: RetryPolicy | None = None
        #: Opens a URL; runs in a thread. Tests replace it.
        self.open_in_browser: Callable[[str], Any] = webbrowser.open
        #: (list, post id) of the article on screen.
        self.current: tuple[ListKey, int] | None = None
        self.listing = Listing()
        self.loaded = False
        self._writes: queue.SimpleQueue[tuple[str, list[int], bool]] = queue.SimpleQueue()
        self._write_lock = threading.Lock()
        self._subtitle_timer: Timer | None = None
        self._sync_running = False
        #: What ``_watch_cache`` saw last: (open post, file stamps).
        self._seen: tuple[Any, ...] | None = None
        self.set_reactive(BroadsheetApp.show_comments, config.reader.comments)

    # -- widgets ---------------------------------------------------------------------

    def _panes_mounted(self) -> bool:
        """Whether the reader's panes exist (a timer can fire while the app shuts down)."""
        try:
            return bool(self.query(SiteTree))  # the app's queries look at the default screen
        except Exception:  # noqa: BLE001 - no default screen any more
            return False

    @property
    def site_tree(self) -> SiteTree:
        return self.query_one(SiteTree)

    @property
    def article_view(self) -> ArticleView:
        return self.query_one(ArticleView)

    @property
    def comment_thread(self) -> CommentThread:
        return self.query_one(CommentThread)

    @property
    def comments_title(self) -> Static:
        return self.query_one("#comments-title", Static)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#filter", Input)

    @property
    def main(self) -> Horizontal:
        return self.query_one("#main", Horizontal)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="sidebar"):
                yield Input(placeholder="Filter posts by title…", id="filter")
                yield SiteTree(id="tree")
            with Horizontal(id="reading"):
                yield ArticleView(id="article")
                with Vertical(id="comments-pane"):
                    yield Static(Text("Comments"), id="comments-title")
                    yield CommentThread(id="comments")
        yield Footer()

    # -- start -----------------------------------------------------------------------

    def on_mount(self) -> None:
        self._apply_config()
        self.narrow = self.size.width < NARROW
        self.watch_show_comments(self.show_comments)
        try:
            first_run = not self.store.sites()
            if first_run:
                from cache.demo import add_demo_site

                add_demo_site(self.store)
        except BroadsheetError as error:
            self.notify(str(error), title="Cannot read the cache", severity="error", markup=False)
            return
        self.site_tree.focus()
        if self.start_post is not None:
            self._open_start_post()
        # after the first paint: the thread would compete with it for the GIL
        self.call_after_refresh(self.load_listing)
        self.set_interval(WATCH_SECONDS, self._watch_cache)

    def _apply_config(self) -> None:
        reader = self.config.reader
        if reader.theme in self.available_themes:
            self.theme = reader.theme
        else:
            self.notify(f"unknown theme {reader.theme!r} in config.toml", severity="warning", markup=False)
        if self.config.keys:
            known = {row[3] for row in self._binding_rows()}
            unknown = sorted(set(self.config.keys) - known)
            if unknown:
                self.notify(f"config.toml [keys]: unknown binding id(s): {', '.join(unknown)}", severity="warning", markup=False)
            self.set_keymap({k: v for k, v in self.config.keys.items() if k in known})

    def _open_start_post(self) -> None:
        """``--open POST``: show it before the sidebar is loaded (first paint matters)."""
        try:
            site = self.store.site(self.start_site)
            post = self.store.find_post(site.name, self.start_post or "")
        except BroadsheetError as error:
            self.notify(str(error), title="Cannot open the post", severity="error", markup=False)
            return
        self.open_post((site.name, None), post.id)
        # The look-up parsed the whole post index into this store; the listing will hold
        # what the reader needs, so do not keep a second copy for the session.
        self.store.close()

    @work(thread=True, exclusive=True, group="listing")
    def load_listing(self) -> None:
        """Read the cache snapshot in a thread."""
        store = Store(self.store.directory)
        try:
            listing = Listing.load(store)
        finally:
            store.close()
        self.post_message(self.ListingLoaded(listing))

    @on(ListingLoaded)
    def _listing_loaded(self, event: ListingLoaded) -> None:
        if not self._panes_mounted():
            return
        first = not self.loaded
        self._seen = None  # what the snapshot already shows is not news
        self.loaded = True
        self.listing = event.listing
        # The snapshot is long-lived and mostly acyclic: keep it out of the cyclic GC's full
        # passes (100+ ms each over ~140k objects, one every few keys otherwise).
        gc.freeze()
        self.site_tree.load(event.listing)
        for result in event.results:
            if result.error:
                self.notify(f"{result.site}: {result.error}", title="Refresh failed", severity="error", markup=False, timeout=8)
            elif result.new_posts:
                self.notify(result.summary(), title="Refreshed", markup=False)
        if self.current is not None:
            key, post_id = self.current
            site = event.listing.sites.get(key[0])
            if site is not None and post_id in site.by_id:
                self.site_tree.reveal(key, post_id)
                self.article_view.set_neighbours(*self._neighbours(key, post_id))
                if event.refreshed:
                    self._update_current(site.by_id[post_id])
            else:  # removed from the site (or the site unsubscribed) by the refresh
                self.current = None
                self.article_view.clear("This post is no longer on the site.")
                self.comment_thread.set_comments([], empty_text="")
                self.notify("The open post was removed from the site.", severity="warning", timeout=4)
        self._update_subtitle()
        if first:
            self._refresh_stale_sites()

    def _refresh_stale_sites(self) -> None:
        minutes = self.config.reader.refresh_after_minutes
        stale = []
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        for name, site in self.listing.sites.items():
            last = site.site.last_sync
            if last is None:
                stale.append(name)
                continue
            if minutes <= 0:
                continue
            try:
                when = datetime.fromisoformat(last).replace(tzinfo=None)
            except ValueError:
                stale.append(name)
                continue
            if now - when > timedelta(minutes=minutes):
                stale.append(name)
        if stale:
            self.refresh_sites(stale)

    # -- refresh ---------------------------------------------------------------------

    def refresh_sites(self, names: list[str] | None = None) -> None:
        """Start a refresh unless one is running (two syncs must never write at once:
        cancelling a thread worker does not stop its thread)."""
        if self._sync_running:
            self.notify("A refresh is already running.", timeout=2)
            return
        self._sync_running = True
        self.refreshing = True
        self._refresh_worker(names)

    @work(thread=True, group="refresh")
    def _refresh_worker(self, names: list[str] | None = None) -> None:
        """Sync sites (all, or ``names``) in a thread with its own ``Store``."""
        from cache.sync import SyncResult, sync_site

        self.call_from_thread(setattr, self, "refreshing", True)
        store = Store(self.store.directory)
        results: list[SyncResult] = []
        try:
            for site in store.sites():
                if names is not None and site.name not in names:
                    continue
                self.post_message(self.SyncProgressed(site.name, "starting"))
                results.append(
                    asyncio.run(
                        sync_site(
                            store,
                            site,
                            transport=self.transport,
                            policy=self.retry_policy,
                            progress=lambda name, message: self.post_message(self.SyncProgressed(name, message)),
                        )
                    )
                )
            listing = Listing.load(store)
        except BroadsheetError as error:
            results.append(SyncResult("cache", error=str(error)))
            listing = self.listing
        except Exception as error:  # noqa: BLE001 - a refresh must never take the reader down
            results.append(SyncResult("refresh", error=f"{type(error).__name__}: {error}"))
            listing = self.listing
        finally:
            store.close()
        self.post_message(self.ListingLoaded(listing, results, refreshed=True))

    @on(SyncProgressed)
    def _sync_progressed(self, event: SyncProgressed) -> None:
        self.refreshing = True
        self.sub_title = f"refreshing {event.site}: {event.message}…"

    def on_worker_state_changed(self, event) -> None:  # noqa: ANN001
        if event.worker.group == "refresh" and event.worker.is_finished:
            self._sync_running = False
            self.refreshing = False
            self._update_subtitle()

    def _schedule_subtitle(self) -> None:
        """Update the header's unread count once keys stop coming: a new sub-title repaints
        the whole screen, which would double what ``n`` costs."""
        if self._subtitle_timer is not None:
            self._subtitle_timer.stop()
        self._subtitle_timer = self.set_timer(SUBTITLE_DELAY, self._update_subtitle)

    def _update_subtitle(self) -> None:
        if not self._panes_mounted():
            return  # a deferred call that lands while the app shuts down
        parts = []
        demo = [s for s in self.listing.sites.values() if s.site.demo]
        if demo:
            parts.append("DEMO (offline sample site)")
        parts.append(f"{self.listing.unread} unread")
        if self.site_tree.filter_text:
            parts.append(f"filter: {self.site_tree.filter_text}")
        if self.refreshing:
            parts.append("refreshing…")
        self.sub_title = " · ".join(parts)

    # -- opening posts ---------------------------------------------------------------

    @on(SiteTree.PostSelected)
    def _post_selected(self, event: SiteTree.PostSelected) -> None:
        self.open_post(event.key, event.post_id, reveal=False)

    def open_post(self, key: ListKey, post_id: int, *, reveal: bool = True, mark_read: bool = True) -> bool:
        """Show a post of a list with its comments, and mark it read.

        Once the listing is loaded the post, its breadcrumb and read state come from it, and
        only the body's and the comments' shards are read (``Store.article`` re-reads the
        whole index, tens of ms for 10,000 posts). They are read through a one-off
        ``Store``: a kept one would hold every ~1 MB body shard it had read.
        """
        site_name = key[0]
        listing = self.listing.sites.get(site_name)
        reader = Store(self.store.directory)
        try:
            if listing is not None and post_id in listing.by_id:
                post = listing.by_id[post_id]
                body = self.article_view.prepared_body(post)
                if body is None:
                    body = reader.body(site_name, post_id)
                article = Article(post, body, unread=post_id not in listing.read, breadcrumb=listing.crumbs(post))
            else:  # ``--open`` before the listing is loaded: the index is parsed in self.store
                article = self.store.article(site_name, post_id)
            comments = list(thread(reader.comments(site_name, post_id)))
        except BroadsheetError as error:
            self.notify(str(error), title="Cannot open the post", severity="error", markup=False)
            return False
        finally:
            reader.close()
        self.current = (key, post_id)
        newer, older = self._neighbours(key, post_id)
        crumbs = listing.crumbs(article.post) if listing else article.breadcrumb
        self.article_view.show(article, newer=newer, older=older, crumbs=crumbs)
        self._show_comments(article.post, comments)
        if article.unread and mark_read:
            self._set_read(site_name, post_id, True)
        if reveal and self.loaded:
            self.site_tree.reveal(key, post_id)
        if older is not None:
            self.call_after_refresh(self._prefetch, key, post_id, older)
        return True

    def _prefetch(self, key: ListKey, post_id: int, older: Post) -> None:
        """After the paint, read and lay out the post ``n`` would open next (a body read
        and its first screen are most of what ``n`` costs), unless the reader moved on."""
        if self.current != (key, post_id) or not self._panes_mounted():
            return
        reader = Store(self.store.directory)
        try:
            body = reader.body(key[0], older.id)
        except BroadsheetError:
            return  # open_post reports it, if the post is opened
        finally:
            reader.close()
        self.article_view.prepare(older, body)

    def _show_comments(self, post: Post, comments: list) -> None:  # noqa: ANN001
        """Fill the comments pane; what would look the same is not redrawn (``n`` through
        posts without comments then repaints neither the title nor the thread)."""
        count = len(comments)
        closed = post.comment_status != "open"
        title = Text(f"Comments ({count})", style="bold")
        if closed:
            title.append("  closed", style="dim")
        if self.comments_title.content != title:  # update() re-lays out the screen
            self.comments_title.update(title)
        empty = "Comments are closed." if closed else "No comments yet."
        thread = self.comment_thread
        if comments or thread.comment_count or thread.empty_text != empty:
            thread.set_comments(comments, empty_text=empty)

    def _update_current(self, post: Post) -> None:
        """After a refresh: redraw the open article only if it changed."""
        view = self.article_view.article
        if view is None or self.current is None:
            return
        if view.post.modified_gmt != post.modified_gmt or view.post.comment_count != post.comment_count:
            scroll = self.article_view.scroll_y
            key, post_id = self.current
            self.open_post(key, post_id, reveal=False, mark_read=False)
            self.article_view.scroll_to(y=scroll, animate=False)

    def _neighbours(self, key: ListKey, post_id: int) -> tuple[Post | None, Post | None]:
        site = self.listing.sites.get(key[0])
        if site is None:
            return None, None
        ids = self.site_tree.ids(key)
        try:
            index = ids.index(post_id)
        except ValueError:
            return None, None
        newer = site.by_id[ids[index - 1]] if index > 0 else None
        older = site.by_id[ids[index + 1]] if index + 1 < len(ids) else None
        return newer, older

    def _current_list(self) -> tuple[ListKey, int] | None:
        """The list to move in, and the position in it (-1: before the first post)."""
        if self.current is not None:
            key, post_id = self.current
            ids = self.site_tree.ids(key)
            return key, ids.index(post_id) if post_id in ids else -1
        node = self.site_tree.cursor_node
        data = node.data if node else None
        key = getattr(data, "key", None)
        if key is None and self.listing.sites:
            key = (next(iter(self.listing.sites)), None)
        return (key, -1) if key else None

    def _step(self, delta: int, *, unread: bool) -> None:
        where = self._current_list()
        if where is None or not self.loaded:
            return
        key, index = where
        ids = self.site_tree.ids(key)
        site = self.listing.sites.get(key[0])
        if site is None:
            return
        position = index + delta
        while 0 <= position < len(ids):
            if not unread or ids[position] not in site.read:
                self.open_post(key, ids[position])
                return
            position += delta
        what = "unread post" if unread else "post"
        direction = "older" if delta > 0 else "newer"
        self.notify(f"No {direction} {what} in this list.", timeout=2)

    # -- read state ------------------------------------------------------------------

    def _set_read(self, site_name: str, post_id: int, read: bool) -> None:
        site = self.listing.sites.get(site_name)
        if site is not None and site.set_read(post_id, read):
            self.site_tree.update_read(site_name, post_id)
            self._schedule_subtitle()
        self._writes.put((site_name, [post_id], read))
        self._save_read_state()

    @work(thread=True, group="state")
    def _save_read_state(self) -> None:
        """Drain the read-state FIFO in order (one drainer at a time)."""
        with self._write_lock:
            store = Store(self.store.directory)
            try:
                while True:
                    try:
                        site, ids, read = self._writes.get_nowait()
                    except queue.Empty:
                        break
                    store.mark_read(site, ids, read)
            except BroadsheetError as error:
                self.call_from_thread(self.notify, str(error), title="Cannot save read state", severity="error", markup=False)
            finally:
                store.close()

    # -- actions ---------------------------------------------------------------------

    def action_next_post(self) -> None:
        """Open the next (older) post of the current list."""
        self._step(+1, unread=False)

    def action_previous_post(self) -> None:
        """Open the previous (newer) post of the current list."""
        self._step(-1, unread=False)

    def action_next_unread(self) -> None:
        self._step(+1, unread=True)

    def action_previous_unread(self) -> None:
        self._step(-1, unread=True)

    def action_page_down(self) -> None:
        view = self.article_view
        if view.article is None or view.at_end:
            self.action_next_unread()
        else:
            view.scroll_page_down(animate=False)

    def action_toggle_comments(self) -> None:
        if self.wide_comments:
            self.wide_comments = False
            return
        self.show_comments = not self.show_comments

    def action_wide_comments(self) -> None:
        self.wide_comments = not self.wide_comments
        if self.wide_comments:
            self.show_comments = True
            self.comment_thread.focus()

    def action_refresh(self) -> None:
        self.refresh_sites(None)

    # -- replies -----------------------------------------------------------------------

    def action_reply(self) -> None:
        """Answer the open post, or the comment under the cursor when the comments have focus."""
        from cache import outbox

        from .screens.compose import ComposeScreen

        if self.current is None:
            self.notify("Open a post first, then press r to answer it.", timeout=3)
            return
        (key, post_id) = self.current
        site_name = key[0]
        listing = self.listing.sites.get(site_name)
        try:
            post = listing.by_id[post_id] if listing and post_id in listing.by_id else self.store.post(site_name, post_id)
        except BroadsheetError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        if post.comment_status != "open":
            self.notify("Comments are closed on this post.", severity="warning", timeout=3)
            return
        try:
            body = self.store.body(site_name, post_id)
        except BroadsheetError:
            body = ""
        comment = self.comment_thread.cursor_comment if self.focused is self.comment_thread else None
        if comment is not None and comment.id < 0:
            comment = None  # a pending reply of ours has no id on the site yet: answer the post
        parent = comment.id if comment is not None else 0
        try:
            draft = outbox.draft_for(self.store, site_name, post_id, parent)
        except BroadsheetError:
            draft = None
        text = draft.text if draft else ""
        if comment is not None:
            screen = ComposeScreen.for_comment(post, comment, draft=text)
        else:
            quote = " ".join(body.split())[:300]
            screen = ComposeScreen(f"Reply to “{post.title}”", quote, text=text)

        def composed(result: Any) -> None:
            self._reply_composed(site_name, post_id, parent, result, draft.id if draft else None)

        self.push_screen(screen, composed)

    def _reply_identity(self, site_name: str) -> tuple[str, str]:
        """Name and email for the comment form: config.toml, else a label for the demo."""
        reply = self.config.reply
        author, email = reply.author, reply.email
        listing = self.listing.sites.get(site_name)
        if listing is not None and listing.site.demo:
            author = author or "Demo reader"
            email = email or "reader@demo.invalid"
        return author, email

    def _reply_composed(self, site_name: str, post_id: int, parent: int, result: Any, draft_id: int | None) -> None:
        from cache import outbox

        if result is None:
            return
        author, email = self._reply_identity(site_name)
        try:
            if result.action == "draft":
                outbox.save_draft(self.store, site_name, post_id, parent, result.text, author, email, draft_id=draft_id)
                self.notify("Draft kept: press r on the same post to continue it.", timeout=3)
                return
            entry, created = outbox.prepare(self.store, site_name, post_id, parent, result.text, author, email)
        except BroadsheetError as error:
            self.notify(f"{error} (your text is still in the compose box history)", severity="error", markup=False)
            return
        if not created:
            self.notify("The same reply is already in the outbox: not sending it twice.", timeout=3)
        self._reload_comments()
        self.notify("Sending your reply…", timeout=2)
        self._send_reply(site_name, post_id, entry.id)

    @work(thread=True, group="reply")
    def _send_reply(self, site_name: str, post_id: int, entry_id: int) -> None:
        """Send one outbox entry in a thread with its own ``Store``."""
        from cache import outbox

        store = Store(self.store.directory)
        try:
            site = store.site(site_name)
            outcome = asyncio.run(outbox.send_now(store, site, entry_id, transport=self.transport))
        except BroadsheetError as error:
            outcome = error
        finally:
            store.close()
        self.post_message(self.ReplyFinished(site_name, post_id, outcome))

    @on(ReplyFinished)
    def _reply_finished(self, event: ReplyFinished) -> None:
        if not self._panes_mounted():
            return
        outcome = event.outcome
        if isinstance(outcome, BroadsheetError):
            self.notify(f"{outcome} — the reply stays in the outbox", title="Reply not sent", severity="error", markup=False)
        else:
            severity = {"published": "information", "held": "information", "refused": "error"}.get(outcome.result, "warning")
            title = {"published": "Reply published", "held": "Reply held for moderation",
                     "refused": "Reply refused"}.get(outcome.result, "Reply queued")
            self.notify(outcome.summary(), title=title, severity=severity, markup=False, timeout=6)
        if self.current is not None and self.current[0][0] == event.site and self.current[1] == event.post_id:
            self._reload_comments()

    def _reload_comments(self) -> None:
        """Redraw the open post's comments from the store (keeps the pane's scroll)."""
        if self.current is None:
            return
        key, post_id = self.current
        listing = self.listing.sites.get(key[0])
        try:
            post = listing.by_id[post_id] if listing and post_id in listing.by_id else self.store.post(key[0], post_id)
            comments = list(thread(self.store.comments(key[0], post_id)))
        except BroadsheetError:
            return
        scroll = self.comment_thread.scroll_y
        self._show_comments(post, comments)
        self.comment_thread.scroll_to(y=scroll, animate=False)

    def _watch_cache(self) -> None:
        """Notice what another process wrote: a shell sync (new posts) or reply (comments)."""
        if self.current is None or not self.loaded or not self._panes_mounted():
            return
        key, post_id = self.current
        try:
            seen = (self.current, *self.store.stamps(key[0], post_id))
        except BroadsheetError:
            return
        before, self._seen = self._seen, seen
        if before is None or before[0] != seen[0] or before == seen or self.refreshing:
            return
        if before[2] != seen[2]:
            self._reload_comments()
        if before[1] != seen[1]:
            self.load_listing()

    def action_open_browser(self) -> None:
        post = self._target_post()
        if post is None or not post.link:
            self.notify("No post to open.", timeout=2)
            return
        self._open_url(post.link)
        self.notify(f"Opening {post.link}", markup=False, timeout=2)

    @work(thread=True, group="browser")
    def _open_url(self, url: str) -> None:
        self.open_in_browser(url)

    def _target_post(self) -> Post | None:
        """The post under the tree cursor when the tree has focus, else the open one."""
        node = self.site_tree.cursor_node
        if self.focused is self.site_tree and node is not None and hasattr(node.data, "post_id"):
            key, post_id = node.data.key, node.data.post_id  # type: ignore[union-attr]
        elif self.current is not None:
            key, post_id = self.current
        else:
            return None
        site = self.listing.sites.get(key[0])
        if site is not None and post_id in site.by_id:
            return site.by_id[post_id]
        try:
            return self.store.post(key[0], post_id)
        except BroadsheetError:
            return None

    def action_toggle_read(self) -> None:
        post = self._target_post()
        if post is None:
            return
        site = self.listing.sites.get(post.site)
        read = site is not None and post.id in site.read
        self._set_read(post.site, post.id, not read)
        self.notify(f"Marked {'unread' if read else 'read'}: {post.title}", markup=False, timeout=2)

    def action_filter(self) -> None:
        self.filter_input.display = True
        self.filter_input.focus()

    def action_clear_filter(self) -> None:
        if self.filter_input.display:
            self.filter_input.value = ""
            self.filter_input.display = False
            self.site_tree.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.site_tree.filter_text = event.value.strip()
        self.site_tree.load(self.listing)
        self._update_subtitle()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.site_tree.focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self._binding_rows()))

    def _binding_rows(self) -> list[tuple[str, str, str, str]]:
        from .screens.help import HelpScreen as _Help

        sections: list[tuple[str, Iterable[BindingType]]] = [
            ("Reader", self.BINDINGS),
            ("Sidebar", SiteTree.BINDINGS),
            ("Article", ArticleView.BINDINGS),
            ("Comments", CommentThread.BINDINGS),
            ("Help", _Help.BINDINGS),
            ("Everywhere", [Binding("ctrl+p", "command_palette", "Command palette"), Binding("ctrl+q", "quit", "Quit")]),
        ]
        return binding_rows(self, sections)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Refresh", "Sync every site now (R)", self.action_refresh)
        yield SystemCommand("Next unread post", "Open the next unread post (N)", self.action_next_unread)
        yield SystemCommand("Reply", "Answer the open post or the selected comment (r)", self.action_reply)
        yield SystemCommand("Toggle comments", "Show or hide the comments pane (c)", self.action_toggle_comments)
        yield SystemCommand("Comments full width", "Give the comments the whole width (C)", self.action_wide_comments)
        yield SystemCommand("Toggle read", "Mark the post read or unread (m)", self.action_toggle_read)
        yield SystemCommand("Open in browser", "Open the post in the web browser (o)", self.action_open_browser)
        yield SystemCommand("Filter posts", "Filter the posts by title (/)", self.action_filter)
        yield SystemCommand("Keys", "Show every key binding (?)", self.action_help)

    # -- layout ----------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self.narrow = event.size.width < NARROW

    def watch_narrow(self, narrow: bool) -> None:
        self.main.set_class(narrow, "-narrow")

    def watch_show_comments(self, show: bool) -> None:
        self.main.set_class(not show, "-no-comments")
        if not show and self.focused is self.comment_thread:
            self.article_view.focus()

    def watch_wide_comments(self, wide: bool) -> None:
        self.main.set_class(wide, "-wide-comments")
        if not wide and self.focused is self.comment_thread and not self.show_comments:
            self.article_view.focus()


def make_app(
    store: Store,
    config: Config,
    *,
    site: str | None = None,
    open_post: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> BroadsheetApp:
    """Build the reader (tests call this; ``transport`` is passed to every refresh)."""
    return BroadsheetApp(store, config, site=site, open_post=open_post, transport=transport)


def run_reader(store: Store, config: Config, *, site: str | None = None, open_post: str | None = None) -> int:
    """Run the reader until the user quits; returns the exit code."""
    app = make_app(store, config, site=site, open_post=open_post)
    result = app.run()
    return result if isinstance(result, int) else (app.return_code or 0)
