"""The sidebar: sites → categories (with unread counts) → posts, newest first.

Design: the tree is built from a ``Listing`` snapshot, never from the store. Category
nodes are filled when first expanded, and a list shows one page of posts at a time (a
window of ``PAGE`` posts between "… N newer" and "… N older" nodes), so a 10,000-post
category costs no more than a 100-post one: Textual's ``Tree`` re-measures every line
after each change, so the number of lines is what must stay small.
Labels are ``rich.text.Text`` objects: a title is never parsed as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ..listing import Listing, ListKey, SiteListing
from ..navigation import PostLists

PAGE = 100
COUNTS_DELAY = 0.25
"""Seconds without read-state changes before the unread counts are relabelled."""


@dataclass(frozen=True)
class SiteItem:
    site: str


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


NodeData = SiteItem | ListItem | PostItem | MoreItem


class SiteTree(Tree[NodeData], inherit_bindings=False):
    """Sites, their category hierarchy and the posts of each category."""

    DEFAULT_CSS = """
    SiteTree { scrollbar-size-vertical: 1; overflow-x: hidden; }
    SiteTree > .site-tree--count { color: $accent; text-style: bold; }
    SiteTree > .site-tree--unread { text-style: bold; }
    SiteTree > .site-tree--read { color: $text-muted; }
    SiteTree > .site-tree--demo { color: $warning; text-style: bold; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "site-tree--count", "site-tree--unread", "site-tree--read", "site-tree--demo",
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

    def __init__(self, lists: PostLists | None = None, *, id: str | None = None) -> None:  # noqa: A002
        """``lists``: the post lists to show (shared with the reader's navigation)."""
        super().__init__("Sites", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.lists = lists if lists is not None else PostLists()
        self._lists: dict[ListKey, TreeNode[NodeData]] = {}
        self._sites: dict[str, TreeNode[NodeData]] = {}
        self._posts: dict[tuple[str, int], list[TreeNode[NodeData]]] = {}
        #: The first post shown of each filled list (its page start).
        self._shown: dict[ListKey, int] = {}
        self._filled: set[ListKey] = set()
        self._styles: dict[str, Style] = {}
        #: Lists (and their sites) whose unread count changed since the last relabelling.
        self._stale_counts: set[ListKey] = set()
        self._counts_timer: Timer | None = None

    # -- the lists -------------------------------------------------------------------

    @property
    def listing(self) -> Listing:
        return self.lists.listing

    @property
    def filter_text(self) -> str:
        return self.lists.filter_text

    def ids(self, key: ListKey) -> list[int]:
        """The post ids of a list, newest first, with the title filter applied."""
        return self.lists.ids(key)

    # -- building --------------------------------------------------------------------

    def load(self, listing: Listing) -> None:
        """Show ``listing``, keeping the expanded nodes, the cursor and the scroll."""
        expanded = {k for k, n in self._lists.items() if n.is_expanded}
        expanded_sites = {k for k, n in self._sites.items() if n.is_expanded}
        first = not self._sites
        cursor = self.cursor_node.data if self.cursor_node else None
        scroll = self.scroll_y
        self.lists.listing = listing
        self.clear()
        self._lists.clear()
        self._sites.clear()
        self._posts.clear()
        self._filled.clear()  # _shown is kept: each list reopens at the same page
        for name, site in listing.sites.items():
            node = self.root.add(self._site_label(site), SiteItem(name), expand=first or name in expanded_sites)
            self._sites[name] = node
            all_key: ListKey = (name, None)
            self._add_list(node, all_key, expanded, first=first)
            self._add_categories(node, site, 0, expanded)
        target = self._find(cursor) if cursor is not None else None
        if target is None and self.root.children:
            target = self.root.children[0]
        if target is not None:
            self._move_to(target)
        self.scroll_to(y=scroll, animate=False, immediate=True)

    def _add_categories(self, parent: TreeNode[NodeData], site: SiteListing, cat_id: int, expanded: set[ListKey]) -> None:
        for child in site.children.get(cat_id, []):
            key: ListKey = (site.site.name, child)
            node = self._add_list(parent, key, expanded)
            self._add_categories(node, site, child, expanded)

    def _add_list(self, parent: TreeNode[NodeData], key: ListKey, expanded: set[ListKey], first: bool = False) -> TreeNode[NodeData]:
        node = parent.add(self._list_label(key), ListItem(key))
        self._lists[key] = node
        if key in expanded or first:
            node.expand()
            self._fill(key)
        return node

    def _fill(self, key: ListKey, start: int | None = None) -> None:
        """Show the page of a list's posts that begins at ``start`` (below its subcategories).

        ``None`` keeps the current page (or shows the first one).
        """
        node = self._lists[key]
        ids = self.ids(key)
        current = self._shown.get(key)
        if start is None:
            start = current or 0
        start = max(0, min(start, ((len(ids) - 1) // PAGE) * PAGE if ids else 0))
        if current == start and key in self._filled:
            return
        for child in [c for c in node.children if not isinstance(c.data, ListItem)]:
            if isinstance(child.data, PostItem):
                nodes = self._posts.get((key[0], child.data.post_id), [])
                if child in nodes:
                    nodes.remove(child)
            child.remove()
        site = self.listing.sites[key[0]]
        end = min(start + PAGE, len(ids))
        if start > 0:
            node.add_leaf(Text(f"… {start:,} newer", style="italic"), MoreItem(key, max(start - PAGE, 0)))
        for pid in ids[start:end]:
            leaf = node.add_leaf(self._post_label(site, pid), PostItem(key, pid))
            self._posts.setdefault((key[0], pid), []).append(leaf)
        if end < len(ids):
            node.add_leaf(Text(f"… {len(ids) - end:,} older", style="italic"), MoreItem(key, end))
        elif not ids and not self._has_subcategories(key):
            node.add_leaf(Text("(no posts)", style="italic dim"), None)
        self._shown[key] = start
        self._filled.add(key)

    def _has_subcategories(self, key: ListKey) -> bool:
        return key[1] is not None and bool(self.listing.sites[key[0]].children.get(key[1]))

    def _find(self, data: NodeData) -> TreeNode[NodeData] | None:
        if isinstance(data, SiteItem):
            return self._sites.get(data.site)
        if isinstance(data, ListItem):
            return self._lists.get(data.key)
        if isinstance(data, PostItem):
            for node in self._posts.get((data.key[0], data.post_id), []):
                if node.data == data:
                    return node
            return self._lists.get(data.key)
        return None

    def reveal(self, key: ListKey, post_id: int) -> None:
        """Move the cursor to a post of a list (expanding and paging as needed)."""
        node = self._lists.get(key)
        if node is None:
            return
        parent = node.parent
        while parent is not None and not parent.is_root:
            if not parent.is_expanded:  # expand() re-lays out and redraws the whole tree
                parent.expand()
            parent = parent.parent
        if not node.is_expanded:
            node.expand()
        ids = self.ids(key)
        if post_id in ids:
            index = ids.index(post_id)
            start = self._shown.get(key, 0)
            if key not in self._filled or not start <= index < start + PAGE:
                self._filled.discard(key)
                self._fill(key, (index // PAGE) * PAGE)
        target = self._find(PostItem(key, post_id))
        if target is not None:
            self._move_to(target)

    def _move_to(self, node: TreeNode[NodeData]) -> None:
        self.last_line  # noqa: B018 - rebuilds the line index, so the node's line is current
        self.move_cursor(node)

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

    def _count(self, count: int) -> Text:
        return Text(f"  {count}", style=self._style("count")) if count else Text("")

    def _site_label(self, site: SiteListing) -> Text:
        label = Text(site.site.title or site.site.name, style="bold")
        if site.site.demo and "demo" not in label.plain.casefold():
            label.append(" DEMO", style=self._style("demo"))
        return label + self._count(site.unread)

    def _list_label(self, key: ListKey) -> Text:
        site = self.listing.sites[key[0]]
        if key[1] is None:
            return Text("All posts") + self._count(site.unread)
        cat = site.categories[key[1]]
        return Text(cat.name) + self._count(site.unread_by_cat.get(cat.id, 0))

    def _post_label(self, site: SiteListing, post_id: int) -> Text:
        post = site.by_id[post_id]
        if post_id in site.read:
            return Text("  " + post.title, style=self._style("read"))
        return Text.assemble(("● ", "bold"), (post.title, self._style("unread")))

    def update_read(self, site_name: str, post_id: int) -> None:
        """Refresh the labels a read-state change touches: the post's at once, the unread
        counts once changes stop for ``COUNTS_DELAY`` (a count sits on an ancestor of every
        row below it, and relabelling one redraws all those rows: ~20 ms, which ``n`` through
        unread posts would pay per key)."""
        site = self.listing.sites.get(site_name)
        if site is None:
            return
        for node in self._posts.get((site_name, post_id), []):
            node.set_label(self._post_label(site, post_id))
        self._stale_counts.add((site_name, None))
        self._stale_counts.update((site_name, cid) for cid in site.post_cats.get(post_id, ()))
        if self._counts_timer is None:
            self._counts_timer = self.set_timer(COUNTS_DELAY, self._update_counts)
        else:
            self._counts_timer.reset()

    def _update_counts(self) -> None:
        """Relabel the sites and lists whose unread counts changed."""
        self._counts_timer = None
        stale, self._stale_counts = self._stale_counts, set()
        for site_name in {key[0] for key in stale}:
            site = self.listing.sites.get(site_name)
            if site is not None and (node := self._sites.get(site_name)) is not None:
                node.set_label(self._site_label(site))
        for key in stale:
            if key[0] in self.listing.sites and (node := self._lists.get(key)) is not None:
                node.set_label(self._list_label(key))

    # -- events and actions ----------------------------------------------------------

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        data = event.node.data
        if isinstance(data, ListItem):
            self._fill(data.key)

    def on_tree_node_selected(self, event: Tree.NodeSelected[NodeData]) -> None:
        data = event.node.data
        if isinstance(data, PostItem):
            event.stop()
            self.post_message(self.PostSelected(data.key, data.post_id))
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
