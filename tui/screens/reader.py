"""The reader screen: sidebar tree, article pane and comments pane, and the reader's keys.

Design and invariants:

- The screen reads through ``Store`` and does everything else through ``cache.service``;
  it never opens a socket itself. Threads (workers) never share a ``Store``/``Service``:
  each makes its own on the same directory (TinyDB is not thread-safe), and reaches the UI
  only through ``post_message``.
- Nothing proportional to the cache or to one post's size runs on the UI thread: the
  listing (``Listing.load``), a post's body (``Store.body`` converts HTML to Markdown) and
  comments are read in thread workers and shown when their message arrives. ``n`` stays
  instant because the post it opens was read and laid out ahead (``_prefetch``).
- Network work (refresh, sending a reply) runs in a thread worker on an event loop of its
  own (``tui.background.CancellableJob``); ``on_unmount`` cancels it, so quitting never
  waits for a silent server. Timers and workers belong to this screen, so Textual stops
  and cancels them when it goes; nothing checks at fire time whether the panes exist.
- Navigation (list order, neighbours, next/previous unread) is ``tui.navigation.PostLists``;
  read-state writes go through ``tui.readstate.ReadStateQueue``; both are plain classes.
- Scale (see ``tui.listing``): the tree paints from per-site summaries; a site's posts are
  read (``_load_site``, a thread) only when it is expanded, opened or stepped into, and
  the actions that need them wait for them (``want_site``). Every thread that reads the
  cache drains the read-state queue first, so it never reads back an older read state.
- Other processes: every ``WATCH_SECONDS`` a thread stats ``sites.json`` and each site's
  index and reloads what changed (summaries, and the loaded sites whose index moved).
- Long-lived snapshots are kept out of the cyclic GC's full passes with ``gc.freeze()``,
  refrozen when the reader is idle after a load (``unfreeze``, ``collect``, ``freeze``), so
  what a reload dropped is collected instead of leaking into the permanent generation.
  "Idle" is ``GC_IDLE`` seconds without a key press (a full pass takes 50–150 ms). While
  the screen is up the automatic full passes are ten times rarer (``FULL_GC_EVERY``): each
  walks everything allocated since the last freeze (10–20 ms, one every ~5 ``n`` with
  Python's default); the young generations, where nearly all garbage dies, are untouched.
- ``/`` filters the tree's titles as you type; ``enter`` also runs the full-text search
  (``Service.search``, in a thread) and lists the matching posts in a "Search: QUERY" node
  above the filtered tree; ``escape`` clears both.
- No remote string is ever parsed as markup: labels are ``Text``/``Content``,
  notifications use ``markup=False``.
"""

from __future__ import annotations

import dataclasses
import gc
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static
from textual.worker import Worker

from cache.config import Config, save_reply_identity
from cache.errors import BroadsheetError, Stopped
from cache.models import Article, Category, Comment, Post, Site
from cache.service import Service
from cache.store import Store, link_key

from ..background import CancellableJob, Cancelled
from ..listing import Listing, ListKey, SiteListing
from ..navigation import PostLists, Step
from ..readstate import ReadStateQueue
from ..widgets import ArticleView, CommentThread, SiteTree
from ..widgets.article import filed_under, post_breadcrumb
from ..widgets.markdown import Link, links_in
from ..widgets.site_tree import FolderItem, Found, ListItem, PostItem, SiteItem

if TYPE_CHECKING:
    from ..app import BroadsheetApp
    from ..widgets.pictures import Pictures
    from .compose import ComposeResult as Composed

TOASTS = 3
"""At most this many toasts for one refresh's errors (and as many for its news)."""
SUBTITLE_DELAY = 0.25
"""Seconds after the last read-state change before the header's unread count is redrawn."""

WATCH_SECONDS = 2.0
"""How often the reader looks for changes another process (a shell sync or reply) made."""

GC_IDLE = 1.0
"""Seconds after the last load, and after the last key press, before the snapshot is
refrozen out of the cyclic GC."""

FULL_GC_EVERY = 100
"""Young-generation collections between automatic full ones while the reader is up
(Python's default: 10)."""

STATE_DELAY = 2.0
"""Seconds after opening a post before the reader's state (last post) is saved."""

SIDEBAR_STEP = 4
SIDEBAR_MIN, SIDEBAR_MAX = 20, 100
"""``<``/``>`` narrow and widen the sidebar by this many columns, within these bounds."""

NARROW = 120
"""Below this many columns the comments go under the article instead of beside it."""

LOADING_DELAY = 0.15
"""Seconds a post may take to read before a "Loading…" notice stands in for it: drawing
the notice at once would compete with the read for the GIL, and most reads take a few ms
(the previous article stays on screen meanwhile)."""


REVEAL_DELAY = 0.05
"""Seconds between drawing an article and moving the tree's cursor to it, when that move
expands the tree or fills a page (stepping into another site: ~20 ms of redrawing the whole
sidebar, which would otherwise hold the article back)."""

QUEUED_STEPS = 50
"""Presses of a held ``n`` (or ``p``…) kept while the next site is read; more are dropped."""

READ_LOG = 2000
"""Read-state changes remembered for replay onto snapshots read meanwhile."""


class ReaderScreen(Screen[None]):
    """Sidebar tree, article pane and comments pane over one cache."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide")]  # noqa: RUF012 - Textual's own ClassVar
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
        Binding("L", "links", "Links", id="links"),
        Binding("m", "toggle_read", "Read/unread", id="toggle_read"),
        Binding("slash", "filter", "Search", id="filter"),
        Binding("escape", "clear_filter", "Clear the search and filter", show=False, id="clear_filter"),
        Binding("U", "unread_only", "Unread only", show=False, id="unread_only"),
        Binding("A", "mark_all_read", "Mark all read", show=False, id="mark_all_read"),
        Binding("less_than_sign", "sidebar(-1)", "Narrower sidebar", show=False, id="sidebar_narrower"),
        Binding("greater_than_sign", "sidebar(1)", "Wider sidebar", show=False, id="sidebar_wider"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "app.quit", "Quit", id="quit"),
        Binding("tab", "app.focus_next", "Next pane", show=False, id="focus_next"),
        Binding("shift+tab", "app.focus_previous", "Previous pane", show=False, id="focus_previous"),
    ]

    show_comments: reactive[bool] = reactive(True)
    wide_comments: reactive[bool] = reactive(False)
    refreshing: reactive[bool] = reactive(False)

    @dataclass
    class ListingLoaded(Message):
        """A snapshot of the cache was read (at start or after a refresh)."""

        listing: Listing
        #: After a refresh: one line per site that failed, and per site with news.
        errors: list[str] = field(default_factory=list)
        news: list[str] = field(default_factory=list)
        refreshed: bool = False
        #: The sites this refresh synced (None: not a refresh, or every site).
        names: list[str] | None = None
        #: A refresh that found nothing new anywhere.
        nothing_new: bool = False
        #: The last read-state change the worker saw before reading (later ones are applied
        #: again to the snapshot: the disk it read did not have them yet).
        read_seq: int = 0

    @dataclass
    class SiteLoaded(Message):
        """A site's posts were read (``listing`` None: they could not be)."""

        name: str
        listing: SiteListing | None
        error: str = ""

    @dataclass
    class SearchFinished(Message):
        """A full-text search answered (``error``: it could not)."""

        query: str
        found: list[Found]
        terms: list[str]
        error: str = ""
        #: Which submit this answers: an older search, or one escaped since, is dropped.
        request: int = 0

    @dataclass
    class MarkedRead(Message):
        """``A`` marked a folder, site or category read on disk."""

        what: str
        count: int
        error: str = ""

    @dataclass
    class StartPostFound(Message):
        """The post to open at start was looked up (``post`` None: it could not be)."""

        post: Post | None
        categories: dict[int, Category]
        unread: bool
        error: str = ""
        site: Site | None = None

    @dataclass
    class CommentsFetched(Message):
        """A feed post's comments were fetched into the store."""

        site: str
        post_id: int

    @dataclass
    class PostLoaded(Message):
        """A post's body and/or comments were read (``None``: not asked for)."""

        site: str
        post_id: int
        body: str | None
        comments: list[tuple[int, Comment]] | None
        #: ``Store.stamps`` taken before reading: what ``_watch_cache`` compares with.
        stamps: tuple[Any, ...] = ()
        modified: str = ""
        error: str = ""
        prefetch: bool = False

    @dataclass
    class DraftLoaded(Message):
        """The outbox was searched for a draft answering what ``r`` was pressed on."""

        post: Post
        comment: Comment | None
        draft_id: int | None
        text: str
        #: Why the site refused this draft when it was sent ("" for a plain draft).
        refused: str = ""
        #: Why the site takes no replies at all ("": it takes them).
        no_replies: str = ""
        #: A login for the site is saved (no name/email needed).
        login: bool = False
        #: Which ``r`` press this answers: only the latest opens a compose screen.
        request: int = 0

    @dataclass
    class ReplyFinished(Message):
        """A reply's send attempt ended (``outcome``: a send outcome, or the error)."""

        site: str
        post_id: int
        outcome: Any

    @dataclass
    class SyncProgressed(Message):
        """A running refresh reported what it is doing."""

        site: str
        message: str

    def __init__(
        self, service: Service, config: Config, *, site: str | None = None, open_post: str | None = None
    ) -> None:
        super().__init__(id="reader")
        self.service = service
        self.store = service.store
        self.config = config
        self.start_site = site
        self.start_post = open_post
        #: (list, post id) of the article on screen.
        self.current: tuple[ListKey, int] | None = None
        self.lists = PostLists()
        self.loaded = False
        self.read_queue = ReadStateQueue()
        self.jobs = CancellableJob()
        self._subtitle_timer: Timer | None = None
        self._sync_running = False
        #: The post ``n`` would open, read ahead (a ``PostLoaded`` with ``prefetch``).
        self._prefetched: ReaderScreen.PostLoaded | None = None
        #: The article being read by ``_load_post``, not on screen yet, and where the tree's
        #: cursor goes once it is.
        self._opening: Article | None = None
        self._reveal: tuple[ListKey, int] | None = None
        self._listing_started = False
        self._loading_timer: Timer | None = None
        #: The post whose comments the pane shows (None: none, or being read).
        self._comments_of: tuple[str, int] | None = None
        #: What ``_watch_cache`` saw last: (open post, file stamps).
        self._seen: tuple[Any, ...] | None = None
        #: The categories of the ``--open`` post's site, until the listing has them.
        self._start_cats: dict[int, Category] = {}
        self._start_site: Site | None = None  # the start post's site, before the listing is read
        #: Read-state changes made here, numbered: a snapshot read by a worker gets those it
        #: could not have seen applied again (``ListingLoaded.read_seq``).
        self._read_seq = 0
        self._read_log: list[tuple[int, str, int, bool]] = []
        #: A read-state write failed (a read-only cache): the log is the only record.
        self._read_unsaved = False
        #: The start post is being looked up (the listing waits for it: first paint first).
        self._start_pending = False
        #: The latest search asked for (escape counts too): older answers are dropped.
        self._search_request = 0
        #: the background catch-up of the search index: one at a time, once more if asked meanwhile
        self._index_lock = threading.Lock()
        self._indexing = self._index_again = False
        #: The latest ``r`` press (its draft look-up is the one that may open a screen).
        self._draft_request = 0
        #: The feed-comments fetch in flight (at most one), and the post it is for.
        self._comments_job: CancellableJob | None = None
        self._comments_job_for: tuple[str, int] | None = None
        #: The article's pictures ([reader] images on a terminal with graphics), and the
        #: fetch of them in flight.
        self._pictures: Pictures | None = None
        self._pictures_job: CancellableJob | None = None
        #: When each feed post's comment feed was last fetched (monotonic seconds).
        self._comments_fetched: dict[tuple[str, int], float] = {}
        #: A comment to put the cursor on once the thread is read again (a reply just sent).
        self._select_comment: int | None = None
        #: Sites whose posts are being read, and what waits for one (the latest wins).
        self._site_loading: set[str] = set()
        self._pending: tuple[str, Callable[[], Any]] | None = None
        #: Set exactly while ``_pending`` is a step (``n``, ``p``…) waiting for a site: its
        #: direction and the presses of the same key since, taken once it lands (a held key
        #: loses none).
        self._queued_steps: tuple[tuple[int, bool], int] | None = None
        #: A tree rebuild hid the open post, and the cursor went from it to its list.
        self._cursor_displaced = False
        self._gc_timer: Timer | None = None
        self._reveal_timer: Timer | None = None
        self._gc_threshold = self._gc_set = gc.get_threshold()
        self._state_timer: Timer | None = None
        #: ``sites.json`` as the last listing load saw it (what the watcher compares).
        self._sites_seen: Any = None
        #: The search whose results the tree shows, and its terms (for highlighting).
        self.search_query = ""
        self.search_terms: list[str] = []
        #: Where the article was scrolled to when the reader last closed (restored once).
        self._restore_scroll: float = 0.0
        self._restoring = False
        self._article: ArticleView | None = None
        self.set_reactive(ReaderScreen.show_comments, config.reader.comments)

    # -- widgets ---------------------------------------------------------------------

    @property
    def listing(self) -> Listing:
        return self.lists.listing

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

    @property
    def reader_app(self) -> BroadsheetApp:
        return cast("BroadsheetApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="sidebar"):
                yield Input(placeholder="Filter titles as you type; enter searches the full text…", id="filter")
                yield SiteTree(self.lists, id="tree")
            with Horizontal(id="reading"):
                with Container(id="article-pane"):  # the pictures' layer is over the article
                    yield ArticleView(id="article")
                with Vertical(id="comments-pane"):
                    yield Static(Text("Comments"), id="comments-title")
                    yield CommentThread(id="comments")
        yield Footer()

    def _thread_service(self) -> Service:
        """A ``Service`` for one worker thread (TinyDB objects never cross threads)."""
        return Service(self.service.directory, transport=self.service.transport, policy=self.service.policy)

    # -- start and stop --------------------------------------------------------------

    def on_mount(self) -> None:
        self.watch_show_comments(self.show_comments)
        self._gc_threshold = gc.get_threshold()
        self._gc_set = (*self._gc_threshold[:2], FULL_GC_EVERY)
        gc.set_threshold(*self._gc_set)
        try:
            self.service.ensure_first_run()
        except BroadsheetError as error:
            self.notify(str(error), title="Cannot read the cache", severity="error", markup=False)
            return
        self.site_tree.focus()
        self._article = self.article_view
        graphics = self.reader_app.graphics
        if graphics:  # [reader] images, on a terminal that draws them: pictures in the article
            from ..widgets.pictures import Pictures

            self._pictures = Pictures(self._article, graphics)
            self._article.laid_out = self._pictures.place
            self.watch(self._article, "scroll_y", self._pictures.place, init=False)
        if self.config.reader.sidebar_width:
            self._set_sidebar_width(self.config.reader.sidebar_width)
        if self.start_post is None and self.start_site is None:
            state = self.service.reader_state()  # a few bytes: the last session's post
            if isinstance(state.get("site"), str) and isinstance(state.get("post"), int):
                self.start_site, self.start_post, self._restoring = state["site"], str(state["post"]), True
                scroll = state.get("scroll")
                self._restore_scroll = float(scroll) if isinstance(scroll, (int, float)) else 0.0
        if self.start_post is not None:
            self._start_pending = True
            self._find_start_post(self.start_site, self.start_post)
        if self._opening is None and not self._start_pending:
            # after the first paint: the thread would compete with it for the GIL
            self.call_after_refresh(self.load_listing)
        # else once the start post is on screen (``_post_loaded``), for the same reason
        self.set_interval(WATCH_SECONDS, self._watch_cache)

    def on_unmount(self) -> None:
        """Stop network work now: a refresh or a send waiting on a silent server; keep the
        open post and its scroll for next time (a few bytes, once)."""
        if gc.get_threshold() == self._gc_set:  # as this screen left it: put it back
            gc.set_threshold(*self._gc_threshold)
        self.jobs.cancel()
        for job in (self._comments_job, self._pictures_job):
            if job is not None:
                job.cancel()
        if self.current is not None:
            try:
                self.service.save_reader_state(self._reader_state())
            except BroadsheetError:
                pass  # a read-only cache: the reader simply starts at the top next time

    def _reader_state(self) -> dict[str, Any]:
        assert self.current is not None
        view = self._article or self.article_view  # kept: after unmount it cannot be queried
        return {"site": self.current[0][0], "post": self.current[1], "scroll": round(view.scroll_y, 1)}

    def _schedule_state(self) -> None:
        if self._state_timer is not None:
            self._state_timer.stop()
        self._state_timer = self.set_timer(STATE_DELAY, self._save_state)

    def _save_state(self) -> None:
        self._state_timer = None
        if self.current is not None:
            self._save_state_worker(self._reader_state())

    @work(thread=True, exclusive=True, group="reader-state")
    def _save_state_worker(self, state: dict[str, Any]) -> None:
        try:
            self.service.__class__(self.service.directory).save_reader_state(state)
        except BroadsheetError:
            pass

    @work(thread=True, exclusive=True, group="start")
    def _find_start_post(self, site_name: str | None, key: str) -> None:
        """(A thread.) ``--open POST`` or the last session's post: found before the sidebar
        is loaded (first paint matters), without parsing the site's index on the UI thread."""
        store = Store(self.store.directory)
        try:
            site = store.site(site_name)
            post = store.find_post(site.name, key)
            cats = {c.id: c for c in store.categories(site.name)}
            unread = post.id not in store.read_ids(site.name)
        except BroadsheetError as error:
            self.post_message(self.StartPostFound(None, {}, False, str(error)))
            return
        finally:
            store.close()
        self.post_message(self.StartPostFound(post, cats, unread, site=site))

    @on(StartPostFound)
    def _start_post_found(self, event: StartPostFound) -> None:
        self._start_pending = False
        post = event.post
        if post is None:
            if not self._restoring:  # a post of the last session that is gone: start afresh
                self.notify(event.error, title="Cannot open the post", severity="error", markup=False)
            self._restoring = False
            self._restore_scroll = 0.0
        elif self.current is None:  # (the user may have opened another meanwhile)
            self._start_cats, self._start_site = event.categories, event.site
            breadcrumb = post_breadcrumb(post, event.categories)
            self._show((post.site, None), Article(post, "", unread=event.unread, breadcrumb=breadcrumb))
        if self._opening is None and not self._listing_started:
            self.call_after_refresh(self.load_listing)

    def load_listing(self) -> None:
        """Read the summaries (and the open post's or the start site's posts) in a thread."""
        self._listing_started = True
        want = [self.current[0][0]] if self.current is not None else []
        if not self.loaded and self.start_site and self.start_site not in want:
            want.append(self.start_site)
        self._load_listing_worker(want, first=not self.loaded)

    @work(thread=True, exclusive=True, group="listing")
    def _load_listing_worker(self, want: list[str], first: bool = False) -> None:
        upto = self._read_seq
        service = self._thread_service()
        try:
            self._drain(service)
            listing = self._read_listing(service.store, want, first=first)
        except BroadsheetError as error:
            self.app.call_from_thread(
                self.notify, str(error), title="Cannot read the cache", severity="error", markup=False
            )
            return
        finally:
            service.close()
        self.post_message(self.ListingLoaded(listing, read_seq=upto))

    def _read_listing(
        self, store: Store, want: list[str], *, first: bool = False, loaded: dict[str, Any] | None = None
    ) -> Listing:
        """(A thread.) Every site's summary and the posts of ``want`` — at the first load
        also of the only site, when there is one."""
        self._sites_seen = [s.to_row() for s in store.sites()]
        listing = Listing.load(store, sites=want)
        if first and len(listing.summaries) == 1 and not listing.sites:
            only = next(iter(listing.summaries.values())).site
            listing.add(Listing.load_site(store, only))
        for name, stamp in (loaded or {}).items():  # loaded sites whose index moved
            summary = listing.summaries.get(name)
            if summary is not None and name not in listing.sites and summary.stamp != stamp:
                listing.add(Listing.load_site(store, summary.site))
        return listing

    def _loaded_stamps(self) -> dict[str, Any]:
        """The loaded sites and their index stamps as read (what a reload compares)."""
        return {name: site.summary.stamp for name, site in list(self.listing.sites.items())}

    def _drain(self, service: Service) -> None:
        """(A thread.) Write the queued read-state changes before reading the cache."""
        try:
            self.read_queue.drain(service.mark)
        except BroadsheetError as error:
            warned, self._read_unsaved = self._read_unsaved, True  # read state lives in memory now
            if not warned:
                self.app.call_from_thread(
                    self.notify,
                    f"{error} — read marks are kept in memory until the reader quits",
                    title="Cannot save read state",
                    severity="warning",
                    markup=False,
                    timeout=8,
                )

    @on(ListingLoaded)
    def _listing_loaded(self, event: ListingLoaded) -> None:
        first = not self.loaded
        self._seen = None  # what the snapshot already shows is not news
        self.loaded = True
        listing = self._merge(event.listing)
        for seq, site_name, post_id, read in self._read_log:  # marks the worker's read missed
            replay = seq > event.read_seq or self._read_unsaved
            site = listing.sites.get(site_name) if replay else None
            if site is not None:
                site.set_read(post_id, read)
        self.lists.listing = listing
        expand = tuple(listing.sites) if first else ()
        self.site_tree.load(listing, expand=expand)
        self._schedule_gc()
        if first and self.start_site and not self._restoring:
            if self.start_site in listing.summaries:
                if self.current is None:
                    self.site_tree.select_site(self.start_site)
            else:
                self.notify(
                    f"no site called {self.start_site!r}; showing every site",
                    title="--site",
                    severity="warning",
                    markup=False,
                    timeout=6,
                )
        self._restoring = False
        self._tell(event.errors, "Refresh failed", "sites failed", severity="error", timeout=8)
        self._tell(event.news, "Refreshed", "sites have news")
        if self.current is not None:
            key, post_id = self.current
            site = event.listing.sites.get(key[0])
            if site is not None and post_id in site.by_id:
                self.site_tree.reveal(key, post_id)
                self._lists_changed()
                if event.refreshed:
                    self._update_current(site.by_id[post_id])
            else:  # removed from the site (or the site unsubscribed) by the refresh
                self.current = None
                self.article_view.clear("This post is no longer on the site.")
                self.comment_thread.set_comments([], empty_text="")
                self.notify("The open post was removed from the site.", severity="warning", timeout=4)
        self._update_subtitle()
        self._catch_up_index()
        if first:
            self._refresh_stale_sites()
        elif event.refreshed and event.nothing_new and not event.errors:
            where = event.names[0] if event.names and len(event.names) == 1 else "any site"
            self.notify(f"Nothing new on {where}.", title="Refreshed", markup=False, timeout=3)

    def _tell(self, lines: list[str], title: str, many: str, **options: Any) -> None:
        """One toast per line when there are a few; one for all of them when there are many
        (a refresh of 60 sites while offline is one toast, not 60)."""
        if len(lines) <= TOASTS:
            for line in lines:
                self.notify(line, title=title, markup=False, **options)
            return
        shown = "\n".join(lines[: TOASTS - 1])
        more = f"{shown}\n…and {len(lines) - TOASTS + 1} more ({len(lines)} {many}; `broadsheet sites` lists them)"
        self.notify(more, title=title, markup=False, **options)

    def _merge(self, new: Listing) -> Listing:
        """The new snapshot, keeping the loaded sites it did not re-read (their read state in
        memory is newer than the disk's) and dropping those no longer shown."""
        for name, site in self.listing.sites.items():
            summary = new.summaries.get(name)
            if summary is None or name in new.sites:
                continue
            site.site = site.summary.site = summary.site  # a new title or folder
            new.sites[name] = site
            new.summaries[name] = site.summary
        for name in list(new.sites):
            self.lists.forget(name)
        return new

    def _schedule_gc(self) -> None:
        """Refreeze the snapshot once the reader is idle (see the module docstring)."""
        if self._gc_timer is not None:
            self._gc_timer.stop()
        self._gc_timer = self.set_timer(GC_IDLE, self._refreeze_when_idle)

    def _refreeze_when_idle(self) -> None:
        """Refreeze once no key has been pressed for ``GC_IDLE`` seconds."""
        wait = self.reader_app.last_input + GC_IDLE - time.monotonic()
        if wait > 0:  # the reader is paging through posts: not in the middle of that
            self._gc_timer = self.set_timer(wait, self._refreeze_when_idle)
            return
        self._refreeze()

    def _refreeze(self) -> None:
        """Collect what the last loads dropped, then keep the long-lived snapshot out of the
        cyclic GC's full passes (100+ ms each over a 10,000-post site otherwise, one every
        few keys). Without ``unfreeze`` first, each reload's dropped tree would stay in the
        permanent generation for good."""
        self._gc_timer = None
        gc.unfreeze()
        gc.collect()
        gc.freeze()

    def _refresh_stale_sites(self) -> None:
        """At start: refresh the sites that are due (``refresh_minutes`` per site)."""
        if self.config.reader.refresh_after_minutes > 0 or any(
            s.site.last_sync is None for s in self.listing.sites.values()
        ):
            self.refresh_sites(None, due_only=True)

    # -- refresh ---------------------------------------------------------------------

    def refresh_sites(self, names: list[str] | None = None, *, due_only: bool = False) -> None:
        """Start a refresh unless one is running (two syncs must never write at once):
        ``names``, or every site (only those due with ``due_only``)."""
        if self._sync_running:
            self.notify("A refresh is already running.", timeout=2)
            return
        self._sync_running = True
        self.refreshing = True
        self._refresh_worker(names, due_only)

    @work(thread=True, group="refresh")
    def _refresh_worker(self, names: list[str] | None = None, due_only: bool = False) -> None:
        """Sync sites (all, or ``names``) on a cancellable loop, with this thread's own
        ``Service``; then read the new snapshot."""
        upto = self._read_seq
        service = self._thread_service()
        errors: list[str] = []
        news: list[str] = []
        changed = False
        loaded = self._loaded_stamps()

        def progress(name: str, message: str) -> None:
            self.post_message(self.SyncProgressed(name, message))

        try:
            for result in self.jobs.run(lambda: service.sync(names, due_only=due_only, progress=progress)):
                if result.error:
                    errors.append(f"{result.site}: {result.error}")
                elif result.new_posts:
                    news.append(result.summary())
                changed = changed or any(
                    (
                        result.new_posts,
                        result.updated_posts,
                        result.removed_posts,
                        result.new_comments,
                        result.removed_comments,
                    )
                )
            self._drain(service)
            listing = self._read_listing(service.store, [], loaded=loaded)
        except Cancelled:
            return  # the screen is going away
        except BroadsheetError as error:
            errors.append(str(error))
            listing = self.listing
        except Exception as error:
            errors.append(f"refresh: internal error: {type(error).__name__}: {error}")
            listing = self.listing
        finally:
            service.close()
        self.post_message(
            self.ListingLoaded(
                listing, errors, news, refreshed=True, names=names, nothing_new=not changed, read_seq=upto
            )
        )

    @on(SyncProgressed)
    def _sync_progressed(self, event: SyncProgressed) -> None:
        self.refreshing = True
        self.sub_title = f"refreshing {event.site}: {event.message}…"

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
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
        parts = []
        if any(s.site.demo for s in self.listing.summaries.values()):
            parts.append("DEMO (offline sample site)")
        parts.append(f"{self.listing.unread} unread")
        if self.lists.unread_only:
            parts.append("unread only")
        if self.lists.filter_text:
            parts.append(f"filter: {self.lists.filter_text}")
        if self.search_query and self.site_tree.searching:
            parts.append(f"search: {self.search_query}")
        if self.refreshing:
            parts.append("refreshing…")
        self.sub_title = " · ".join(parts)

    # -- opening posts ---------------------------------------------------------------

    @on(SiteTree.PostSelected)
    def _post_selected(self, event: SiteTree.PostSelected) -> None:
        self._drop_waiting_steps()  # the user chose: presses still waiting for a site are void
        self.open_post(event.key, event.post_id, reveal=False)

    def open_post(self, key: ListKey, post_id: int, *, reveal: bool = True, mark_read: bool = True) -> bool:
        """Show a post of a list with its comments, and mark it read.

        The post, its breadcrumb and read state come from the listing; its body and
        comments from the read-ahead (``n``) or else from a worker (the head shows first).
        """
        site = self.listing.sites.get(key[0])
        if site is None and key[0] in self.listing.summaries:  # its posts are being read
            self.want_site(key[0], lambda: self.open_post(key, post_id, reveal=reveal, mark_read=mark_read))
            return True
        if site is None or post_id not in site.by_id:
            self.notify(f"post {post_id} is not in the cache", title="Cannot open the post", severity="error")
            return False
        self.listing.touch(key[0])
        post = site.by_id[post_id]
        crumbs = post_breadcrumb(post, site.categories, key[1])
        article = Article(post, "", unread=post_id not in site.read, breadcrumb=crumbs)
        self._show(key, article, mark_read=mark_read)
        self._schedule_state()
        moved = reveal and self.loaded and self._opening is None and self.site_tree.move_to_shown(key, post_id)
        if reveal and self.loaded and not moved:  # after the article: redrawing the tree now would slow it
            self._reveal = (key, post_id)
            if self._opening is None:  # the article is drawn now: the tree a few frames on
                if self._reveal_timer is not None:
                    self._reveal_timer.stop()
                self._reveal_timer = self.set_timer(REVEAL_DELAY, self._reveal_now)
        return True

    @property
    def opening(self) -> bool:
        """A post is being read to be shown (its body and comments are not on screen yet)."""
        return self._opening is not None or self.article_view.loading

    def _show(self, key: ListKey, article: Article, *, mark_read: bool = True) -> None:
        """Show ``article`` (its body from the read-ahead), or read it in a worker and show
        it when it arrives."""
        post = article.post
        self._opening = None
        self._reveal = None
        if self._reveal_timer is not None:
            self._reveal_timer.stop()
            self._reveal_timer = None
        if self._loading_timer is not None:
            self._loading_timer.stop()
            self._loading_timer = None
        ahead = self._prefetched
        self._prefetched = None
        ready = (
            ahead is not None
            and ahead.body is not None
            and ahead.comments is not None
            and (ahead.site, ahead.post_id, ahead.modified) == (post.site, post.id, post.modified_gmt)
        )
        shown = self.article_view.article
        # the same post again (after a refresh): keep what is on screen until the new read
        # lands, so neither pane jumps to the top
        again = (
            shown is not None
            and (shown.post.site, shown.post.id) == (post.site, post.id)
            and not self.article_view.loading
        )
        if self.current is None or self.current[1] != post.id or self.current[0][0] != post.site:
            self._select_comment = None
        if self._pictures is not None and self._pictures.post != (post.site, post.id):
            self._drop_pictures()
        self.current = (key, post.id)
        if ready:
            assert ahead is not None and ahead.body is not None
            article = dataclasses.replace(article, body=ahead.body)
            self._seen = (self.current, *ahead.stamps)
        else:
            self._seen = None
            self._load_post(post.site, post.id, post.modified_gmt)
            if again:
                assert shown is not None
                article = dataclasses.replace(article, body=shown.body)
        if self._comments_job is not None and self._comments_job_for != (post.site, post.id):
            self._comments_job.cancel()  # the reader moved on: that fetch stops, its thread is freed
            self._comments_job = None
        if post.comments_feed and self._comments_fetched.get((post.site, post.id), 0) < time.monotonic() - 300:
            self._comments_fetched[(post.site, post.id)] = time.monotonic()
            self._comments_job, self._comments_job_for = CancellableJob(), (post.site, post.id)
            self._fetch_comments(post.site, post.id, self._comments_job)  # in the background
        newer, older = self.lists.neighbours(key, post.id)
        if key[1] is None:  # near the end of a site: read the next one ahead
            self.call_after_refresh(self._prefetch_site, key, post.id)
        if ready or again:
            shown_newer, shown_older = self._beside(key, newer, older)
            self.article_view.show(article, newer=shown_newer, older=shown_older, filed=self._filed(article.post))
            self._pictures_for(post)
        else:
            self._opening = article
            self._loading_timer = self.set_timer(LOADING_DELAY, self._show_loading)
        if ready:
            assert ahead is not None and ahead.comments is not None
            self._show_comments(post, ahead.comments)
            if older is not None:
                self.call_after_refresh(self._prefetch, key, post.id, older)
        if article.unread and mark_read:
            self._set_read(post.site, post.id, True)

    def _beside(self, key: ListKey, newer: Post | None, older: Post | None) -> tuple[Post | str, Post | str]:
        """What "Post navigation" names for ``n`` and ``p``: the posts beside the open one
        or, at either end of a site's whole list, the site they go on into (its title)."""
        shown: list[Post | str] = []
        for post, delta in ((newer, -1), (older, 1)):
            following = None
            if post is None and key[1] is None:
                following = self.lists.next_site(key[0], delta, unread=self.lists.unread_only)
            summary = self.listing.summaries.get(following) if following else None
            shown.append(post or (summary.site.title or summary.site.name if summary else ""))
        return shown[0], shown[1]

    def _show_loading(self) -> None:
        """The read is slow: show the head, with a notice for the body and comments."""
        self._loading_timer = None
        article = self._opening
        if article is not None and self.current is not None:
            self._opening = None
            self._after_open()
            newer, older = self.lists.neighbours(self.current[0], article.post.id)
            shown_newer, shown_older = self._beside(self.current[0], newer, older)
            self.article_view.show(
                article, newer=shown_newer, older=shown_older, filed=self._filed(article.post), loading=True
            )
            self._show_comments(article.post, None)

    @work(thread=True, exclusive=True, group="post")
    def _load_post(self, site: str, post_id: int, modified: str) -> None:
        """Read a post's body (converted to Markdown) and comments in a thread."""
        self.post_message(self._read_post(site, post_id, modified, body=True))

    @work(thread=True, exclusive=True, group="feed-comments")
    def _fetch_comments(self, site: str, post_id: int, job: CancellableJob) -> None:
        """Fetch a feed post's comment feed into the store, then show it if still open. One
        at a time: opening another post cancels it (``job``), so slow comment hosts never
        hold the worker threads the reader's own reads need."""
        service = self._thread_service()
        try:
            count = job.run(lambda: service.fetch_comments(site, post_id))
        except (Cancelled, BroadsheetError):
            return  # offline or gone: the cached comments stay on screen
        finally:
            service.close()
        if count:
            self.post_message(self.CommentsFetched(site, post_id))

    @on(CommentsFetched)
    def _comments_fetched_now(self, event: CommentsFetched) -> None:
        if self.current is not None and (self.current[0][0], self.current[1]) == (event.site, event.post_id):
            self._reload_comments()

    @work(thread=True, exclusive=True, group="comments")
    def _load_comments(self, site: str, post_id: int) -> None:
        """Re-read the open post's comments in a thread."""
        self.post_message(self._read_post(site, post_id, "", body=False))

    def _prefetch(self, key: ListKey, post_id: int, older: Post) -> None:
        """After the paint, read the post ``n`` would open next, unless the reader moved on."""
        if self.current == (key, post_id):
            self._prefetch_worker(older.site, older.id, older.modified_gmt)

    @work(thread=True, exclusive=True, group="prefetch")
    def _prefetch_worker(self, site: str, post_id: int, modified: str) -> None:
        self.post_message(dataclasses.replace(self._read_post(site, post_id, modified, body=True), prefetch=True))

    def _read_post(self, site: str, post_id: int, modified: str, *, body: bool) -> PostLoaded:
        """(Any thread.) Body and comments through a one-off ``Store``: a kept one would
        hold every ~1 MB body shard it had read."""
        reader = Store(self.store.directory)
        try:
            stamps = reader.stamps(site, post_id)
            text = reader.body(site, post_id) if body else None
            comments = reader.threaded(site, post_id)
        except BroadsheetError as error:
            return self.PostLoaded(site, post_id, None, None, error=str(error))
        finally:
            reader.close()
        return self.PostLoaded(site, post_id, text, comments, stamps, modified)

    @on(PostLoaded)
    def _post_loaded(self, event: PostLoaded) -> None:
        if event.prefetch:
            self._prefetched = event if not event.error else None
            site = self.listing.sites.get(event.site)
            if event.body is not None and site is not None and event.post_id in site.by_id:
                self.article_view.prepare(site.by_id[event.post_id], event.body)
            return
        view = self._opening or self.article_view.article
        if self.current is None or view is None or (view.post.site, view.post.id) != (event.site, event.post_id):
            return  # the reader moved on
        if self._opening is not None and (event.body is not None or event.error):
            self._opening = None
            if self._loading_timer is not None:
                self._loading_timer.stop()
                self._loading_timer = None
            self.call_after_refresh(self._after_open)
        if event.error:
            self.article_view.clear(f"Cannot open the post: {event.error}")
            self.notify(event.error, title="Cannot open the post", severity="error", markup=False)
            return
        self._seen = (self.current, *event.stamps)
        if event.body is not None:
            newer, older = self.lists.neighbours(self.current[0], event.post_id)
            shown_newer, shown_older = self._beside(self.current[0], newer, older)
            self.article_view.show(
                dataclasses.replace(view, body=event.body),
                newer=shown_newer,
                older=shown_older,
                filed=self._filed(view.post),
            )
            self._pictures_for(view.post)
            if older is not None:
                self.call_after_refresh(self._prefetch, self.current[0], event.post_id, older)
        if event.comments is not None:
            scroll = self.comment_thread.scroll_y if self._comments_of == (event.site, event.post_id) else 0
            self._show_comments(view.post, event.comments)
            if scroll:
                self.comment_thread.scroll_to(y=scroll, animate=False)
            if self._select_comment is not None and self.comment_thread.select(self._select_comment, mark=True):
                self._select_comment = None

    def _after_open(self) -> None:
        """What waited for the article to be on screen: the tree's cursor, and at start
        the listing."""
        self._reveal_now()
        if not self._listing_started:
            self.load_listing()
        if self._restore_scroll:
            target, self._restore_scroll = self._restore_scroll, 0.0
            self._scroll_article_to(target, 20)

    def _reveal_now(self) -> None:
        """Move the tree's cursor to the open post, if that waited for the article."""
        if self._reveal_timer is not None:
            self._reveal_timer.stop()
            self._reveal_timer = None
        if self._reveal is not None:
            key, post_id = self._reveal
            self._reveal = None
            if self.current == (key, post_id):
                self.site_tree.reveal(key, post_id)

    def _scroll_article_to(self, y: float, tries: int) -> None:
        """Where the last session left the article, once it is laid out that long."""
        view = self.article_view
        if view.max_scroll_y >= y or tries <= 0:
            view.scroll_to(y=y, animate=False, immediate=True)
        else:
            self.set_timer(0.05, lambda: self._scroll_article_to(y, tries - 1))

    def _filed(self, post: Post) -> list[str]:
        """Every category of ``post``, by name (the article's "In:" line)."""
        site = self.listing.sites.get(post.site)
        return filed_under(post, site.categories if site is not None else self._start_cats)

    def _lists_changed(self) -> None:
        """The list the open post is in changed (new listing, filter): its neighbours in the
        "Post navigation" lines and the post ``n`` reads ahead follow."""
        if self.current is None:
            return
        key, post_id = self.current
        newer, older = self.lists.neighbours(key, post_id)
        self.article_view.set_neighbours(*self._beside(key, newer, older))
        if older is not None:
            self.call_after_refresh(self._prefetch, key, post_id, older)

    def _kind_of(self, name: str) -> str:
        """A site's kind from what the reader holds (the listing, or the start post's site)."""
        summary = self.listing.summaries.get(name)
        if summary is not None:
            return summary.site.kind
        return self._start_site.kind if self._start_site is not None and self._start_site.name == name else ""

    def _show_comments(self, post: Post, comments: list[tuple[int, Comment]] | None) -> None:
        """Fill the comments pane (``None``: being read); what would look the same is not
        redrawn (``n`` through posts without comments then repaints neither the title nor
        the thread)."""
        self._comments_of = None if comments is None else (post.site, post.id)
        closed = post.comment_status != "open"
        feed = self._kind_of(post.site) == "feed"  # comments, if any, from a comment feed
        title = Text("Comments" if comments is None else f"Comments ({len(comments)})", style="bold")
        if feed:
            title.append("  read only" if post.comments_feed else "  none in this feed", style="dim")
        elif closed:
            title.append("  closed", style="dim")
        if self.comments_title.content != title:
            # one line high, as wide as the pane: its size never depends on the text, so no
            # re-layout of the screen (that redraws every pane whose geometry it touches)
            self.comments_title.update(title, layout=False)
        if feed:
            empty = "No comments in this post's comment feed." if post.comments_feed else "This feed has no comments."
        else:
            empty = "Comments are closed." if closed else "No comments yet."
        if comments is None:
            empty = "Loading comments…"
        pane = self.comment_thread
        if comments or pane.comment_count or pane.empty_text != empty:
            pane.set_comments(comments or [], empty_text=empty)
        shown = self.article_view.article
        if comments is not None and shown is not None and (shown.post.site, shown.post.id) == (post.site, post.id):
            self.article_view.set_comment_count(len(comments))  # the byline agrees with the pane

    def _update_current(self, post: Post) -> None:
        """After a refresh: redraw the open article if it changed, else its comments."""
        view = self.article_view.article
        if view is None or self.current is None:
            return
        if view.post.modified_gmt != post.modified_gmt or view.post.comment_count != post.comment_count:
            key, post_id = self.current
            self.open_post(key, post_id, reveal=False, mark_read=False)  # keeps the scroll
        else:
            self._reload_comments()

    def _current_list(self) -> tuple[ListKey, int | None] | None:
        """The list to move in, and the post open in it (None: before the first post)."""
        if self.current is not None:
            return self.current
        data = self.site_tree.selected()
        key = getattr(data, "key", None)
        if isinstance(data, FolderItem):
            names = self.listing.folders().get(data.folder, [])
            key = (names[0], None) if names else None
        if key is None and self.listing.summaries:
            key = (self.listing.order()[0], None)
        return (key, None) if key else None

    def _step(self, delta: int, *, unread: bool) -> None:
        if self._queued_steps is not None:  # a step waits for a site's posts
            kind, count = self._queued_steps
            if kind == (delta, unread):  # taken when the site is read
                self._queued_steps = (kind, min(count + 1, QUEUED_STEPS))
                return
            self._drop_waiting_steps()  # another key: what waited is void, this one goes
        where = self._current_list()
        if where is None or not self.loaded:
            return
        key, post_id = where
        if key[0] not in self.listing.sites:  # read its posts first, then step
            self._wait_to_step(key[0], delta, unread, lambda: self._step(delta, unread=unread))
            return
        self._follow(self.lists.step(key, post_id, delta, unread=unread), key, delta, unread)

    def _wait_to_step(self, name: str, delta: int, unread: bool, step: Callable[[], Any]) -> None:
        """Take ``step`` once ``name``'s posts are read, then as many more steps as the same
        key was pressed meanwhile."""

        def resume() -> None:
            more = self._queued_steps[1] if self._queued_steps is not None else 0
            self._queued_steps = None
            step()
            for left in range(more, 0, -1):
                if self._queued_steps is not None:  # waiting for another site now
                    kind, count = self._queued_steps
                    self._queued_steps = (kind, min(count + left, QUEUED_STEPS))
                    return
                before = self.current
                self._step(delta, unread=unread)
                if self.current == before and self._queued_steps is None:  # the end of the list
                    return

        self.want_site(name, resume)
        if self._pending is not None and self._pending[1] is resume:
            self._queued_steps = ((delta, unread), 0)

    def _drop_waiting_steps(self) -> None:
        """Forget a step (and the presses queued behind it) still waiting for a site."""
        if self._queued_steps is not None:
            self._pending = self._queued_steps = None

    def _follow(self, step: Step, key: ListKey, delta: int, unread: bool) -> None:
        """Open where a step landed; off the end of a site, go on into the next one (read
        in a thread when it is not loaded)."""
        if step.site is not None:
            name = step.site

            def enter() -> None:
                self._follow(self.lists.enter(name, delta, unread=unread), (name, None), delta, unread)

            self._wait_to_step(name, delta, unread, enter)
        elif step.post_id is None:
            self.notify(step.message, timeout=2)
        else:
            self.open_post(key, step.post_id)

    # -- loading sites -----------------------------------------------------------------

    def want_site(self, name: str, then: Callable[[], Any] | None = None) -> None:
        """Make sure a site's posts are loaded, then call ``then`` (at once when they are;
        else when they arrive — only the latest ``then`` waits)."""
        if name in self.listing.sites:
            self.listing.touch(name)
            if then is not None:
                then()
            return
        summary = self.listing.summaries.get(name)
        if summary is None:
            return
        if then is not None:
            self._pending = (name, then)
            self._queued_steps = None  # what waited before is replaced
        if name not in self._site_loading:
            self._site_loading.add(name)
            self._load_site(summary.site)

    @on(SiteTree.SiteWanted)
    def _site_wanted(self, event: SiteTree.SiteWanted) -> None:
        self.want_site(event.site)

    @work(thread=True, group="sites")
    def _load_site(self, site: Site) -> None:
        """Read one site's posts in a thread."""
        service = self._thread_service()
        try:
            self._drain(service)
            listing: SiteListing | None = Listing.load_site(service.store, site)
            error = ""
        except BroadsheetError as failure:
            listing, error = None, str(failure)
        finally:
            service.close()
        self.post_message(self.SiteLoaded(site.name, listing, error))

    @on(SiteLoaded)
    def _site_loaded(self, event: SiteLoaded) -> None:
        self._site_loading.discard(event.name)
        pending, self._pending = (
            (self._pending, None) if self._pending and self._pending[0] == event.name else (None, self._pending)
        )
        if pending is not None and (event.listing is None or event.name not in self.listing.summaries):
            self._queued_steps = None  # what waited will not run
        if event.listing is None:
            self.notify(event.error, title=f"Cannot read {event.name}", severity="error", markup=False)
            return
        if event.name not in self.listing.summaries:
            return  # unsubscribed meanwhile
        if event.name in self.listing.sites:  # a reload got there first
            self.listing.touch(event.name)
        else:
            pinned = {self.current[0][0]} if self.current is not None else set()
            if self._pending is not None:
                pinned.add(self._pending[0])
            dropped = self.listing.add(event.listing, pinned)
            for name in [*dropped, event.name]:
                self.lists.forget(name)
            for name in dropped:
                self.site_tree.site_dropped(name)
            self.site_tree.site_loaded(event.name)
            self._schedule_gc()
        if pending is not None:
            pending[1]()
        elif self.current is not None:
            self._prefetch_site(*self.current)

    def _prefetch_site(self, key: ListKey, post_id: int) -> None:
        """Near the end of a site's list, read the next site ahead (``n``/``N`` cross into it),
        and on its last post the post ``n`` would open there."""
        if self.current != (key, post_id) or key[1] is not None or key[0] not in self.listing.sites:
            return
        ids = self.lists.ids(key)
        left = len(ids) - self.lists.position(key, post_id)
        if left <= 3:
            following = self.lists.next_site(key[0], +1, unread=False)
            if following is not None and following not in self.listing.sites:
                self.want_site(following)
            elif following is not None and left == 1:
                step = self.lists.enter(following, +1, unread=False)
                post = self.listing.sites[following].by_id.get(step.post_id) if step.post_id else None
                if post is not None:
                    self._prefetch_worker(post.site, post.id, post.modified_gmt)
        if self.listing.sites[key[0]].unread == 0:
            following = self.lists.next_site(key[0], +1, unread=True)
            if following is not None:
                self.want_site(following)

    # -- read state ------------------------------------------------------------------

    def _set_read(self, site_name: str, post_id: int, read: bool) -> None:
        self._read_seq += 1
        self._read_log.append((self._read_seq, site_name, post_id, read))
        del self._read_log[:-READ_LOG]
        site = self.listing.sites.get(site_name)
        if site is not None and site.set_read(post_id, read):
            self.site_tree.update_read(site_name, post_id)
            self._schedule_subtitle()
        self.read_queue.put(site_name, [post_id], read)
        self._save_read_state()

    @work(thread=True, group="state")
    def _save_read_state(self) -> None:
        """Drain the read-state queue in order (one drainer at a time)."""
        service = self._thread_service()
        try:
            self.read_queue.drain(service.mark)
        except BroadsheetError as error:
            warned, self._read_unsaved = self._read_unsaved, True
            if not warned:  # once: the reader goes on with read state kept in memory
                self.app.call_from_thread(
                    self.notify,
                    f"{error} — read marks are kept in memory until the reader quits",
                    title="Cannot save read state",
                    severity="warning",
                    markup=False,
                    timeout=8,
                )
        finally:
            service.close()

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
        """``R``: refresh the site under the tree's cursor (when the tree has focus and a site
        is selected), else every site."""
        data = self.site_tree.selected()
        if self.focused is self.site_tree and isinstance(data, SiteItem):
            self.refresh_sites([data.site])
        else:
            self.refresh_sites(None)

    def action_help(self) -> None:
        self.reader_app.show_help()

    # -- replies -----------------------------------------------------------------------

    def action_reply(self) -> None:
        """Answer the open post, or the comment under the cursor when the comments have focus."""
        if self.current is None:
            self.notify("Open a post first, then press r to answer it.", timeout=3)
            return
        key, post_id = self.current
        site = self.listing.sites.get(key[0])
        view = self.article_view.article
        if site is not None and post_id in site.by_id:
            post = site.by_id[post_id]
        elif view is not None and view.post.id == post_id:
            post = view.post
        else:
            return
        if self._kind_of(post.site) == "feed":
            self.notify(
                "This site takes no replies (it is read through its feed): o opens the post in the browser.",
                title="No replies here",
                severity="warning",
                timeout=4,
            )
            return
        if post.comment_status != "open":
            self.notify("Comments are closed on this post.", severity="warning", timeout=3)
            return
        comment = self.comment_thread.cursor_comment if self.focused is self.comment_thread else None
        if comment is not None and comment.id < 0:
            comment = None  # a pending reply of ours has no id on the site yet: answer the post
        self._draft_request += 1  # a second r before the first's look-up ends replaces it
        self._load_draft(post, comment, self._draft_request)

    @work(thread=True, exclusive=True, group="draft")
    def _load_draft(self, post: Post, comment: Comment | None, request: int = 0) -> None:
        """Look for a draft answering the same thing (reads the outbox), whether the site
        takes replies and whether there is a login for it, in a thread."""
        service = self._thread_service()
        draft = None
        no_replies, login = "", False
        try:
            listed = self.listing.sites.get(post.site)
            site = listed.site if listed is not None else service.store.site(post.site)
            no_replies = service.replies_refused(site)
            if not no_replies:
                login = service.has_login(post.site)
                draft = service.draft_for(post.site, post.id, comment.id if comment else 0)
        except BroadsheetError:
            pass
        finally:
            service.close()
        refused = draft.last_error or "no reason given" if draft is not None and draft.state == "refused" else ""
        self.post_message(
            self.DraftLoaded(
                post,
                comment,
                draft.id if draft else None,
                draft.text if draft else "",
                refused,
                no_replies,
                login,
                request,
            )
        )

    @on(DraftLoaded)
    def _draft_loaded(self, event: DraftLoaded) -> None:
        from .compose import (
            ComposeScreen,  # TextArea: ~10 ms of imports the first paint need not wait for
        )

        if event.request != self._draft_request or self.app.screen is not self:
            return  # an older r, or a compose screen is open already: never two of them
        if event.no_replies:
            self.notify(event.no_replies, title="No replies here", severity="warning", markup=False, timeout=4)
            return
        post, comment = event.post, event.comment
        parent = comment.id if comment is not None else 0
        author, email = self._reply_identity(post.site)
        config_file = self.config.path
        options: dict[str, Any] = {"ask_identity": not event.login and not (author and email)}
        if event.refused:
            options["notice"] = (
                f"Refused by the site: {event.refused} — edit and send again, or escape to keep it as a draft"
            )

        def save(result: Composed) -> Any:
            """(In the compose screen's thread.) Put the text on disk before it closes (and
            the name and email asked for, in config.toml)."""
            nonlocal author, email
            if result.author and result.email:
                if config_file is not None:
                    save_reply_identity(config_file, result.author, result.email)
                author, email = result.author, result.email
            service = self._thread_service()
            try:
                if result.action == "draft":
                    return service.save_draft(
                        post.site, post.id, parent, result.text, author, email, draft_id=event.draft_id
                    )
                return service.prepare_reply(post.site, post.id, parent, result.text, author, email)
            finally:
                service.close()

        if comment is not None:
            screen = ComposeScreen.for_comment(post, comment, draft=event.text, save=save, **options)
        else:
            view = self.article_view.article
            body = view.body if view is not None and view.post.id == post.id else ""
            screen = ComposeScreen(
                f"Reply to “{post.title}”", " ".join(body.split())[:300], text=event.text, save=save, **options
            )

        def composed(result: Composed | None) -> None:
            self._reply_composed(post, result)

        self.app.push_screen(screen, composed)

    def _reply_identity(self, site_name: str) -> tuple[str, str]:
        """Name and email for the comment form: config.toml, else a label for the demo."""
        reply = self.config.reply
        author, email = reply.author, reply.email
        site = self.listing.sites.get(site_name)
        if site is not None and site.site.demo:
            author = author or "Demo reader"
            email = email or "reader@demo.invalid"
        return author, email

    def _reply_composed(self, post: Post, result: Composed | None) -> None:
        """The compose screen closed; what it returns is already on disk."""
        if result is None:
            return
        if result.author and result.email:  # asked for once: the file has them now too
            self.config.reply.author, self.config.reply.email = result.author, result.email
        if result.action == "draft":
            self.notify("Draft kept: press r on the same post to continue it.", timeout=3)
            return
        entry, created = result.saved
        if not created:
            self.notify("The same reply is already in the outbox: not sending it twice.", timeout=3)
        self._select_comment = entry.placeholder_id
        self._reload_comments()
        self.notify("Sending your reply…", timeout=2)
        self._send_reply(post.site, post.id, entry.id)

    @work(thread=True, group="reply")
    def _send_reply(self, site_name: str, post_id: int, entry_id: int) -> None:
        """Send one outbox entry on a cancellable loop, with this thread's own ``Service``."""
        service = self._thread_service()
        try:
            outcome: Any = self.jobs.run(lambda: service.send_reply(entry_id))
        except Cancelled:
            return  # the screen is going away; the entry stays in the outbox
        except BroadsheetError as error:
            outcome = error
        finally:
            service.close()
        self.post_message(self.ReplyFinished(site_name, post_id, outcome))

    @on(ReplyFinished)
    def _reply_finished(self, event: ReplyFinished) -> None:
        outcome = event.outcome
        if isinstance(outcome, BroadsheetError):
            self.notify(
                f"{outcome} — the reply stays in the outbox", title="Reply not sent", severity="error", markup=False
            )
        else:
            severities: dict[str, SeverityLevel] = {
                "published": "information",
                "held": "information",
                "refused": "error",
            }
            severity = severities.get(outcome.result, "warning")
            title = {
                "published": "Reply published",
                "held": "Reply held for moderation",
                "refused": "Reply refused",
            }.get(outcome.result, "Reply queued")
            self.notify(outcome.summary(), title=title, severity=severity, markup=False, timeout=6)
            if outcome.comment_id:
                self._select_comment = outcome.comment_id
        if self.current is not None and self.current[0][0] == event.site and self.current[1] == event.post_id:
            self._reload_comments()

    def _reload_comments(self) -> None:
        """Redraw the open post's comments from the store (keeps the pane's scroll)."""
        if self.current is not None:
            key, post_id = self.current
            self._load_comments(key[0], post_id)

    def _watch_cache(self) -> None:
        """Notice what another process wrote: a shell sync (new posts, in any site: see
        ``_watch_sites``) or reply (the open post's comments: two stats, here)."""
        if not self.loaded or self.refreshing:
            return
        self._watch_sites(
            self._loaded_stamps(), {name: summary.stamp for name, summary in self.listing.summaries.items()}
        )
        if self.current is None:
            return
        key, post_id = self.current
        try:
            seen = (self.current, *self.store.stamps(key[0], post_id))
        except BroadsheetError:
            return
        before, self._seen = self._seen, seen
        if before is None or before[0] != seen[0] or before == seen:
            return
        if before[2] != seen[2]:
            self._reload_comments()

    @work(thread=True, exclusive=True, group="watch")
    def _watch_sites(self, loaded: dict[str, Any], shown: dict[str, Any]) -> None:
        """(A thread.) Stat ``sites.json`` and every shown site's index; when anything moved,
        read the summaries again (and the loaded sites whose index moved)."""
        upto = self._read_seq
        store = Store(self.store.directory)
        try:
            sites = [s.to_row() for s in store.sites()]
            moved = sites != self._sites_seen or any(store.stamps(name)[0] != stamp for name, stamp in shown.items())
            if not moved or self.refreshing:
                return
            service = self._thread_service()
            try:
                self._drain(service)
            finally:
                service.close()
            listing = self._read_listing(store, [], loaded=loaded)
        except BroadsheetError:
            return  # the next tick tries again
        finally:
            store.close()
        self.post_message(self.ListingLoaded(listing, read_seq=upto))

    # -- browser, read toggle, filter ---------------------------------------------------

    def action_open_browser(self) -> None:
        post = self._target_post()
        if post is None or not post.link:
            self.notify("No post to open.", timeout=2)
            return
        self._open_url(post.link)
        self.notify(f"Opening {post.link}", markup=False, timeout=2)

    def action_links(self) -> None:
        """``L``: the open article's links (and the focused comment's), numbered."""
        from .links import LinksScreen  # OptionList: not needed for the first paint

        view = self.article_view
        if view.article is None:
            self.notify("Open a post first, then press L for its links.", timeout=3)
            return
        links: list[Link] = view.links()
        comment = self.comment_thread.cursor_comment if self.focused is self.comment_thread else None
        if comment is not None:
            links += links_in(comment.text, start=len(links) + 1, where=f"comment by {comment.author}")
        self.app.push_screen(LinksScreen(links, f"Links in “{view.article.post.title}”"), self._link_chosen)

    def _link_chosen(self, link: Link | None) -> None:
        if link is None:
            return
        article = self.article_view.article
        graphics = self.reader_app.graphics
        if link.image and graphics and article is not None:
            self.notify(f"Fetching {link.url}", markup=False, timeout=2)
            self._show_image(article.post.site, link.url, link.text or "image", graphics)
            return
        found = None if link.image else self._cached_post_at(link.url)
        if found is not None:
            here = self.current is not None and self.current[0][0] == found.site and self.current[1] == found.id
            if here:
                self.notify("That link is this post (o opens it in the browser).", timeout=3)
                return
            if self.open_post((found.site, None), found.id):
                self.notify("Opened from the cache (o opens it in the browser).", timeout=3)
                return
        self._open_url(link.url)
        self.notify(f"Opening {link.url}", markup=False, timeout=2)

    def _cached_post_at(self, url: str) -> Post | None:
        """A post of a loaded site whose permalink is ``url`` (a link from one article to
        another on the same site opens in the reader, not the browser): ``Store.find_post``'s
        rule, on the posts in memory."""
        wanted = link_key(url)
        here = self.current[0][0] if self.current is not None else ""
        for site in sorted(self.listing.sites.values(), key=lambda listing: listing.site.name != here):
            for post in site.by_id.values():
                if post.link and link_key(post.link) == wanted:
                    return post
        return None

    @work(thread=True, exclusive=True, group="image")
    def _show_image(self, site: str, url: str, title: str, graphics: str) -> None:
        """Fetch an image into the cache (``Service.fetch_image``), decode it, and show it;
        one that may not be fetched (another site's) opens in the browser instead."""
        from .image import ImageScreen, decode

        service = self._thread_service()
        try:
            path = self.jobs.run(lambda: service.fetch_image(site, url))
            if path is None:
                self._browse(url)
                return
            image = decode(path)
        except Cancelled:
            return
        except (BroadsheetError, ValueError) as error:
            self.app.call_from_thread(self.notify, str(error), severity="warning", markup=False)
            return
        finally:
            service.close()
        self.app.call_from_thread(self.app.push_screen, ImageScreen(image, graphics, title))

    def _pictures_for(self, post: Post) -> None:
        """(The article is on screen with its body.) With pictures on, fetch its images in
        the background to draw them in it (``tui.widgets.pictures``); at most
        ``MAX_PICTURES``, each once."""
        pictures = self._pictures
        if pictures is None or not pictures.open((post.site, post.id)):
            return
        if self._pictures_job is not None:
            self._pictures_job.cancel()
        self._pictures_job = CancellableJob()
        room = self.article_view.scrollable_content_region.width
        self._fetch_pictures((post.site, post.id), self.article_view.links_later(), room, self._pictures_job)

    def _drop_pictures(self) -> None:
        """Another post opens: the pictures go, and their fetch stops."""
        if self._pictures is not None:
            self._pictures.clear()
        if self._pictures_job is not None:
            self._pictures_job.cancel()
            self._pictures_job = None

    @work(thread=True, exclusive=True, group="pictures")
    def _fetch_pictures(
        self, post: tuple[str, int], links: Callable[[], list[Link]], room: int, job: CancellableJob
    ) -> None:
        """Find the article's images, fetch and decode each (shrunk to what the pane can
        show), then hand it to the UI thread. One that may not be fetched (another host's),
        fails or is not an image keeps its label, silently: ``L`` still lists it."""
        from ..widgets.pictures import MAX_PICTURES, largest
        from .image import decode

        urls = list(dict.fromkeys(link.url for link in links() if link.image and link.url.startswith("http")))
        service = self._thread_service()
        try:
            for url in urls[:MAX_PICTURES]:
                try:
                    path = job.run(lambda url=url: service.fetch_image(post[0], url))  # type: ignore[misc]
                    if path is None:
                        continue
                    image = decode(path)
                except Cancelled:
                    return
                except (BroadsheetError, ValueError):
                    continue
                image.thumbnail(largest(room))
                self.app.call_from_thread(self._picture_ready, post, url, image)
        finally:
            service.close()

    def _picture_ready(self, post: tuple[str, int], url: str, image: Any) -> None:
        if self._pictures is not None:
            self._pictures.add(post, url, image)

    @work(thread=True, group="browser")
    def _open_url(self, url: str) -> None:
        self._browse(url)

    def _browse(self, url: str) -> None:
        """(A worker thread.) Open ``url`` in the browser; say so when there is none (an SSH
        session): ``webbrowser`` returns False then, and nothing would happen."""
        if self.reader_app.open_in_browser(url) is False:
            self.app.call_from_thread(
                self.notify,
                "No web browser to open it with (set $BROWSER); in L, y copies a link.",
                severity="warning",
                timeout=6,
            )

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
        view = self.article_view.article
        return view.post if view is not None and view.post.id == post_id else None

    def action_toggle_read(self) -> None:
        post = self._target_post()
        if post is None:
            return
        site = self.listing.sites.get(post.site)
        read = site is not None and post.id in site.read
        self._set_read(post.site, post.id, not read)
        self.notify(f"Marked {'unread' if read else 'read'}: {post.title}", markup=False, timeout=2)

    def action_filter(self) -> None:
        """``/``: the box filters titles as you type; ``enter`` searches the full text."""
        self.filter_input.display = True
        self.filter_input.focus()

    def action_clear_filter(self) -> None:
        """``escape``: back to the whole tree (no search results, no filter)."""
        cleared = self.site_tree.clear_search()
        self._search_request += 1  # a search still running is not shown when it ends
        self.search_query, self.search_terms = "", []
        if self.filter_input.display:
            self.filter_input.value = ""
            self.filter_input.display = False
            self.site_tree.focus()
        elif cleared:
            self._update_subtitle()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.lists.filter_text = event.value.strip()
        self._rebuild_tree(lambda: self.site_tree.load(self.listing))
        self._lists_changed()
        self._update_subtitle()

    def _rebuild_tree(self, rebuild: Callable[[], Any]) -> None:
        """Rebuild the tree with other lists (a filter, ``U``). A cursor that was on the open
        post stays with it: on the post's row while its list shows it, else on the list (where
        the rebuild leaves it), and back on the post when it shows again; a cursor the user
        moved elsewhere stays where it is."""
        tree, current = self.site_tree, self.current
        data = tree.cursor_node.data if tree.cursor_node is not None else None
        follow = current is not None and (
            data == PostItem(*current) or (self._cursor_displaced and data == ListItem(current[0]))
        )
        rebuild()
        self._cursor_displaced = False
        if follow and current is not None:
            if current[1] in self.lists.ids(current[0]):
                tree.reveal(*current)
            else:
                self._cursor_displaced = True

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.site_tree.focus()
        query = event.value.strip()
        if query:
            self._drop_waiting_steps()
            self._search_request += 1
            self._search_worker(query, self._search_request)

    def _catch_up_index(self) -> None:
        """Bring the search index up to date with the cache (a sync does not) in the
        background, after every load of the listing, so ``/`` finds the news at once."""
        with self._index_lock:
            if self._indexing:
                self._index_again = True  # the running one goes round once more
                return
            self._indexing = True
        self._index_worker()

    @work(thread=True, group="index")
    def _index_worker(self) -> None:
        """See ``_catch_up_index``: stats alone when nothing changed; stopped when the
        screen goes away."""
        service = self._thread_service()
        again = True
        try:
            while again:
                service.catch_up_index(stop=lambda: self.jobs.cancelled)
                with self._index_lock:  # done, unless asked again meanwhile (decided at once)
                    again, self._index_again = self._index_again, False
                    self._indexing = again
        except BroadsheetError:
            pass  # stopped, or the index is damaged: ``/`` says so when it is used
        finally:
            if again:  # ended by an error: the next load of the listing starts one again
                with self._index_lock:
                    self._indexing = self._index_again = False
            service.close()

    @work(thread=True, exclusive=True, group="search")
    def _search_worker(self, query: str, request: int = 0) -> None:
        """Run a full-text search with this thread's own ``Service``."""
        service = self._thread_service()
        try:
            # the index is kept level with the cache in the background (``_catch_up_index``)
            hits = service.search(query, limit=200, snippets=False, catch_up=False, stop=lambda: self.jobs.cancelled)
            terms = service.query_terms(query)
        except Stopped:
            return  # the screen is going away
        except BroadsheetError as error:
            self.post_message(self.SearchFinished(query, [], [], str(error), request))
            return
        finally:
            service.close()
        shown = set(self.listing.summaries)
        found: dict[tuple[str, int], Found] = {}
        for hit in hits:  # one row per post, whether its title, body or comments matched
            if (hit.site, hit.id) not in found and hit.site in shown:
                found[(hit.site, hit.id)] = Found(hit.site, hit.id, hit.title, hit.date)
        rows = sorted(found.values(), key=lambda f: (f.date, f.post_id), reverse=True)
        self.post_message(self.SearchFinished(query, rows, terms, request=request))

    @on(SearchFinished)
    def _search_finished(self, event: SearchFinished) -> None:
        if event.request != self._search_request:
            return  # escaped, or another search was asked for since
        if event.error:
            self.notify(event.error, title="Cannot search", severity="error", markup=False)
            return
        self.search_query, self.search_terms = event.query, event.terms
        self.site_tree.show_search(event.query, event.found)
        self.site_tree.focus()
        self._update_subtitle()

    # -- unread only, sidebar width, mark read -----------------------------------------

    def action_unread_only(self) -> None:
        """``U``: show only unread posts in the tree (and in ``n``/``p``)."""
        self.lists.unread_only = not self.lists.unread_only
        self._rebuild_tree(self.site_tree.refill)
        self._update_subtitle()
        self.notify("Showing unread posts only." if self.lists.unread_only else "Showing every post.", timeout=2)

    def action_sidebar(self, step: int) -> None:
        """``<``/``>``: narrow or widen the sidebar (saved in config.toml)."""
        sidebar = self.query_one("#sidebar")
        width = self.config.reader.sidebar_width or sidebar.outer_size.width
        width = max(SIDEBAR_MIN, min(SIDEBAR_MAX, width + step * SIDEBAR_STEP))
        self.config.reader.sidebar_width = width
        self._set_sidebar_width(width)
        if self.config.path is not None:
            self._save_setting(self.config.path, "sidebar_width", width)

    def _set_sidebar_width(self, width: int) -> None:
        sidebar = self.query_one("#sidebar")
        sidebar.styles.width = width  # inline: above the layout's percentage and bounds
        sidebar.styles.max_width = width
        sidebar.styles.min_width = width

    @work(thread=True, exclusive=True, group="config")
    def _save_setting(self, path: Any, key: str, value: Any) -> None:
        from cache.config import save_reader_setting

        try:
            save_reader_setting(path, key, value)
        except BroadsheetError as error:
            self.app.call_from_thread(
                self.notify, str(error), title="Cannot save the setting", severity="error", markup=False
            )

    def _mark_target(self) -> tuple[str, list[str], int | None] | None:
        """What ``A`` would mark read: (what, sites, category) from the tree's cursor."""
        data = self.site_tree.selected()
        if isinstance(data, FolderItem):
            return f"the folder {data.folder}", self.listing.folders().get(data.folder, []), None
        if isinstance(data, SiteItem) or (isinstance(data, ListItem) and data.key[1] is None):
            summary = self.listing.summaries.get(data.key[0])
            return (summary.site.title or summary.name, [summary.name], None) if summary else None
        if isinstance(data, ListItem):
            name, cat = data.key
            summary = self.listing.summaries.get(name)
            if summary is not None and cat in summary.categories:
                return f"{summary.categories[cat].name} ({summary.site.title or name})", [name], cat
        return None

    def action_mark_all_read(self) -> None:
        """``A``: mark the selected folder, site or category read, after one confirmation."""
        from .confirm import ConfirmScreen

        target = self._mark_target()
        if target is None:
            self.notify("Select a folder, a site or a category to mark it read.", timeout=3)
            return
        what, names, category = target

        def answered(yes: bool | None) -> None:
            if yes:
                self._mark_read_worker(what, names, category)

        self.app.push_screen(ConfirmScreen(f"Mark every post of {what} read?"), answered)

    @work(thread=True, group="mark")
    def _mark_read_worker(self, what: str, names: list[str], category: int | None) -> None:
        """Mark read on disk with this thread's own ``Service``, then read the counts again."""
        upto = self._read_seq
        service = self._thread_service()
        loaded = self._loaded_stamps()
        try:
            self._drain(service)
            count = 0
            for name in names:
                count += service.mark_all(name) if category is None else service.mark_category(name, category)
            for name in names:
                loaded[name] = None  # read these again, whatever their index says
            listing = self._read_listing(service.store, [], loaded=loaded)
        except BroadsheetError as error:
            self.post_message(self.MarkedRead(what, 0, str(error)))
            return
        finally:
            service.close()
        self.post_message(self.ListingLoaded(listing, read_seq=upto))
        self.post_message(self.MarkedRead(what, count))

    @on(MarkedRead)
    def _marked_read(self, event: MarkedRead) -> None:
        if event.error:
            self.notify(event.error, title="Cannot mark read", severity="error", markup=False)
        else:
            self.notify(f"Marked {event.what} read.", markup=False, timeout=3)

    def commands(self) -> Iterable[tuple[str, str, Callable[[], Any]]]:
        """The command palette's reader entries: (title, help, callback)."""
        yield "Refresh", "Sync every site now (R)", self.action_refresh
        yield "Next unread post", "Open the next unread post (N)", self.action_next_unread
        yield "Reply", "Answer the open post or the selected comment (r)", self.action_reply
        yield "Toggle comments", "Show or hide the comments pane (c)", self.action_toggle_comments
        yield "Comments full width", "Give the comments the whole width (C)", self.action_wide_comments
        yield "Toggle read", "Mark the post read or unread (m)", self.action_toggle_read
        yield "Open in browser", "Open the post in the web browser (o)", self.action_open_browser
        yield "Links", "List the article's links and images, to open or copy (L)", self.action_links
        yield "Search", "Filter titles as you type; enter searches every post and comment (/)", self.action_filter
        yield "Mark read", "Mark the selected folder, site or category read (A)", self.action_mark_all_read
        yield "Unread only", "Show only unread posts in the tree (U)", self.action_unread_only
        yield "Broadsheet keys", "Every key binding and its id for config.toml (?)", self.action_help

    # -- layout ----------------------------------------------------------------------

    def watch_show_comments(self, show: bool) -> None:
        self.main.set_class(not show, "-no-comments")
        if not show and self.focused is self.comment_thread:
            self.article_view.focus()

    def watch_wide_comments(self, wide: bool) -> None:
        self.main.set_class(wide, "-wide-comments")
        if not wide and self.focused is self.comment_thread and not self.show_comments:
            self.article_view.focus()
