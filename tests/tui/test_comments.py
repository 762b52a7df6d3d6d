"""The comments pane: Markdown rendering, headers that keep their time, thread navigation."""

from __future__ import annotations

from cache import Store
from cache.models import Comment
from tui.widgets.comments import CommentThread
from tui.widgets.markdown import NumberedMarkdown, is_plain, links_in

from .conftest import screen_text, wait_for

MARKDOWN = (
    "The council agreed a **five-year freeze** on fees, see "
    "[a link to a report](https://harbour.saltmere.invalid/reports/2026/visitor-berths-consultation-summary).\n\n"
    "Second paragraph with *emphasis*."
)


def add_comments(store: Store, post: int, *comments: Comment) -> None:
    store.save_sync("demo", posts=[], bodies={}, comments=list(comments))


async def opened(app, pilot) -> CommentThread:
    await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
    thread = app.reader.comment_thread
    await wait_for(pilot, lambda: not thread.rendering)
    return thread


def test_plain_detection_and_links() -> None:
    assert is_plain("Just words.\n\nAnd another paragraph, with commas.")
    assert not is_plain("some **bold** text")
    assert not is_plain("- a list item")
    links = links_in("See [the report](https://a.invalid/r) and ![a gull](https://a.invalid/g.png).")
    assert [(k.number, k.text, k.url, k.image) for k in links] == [
        (1, "the report", "https://a.invalid/r", False),
        (2, "a gull", "https://a.invalid/g.png", True),
    ]
    # numbering continues from ``start`` (an article's later chunk)
    assert [k.number for k in NumberedMarkdown("[x](https://a.invalid)", start=7).links] == [7]


async def test_comments_render_markdown(demo_store, make):
    add_comments(
        demo_store,
        112,
        Comment(
            id=5001,
            site="demo",
            post=112,
            author="Reviewer",
            date="2026-11-26T09:00:00",
            text=MARKDOWN,
        ),
    )
    app = make(demo_store, open_post="112")
    async with app.run_test(size=(160, 48)) as pilot:
        await opened(app, pilot)
        app.reader.comment_thread.select(5001)
        await pilot.pause()
        text = screen_text(app)
        assert "five-year freeze" in text
        assert "**" not in text
        assert "](https" not in text and "https://harbour" not in text
        assert "a link to a report" in text
        assert "*emphasis*" not in text and "emphasis" in text


def chain(first: int, depth: int, author: str) -> list[Comment]:
    """``depth`` comments on demo post 112, each answering the one before, a minute apart."""
    return [
        Comment(
            id=first + level,
            site="demo",
            post=112,
            parent=first + level - 1 if level else 0,
            date=f"2026-11-25T14:{level:02d}:00",
            author=author,
            text=f"Level {level}.",
        )
        for level in range(depth)
    ]


async def test_nested_comment_keeps_its_time_and_shortens_the_author(demo_store, make):
    add_comments(demo_store, 112, *chain(6000, 9, "Bartholomew Fitzwilliam-Smythe of Upper Saltmere Harbour"))
    app = make(demo_store, open_post="112")
    async with app.run_test(size=(160, 48)) as pilot:
        thread = await opened(app, pilot)
        assert thread.select(6008)
        await pilot.pause()
        text = screen_text(app)
        for depth in range(9):
            assert f"2026-11-25 14:{depth:02d}" in text
        assert "Bartholomew Fitzwil" in text and "…" in text


async def test_a_narrow_nested_header_shortens_its_date_rather_than_cut_it(demo_store, make):
    import re

    add_comments(demo_store, 112, *chain(6100, 12, "Bartholomew Fitzwilliam-Smythe"))
    app = make(demo_store, open_post="112")
    async with app.run_test(size=(80, 24)) as pilot:
        thread = await opened(app, pilot)
        app.reader.comment_thread.focus()
        assert thread.select(6110)
        await pilot.press("z")  # folded: "[+2 replies]" takes room too
        await pilot.pause()
        headers = [line for line in screen_text(app).splitlines() if "Barth" in line]
        assert len(headers) >= 2
        for line in headers:
            assert re.search(r"\d\d-\d\d", line), line  # a date, whole or without its year
            assert not re.search(r"\d\d:\d?(?!\d)|-\d\d \d?(?![\d:])", line), line  # never a time cut short


async def test_thread_navigation_keys(demo_store, make):
    app = make(demo_store, open_post="108")
    async with app.run_test(size=(160, 48)) as pilot:
        thread = await opened(app, pilot)
        thread.focus()
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        assert "Next thread" in footer and "Parent" in footer and "Collapse" in footer

        def at() -> int:
            assert thread.cursor_comment is not None
            return thread.cursor_comment.id

        assert at() == 1013
        await pilot.press("right_square_bracket")
        assert at() == 1018
        await pilot.press("right_square_bracket")
        assert at() == 1020
        await pilot.press("left_square_bracket")
        assert at() == 1018
        await pilot.press("left_square_bracket", "j", "j", "j", "j")
        assert at() == 1017  # four levels down the first thread
        await pilot.press("u")
        assert at() == 1016
        await pilot.press("u", "u", "u")
        assert at() == 1013
        await pilot.press("z")  # collapse 1013's subtree
        assert len(thread._rows) == 12 - 4
        assert "+4 replies" in screen_text(app)
        await pilot.press("z")
        assert len(thread._rows) == 12
        await pilot.press("j", "j", "j", "j", "z")  # z on a reply without replies: its parent's
        assert at() == 1016 and len(thread._rows) == 11
        await pilot.press("Z")  # collapse all, then expand all
        assert [r.comment.id for r in thread._rows] == [1013, 1018, 1020, 1022, 1024]
        await pilot.press("Z")
        assert len(thread._rows) == 12


async def test_help_lists_comment_keys(demo_store, make):
    app = make(demo_store)
    rows = {row[3]: row for row in app.binding_rows()}
    for binding_id in ("next_thread", "previous_thread", "parent_comment", "toggle_thread", "toggle_all_threads"):
        assert rows[binding_id][0] == "Comments"
    assert rows["toggle_all_threads"][1] == "Z"
