"""``[reader] images``: off, or on in a terminal without graphics, changes nothing; on with
graphics, ``enter`` on an image in ``L`` fetches it into the cache and shows it."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image as PILImage

from cache.config import Config, ReaderConfig
from cache.models import Post
from tui.images import terminal_graphics
from tui.screens.image import ImageScreen
from tui.screens.links import LinksScreen

from .conftest import screen_text, wait_for

GULL = "https://demo.broadsheet.invalid/gull.png"


def png(size: tuple[int, int] = (40, 20)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def demo_post(post_id: int, title: str, hour: int) -> Post:
    when = f"2026-11-30T{hour:02d}:00:00"
    return Post(id=post_id, site="demo", title=title, date=when, date_gmt=when, modified_gmt=when, categories=[2])


@pytest.fixture
def picture(demo_store):
    post = demo_post(9002, "A picture", 10)
    html = f'<p>Look:</p><p><img src="{GULL}" alt="A gull on the quay"></p>'
    demo_store.save_sync("demo", posts=[post], html={9002: html}, categories=demo_store.categories("demo"))
    return demo_store


@pytest.fixture
def served(fake):
    """The fake site, plus the image; records image requests."""
    asked: list[str] = []
    body = png()

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == GULL:
            asked.append(GULL)
            return httpx.Response(200, content=body, headers={"content-type": "image/png"})
        return fake(request)

    return handler, asked


async def choose_image(app, pilot) -> tuple[str, list[str]]:
    """Open ``L``, press enter on the image; the article text and the URLs sent to the browser."""
    urls: list[str] = []
    app.open_in_browser = urls.append
    await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
    await wait_for(pilot, lambda: not app.reader.article_view.rendering)
    text = screen_text(app)
    await pilot.press("L")
    await wait_for(pilot, lambda: isinstance(app.screen, LinksScreen))
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, LinksScreen))
    await app.workers.wait_for_complete()
    return text, urls


@pytest.mark.parametrize(
    ("images", "graphics"),
    [(False, "tgp"), (True, None)],
    ids=["images-off", "images-on-no-graphics"],
)
async def test_placeholder_stays(picture, make, served, images, graphics):
    handler, asked = served
    config = Config(reader=ReaderConfig(refresh_after_minutes=0, images=images))
    app = make(picture, open_post="9002", config=config, graphics=graphics, transport=httpx.MockTransport(handler))
    async with app.run_test(size=(120, 40)) as pilot:
        text, urls = await choose_image(app, pilot)
        assert app.graphics is None
        assert "[image: A gull on the quay][1]" in text
        assert urls == [GULL]  # the browser, as without the setting
        assert not isinstance(app.screen, ImageScreen)
        assert not app.query(".picture")  # nothing drawn in the article either
    assert asked == []
    assert not (picture.directory / "images").exists()


async def test_image_is_fetched_and_shown(picture, make, served):
    handler, asked = served
    config = Config(reader=ReaderConfig(refresh_after_minutes=0, images=True))
    # halfcell: drawn without a graphics terminal (the start-up probe only picks tgp/sixel)
    app = make(picture, open_post="9002", config=config, graphics="halfcell", transport=httpx.MockTransport(handler))
    async with app.run_test(size=(120, 40)) as pilot:
        text, urls = await choose_image(app, pilot)
        assert "[image: A gull on the quay][1]" in text  # the placeholder stays in the article
        await wait_for(pilot, lambda: isinstance(app.screen, ImageScreen))
        assert urls == [] and asked == [GULL]
        assert "A gull on the quay" in screen_text(app)
        assert len(list((picture.directory / "images").iterdir())) == 1
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ImageScreen))


def test_no_graphics_in_tmux_or_without_a_terminal():
    assert terminal_graphics({"TMUX": "/tmp/tmux-1/default,1,0", "TERM": "xterm-kitty"}) is None
    assert terminal_graphics({"TERM": "screen-256color"}) is None
    assert terminal_graphics({"TERM": "xterm-kitty"}) is None  # pytest's stdout is no terminal


def test_decode_refuses_what_is_not_a_small_enough_image(tmp_path, monkeypatch):
    from tui.screens import image

    junk = tmp_path / "junk"
    junk.write_bytes(b"<html>not an image</html>")
    with pytest.raises(ValueError, match="cannot show this image"):
        image.decode(junk)
    big = tmp_path / "big"
    big.write_bytes(png())
    assert image.decode(big).size == (40, 20)
    monkeypatch.setattr(image, "MAX_PIXELS", 799)
    with pytest.raises(ValueError, match="too large"):
        image.decode(big)


OTHER_HOST = "https://elsewhere.invalid/boat.png"
BROKEN = "https://demo.broadsheet.invalid/broken.png"


@pytest.fixture
def long_picture(demo_store):
    """A post whose image sits between paragraphs, plus one image on another host and one
    that is not an image; and a second post to move to."""
    words = " ".join(f"word{i}" for i in range(40))
    before = "".join(f"<p>Before {i}: {words}</p>" for i in range(6))
    after = "".join(f"<p>After {i}: {words}</p>" for i in range(30))
    html = (
        f'{before}<p><img src="{GULL}" alt="A gull on the quay"></p>'
        f'<p><img src="{OTHER_HOST}" alt="A boat"></p><p><img src="{BROKEN}" alt="Broken"></p>{after}'
    )
    posts = [demo_post(9003, "Pictures", 11), demo_post(9004, "Words only", 10)]
    demo_store.save_sync(
        "demo",
        posts=posts,
        html={9003: html, 9004: "<p>No pictures here.</p>"},
        categories=demo_store.categories("demo"),
    )
    return demo_store


@pytest.fixture
def gull_size() -> tuple[int, int]:
    return (200, 100)


@pytest.fixture
def served_pictures(fake, gull_size):
    asked: list[str] = []
    body = png(gull_size)

    def handler(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url in (GULL, OTHER_HOST, BROKEN):
            asked.append(url)
            if url == BROKEN:
                return httpx.Response(200, content=b"<html>no</html>", headers={"content-type": "image/png"})
            return httpx.Response(200, content=body, headers={"content-type": "image/png"})
        return fake(request)

    return handler, asked


def _label_row(app, label: str) -> int:
    """The screen row showing ``label``."""
    rows = [i for i, line in enumerate(screen_text(app).splitlines()) if label in line]
    assert rows, label
    return rows[0]


def _rows_with(app, mark: str) -> list[int]:
    return [i for i, line in enumerate(screen_text(app).splitlines()) if mark in line]


async def _open_at_the_gull(app, pilot):
    """Wait for the gull's picture, then scroll its label near the top."""
    view = app.reader.article_view
    await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
    view.focus()
    await wait_for(pilot, lambda: view.picture_top(GULL) is not None)
    await app.workers.wait_for_complete()
    view.scroll_to(y=view.picture_top(GULL) - 3, animate=False)
    await pilot.pause()
    return view


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_pictures_are_drawn_in_the_article_below_their_labels(long_picture, make, served_pictures, size):
    handler, asked = served_pictures
    config = Config(reader=ReaderConfig(refresh_after_minutes=0, images=True))
    app = make(
        long_picture, open_post="9003", config=config, graphics="halfcell", transport=httpx.MockTransport(handler)
    )
    async with app.run_test(size=size) as pilot:
        view = await _open_at_the_gull(app, pilot)
        assert asked[0] == GULL and BROKEN in asked and OTHER_HOST not in asked
        label = _label_row(app, "[image: A gull on the quay]")
        drawn = _rows_with(app, "▀")  # only the gull: the boat is another host's, the other is broken
        assert drawn and drawn[0] == label + 1 and drawn == list(range(drawn[0], drawn[0] + len(drawn)))
        assert len(drawn) == 5  # 200 × 100 pixels at 10 × 20 a cell (no terminal to ask)
        assert _label_row(app, "[image: A boat]") == drawn[-1] + 2  # the text after it moved down

        await pilot.press("j", "j")
        await pilot.pause()
        assert _rows_with(app, "▀")[0] == drawn[0] - 2  # it scrolls with the text
        await pilot.resize_terminal(size[0] - 10, size[1])  # the text wraps again: it follows its label
        await pilot.pause()
        await pilot.pause()
        assert _rows_with(app, "▀")[0] == _label_row(app, "[image: A gull on the quay]") + 1
        await pilot.press("end")
        await pilot.pause()
        assert not _rows_with(app, "▀")

        await pilot.press("n")  # the next post: its pictures are not this one's
        await wait_for(pilot, lambda: app.reader.article_view.article.post.id == 9004)
        await pilot.pause()
        assert view.picture_top(GULL) is None and not _rows_with(app, "▀")
        await pilot.press("p")  # back: drawn again (from the image cache)
        await wait_for(pilot, lambda: view.picture_top(GULL) is not None)
        assert asked.count(GULL) == 1


async def test_a_picture_arriving_above_the_screen_moves_nothing_on_it(long_picture, make, served_pictures):
    handler, _ = served_pictures
    config = Config(reader=ReaderConfig(refresh_after_minutes=0, images=True))
    app = make(
        long_picture, open_post="9003", config=config, graphics="halfcell", transport=httpx.MockTransport(handler)
    )
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.reader.article_view
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        view.set_picture(GULL, [])  # as if it had not arrived yet...
        view.scroll_to(y=view.max_scroll_y - 5, animate=False)
        await pilot.pause()
        region = view.scrollable_content_region

        def text() -> list[str]:  # the article's text (its scrollbar does move)
            return [line[region.x : region.right] for line in screen_text(app).splitlines()[region.y : region.bottom]]

        before = text()
        view.set_picture(GULL, [[]] * 6)  # ...and arrives now, far above
        await pilot.pause()
        assert text() == before and any(before)


async def test_a_sixel_picture_is_laid_over_its_rows_when_it_is_on_screen_whole(long_picture, make, served_pictures):
    handler, _ = served_pictures
    config = Config(reader=ReaderConfig(refresh_after_minutes=0, images=True))
    app = make(long_picture, open_post="9003", config=config, graphics="sixel", transport=httpx.MockTransport(handler))
    async with app.run_test(size=(120, 40)) as pilot:
        view = await _open_at_the_gull(app, pilot)
        (picture,) = app.query(".picture")
        label = _label_row(app, "[image: A gull on the quay]")
        assert picture.visible and picture.region.y == label + 1
        assert view.content_region.x <= picture.region.x and picture.region.right <= view.content_region.right
        assert _label_row(app, "[image: A boat]") == picture.region.bottom + 1  # kept blank for it
        start = picture.region.y
        await pilot.press("j", "j")
        await pilot.pause()
        assert picture.visible and picture.region.y == start - 2
        await pilot.press("j", "j")  # its first row leaves the screen: hidden, not cut
        await pilot.pause()
        assert not picture.visible
        await pilot.resize_terminal(90, 40)  # the text wraps again: the picture follows its label
        await pilot.pause()
        view.scroll_to(y=view.picture_top(GULL) - 3, animate=False)
        await pilot.pause()
        await pilot.pause()
        label = _label_row(app, "[image: A gull on the quay]")
        assert picture.visible and picture.region.y == label + 1
        assert picture.region.right <= view.content_region.right
        await pilot.press("n")
        await wait_for(pilot, lambda: app.reader.article_view.article.post.id == 9004)
        await pilot.pause()
        assert not app.query(".picture")


def test_picture_size_keeps_the_proportions_within_the_room_and_the_height_cap():
    from tui.widgets.pictures import MAX_ROWS, picture_size

    assert picture_size((20, 5), 80) == (20, 5)  # small: its own size
    assert picture_size((200, 50), 80) == (80, 20)  # wide: the room's width, same shape
    assert picture_size((40, 100), 80) == (9, 22)  # tall: narrower, under MAX_ROWS
    assert picture_size((10, 1000), 80)[1] == MAX_ROWS
    assert picture_size((1, 1), 0) == (1, 1)


async def test_kitty_pictures_are_placeholder_text_sent_once(long_picture, make, served_pictures, capfd):
    """Kitty's protocol: the image goes to the terminal once; the article's rows are its
    Unicode placeholders, so scrolling sends nothing again; another post deletes it."""
    handler, _ = served_pictures
    config = Config(reader=ReaderConfig(refresh_after_minutes=0, images=True))
    app = make(long_picture, open_post="9003", config=config, graphics="tgp", transport=httpx.MockTransport(handler))
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_at_the_gull(app, pilot)
        label = _label_row(app, "[image: A gull on the quay]")
        placeholder = "\U0010eeee"
        rows = _rows_with(app, placeholder)
        assert rows and rows[0] == label + 1 and not app.query(".picture")
        await pilot.press("j", "j", "j")
        await pilot.pause()
        assert _rows_with(app, placeholder)[0] == rows[0] - 3
        await pilot.press("n")
        await wait_for(pilot, lambda: app.reader.article_view.article.post.id == 9004)
        await pilot.pause()
    sent = capfd.readouterr().out
    assert sent.count("\x1b_Ga=p") == 1  # placed once (scrolling sent nothing)...
    assert sent.count("\x1b_Ga=d") == 1  # ...and deleted when another post opened


async def test_pictures_sharing_a_label_line_keep_their_places(demo_store, make):
    """A gallery: several images in one paragraph, so one line of labels. Drawing them in
    any order, again at another size, and taking one away keeps each picture's rows right
    below the labels and every line of text."""
    from rich.segment import Segment

    first, second = "https://demo.broadsheet.invalid/a.png", "https://demo.broadsheet.invalid/b.png"
    html = f'<p>Look:</p><p><img src="{first}" alt="first"><img src="{second}" alt="second"></p><p>After.</p>'
    demo_store.save_sync(
        "demo", posts=[demo_post(9100, "Gallery", 10)], html={9100: html}, categories=demo_store.categories("demo")
    )
    app = make(demo_store, open_post="9100")
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.reader.article_view
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening and not view.rendering)

        def rows(mark: str, count: int) -> list[list[Segment]]:
            return [[Segment(mark * 6)] for _ in range(count)]

        def text() -> list[str]:
            region = view.scrollable_content_region
            lines = screen_text(app).splitlines()[region.y : region.bottom]
            return [line[region.x : region.right].strip() for line in lines if line[region.x : region.right].strip()]

        def drawn() -> list[str]:
            shown = text()
            label = next(i for i, line in enumerate(shown) if "[image: first]" in line)
            return shown[label + 1 : shown.index("After.") + 1]

        view.set_picture(first, rows("A", 3))
        view.set_picture(second, rows("B", 2))
        await pilot.pause()
        assert drawn() == ["BBBBBB"] * 2 + ["AAAAAA"] * 3 + ["After."] or drawn() == ["AAAAAA"] * 3 + ["BBBBBB"] * 2 + [
            "After."
        ]
        view.set_picture(first, rows("a", 4))  # again, at another size (as a resize does)
        view.set_picture(second, rows("b", 2))  # again, at the same size
        await pilot.pause()
        assert sorted(drawn()[:-1]) == sorted(["aaaaaa"] * 4 + ["bbbbbb"] * 2) and drawn()[-1] == "After."
        view.set_picture(second, [])
        await pilot.pause()
        assert drawn() == ["aaaaaa"] * 4 + ["After."]
        assert "Look:" in text()
        assert view.picture_top(second) is None


@pytest.mark.parametrize("gull_size", [(800, 600)])
async def test_a_sixel_picture_taller_than_the_pane_fits_it(long_picture, make, served_pictures, gull_size):
    handler, _ = served_pictures
    config = Config(reader=ReaderConfig(refresh_after_minutes=0, images=True))
    app = make(long_picture, open_post="9003", config=config, graphics="sixel", transport=httpx.MockTransport(handler))
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.reader.article_view
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        await wait_for(pilot, lambda: view.picture_top(GULL) is not None)
        view.scroll_to(y=view.picture_top(GULL), animate=False)
        await pilot.pause()
        (picture,) = app.query(".picture")
        assert picture.visible and picture.region.height <= view.scrollable_content_region.height
