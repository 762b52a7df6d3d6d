"""The article pane: breadcrumb, title, byline, the body as Markdown, post navigation.

Design (measured, see bench/bench_tui.py): a widget per block (Textual's ``Markdown``) or
per 2 KB chunk (``Static``) made every article a re-layout of the screen, rendered the body
twice (height, then lines) and drew it over several screen updates. ``ArticleView`` is one
line-API ``ScrollView``. The body is split at block boundaries into ~2 KB chunks; each is
rendered once per width by Rich's ``Markdown`` into lines of segments kept in an LRU (going
back, or showing a post laid out ahead by ``prepare``, costs no rendering), and
``render_line`` makes ``Strip``s of the lines on screen only: a ``Strip`` carries 14 cache
objects, and thousands of kept ones made every full garbage collection slower. ``show`` renders what the first screen needs; the rest
follows in time-boxed steps after each paint (repainting only if it lands on screen), so a
long article never holds up its first paint. The virtual size is set without re-laying out
the screen: one screen update per article.

The head is the breadcrumb (one line, cut with an ellipsis at the pane's width: it never
wraps above the title), the title, the byline and "In:" with every category of the post.
Links in the body carry the numbers the ``L`` list shows (``[n]`` after the link text),
images are ``[image: alt]`` labels (see ``.markdown``); chunks are numbered in order, each
from where the previous one stopped, and the LRU key includes that start.

Invariants: ``_lines`` is what can be drawn, top to bottom (head, the body so far, then the
navigation once ``_pending`` reaches the end); ``virtual_size`` matches it. Every remote
string goes in as ``rich.text.Text`` or as Markdown source, never as markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from time import perf_counter
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.selection import Selection
from textual.strip import Strip

from cache.models import Article, Category, Post, category_chain

from ..textual_compat import SizeUpdateHook, set_virtual_size_quietly
from .lines import LineView
from .markdown import Link, NumberedMarkdown

CHUNK = 2000
CACHE_CHUNKS = 32
"""Rendered chunks kept: about 8 usual articles, ~2 MB."""
STEP_SECONDS = 0.008
"""How long one background step may render for before letting a frame through."""
PREPARE_SCREENS = 4
"""How much of the next post ``prepare`` lays out: all of a usual one (one screen update)."""
_BLOCK_START = re.compile(r"^(#{1,6}\s|\S)")
_LIST_OR_TABLE = re.compile(r"^(\s|[-*+]\s|\d+[.)]\s|\||>)")

#: A line of segments and its role, which picks its base style ("", "rule" or "nav").
_Line = tuple[list[Segment], str]
_BLANK: _Line = ([], "")


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


def post_breadcrumb(post: Post, cats: dict[int, Category], category: int | None = None) -> list[str]:
    """``Home`` and the category path of ``post`` as seen from the list it was opened in.

    The path goes through ``category`` (the category node the post was opened from) or,
    from any other list, through the post's first category, as WordPress themes do; it
    then goes down to the deepest of the post's categories below that one (a post filed
    under News, Local and Harbour shows all three), else stops at it.
    """
    known = [cid for cid in post.categories if cid in cats]
    through = category if category is not None and category in cats else (known[0] if known else None)
    if through is None:
        return ["Home"]
    best = category_chain(cats, through)
    for cid in known:
        chain = category_chain(cats, cid)
        if len(chain) > len(best) and any(c.id == through for c in chain):
            best = chain
    return ["Home", *(c.name for c in best)]


def filed_under(post: Post, cats: dict[int, Category]) -> list[str]:
    """The names of every category of ``post``, in the post's order (``broadsheet read``'s
    "Filed under")."""
    return [cats[c].name for c in post.categories if c in cats]


def _source(post: Post, body: str) -> str:
    """The Markdown shown for a post: its body (or a notice), then its attachments (a feed
    item's enclosures: podcasts, images, documents), which ``L`` lists with the links."""
    if post.protected:
        return "*This post is password-protected. Open it in the browser (o) to enter the password.*"
    text = body.strip() or "*This post has no text.*"
    attached = [e for e in post.enclosures if isinstance(e, dict) and str(e.get("url", "")).startswith("http")]
    if attached:
        lines = ["", "", "**Attached**", ""]
        for enclosure in attached[:20]:
            url = str(enclosure["url"])
            name = url.rstrip("/").rsplit("/", 1)[-1] or url
            kind = str(enclosure.get("type") or "file")
            size = str(enclosure.get("length") or "")
            about = f"{kind}, {int(size) / 1e6:.1f} MB" if size.isdigit() and int(size) > 0 else kind
            lines.append(f"- [{name}](<{url}>) ({about})")
        text += "\n".join(lines)
    return text


class ArticleView(LineView, SizeUpdateHook):
    """One article; scrolls with j/k, arrows, page keys and space."""

    DEFAULT_CSS = """
    ArticleView {
        padding: 0 1;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        scrollbar-gutter: stable;
    }
    ArticleView > .article-view--rule { color: $primary-muted; }
    ArticleView > .article-view--nav { color: $text-muted; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"article-view--rule", "article-view--nav"}
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
        #: The body of ``article`` is still being read (a notice stands in for it).
        self.loading = False
        #: The "Post navigation" text (drawn after the body).
        self.nav = Text()
        self._head_text = Text("Choose a post in the sidebar (enter), or press N for the next unread one.")
        self._filed: list[str] = []
        #: The comment count the byline shows (``set_comment_count``).
        self._comments = 0
        self._crumb_text: Text | None = None
        #: The links of the body drawn so far, numbered (see ``links`` for all of them).
        self._links: list[Link] = []
        self._chunks: list[str] = []
        self._width = 0
        self._head: list[_Line] = []
        self._body: list[_Line] = []
        self._pending = 0  # index of the first chunk not rendered yet (== len(_chunks): done)
        self._generation = 0
        self._lines: list[_Line] = []
        self._cache: LRUCache[tuple[int, int, str], tuple[list[list[Segment]], list[Link]]] = LRUCache(CACHE_CHUNKS)
        self._styles: dict[str, Style] = {}
        #: Pictures (``tui.widgets.pictures``), by their image's URL: the lines drawn below
        #: the image's label (the picture itself, or blank rows a widget is laid over); where
        #: each label is in ``_body`` (its first appearance), and where each picture starts.
        self._pictures: dict[str, list[list[Segment]]] = {}
        self._labels: dict[str, int] = {}
        self._picture_at: dict[str, int] = {}
        #: Called whenever the lines are laid out again (the pictures follow them).
        self.laid_out: Callable[[], None] | None = None

    # -- showing ---------------------------------------------------------------------

    @property
    def at_end(self) -> bool:
        """Scrolled to the bottom of the whole article (not just of what is drawn yet)."""
        return self._pending >= len(self._chunks) and self.scroll_y >= self.max_scroll_y - 1

    @property
    def rendering(self) -> bool:
        """Part of the body is still to be drawn."""
        return self._pending < len(self._chunks)

    def show(
        self,
        article: Article,
        *,
        newer: Post | str | None,
        older: Post | str | None,
        crumbs: list[str] | None = None,
        loading: bool = False,
        filed: list[str] | None = None,
    ) -> None:
        """Display ``article`` from the top (``newer``/``older``: its list neighbours;
        ``crumbs``: the breadcrumb, default ``article.breadcrumb``; ``filed``: the names of
        all its categories, for "In:").

        ``loading``: the body is being read (in a worker); a notice stands in for it until
        ``show`` is called again with it. Showing the article already on screen again
        (its body arriving, or after a refresh) keeps the scroll.
        """
        old = self.article
        same = old is not None and old.post.id == article.post.id and old.post.site == article.post.site
        self.article = article
        self.loading = loading
        post = article.post
        self._crumb_text = Text(" › ".join(crumbs or article.breadcrumb or ["Home"]), style="dim")
        self._filed = filed or []
        if not same:
            self._comments = post.comment_count
        self._head_text = self._make_head()
        self.nav = self._nav_text(newer, older)
        keep = self.scroll_y if same else 0
        if not same:
            self._pictures.clear()
        source = "*Loading…*" if loading else _source(post, article.body)
        self._start(split_markdown(source), keep)
        if not same:
            self.scroll_to(y=0, animate=False, immediate=True)

    def prepare(self, post: Post, body: str) -> None:
        """Lay out the first screen of ``post`` ahead of time (the post ``n`` opens next).

        ``show`` then finds those lines in the cache.
        """
        width = self._content_width
        if width <= 0:
            return
        lines, start = 0, 1
        for chunk in split_markdown(_source(post, body)):
            if lines >= PREPARE_SCREENS * self._first_screen:
                break
            rendered, links = self._render_markdown(chunk, width, start)
            lines += len(rendered) + 1
            start += len(links)

    def set_comment_count(self, count: int) -> None:
        """The number of comments the comments pane shows for this post: the byline says at
        least that many (a reply just sent counts before the site's count says so; a comment
        feed holding only the latest ten does not lower the site's count)."""
        if self.article is None:
            return
        count = max(count, self.article.post.comment_count)
        if count == self._comments:
            return
        self._comments = count
        self._head_text = self._make_head()
        if self._width > 0:
            self._head = self._render_head(self._width)
            self._assemble()

    def _make_head(self) -> Text:
        """The title, the byline (author, date, comments) and "In:" with every category."""
        assert self.article is not None
        post = self.article.post
        head = Text()
        head.append(post.title, style="bold")
        head.append("\n")
        meta = []
        if post.author:
            meta.append(f"By {post.author}")
        if post.date:
            meta.append(post.date.replace("T", " ")[:16])
        count = self._comments
        meta.append(f"{count} comment{'s' if count != 1 else ''}")
        head.append(" · ".join(meta), style="italic")
        if self._filed:
            head.append("\nIn: ", style="dim")
            head.append(", ".join(self._filed), style="dim")
        return head

    def set_neighbours(self, newer: Post | str | None, older: Post | str | None) -> None:
        """Update the "Post navigation" lines (e.g. once the list is known)."""
        self.nav = self._nav_text(newer, older)
        if self.article is not None:
            self._assemble()

    def clear(self, message: str) -> None:
        """Show a message instead of an article."""
        self.article = None
        self.loading = False
        self._head_text = Text(message)
        self.nav = Text()
        self._crumb_text = None
        self._pictures.clear()
        self._start([], 0)

    def set_picture(self, url: str, lines: list[list[Segment]]) -> None:
        """Draw ``lines`` below the label of the image at ``url`` (a picture, or blank rows a
        picture widget is laid over; none: take it away). Only those lines move: the article
        is not laid out again, and what is being read stays where it is on screen. A picture
        drawn again keeps its place (beside others under the same label, a gallery)."""
        old = self._pictures.pop(url, None)
        if lines:
            self._pictures[url] = lines
        at = self._picture_at.pop(url, None)
        label = self._labels.get(url)
        if at is None and (label is None or not lines):
            return  # not drawn, and not to be drawn now (its label is not laid out yet)
        where = at if at is not None else label + 1  # type: ignore[operator]
        if at is not None and old:
            del self._body[at : at + len(old)]
            self._shift(at, -len(old))
        if label is not None and lines:
            self._body[where:where] = [(line, "") for line in lines]
            self._shift(where, len(lines))
            self._picture_at[url] = where
        moved = (len(lines) if label is not None else 0) - (len(old) if at is not None and old else 0)
        above = moved and len(self._head) + 1 + where <= self.scroll_y  # a change above the screen:
        self._assemble()
        if above:  # the text being read stays put
            self.scroll_to(y=self.scroll_y + moved, animate=False, immediate=True)

    def _shift(self, start: int, rows: int) -> None:
        """Lines from ``start`` on moved by ``rows``: so did the labels and pictures there."""
        for marks in (self._picture_at, self._labels):
            for url, where in marks.items():
                if where >= start:
                    marks[url] = where + rows

    def picture_top(self, url: str) -> int | None:
        """The line (from the top of the article) where the picture of the image at ``url``
        starts; None while it is not drawn (its label not laid out yet, or no picture)."""
        at = self._picture_at.get(url)
        return None if at is None else len(self._head) + 1 + at

    def links(self) -> list[Link]:
        """Every link and image of the article on screen, numbered as in its text (parses
        the chunks not drawn yet; no rendering)."""
        return self.links_later()()

    def links_later(self) -> Callable[[], list[Link]]:
        """``links``, to be called in any thread (it holds copies of what it needs: a long
        article's parse is not the UI thread's work)."""
        drawn, rest = list(self._links), self._chunks[self._pending :]

        def links() -> list[Link]:
            found = list(drawn)
            for chunk in rest:
                found.extend(NumberedMarkdown(chunk, start=len(found) + 1).links)
            return found

        return links

    def _nav_text(self, newer: Post | str | None, older: Post | str | None) -> Text:
        """``n`` and ``p``: the posts beside this one, or (a ``str``) the site they go on
        into from either end of a site's list."""
        text = Text("Post navigation\n", style="bold")
        for key, beside, word in (("n", older, "older"), ("p", newer, "newer")):
            if isinstance(beside, Post):
                text.append(f"{key}  {word.capitalize()}: ", style="bold")
                text.append(beside.title)
            elif beside:
                text.append(f"{key}  On to the {'next' if key == 'n' else 'previous'} site: ", style="bold")
                text.append(beside)
            else:
                text.append(f"{key}  (no {word} post in this list)", style="dim")
            if key == "n":
                text.append("\n")
        return text

    # -- rendering -------------------------------------------------------------------

    @property
    def _content_width(self) -> int:
        return self.scrollable_content_region.width

    @property
    def _first_screen(self) -> int:
        """Body lines drawn before the first paint (the rest follow in the background)."""
        return max(self.size.height, 24)

    def _start(self, chunks: list[str], scroll_y: float) -> None:
        """Lay out a new body: the head and the chunks the first screen needs, now."""
        self._generation += 1
        self._chunks = chunks
        self._body = []
        self._links = []
        self._labels = {}
        self._picture_at = {}
        self._pending = 0
        width = self._content_width
        self._width = width
        if width <= 0:  # not laid out yet: on_resize renders
            self._head = []
            self._lines = []
            return
        self._head = self._render_head(width)
        self._render_until(int(scroll_y) + self._first_screen)
        self._assemble()
        self._continue_later()

    def _render_head(self, width: int) -> list[_Line]:
        """The breadcrumb (one line, cut with an ellipsis) above the head's lines."""
        head = self._render_text(self._head_text, width)
        if self._crumb_text is not None:
            crumb = self._crumb_text.copy()
            crumb.no_wrap = True
            crumb.truncate(width, overflow="ellipsis")
            head[:0] = self._render_text(crumb, width)
        return head

    def _render_until(self, lines: int, seconds: float | None = None) -> None:
        """Render chunks until the body has ``lines`` lines (or the time budget is spent);
        chunks already in the cache are taken whatever the count."""
        deadline = None if seconds is None else perf_counter() + seconds
        while self._pending < len(self._chunks) and (
            len(self._body) < lines
            or deadline is not None
            or (self._width, len(self._links) + 1, self._chunks[self._pending]) in self._cache
        ):
            if self._body:
                self._body.append(_BLANK)
            rendered, links = self._render_markdown(self._chunks[self._pending], self._width, len(self._links) + 1)
            self._links.extend(links)
            first = len(self._body)
            self._body.extend((line, "") for line in rendered)
            if any(link.image for link in links):
                self._find_labels(rendered, links, first)
            self._pending += 1
            if deadline is not None and perf_counter() >= deadline:
                break

    def _find_labels(self, rendered: list[list[Segment]], links: list[Link], first: int) -> None:
        """Note where this chunk's image labels are (its lines start at ``first`` in
        ``_body``: the line ending ``][n]``, n the image's number), and draw the pictures
        already known below them, last first (inserting moves only what follows)."""
        texts = ["".join(segment.text for segment in line) for line in rendered]
        found: list[tuple[int, str]] = []
        for link in links:
            if not link.image or link.url in self._labels:
                continue
            end = f"{link.text.split()[-1] if link.text.split() else '[image'}][{link.number}]"
            line = next((i for i, text in enumerate(texts) if end in text), None)
            if line is not None:
                self._labels[link.url] = first + line
                found.append((first + line, link.url))
        for line, url in sorted(found, reverse=True):
            picture = self._pictures.get(url)
            if picture:
                self._body[line + 1 : line + 1] = [(row, "") for row in picture]
                self._shift(line + 1, len(picture))
                self._picture_at[url] = line + 1

    def _continue_later(self) -> None:
        if self._pending < len(self._chunks):
            self.call_after_refresh(self._continue, self._generation)

    def _continue(self, generation: int) -> None:
        """One background step: render chunks for a few milliseconds, then yield a frame."""
        if generation != self._generation or self._width != self._content_width:
            return
        drawn = len(self._lines)
        self._render_until(0, STEP_SECONDS)
        # lines added below the screen change only the scrollbar: no repaint then
        self._assemble(repaint=drawn < self.scroll_offset.y + self.size.height)
        self._continue_later()

    def _ensure(self, lines: int) -> None:
        """Render the body down to line ``lines`` now (before a jump into it)."""
        if self._pending < len(self._chunks) and self._width > 0 and len(self._body) < lines:
            self._render_until(lines)
            self._assemble()

    def _assemble(self, repaint: bool = True) -> None:
        """Rebuild the line list (head, body, navigation) and the virtual size."""
        lines = [*self._head]
        if self._body:
            lines.append(_BLANK)
            lines.extend(self._body)
        if self._pending >= len(self._chunks) and self.nav and self._width > 0:
            lines.append(_BLANK)
            lines.append(([Segment("─" * self._width)], "rule"))
            lines.extend((line, "nav") for line in self.draw(self.nav, self._width))
        self._lines = lines
        # assigning virtual_size would re-lay out the whole screen: a second screen update
        # per article; only this view's scrollbar depends on it (see textual_compat)
        set_virtual_size_quietly(self, Size(self._width, len(lines)))
        if repaint:
            self.refresh()
        if self.laid_out is not None:
            self.laid_out()

    def _render_text(self, text: Text, width: int) -> list[_Line]:
        return [(line, "") for line in self.draw(text, width)]

    def _render_markdown(self, source: str, width: int, start: int = 1) -> tuple[list[list[Segment]], list[Link]]:
        """A chunk's lines at ``width`` and its links (numbered from ``start``), from the
        LRU when it was drawn recently."""
        key = (width, start, source)
        found = self._cache.get(key)
        if found is None:
            markdown = NumberedMarkdown(source, start=start)
            found = (self.draw(markdown, width), markdown.links)
            self._cache.set(key, found)
        return found

    def draw(self, renderable: RenderableType, width: int) -> list[list[Segment]]:
        """``renderable``'s lines at ``width``, as this view draws its text (pictures too)."""
        options = self.app.console_options.update(highlight=False, width=width, height=None)
        return self.app.console.render_lines(renderable, options, pad=False)

    def size_updated(self) -> None:
        """Re-render for a new width as the layout sets it, so the update that follows the
        layout draws the text (``on_resize`` comes after it: at start, one more update)."""
        width = self._content_width
        if width > 0 and width != self._width:
            self._cache.clear()  # other widths are unlikely to come back soon
            self._start(self._chunks, self.scroll_y)

    # -- drawing ---------------------------------------------------------------------

    def _style(self, role: str) -> Style:
        """The base style of a line role, cached (``rich_style`` walks every ancestor)."""
        style = self._styles.get(role)
        if style is None:
            style = self.rich_style
            if role:
                style += self.get_component_rich_style(f"article-view--{role}")
            self._styles[role] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self._content_width
        index = self.scroll_offset.y + y
        if index >= len(self._lines):
            return Strip.blank(width, self._style(""))
        segments, role = self._lines[index]
        strip = Strip(segments)
        selection = self.text_selection
        if selection is not None and (span := selection.get_span(index)) is not None:
            strip = self._select(strip, span)
        base = self._style(role)
        return strip.apply_offsets(0, index).apply_style(base).adjust_cell_length(width, base)

    def _select(self, strip: Strip, span: tuple[int, int]) -> Strip:
        """``strip`` with the characters in ``span`` (-1: to the end) highlighted."""
        plain = strip.text
        start, end = span
        end = len(plain) if end == -1 else min(end, len(plain))
        if start >= end:
            return strip
        left, right = cell_len(plain[:start]), cell_len(plain[:end])
        before, middle, after = strip.divide([left, right, strip.cell_length])
        style = self.screen.get_component_rich_style("screen--selection")
        middle = Strip(Segment.apply_style(list(middle), post_style=style), middle.cell_length)
        return Strip.join([before, middle, after])

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        text = "\n".join("".join(segment.text for segment in line).rstrip() for line, _ in self._lines)
        return selection.extract(text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()

    # -- actions ---------------------------------------------------------------------

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def scroll_page_down(self, **kwargs: Any) -> None:
        """Scroll one page down (drawing that page first if it is not yet)."""
        self._ensure(int(self.scroll_y) + 3 * self.size.height)
        super().scroll_page_down(**kwargs)

    def scroll_end(self, **kwargs: Any) -> None:
        """Scroll to the end of the whole article (drawing the rest of it first)."""
        self._ensure(1 << 30)
        super().scroll_end(**kwargs)
