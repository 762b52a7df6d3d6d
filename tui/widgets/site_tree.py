"""The sidebar: folders → sites → categories (with unread counts) → posts, newest first.

Design: the tree is built from a ``Listing`` — every site's summary, and the posts of the
few sites that are loaded — never from the store. Folders and sites come first, painted
from the summaries alone; a site's categories are added when it is first expanded, and a
list's posts when the list is expanded. A list of a site that is not loaded shows
"Loading…" and asks for it (``SiteWanted``); the reader loads it in a thread and calls
``site_loaded``. Each list shows one page of posts at a time (a window of ``PAGE`` posts
between "… N newer" and "… N older" nodes), so a 10,000-post category costs no more than a
100-post one: Textual's ``Tree`` re-measures every line after each change, so the number
of lines is what must stay small.

Layout: folders (by ``sort_key``) above the sites filed in none; under a site its
categories (by ``sort_key``) and, last and collapsed, "All posts" — so the categories stay
in view. A search adds a "Search: QUERY" node at the top with the matching posts
(``show_search``); ``clear_search`` takes it away. Post rows carry their dates when the
tree is at least ``DATES_WIDTH`` columns wide. Counts follow ``tui.listing``'s rule.

Following the reader (``reveal``): the cursor goes to the open post, kept ``SCROLL_MARGIN``
rows from the tree's edges (a scroll redraws every row, so ``n`` scrolls once every half
screen); what ``reveal`` expanded in one site is folded when it moves into another (what the
user expanded stays), so the tree does not grow with every site ``n`` passes through; when
it has to expand or fill (``move_to_shown`` cannot just move the cursor), the reader calls
it after the article is drawn.
Rows too long for the sidebar end in "…" at its edge; a count stays in view.

Labels are ``rich.text.Text`` objects: a title is never parsed as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ..listing import Listing, ListKey, SiteSummary
from ..navigation import PostLists

PAGE = 100
COUNTS_DELAY = 0.25
"""Seconds without read-state changes before the unread counts are relabelled."""
DATES_WIDTH = 56
"""From this many columns on, post rows start with their date."""
SCROLL_MARGIN = 5
"""Rows kept between the cursor and the tree's edges when a post is revealed (vim's
``scrolloff``): ``n`` then scrolls the tree once every half screen, not on every post (a
scroll redraws the whole sidebar)."""


@dataclass(frozen=True)
class FolderItem:
    folder: str


@dataclass(frozen=True)
class SiteItem:
    site: str

    @property
    def key(self) -> ListKey:
        return (self.site, None)


@dataclass(frozen=True)
class ListItem:
    key: ListKey


@dataclass(frozen=True)
class PostItem:
    key: ListKey
    post_id: int


@dataclass(frozen=True)
class MoreItem:
    """ "… N newer/older": selecting it shows the page starting at ``start``."""

    key: ListKey
    start: int


@dataclass(frozen=True)
class SearchItem:
    """The "Search: QUERY" node."""

    query: str


@dataclass(frozen=True)
class HitItem:
    """A post found by a search (opened in its site's "All posts" list)."""

    site: str
    post_id: int

    @property
    def key(self) -> ListKey:
        return (self.site, None)


@dataclass(frozen=True)
class Found:
    """A search result row: what the tree shows of a hit."""

    site: str
    post_id: int
    title: str
    date: str


NodeData = FolderItem | SiteItem | ListItem | PostItem | MoreItem | SearchItem | HitItem


class SiteTree(Tree[NodeData], inherit_bindings=False):
    """Folders, sites, their category hierarchy and the posts of each category."""

    DEFAULT_CSS = """
    SiteTree { scrollbar-size-vertical: 1; overflow-x: hidden; }
    SiteTree > .site-tree--count { color: $accent; text-style: bold; }
    SiteTree > .site-tree--unread { text-style: bold; }
    SiteTree > .site-tree--read { color: $text-muted; }
    SiteTree > .site-tree--date { color: $text-muted; }
    SiteTree > .site-tree--demo { color: $warning; text-style: bold; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "site-tree--count",
        "site-tree--unread",
        "site-tree--read",
        "site-tree--date",
        "site-tree--demo",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", show=False, id="open_node"),
        Binding("down,j", "cursor_down", "Down", show=False, id="cursor_down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="cursor_up"),
        Binding("left,h", "collapse_or_parent", "Collapse", show=False, id="collapse"),
        Binding("right,l", "expand", "Expand", show=False, id="expand"),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("home", "scroll_home", "Top", show=False),
        Binding("end", "scroll_end", "Bottom", show=False),
    ]

    @dataclass
    class PostSelected(Message):
        """The user opened a post from the tree."""

        key: ListKey
        post_id: int
        #: Opened from the search results.
        from_search: bool = False

    @dataclass
    class SiteWanted(Message):
        """A site's posts are needed (expanded, or one of its lists opened) but not loaded."""

        site: str

    def __init__(self, lists: PostLists | None = None, *, id: str | None = None) -> None:
        """``lists``: the post lists to show (shared with the reader's navigation)."""
        super().__init__("Sites", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.lists = lists if lists is not None else PostLists()
        self._lists: dict[ListKey, TreeNode[NodeData]] = {}
        self._sites: dict[str, TreeNode[NodeData]] = {}
        self._folders: dict[str, TreeNode[NodeData]] = {}
        self._posts: dict[tuple[str, int], list[TreeNode[NodeData]]] = {}
        #: The first post shown of each filled list (its page start).
        self._shown: dict[ListKey, int] = {}
        self._filled: set[ListKey] = set()
        self._styles: dict[str, Style] = {}
        #: Lists (and their sites) whose unread count changed since the last relabelling.
        self._stale_counts: set[ListKey] = set()
        self._counts_timer: Timer | None = None
        self._search: tuple[str, list[Found]] | None = None
        self._search_node: TreeNode[NodeData] | None = None
        self.show_dates = False
        #: What ``reveal`` expanded (not the user), and the site it belongs to (as data:
        #: ``load`` makes new nodes).
        self._revealed: tuple[str, list[NodeData]] = ("", [])

    # -- the lists -------------------------------------------------------------------

    @property
    def listing(self) -> Listing:
        return self.lists.listing

    @property
    def filter_text(self) -> str:
        return self.lists.filter_text

    @property
    def searching(self) -> bool:
        return self._search is not None

    def ids(self, key: ListKey) -> list[int]:
        """The post ids of a list, newest first, with the title filter applied."""
        return self.lists.ids(key)

    # -- building --------------------------------------------------------------------

    def load(self, listing: Listing, *, expand: tuple[str, ...] = ()) -> None:
        """Show ``listing``, keeping the expanded nodes, the cursor and the scroll (and
        expanding the sites ``expand``)."""
        expanded = {k for k, n in self._lists.items() if n.is_expanded}
        expanded_sites = {k for k, n in self._sites.items() if n.is_expanded} | set(expand)
        collapsed_folders = {k for k, n in self._folders.items() if not n.is_expanded}
        cursor = self.cursor_node.data if self.cursor_node else None
        scroll = self.scroll_y
        self.lists.listing = listing
        self.clear()
        self._lists.clear()
        self._sites.clear()
        self._folders.clear()
        self._posts.clear()
        self._filled.clear()  # _shown is kept: each list reopens at the same page
        self._search_node = None
        if self._search is not None:
            self._add_search()
        folders = listing.folders()
        for folder, names in folders.items():
            node = self.root.add(self._folder_label(folder), FolderItem(folder), expand=folder not in collapsed_folders)
            self._folders[folder] = node
            for name in names:
                self._add_site(node, listing.summaries[name], expanded_sites, expanded)
        for name in listing.order():
            if not listing.summaries[name].site.folder:
                self._add_site(self.root, listing.summaries[name], expanded_sites, expanded)
        target = self._find(cursor) if cursor is not None else None
        if target is None and self.root.children:
            target = self.root.children[0]
        if target is not None:
            self._move_to(target)
        self.scroll_to(y=scroll, animate=False, immediate=True)

    def _add_site(
        self, parent: TreeNode[NodeData], summary: SiteSummary, expanded_sites: set[str], expanded: set[ListKey]
    ) -> None:
        name = summary.name
        node = parent.add(self._site_label(summary), SiteItem(name), allow_expand=True)
        self._sites[name] = node
        if name in expanded_sites:
            self._add_site_children(node, expanded)
            node.expand()
            if name not in self.listing.sites:
                self.post_message(self.SiteWanted(name))

    def _add_site_children(self, node: TreeNode[NodeData], expanded: set[ListKey] = frozenset()) -> None:  # type: ignore[assignment]
        """A site's categories, then its "All posts" list (once)."""
        if node.children or not isinstance(node.data, SiteItem):
            return
        summary = self.listing.summaries.get(node.data.site)
        if summary is None:
            return
        self._add_categories(node, summary, 0, expanded)
        self._add_list(node, (summary.name, None), expanded)

    def _add_categories(
        self, parent: TreeNode[NodeData], summary: SiteSummary, cat_id: int, expanded: set[ListKey]
    ) -> None:
        for child in summary.children.get(cat_id, []):
            key: ListKey = (summary.name, child)
            node = self._add_list(parent, key, expanded)
            self._add_categories(node, summary, child, expanded)

    def _add_list(self, parent: TreeNode[NodeData], key: ListKey, expanded: set[ListKey]) -> TreeNode[NodeData]:
        node = parent.add(self._list_label(key), ListItem(key), allow_expand=True)
        self._lists[key] = node
        if key in expanded:
            node.expand()
            self._fill(key)
        return node

    def _fill(self, key: ListKey, start: int | None = None) -> None:
        """Show the page of a list's posts that begins at ``start`` (below its subcategories).

        ``None`` keeps the current page (or shows the first one). A site that is not loaded
        shows "Loading…" and is asked for.
        """
        node = self._lists[key]
        loaded = key[0] in self.listing.sites
        ids = self.ids(key)
        current = self._shown.get(key)
        if start is None:
            start = current or 0
        start = max(0, min(start, ((len(ids) - 1) // PAGE) * PAGE if ids else 0))
        if loaded and current == start and key in self._filled:
            return
        for child in [c for c in node.children if not isinstance(c.data, ListItem)]:
            if isinstance(child.data, PostItem):
                nodes = self._posts.get((key[0], child.data.post_id), [])
                if child in nodes:
                    nodes.remove(child)
            child.remove()
        if not loaded:
            node.add_leaf(Text("Loading…", style="italic dim"), None)
            self._filled.discard(key)
            self.post_message(self.SiteWanted(key[0]))
            return
        end = min(start + PAGE, len(ids))
        if start > 0:
            node.add_leaf(Text(f"… {start:,} newer", style="italic"), MoreItem(key, max(start - PAGE, 0)))
        for pid in ids[start:end]:
            leaf = node.add_leaf(self._post_label(key[0], pid), PostItem(key, pid))
            self._posts.setdefault((key[0], pid), []).append(leaf)
        if end < len(ids):
            node.add_leaf(Text(f"… {len(ids) - end:,} older", style="italic"), MoreItem(key, end))
        elif not ids and not self._has_subcategories(key):
            empty = "(no unread posts)" if self.lists.unread_only else "(no posts)"
            node.add_leaf(Text(empty, style="italic dim"), None)
        self._shown[key] = start
        self._filled.add(key)

    def site_loaded(self, name: str) -> None:
        """A site's posts arrived (or were reloaded): fill its expanded lists, relabel it.
        When its categories changed meanwhile (a sync by another process), the whole tree
        is rebuilt from the listing rather than left pointing at categories that are gone."""
        summary = self.listing.summaries.get(name)
        shown = {key[1] for key in self._lists if key[0] == name and key[1] is not None}
        if summary is not None and not shown <= set(summary.categories):
            self.load(self.listing)
            return
        for key, node in self._lists.items():
            if key[0] == name:
                if node.is_expanded:
                    self._filled.discard(key)
                    self._fill(key)
                node.set_label(self._list_label(key))
        summary = self.listing.summaries.get(name)
        site_node = self._sites.get(name)
        if summary is not None and site_node is not None:
            site_node.set_label(self._site_label(summary))
            self._relabel_folder(summary.site.folder)

    def site_dropped(self, name: str) -> None:
        """A site's posts were let go (the least recently used): fold its lists away."""
        for key, node in self._lists.items():
            if key[0] == name and key in self._filled:
                for child in [c for c in node.children if not isinstance(c.data, ListItem)]:
                    child.remove()
                self._filled.discard(key)
                if node.is_expanded:
                    node.collapse()
        for key in [k for k in self._posts if k[0] == name]:
            del self._posts[key]

    def refill(self) -> None:
        """The lists changed (unread only, a title filter): show them again."""
        self.load(self.listing)

    def _has_subcategories(self, key: ListKey) -> bool:
        summary = self.listing.summaries.get(key[0])
        return key[1] is not None and summary is not None and bool(summary.children.get(key[1]))

    def _find(self, data: NodeData) -> TreeNode[NodeData] | None:
        if isinstance(data, FolderItem):
            return self._folders.get(data.folder)
        if isinstance(data, SiteItem):
            return self._sites.get(data.site)
        if isinstance(data, ListItem):
            return self._lists.get(data.key)
        if isinstance(data, PostItem):
            for node in self._posts.get((data.key[0], data.post_id), []):
                if node.data == data:
                    return node
            return self._lists.get(data.key)
        if isinstance(data, (SearchItem, HitItem)) and self._search_node is not None:
            if isinstance(data, SearchItem):
                return self._search_node
            return next((n for n in self._search_node.children if n.data == data), self._search_node)
        return None

    def reveal(self, key: ListKey, post_id: int) -> None:
        """Move the cursor to a post of a list (expanding and paging as needed)."""
        site = self._sites.get(key[0])
        if site is None:
            return
        self._add_site_children(site)
        node = self._lists.get(key)
        if node is None:
            return
        opened = self._fold_revealed(key[0])
        parent: TreeNode[NodeData] | None = node
        while parent is not None and not parent.is_root:
            if not parent.is_expanded and parent.data is not None:  # expanding redraws the whole tree
                parent.expand()
                opened.append(parent.data)
            parent = parent.parent
        ids = self.ids(key)
        if post_id in ids:
            index = ids.index(post_id)
            start = self._shown.get(key, 0)
            if key not in self._filled or not start <= index < start + PAGE:
                self._filled.discard(key)
                self._fill(key, (index // PAGE) * PAGE)
        target = self._find(PostItem(key, post_id))
        if target is not None:
            self._move_to(target, margin=True)

    def move_to_shown(self, key: ListKey, post_id: int) -> bool:
        """``reveal`` when it is only a cursor move: the post's row is in the tree and
        unfolded, and nothing ``reveal`` opened in another site is left to fold. False (and
        nothing done) when ``reveal`` would expand or fold, fill a page and redraw the whole
        tree."""
        if self._revealed[0] != key[0] and self._revealed[1]:
            return False
        node = self._find(PostItem(key, post_id))
        if node is None or not isinstance(node.data, PostItem):
            return False
        parent = node.parent
        while parent is not None and not parent.is_root:
            if not parent.is_expanded:
                return False
            parent = parent.parent
        self._move_to(node, margin=True)
        return True

    def _fold_revealed(self, site: str) -> list[NodeData]:
        """Moving into another site: fold what ``reveal`` opened in the last one (what the
        user opened stays open), so the tree does not grow with every site ``n`` passes
        through. The list to add the nodes ``reveal`` opens for ``site`` to."""
        name, opened = self._revealed
        if name != site:
            for data in reversed(opened):
                node = self._find(data)
                if node is not None and node.data == data and node.is_expanded:
                    node.collapse()
            opened = []
            self._revealed = (site, opened)
        return opened

    def select_site(self, name: str) -> None:
        """Put the cursor on a site, expanded (``--site NAME``)."""
        node = self._sites.get(name)
        if node is None:
            return
        self._add_site_children(node)
        if node.parent is not None and not node.parent.is_root and not node.parent.is_expanded:
            node.parent.expand()
        node.expand()
        self._move_to(node)

    def _move_to(self, node: TreeNode[NodeData], *, margin: bool = False) -> None:
        """Put the cursor on ``node`` (``margin``: at least ``SCROLL_MARGIN`` rows from either
        edge, else in the middle)."""
        self.last_line  # noqa: B018 - rebuilds the line index, so the node's line is current
        self.move_cursor(node)
        if not margin:
            return
        line, top, height = node.line, int(self.scroll_y), self.scrollable_content_region.height
        rows = min(SCROLL_MARGIN, height // 4)
        if line >= 0 and height > 0 and not top + rows <= line < top + height - rows:
            self.scroll_to(y=max(line - height // 2, 0), animate=False, immediate=True)

    # -- search ------------------------------------------------------------------------

    def show_search(self, query: str, found: list[Found]) -> None:
        """Show a "Search: QUERY" node at the top with ``found``, and put the cursor on it."""
        self._search = (query, found)
        if self._search_node is not None:
            self._search_node.remove()
        self._add_search()
        if self._search_node is not None:
            first = self._search_node.children[0] if self._search_node.children else self._search_node
            self._move_to(first)
            self.scroll_to(y=0, animate=False, immediate=True)

    def clear_search(self) -> bool:
        """Take the search results away; whether there were any."""
        if self._search is None:
            return False
        self._search = None
        if self._search_node is not None:
            self._search_node.remove()
            self._search_node = None
        if self.root.children:
            self._move_to(self.root.children[0])
        return True

    def _add_search(self) -> None:
        assert self._search is not None
        query, found = self._search
        label = Text.assemble(("Search: ", "bold"), query, (f"  {len(found)}", self._style("count")))
        before = 0 if self.root.children else None
        node = self.root.add(label, SearchItem(query), before=before, expand=True)
        self._search_node = node
        for hit in found:
            node.add_leaf(self._hit_label(hit), HitItem(hit.site, hit.post_id))
        if not found:
            node.add_leaf(Text("(nothing found)", style="italic dim"), None)

    def _hit_label(self, hit: Found) -> Text:
        label = Text()
        if self.show_dates and hit.date:
            label.append(hit.date[:10] + " ", style=self._style("date"))
        label.append(hit.title)
        summary = self.listing.summaries.get(hit.site)
        label.append(f"  {summary.site.title or hit.site if summary else hit.site}", style=self._style("read"))
        return label

    # -- labels ----------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        """A component style, cached (looking one up costs ~0.5 ms)."""
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"site-tree--{name}")
        return style

    def notify_style_update(self) -> None:
        self._styles.clear()
        super().notify_style_update()

    def get_label_width(self, node: TreeNode[NodeData]) -> int:
        """The label's width without rendering it. The tree asks for every visible line's
        each time it rebuilds its lines (every expand or collapse), and ``render_label``
        costs ~0.1 ms a line: 40+ ms with a few sites open. The tree never scrolls sideways
        (``overflow-x: hidden``), so the width only sizes the padding, and this one is never
        less than the drawn one (2 cells for the expand icon, which leaves do not have;
        labels ``render_label`` shortens counted whole)."""
        label = node.label
        return (label.cell_len if isinstance(label, Text) else cell_len(label)) + 2

    def render_label(self, node: TreeNode[NodeData], base_style: Style, style: Style) -> Text:
        """The label, with a long name shortened ("…") so its unread count stays in view."""
        label = super().render_label(node, base_style, style)
        # indentation: ``guide_depth`` cells a level below the (hidden) root; the expand
        # icon, when there is one, is part of ``label``
        depth, parent = 0, node.parent
        while parent is not None:
            depth, parent = depth + 1, parent.parent
        room = self.scrollable_content_region.width - (depth - 1) * self.guide_depth
        plain = label.plain
        if room <= 8 or label.cell_len <= room:
            return label
        cut = plain.rfind("  ")
        if cut < 1 or not plain[cut + 2 :].replace(",", "").isdigit():  # no count: cut the end
            label.truncate(room, overflow="ellipsis")
            return label
        tail = label[cut:]
        head = label[:cut]
        head.truncate(max(room - tail.cell_len, 4), overflow="ellipsis")
        return head + tail

    def _count(self, count: int) -> Text:
        return Text(f"  {count}", style=self._style("count")) if count else Text("")

    def _folder_label(self, folder: str) -> Text:
        unread = sum(self.listing.summaries[n].unread for n in self.listing.folders().get(folder, []))
        return Text(folder, style="bold italic") + self._count(unread)

    def _site_label(self, summary: SiteSummary) -> Text:
        label = Text(summary.site.title or summary.name, style="bold")
        if summary.site.demo and "demo" not in label.plain.casefold():
            label.append(" DEMO", style=self._style("demo"))
        return label + self._count(summary.unread)

    def _list_label(self, key: ListKey) -> Text:
        summary = self.listing.summaries[key[0]]
        if key[1] is None:
            return Text("All posts") + self._count(summary.unread)
        cat = summary.categories.get(key[1])
        if cat is None:  # removed by a sync in another process since the tree was built
            return Text("(removed category)", style="italic dim")
        return Text(cat.name) + self._count(summary.unread_by_cat.get(cat.id, 0))

    def _post_label(self, site_name: str, post_id: int) -> Text:
        site = self.listing.sites[site_name]
        post = site.by_id[post_id]
        label = Text()
        if post_id in site.read:
            label.append("  ")
            if self.show_dates:
                label.append(post.date[:10] + " ", style=self._style("date"))
            label.append(post.title, style=self._style("read"))
        else:
            label.append("● ", style="bold")
            if self.show_dates:
                label.append(post.date[:10] + " ", style=self._style("date"))
            label.append(post.title, style=self._style("unread"))
        return label

    def _relabel_folder(self, folder: str) -> None:
        if folder and (node := self._folders.get(folder)) is not None:
            node.set_label(self._folder_label(folder))

    def update_read(self, site_name: str, post_id: int) -> None:
        """Refresh the labels a read-state change touches: the post's at once, the unread
        counts once changes stop for ``COUNTS_DELAY`` (a count sits on an ancestor of every
        row below it, and relabelling one redraws all those rows: ~20 ms, which ``n`` through
        unread posts would pay per key)."""
        site = self.listing.sites.get(site_name)
        if site is None or post_id not in site.by_id:
            return
        for node in self._posts.get((site_name, post_id), []):
            node.set_label(self._post_label(site_name, post_id))
        self._stale_counts.add((site_name, None))
        self._stale_counts.update((site_name, cid) for cid in site.by_id[post_id].categories)
        if self._counts_timer is None:
            self._counts_timer = self.set_timer(COUNTS_DELAY, self._update_counts)
        else:
            self._counts_timer.reset()

    def _update_counts(self) -> None:
        """Relabel the folders, sites and lists whose unread counts changed."""
        self._counts_timer = None
        stale, self._stale_counts = self._stale_counts, set()
        for site_name in {key[0] for key in stale}:
            summary = self.listing.summaries.get(site_name)
            if summary is not None and (node := self._sites.get(site_name)) is not None:
                node.set_label(self._site_label(summary))
                self._relabel_folder(summary.site.folder)
        for key in stale:
            summary = self.listing.summaries.get(key[0])
            if (
                summary is not None
                and (key[1] is None or key[1] in summary.categories)
                and (node := self._lists.get(key)) is not None
            ):
                node.set_label(self._list_label(key))

    def relabel_counts(self) -> None:
        """Relabel every folder, site and list (after many read-state changes at once)."""
        for name in self._sites:
            self._stale_counts.add((name, None))
        self._stale_counts.update(self._lists)
        self._update_counts()
        for key in list(self._filled):
            if key[0] in self.listing.sites:
                for node in self._lists[key].children:
                    if isinstance(node.data, PostItem):
                        node.set_label(self._post_label(key[0], node.data.post_id))

    # -- events and actions ----------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        dates = event.size.width >= DATES_WIDTH
        if dates != self.show_dates:
            self.show_dates = dates
            for (site_name, post_id), nodes in self._posts.items():
                if site_name in self.listing.sites:
                    for node in nodes:
                        node.set_label(self._post_label(site_name, post_id))
            if self._search is not None and self._search_node is not None:
                for node, hit in zip(self._search_node.children, self._search[1], strict=False):
                    node.set_label(self._hit_label(hit))

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        data = event.node.data
        if isinstance(data, ListItem):
            self._fill(data.key)
        elif isinstance(data, SiteItem):
            self._add_site_children(event.node)
            if data.site not in self.listing.sites:
                self.post_message(self.SiteWanted(data.site))

    def on_tree_node_selected(self, event: Tree.NodeSelected[NodeData]) -> None:
        data = event.node.data
        if isinstance(data, PostItem):
            event.stop()
            self.post_message(self.PostSelected(data.key, data.post_id))
        elif isinstance(data, HitItem):
            event.stop()
            self.post_message(self.PostSelected(data.key, data.post_id, from_search=True))
        elif isinstance(data, MoreItem):
            event.stop()
            self._fill(data.key, data.start)
            first = next((c for c in self._lists[data.key].children if isinstance(c.data, PostItem)), None)
            if first is not None:
                self._move_to(first)

    def action_collapse_or_parent(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded and node.children:
            node.collapse()
        elif node.parent is not None and not node.parent.is_root:
            self._move_to(node.parent)

    def action_expand(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand and not node.is_expanded:
            node.expand()

    def selected(self) -> Any:
        """The data of the node under the cursor (None: none)."""
        node = self.cursor_node
        return node.data if node is not None else None
