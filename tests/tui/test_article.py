"""The article pane's head: breadcrumb from the node the post was opened from, every
category in "In:", a long breadcrumb cut instead of wrapped; post navigation follows the
list."""

from __future__ import annotations

from cache.models import Category, Post
from tui.widgets.article import post_breadcrumb

from .conftest import screen_text, wait_for


def head_lines(app) -> list[str]:
    """The article pane's lines (right of the sidebar), stripped."""
    view = app.reader.article_view
    return ["".join(s.text for s in line).strip() for line, _ in view._lines]


async def ready(app, pilot) -> None:
    await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
    await wait_for(pilot, lambda: not app.reader.article_view.rendering)


def test_breadcrumb_rules() -> None:
    cats = {
        1: Category(1, "s", "World"),
        2: Category(2, "s", "Asia", parent=1),
        3: Category(3, "s", "Pakistan", parent=2),
        4: Category(4, "s", "Extremism"),
    }
    post = Post(id=5, site="s", title="t", categories=[1, 2, 3, 4])
    assert post_breadcrumb(post, cats) == ["Home", "World", "Asia", "Pakistan"]
    assert post_breadcrumb(post, cats, 4) == ["Home", "Extremism"]
    assert post_breadcrumb(post, cats, 2) == ["Home", "World", "Asia", "Pakistan"]
    first = Post(id=6, site="s", title="t", categories=[4, 3])
    assert post_breadcrumb(first, cats) == ["Home", "Extremism"]  # the first category


async def test_in_lists_every_category_and_crumbs_follow_the_node(demo_store, make):
    app = make(demo_store)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(app, pilot)
        app.reader.open_post(("demo", None), 108)
        await ready(app, pilot)
        lines = head_lines(app)
        assert lines[0] == "Home › News › Local › Harbour"
        assert "In: News, Local, Harbour, Business" in lines
        app.reader.open_post(("demo", 5), 108)  # from the Business node
        await ready(app, pilot)
        lines = head_lines(app)
        assert lines[0] == "Home › News › Business"
        assert "In: News, Local, Harbour, Business" in lines


async def test_long_breadcrumb_is_cut_not_wrapped(demo_store, make):
    cats = demo_store.categories("demo")
    parent = 0
    for index in range(6):
        cat = Category(200 + index, "demo", f"A rather long category name {index}", parent=parent)
        cats.append(cat)
        parent = cat.id
    post = Post(
        id=9001,
        site="demo",
        title="Deep in the tree",
        date="2026-11-30T10:00:00",
        date_gmt="2026-11-30T10:00:00",
        modified_gmt="2026-11-30T10:00:00",
        categories=[parent],
    )
    demo_store.save_sync("demo", posts=[post], html={9001: "<p>Short body.</p>"}, categories=cats)
    app = make(demo_store, open_post="9001")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        lines = head_lines(app)
        assert lines[0].startswith("Home › A rather long") and lines[0].endswith("…")
        assert lines[1] == "Deep in the tree"


async def test_post_navigation_follows_the_filter(demo_store, make):
    app = make(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        app.reader.open_post(("demo", None), 112)
        await ready(app, pilot)
        assert "Older: Sailing club elects" in screen_text(app) or any(
            "Older: Sailing club elects" in line for line in head_lines(app)
        )
        await pilot.press("slash", *"harbour")
        await pilot.pause()
        assert any(line.startswith("n  Older: Is Saltmere") for line in head_lines(app))
        await pilot.press("escape")
        await pilot.pause()
        assert not app.reader.lists.filter_text
        assert any(line.startswith("n  Older: Sailing club elects") for line in head_lines(app))


def test_enclosures_are_listed_with_the_article():
    from cache.models import Post
    from tui.widgets.article import _source

    post = Post(
        1,
        "feed",
        "Episode 12",
        enclosures=[
            {"url": "https://cdn.example/ep12.mp3", "type": "audio/mpeg", "length": "24500000"},
            {"url": "javascript:alert(1)", "type": "text/html", "length": ""},
        ],
    )
    text = _source(post, "<p>Show notes</p>")
    assert "**Attached**" in text and "[ep12.mp3](<https://cdn.example/ep12.mp3>) (audio/mpeg, 24.5 MB)" in text
    assert "javascript" not in text
