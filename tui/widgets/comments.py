"""The comments pane: a threaded discussion drawn with Textual's line API.

Design: a thread can hold thousands of comments, and one widget per comment costs
milliseconds each to mount and lay out. ``CommentThread`` is a single ``ScrollView``: it
lays out every visible comment's text once per width and turns only the lines on screen
into ``Strip``s. Collapsing a comment hides its replies; the layout is redone for the
visible comments only.

Comments are Markdown, drawn as the article is (``NumberedMarkdown``: Rich's renderer,
images as ``[image: alt]`` labels; a comment's links are listed by ``L``, not numbered in
the text). Rendering costs ~0.5 ms a comment, so a comment with nothing Markdown would
change (``is_plain``) is wrapped directly (~20 µs), and the others are rendered lazily:
the layout first takes a plain wrap as an estimate, renders the comments on screen before
the first paint, and the rest in time-boxed steps after it (like the article), keeping
the comment at the top of the pane where it was. Rendered comments are kept in an LRU by
(width, text).

The header line (author, date) never cuts the date: a long author name is shortened with
an ellipsis instead.

Remote text is drawn as ``Segment``s or as Markdown source, never parsed as markup.
"""

from __future__ import annotations

import textwrap
from bisect import bisect_right
from dataclasses import dataclass
from time import perf_counter
from typing import ClassVar

from rich.cells import cell_len, chop_cells
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from cache.models import Comment

from ..textual_compat import set_virtual_size_quietly
from .lines import LineView
from .markdown import NumberedMarkdown, is_plain, plain_paragraphs

INDENT = 2
MAX_INDENT_DEPTH = 8
STEP_SECONDS = 0.008
"""How long one background step may render comments for before letting a frame through."""
CACHE_COMMENTS = 512
"""Rendered Markdown comments kept (plain ones are re-wrapped: cheaper than keeping)."""
MIN_AUTHOR = 6
"""An author name is never shortened below this many cells (the date goes first then)."""


def wrap(text: str, width: int) -> list[str]:
    """Wrap ``text`` to ``width`` terminal cells, keeping its line breaks."""
    width = max(width, 4)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        if not paragraph.strip():
            lines.append("")
            continue
        if paragraph.isascii():
            lines.extend(textwrap.wrap(paragraph, width, break_on_hyphens=False) or [""])
            continue
        line, used = "", 0
        for word in paragraph.split(" "):
            size = cell_len(word)
            if used and used + 1 + size <= width:
                line, used = f"{line} {word}", used + 1 + size
                continue
            if used:
                lines.append(line)
            if size > width:
                *full, word = chop_cells(word, width)
                lines.extend(full)
                size = cell_len(word)
            line, used = word, size
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def wrap_markdown_plain(text: str, width: int) -> list[str]:
    """A plain comment (``is_plain``) laid out as Markdown would: paragraphs wrapped to
    ``width``, a blank line between them."""
    lines: list[str] = []
    for paragraph in plain_paragraphs(text):
        if lines:
            lines.append("")
        lines.extend(wrap(paragraph, width))
    return lines


#: A drawn line: segments carrying their own styles (the row's style goes under them).
_Line = list[Segment]


@dataclass
class _Row:
    """A visible comment and its laid-out lines."""

    depth: int
    comment: Comment
    replies: int
    lines: list[_Line]
    #: ``lines`` is a plain-wrap estimate; the Markdown rendering is still to come.
    pending: bool = False


class CommentThread(LineView):
    """A post's comments, indented by depth, each thread collapsible."""

    DEFAULT_CSS = """
    CommentThread { background: $surface; scrollbar-size-vertical: 1; overflow-x: hidden; }
    CommentThread > .comment-thread--author { color: $accent; text-style: bold; }
    CommentThread > .comment-thread--date { color: $text-muted; }
    CommentThread > .comment-thread--guide { color: $primary-muted; }
    CommentThread > .comment-thread--cursor { background: $boost; }
    CommentThread:focus > .comment-thread--cursor { background: $primary 30%; }
    CommentThread > .comment-thread--new { background: $success 25%; }
    CommentThread > .comment-thread--pending { color: $warning; text-style: italic; }
    CommentThread > .comment-thread--empty { color: $text-muted; text-style: italic; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "comment-thread--author",
        "comment-thread--date",
        "comment-thread--guide",
        "comment-thread--cursor",
        "comment-thread--new",
        "comment-thread--pending",
        "comment-thread--empty",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Next comment", show=False, id="cursor_down"),
        Binding("up,k", "cursor_up", "Previous comment", show=False, id="cursor_up"),
        Binding("right_square_bracket", "next_thread", "Next thread", id="next_thread"),
        Binding("left_square_bracket", "previous_thread", "Prev thread", id="previous_thread"),
        Binding("u", "parent", "Parent", id="parent_comment"),
        Binding("z,enter", "toggle_thread", "Collapse", id="toggle_thread"),
        Binding("Z", "toggle_all", "Collapse all", id="toggle_all_threads"),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
    ]

    cursor: reactive[int] = reactive(0, repaint=False)
    """Index of the highlighted comment among the visible ones."""

    @dataclass
    class ThreadToggled(Message):
        """A comment's replies were hidden or shown."""

        comment_id: int
        collapsed: bool

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._items: list[tuple[int, Comment]] = []
        self._replies: list[int] = []
        self._parents: dict[int, int] = {}
        self._collapsed: set[int] = set()
        self._rows: list[_Row] = []
        self._starts: list[int] = []
        self._total = 0
        self._width = 0
        self._generation = 0
        self._cache: LRUCache[tuple[int, str], list[_Line]] = LRUCache(CACHE_COMMENTS)
        self.empty_text = "No comments yet."
        #: A comment to show as new (a reply just sent), until the cursor leaves it.
        self.marked: int | None = None

    # -- data ------------------------------------------------------------------------

    @property
    def comment_count(self) -> int:
        return len(self._items)

    @property
    def cursor_comment(self) -> Comment | None:
        if 0 <= self.cursor < len(self._rows):
            return self._rows[self.cursor].comment
        return None

    @property
    def rendering(self) -> bool:
        """Some visible comments are still to be rendered as Markdown."""
        return any(row.pending for row in self._rows)

    def set_comments(self, items: list[tuple[int, Comment]], *, empty_text: str = "No comments yet.") -> None:
        """Show a thread: ``(depth, comment)`` pairs in thread order."""
        self._items = items
        self.empty_text = empty_text
        self._collapsed.clear()
        self.marked = None
        # replies below each comment: the run of deeper comments that follows it
        replies = [0] * len(items)
        stack: list[int] = []
        for index, (depth, _) in enumerate(items):
            while stack and items[stack[-1]][0] >= depth:
                stack.pop()
            for open_index in stack:
                replies[open_index] += 1
            stack.append(index)
        self._replies = replies
        self._parents = {c.id: c.parent for _, c in items}
        self.set_reactive(CommentThread.cursor, 0)
        self.scroll_to(y=0, animate=False, immediate=True)
        self._layout(force=True)

    def toggle(self, comment_id: int) -> None:
        """Hide or show the replies to ``comment_id``."""
        if comment_id in self._collapsed:
            self._collapsed.discard(comment_id)
        else:
            self._collapsed.add(comment_id)
        self._layout(force=True)
        self.post_message(self.ThreadToggled(comment_id, comment_id in self._collapsed))

    def select(self, comment_id: int, *, mark: bool = False) -> bool:
        """Put the cursor on ``comment_id`` (opening the threads it is hidden in) and scroll
        to it; ``mark``: show it as new. Whether the comment is in the thread."""
        if comment_id not in self._parents:
            return False
        parent, seen = self._parents[comment_id], set()
        opened = False
        while parent and parent not in seen:
            seen.add(parent)
            if parent in self._collapsed:
                self._collapsed.discard(parent)
                opened = True
            parent = self._parents.get(parent, 0)
        if opened:
            self._layout(force=True)
        index = next((i for i, row in enumerate(self._rows) if row.comment.id == comment_id), None)
        if index is None:
            return False
        self.marked = comment_id if mark else None
        self._render_rows([index])
        self.cursor = index
        self._scroll_to_cursor()
        self.refresh()
        return True

    # -- layout ----------------------------------------------------------------------

    def _text_width(self, depth: int, width: int) -> int:
        return max(width - (INDENT * min(depth, MAX_INDENT_DEPTH) + 2) - 1, 4)

    def _body(self, text: str, width: int) -> tuple[list[_Line], bool]:
        """A comment's lines at ``width``: ``(lines, pending)`` — pending lines are a plain
        estimate of a Markdown comment not rendered yet."""
        lines = self._cache.get((width, text))
        if lines is not None:
            return lines, False
        if is_plain(text):
            return [[Segment(line)] if line else [] for line in wrap_markdown_plain(text, width)], False
        return [[Segment(line)] if line else [] for line in wrap(text, width)], True

    def _render_text(self, text: str, width: int) -> list[_Line]:
        """Render a Markdown comment (from the LRU when it was drawn recently)."""
        key = (width, text)
        lines = self._cache.get(key)
        if lines is None:
            options = self.app.console_options.update(highlight=False, width=width, height=None)
            lines = self.app.console.render_lines(NumberedMarkdown(text, number=False), options, pad=False)
            while lines and not "".join(segment.text for segment in lines[-1]).strip():
                lines.pop()
            self._cache.set(key, lines)
        return lines

    def _layout(self, force: bool = False) -> None:
        width = self.scrollable_content_region.width or self.size.width or 80
        if not force and width == self._width:
            return
        self._width = width
        self._generation += 1
        keep = self.cursor_comment
        rows: list[_Row] = []
        skip_below: int | None = None
        for index, (depth, comment) in enumerate(self._items):
            if skip_below is not None:
                if depth > skip_below:
                    continue
                skip_below = None
            if comment.id in self._collapsed:
                skip_below = depth
            lines, pending = self._body(comment.text, self._text_width(depth, width))
            rows.append(_Row(depth, comment, self._replies[index], lines, pending))
        self._rows = rows
        self._measure()
        if keep is not None:
            for index, row in enumerate(rows):
                if row.comment.id == keep.id:
                    self.set_reactive(CommentThread.cursor, index)
                    break
        self.cursor = min(self.cursor, max(len(rows) - 1, 0))
        # what the first screen shows is rendered now; the rest after the paint
        for _ in range(3):
            if not self._render_rows(self._rows_on_screen()):
                break
        set_virtual_size_quietly(self, Size(width, max(self._total, 1)))  # no screen re-layout
        self.refresh()
        self._continue_later()

    def _measure(self) -> None:
        """The first line of every visible comment, and the total."""
        starts, total = [], 0
        for row in self._rows:
            starts.append(total)
            collapsed = row.comment.id in self._collapsed
            total += 1 + (0 if collapsed else len(row.lines)) + 1
        self._starts = starts
        self._total = total

    def _rows_on_screen(self) -> list[int]:
        if not self._rows:
            return []
        top = int(self.scroll_y)
        first = max(bisect_right(self._starts, top) - 1, 0)
        last = bisect_right(self._starts, top + max(self.size.height, 24))
        rows = list(range(first, min(last, len(self._rows))))
        if self.cursor not in rows and 0 <= self.cursor < len(self._rows):
            rows.append(self.cursor)
        return rows

    def _render_rows(self, indices: list[int], seconds: float | None = None) -> bool:
        """Render the pending rows among ``indices`` (for at most ``seconds``), keeping the
        comment at the top of the pane in place; whether any was rendered."""
        deadline = None if seconds is None else perf_counter() + seconds
        done = False
        for index in indices:
            row = self._rows[index]
            if not row.pending:
                continue
            row.lines = self._render_text(row.comment.text, self._text_width(row.depth, self._width))
            row.pending = False
            done = True
            if deadline is not None and perf_counter() >= deadline:
                break
        if done:
            top = int(self.scroll_y)
            anchor = max(bisect_right(self._starts, top) - 1, 0) if self._starts else 0
            offset = top - self._starts[anchor] if self._starts else 0
            self._measure()
            if top and self._starts:
                self.scroll_to(y=self._starts[anchor] + offset, animate=False, immediate=True)
        return done

    def _continue_later(self) -> None:
        if self.rendering:
            self.call_after_refresh(self._continue, self._generation)

    def _continue(self, generation: int) -> None:
        """One background step: render comments for a few milliseconds, then yield a frame."""
        if generation != self._generation:
            return
        pending = [i for i, row in enumerate(self._rows) if row.pending]
        if self._render_rows(pending, STEP_SECONDS):
            set_virtual_size_quietly(self, Size(self._width, max(self._total, 1)))
            self.refresh()
        self._continue_later()

    def on_resize(self, event: events.Resize) -> None:
        self._layout()

    # -- drawing ---------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        """A component style, cached (a lookup costs ~0.5 ms; render_line needs several)."""
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"comment-thread--{name}")
        return style

    def _header(self, row: _Row, width: int, style: Style, guide: Style, indent: str) -> Strip:
        """Guides, marker, author, date and status; the author is shortened before the
        date is ever cut."""
        collapsed = row.comment.id in self._collapsed
        lead = indent + (("▸ " if collapsed else "▾ ") if row.replies else "• ")
        if collapsed:
            count = row.replies
            lead += f"[+{count} {'reply' if count == 1 else 'replies'}] "
        stamp = row.comment.date.replace("T", " ")[:16]
        for shown in (stamp, stamp[5:], stamp[5:10]):  # the year, then the time go first:
            date = "  " + shown  # never a time cut in the middle
            if width - cell_len(lead) - cell_len(date) >= MIN_AUTHOR:
                break
        status = ""
        if row.comment.status != "approved":
            status = "  (awaiting moderation)" if row.comment.status == "hold" else f"  ({row.comment.status})"
        author = row.comment.author
        room = width - cell_len(lead) - cell_len(date)
        if cell_len(author) + cell_len(status) > room:
            status = ""
        if cell_len(author) > room:
            keep = max(room, MIN_AUTHOR) - 1
            author = (chop_cells(author, keep)[0] if keep > 0 else "") + "…"
        segments = [
            Segment(lead, guide),
            Segment(author, style + self._style("author")),
            Segment(date, style + self._style("date")),
        ]
        if status:
            segments.append(Segment(status, style + self._style("pending")))
        return Strip(segments).adjust_cell_length(width, style).crop(0, width)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = self.scroll_offset.y + y
        base = self._styles.get("") or self._styles.setdefault("", self.rich_style)
        if not self._rows:
            if y == 1:
                style = base + self._style("empty")
                return Strip([Segment(" " + self.empty_text, style)]).adjust_cell_length(width, base)
            return Strip.blank(width, base)
        index = bisect_right(self._starts, line) - 1
        if index < 0:
            return Strip.blank(width, base)
        row = self._rows[index]
        offset = line - self._starts[index]
        collapsed = row.comment.id in self._collapsed
        body = 0 if collapsed else len(row.lines)
        style = base
        if row.comment.id == self.marked:
            style = style + self._style("new")
        if index == self.cursor:
            style = style + self._style("cursor")
        guide = style + self._style("guide")
        indent = "│ " * min(row.depth, MAX_INDENT_DEPTH)
        if offset == 0:
            return self._header(row, width, style, guide, indent)
        if offset <= body:
            segments = [Segment(indent + "  ", guide), *row.lines[offset - 1]]
            return Strip(segments).apply_style(style).adjust_cell_length(width, style).crop(0, width)
        return Strip.blank(width, base)

    # -- cursor ----------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        if self.marked is not None and 0 <= new < len(self._rows) and self._rows[new].comment.id != self.marked:
            self.marked = None
        self.refresh()
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        if not (0 <= self.cursor < len(self._rows)):
            return
        top = self._starts[self.cursor]
        end = self._starts[self.cursor + 1] if self.cursor + 1 < len(self._starts) else self._total
        height = min(end - top, self.scrollable_content_region.height or 1)
        self.scroll_to_region(Region(0, top, 1, max(height, 1)), animate=False, immediate=True)

    def action_cursor_down(self) -> None:
        if self.cursor < len(self._rows) - 1:
            self.cursor += 1
        else:
            self.scroll_end(animate=False)

    def action_cursor_up(self) -> None:
        if self.cursor > 0:
            self.cursor -= 1

    def action_first(self) -> None:
        self.cursor = 0
        self.scroll_home(animate=False)

    def action_last(self) -> None:
        self.cursor = max(len(self._rows) - 1, 0)
        self.scroll_end(animate=False)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)
        self._cursor_into_view()

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)
        self._cursor_into_view()

    def _cursor_into_view(self) -> None:
        if self._rows:
            top = int(self.scroll_target_y)
            self.set_reactive(CommentThread.cursor, max(bisect_right(self._starts, top) - 1, 0))
            self._render_rows(self._rows_on_screen())
            self.refresh()

    def action_next_thread(self) -> None:
        """Move to the next top-level comment."""
        for index in range(self.cursor + 1, len(self._rows)):
            if self._rows[index].depth == 0:
                self.cursor = index
                return
        self.notify("No later thread.", timeout=2)

    def action_previous_thread(self) -> None:
        """Move to the previous top-level comment (the top of this thread first)."""
        for index in range(self.cursor - 1, -1, -1):
            if self._rows[index].depth == 0:
                self.cursor = index
                return
        self.notify("No earlier thread.", timeout=2)

    def action_parent(self) -> None:
        """Move to the comment the one under the cursor answers."""
        comment = self.cursor_comment
        if comment is None or not comment.parent:
            self.notify("This comment answers the post.", timeout=2)
            return
        for index in range(self.cursor - 1, -1, -1):
            if self._rows[index].comment.id == comment.parent:
                self.cursor = index
                return

    def action_toggle_thread(self) -> None:
        """Collapse or expand the replies to the comment under the cursor (on a comment
        without replies: the thread it is in, from its parent)."""
        if not (0 <= self.cursor < len(self._rows)):
            return
        row = self._rows[self.cursor]
        if row.replies:
            self.toggle(row.comment.id)
        elif row.comment.parent:
            self.action_parent()
            if self.cursor_comment is not None and self.cursor_comment.id == row.comment.parent:
                self.toggle(row.comment.parent)

    def action_toggle_all(self) -> None:
        """Collapse every top-level thread, or expand them all when they are collapsed."""
        tops = [c.id for (depth, c), n in zip(self._items, self._replies, strict=True) if depth == 0 and n]
        if any(i not in self._collapsed for i in tops):
            self._collapsed.update(tops)
        else:
            self._collapsed.clear()
        self._layout(force=True)

    def on_click(self, event: events.Click) -> None:
        if not self._rows:
            return
        line = self.scroll_offset.y + event.y
        index = bisect_right(self._starts, line) - 1
        if 0 <= index < len(self._rows):
            self.cursor = index
            if line == self._starts[index] and self._rows[index].replies:
                self.toggle(self._rows[index].comment.id)
