"""The comments pane: a threaded discussion drawn with Textual's line API.

Design: a thread can hold thousands of comments, and one widget per comment costs
milliseconds each to mount and lay out. ``CommentThread`` is a single ``ScrollView``: it
wraps every visible comment's text into plain strings once per width (``textwrap`` for
ASCII, a cell-aware wrap otherwise — about 20 µs a comment) and turns only the lines on
screen into ``Strip``s. Collapsing a comment hides its replies; the layout is redone for
the visible comments only.

Remote text is drawn as plain ``Segment``s, so nothing in a comment is parsed as markup.
"""

from __future__ import annotations

import textwrap
from bisect import bisect_right
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, chop_cells
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from cache.models import Comment

from .lines import LineView

INDENT = 2
MAX_INDENT_DEPTH = 8


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


@dataclass
class _Row:
    """A visible comment and its laid-out lines."""

    depth: int
    comment: Comment
    replies: int
    lines: list[str]


class CommentThread(LineView):
    """A post's comments, indented by depth, each thread collapsible."""

    DEFAULT_CSS = """
    CommentThread { background: $surface; scrollbar-size-vertical: 1; overflow-x: hidden; }
    CommentThread > .comment-thread--author { color: $accent; text-style: bold; }
    CommentThread > .comment-thread--date { color: $text-muted; }
    CommentThread > .comment-thread--guide { color: $primary-muted; }
    CommentThread > .comment-thread--cursor { background: $boost; }
    CommentThread:focus > .comment-thread--cursor { background: $primary 30%; }
    CommentThread > .comment-thread--pending { color: $warning; text-style: italic; }
    CommentThread > .comment-thread--empty { color: $text-muted; text-style: italic; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "comment-thread--author", "comment-thread--date", "comment-thread--guide",
        "comment-thread--cursor", "comment-thread--pending", "comment-thread--empty",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Next comment", show=False, id="cursor_down"),
        Binding("up,k", "cursor_up", "Previous comment", show=False, id="cursor_up"),
        Binding("enter", "toggle_thread", "Collapse/expand", id="toggle_thread"),
        Binding("z", "toggle_all", "Collapse/expand all", show=False, id="toggle_all_threads"),
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
        self._collapsed: set[int] = set()
        self._rows: list[_Row] = []
        self._starts: list[int] = []
        self._width = 0
        self.empty_text = "No comments yet."
        self._styles: dict[str, Style] = {}

    # -- data ------------------------------------------------------------------------

    @property
    def comment_count(self) -> int:
        return len(self._items)

    @property
    def cursor_comment(self) -> Comment | None:
        if 0 <= self.cursor < len(self._rows):
            return self._rows[self.cursor].comment
        return None

    def set_comments(self, items: list[tuple[int, Comment]], *, empty_text: str = "No comments yet.") -> None:
        """Show a thread: ``(depth, comment)`` pairs in thread order."""
        self._items = items
        self.empty_text = empty_text
        self._collapsed.clear()
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
        self.set_reactive(CommentThread.cursor, 0)
        self._layout(force=True)
        self.scroll_to(y=0, animate=False, immediate=True)

    def toggle(self, comment_id: int) -> None:
        """Hide or show the replies to ``comment_id``."""
        if comment_id in self._collapsed:
            self._collapsed.discard(comment_id)
        else:
            self._collapsed.add(comment_id)
        self._layout(force=True)
        self.post_message(self.ThreadToggled(comment_id, comment_id in self._collapsed))

    # -- layout ----------------------------------------------------------------------

    def _layout(self, force: bool = False) -> None:
        width = self.scrollable_content_region.width or self.size.width or 80
        if not force and width == self._width:
            return
        self._width = width
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
            indent = INDENT * min(depth, MAX_INDENT_DEPTH) + 2
            lines = wrap(comment.text, width - indent - 1)
            rows.append(_Row(depth, comment, self._replies[index], lines))
        self._rows = rows
        starts, total = [], 0
        for row in rows:
            starts.append(total)
            collapsed = row.comment.id in self._collapsed
            total += 1 + (0 if collapsed else len(row.lines)) + 1
        self._starts = starts
        if keep is not None:
            for index, row in enumerate(rows):
                if row.comment.id == keep.id:
                    self.set_reactive(CommentThread.cursor, index)
                    break
        self.cursor = min(self.cursor, max(len(rows) - 1, 0))
        self.virtual_size = Size(width, max(total, 1))
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._layout()

    # -- drawing ---------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        """A component style, cached (a lookup costs ~0.5 ms; render_line needs several)."""
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"comment-thread--{name}")
        return style

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
        selected = index == self.cursor
        style = base + self._style("cursor") if selected else base
        guide = style + self._style("guide")
        indent = "│ " * min(row.depth, MAX_INDENT_DEPTH)
        if offset == 0:
            segments = [Segment(indent, guide)]
            marker = ("▸ " if collapsed else "▾ ") if row.replies else "• "
            segments.append(Segment(marker, guide))
            if collapsed:
                count = row.replies
                segments.append(Segment(f"[+{count} {'reply' if count == 1 else 'replies'}] ", guide))
            segments.append(Segment(row.comment.author, style + self._style("author")))
            date = row.comment.date.replace("T", " ")[:16]
            segments.append(Segment(f"  {date}", style + self._style("date")))
            if row.comment.status != "approved":
                label = "  (awaiting moderation)" if row.comment.status == "hold" else f"  ({row.comment.status})"
                segments.append(Segment(label, style + self._style("pending")))
            return Strip(segments).adjust_cell_length(width, style).crop(0, width)
        if offset <= body:
            text = row.lines[offset - 1]
            return Strip([Segment(indent + "  ", guide), Segment(text, style)]).adjust_cell_length(width, style).crop(0, width)
        return Strip.blank(width, base)

    # -- cursor ----------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh()
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        if not (0 <= self.cursor < len(self._rows)):
            return
        top = self._starts[self.cursor]
        end = self._starts[self.cursor + 1] if self.cursor + 1 < len(self._starts) else self.virtual_size.height
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
            self.refresh()

    def action_toggle_thread(self) -> None:
        comment = self.cursor_comment
        if comment is not None and self._rows[self.cursor].replies:
            self.toggle(comment.id)

    def action_toggle_all(self) -> None:
        tops = [c.id for (depth, c), n in zip(self._items, self._replies) if depth == 0 and n]
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
