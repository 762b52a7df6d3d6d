"""The article pane: breadcrumb, title, byline, the body as Markdown, post navigation.

Design (measured, see bench/bench_tui.py): Textual's ``Markdown`` widget mounts one widget
per block and took ~600 ms for the long demo article; a Rich ``Markdown`` renderable costs
~8 ms per 4 KB but grows with the document. So the body is split at block boundaries into
~2 KB chunks, each shown by a pooled ``Static``: the first chunks are drawn at once (the
first screen), the rest a batch per refresh, and widgets are reused from one article to
the next instead of being mounted and removed.

Every remote string goes in as ``rich.text.Text`` or as Markdown source; never as markup.
"""

from __future__ import annotations

import re
from typing import ClassVar

from rich.markdown import Markdown as RichMarkdown
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from cache import Article, Post

CHUNK = 2000
FIRST_CHUNKS = 3
BATCH = 4
_BLOCK_START = re.compile(r"^(#{1,6}\s|\S)")
_LIST_OR_TABLE = re.compile(r"^(\s|[-*+]\s|\d+[.)]\s|\||>)")


def split_markdown(text: str, size: int = CHUNK) -> list[str]:
    """Split Markdown into chunks of about ``size`` characters at safe block boundaries.

    A chunk ends only at a blank line outside a code fence, before a line that starts a
    new top-level block (not a list item, table row, quote or indented continuation).
    """
    chunks: list[str] = []
    current: list[str] = []
    length = 0
    fence: str | None = None
    lines = text.split("\n")
    for index, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            mark = stripped[:3]
            fence = None if fence == mark else (fence or mark)
        current.append(line)
        length += len(line) + 1
        if (
            fence is None
            and length >= size
            and not line.strip()
            and index + 1 < len(lines)
            and _BLOCK_START.match(lines[index + 1])
            and not _LIST_OR_TABLE.match(lines[index + 1])
        ):
            chunks.append("\n".join(current))
            current, length = [], 0
    if any(line.strip() for line in current):
        chunks.append("\n".join(current))
    return chunks


class ArticleView(VerticalScroll, can_focus=True):
    """One article; scrolls with j/k, arrows, page keys and space."""

    DEFAULT_CSS = """
    ArticleView { padding: 0 1; scrollbar-size-vertical: 1; }
    ArticleView > #article-head { margin-bottom: 1; }
    ArticleView > .article-chunk { height: auto; }
    ArticleView > #article-nav { margin-top: 1; border-top: solid $primary-muted; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "scroll_down", "Down", show=False, id="cursor_down"),
        Binding("up,k", "scroll_up", "Up", show=False, id="cursor_up"),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("pageup,b", "page_up", "Page up", show=False, id="page_up"),
        Binding("home,g", "scroll_home", "Top", show=False),
        Binding("end,G", "scroll_end", "Bottom", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.article: Article | None = None
        self._chunks: list[str] = []
        self._generation = 0
        self._pool: list[Static] = []

    def compose(self):  # noqa: ANN201
        yield Static(Text("Choose a post in the sidebar (enter), or press N for the next unread one."), id="article-head")
        yield Static("", id="article-nav")

    @property
    def head(self) -> Static:
        return self.query_one("#article-head", Static)

    @property
    def nav(self) -> Static:
        return self.query_one("#article-nav", Static)

    @property
    def at_end(self) -> bool:
        return self.scroll_y >= self.max_scroll_y - 1

    def show(self, article: Article, *, newer: Post | None, older: Post | None, crumbs: list[str] | None = None) -> None:
        """Display ``article`` from the top (``newer``/``older``: its list neighbours)."""
        same = self.article is not None and self.article.post.id == article.post.id and self.article.post.site == article.post.site
        self.article = article
        post = article.post
        head = Text()
        head.append(" › ".join(crumbs or article.breadcrumb or ["Home"]), style="dim")
        head.append("\n")
        head.append(post.title, style="bold")
        head.append("\n")
        meta = []
        if post.author:
            meta.append(f"By {post.author}")
        if post.date:
            meta.append(post.date.replace("T", " ")[:16])
        count = post.comment_count
        meta.append(f"{count} comment{'s' if count != 1 else ''}")
        head.append(" · ".join(meta), style="italic")
        names = (crumbs or [])[1:]
        if names:
            head.append("\nIn: ", style="dim")
            head.append(", ".join(names), style="dim")
        self.head.update(head)
        if post.protected:
            body = "*This post is password-protected. Open it in the browser (o) to enter the password.*"
        else:
            body = article.body.strip() or "*This post has no text.*"
        self._chunks = split_markdown(body)
        self._generation += 1
        for widget in self._pool[FIRST_CHUNKS:]:
            widget.display = False
        self._show_chunks(0, FIRST_CHUNKS, self._generation)
        self.nav.update(self._nav_text(newer, older))
        if not same:
            self.scroll_home(animate=False, immediate=True)

    def set_neighbours(self, newer: Post | None, older: Post | None) -> None:
        """Update the "Post navigation" line (e.g. once the list is known)."""
        self.nav.update(self._nav_text(newer, older))

    def _nav_text(self, newer: Post | None, older: Post | None) -> Text:
        text = Text("Post navigation\n", style="bold")
        if older is not None:
            text.append("n  Older: ", style="bold")
            text.append(older.title)
        else:
            text.append("n  (no older post in this list)", style="dim")
        text.append("\n")
        if newer is not None:
            text.append("p  Newer: ", style="bold")
            text.append(newer.title)
        else:
            text.append("p  (no newer post in this list)", style="dim")
        return text

    def _show_chunks(self, start: int, count: int, generation: int) -> None:
        if generation != self._generation:
            return
        end = min(start + count, len(self._chunks))
        new: list[Static] = []
        for index in range(start, end):
            renderable = RichMarkdown(self._chunks[index], hyperlinks=True)
            if index < len(self._pool):
                widget = self._pool[index]
                widget.update(renderable)
                widget.display = True
            else:
                widget = Static(renderable, classes="article-chunk")
                self._pool.append(widget)
                new.append(widget)
        if new:
            self.mount_all(new, before=self.nav)
        if end < len(self._chunks):
            self.call_after_refresh(self._show_chunks, end, BATCH, generation)
        else:
            for widget in self._pool[end:]:
                if widget.display:
                    widget.display = False

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def clear(self, message: str) -> None:
        """Show a message instead of an article."""
        self.article = None
        self._generation += 1
        self._chunks = []
        self.head.update(Text(message))
        self.nav.update("")
        for widget in self._pool:
            widget.display = False
