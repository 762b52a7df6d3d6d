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


@pytest.fixture
def picture(demo_store):
    post = Post(
        id=9002,
        site="demo",
        title="A picture",
        date="2026-11-30T10:00:00",
        date_gmt="2026-11-30T10:00:00",
        modified_gmt="2026-11-30T10:00:00",
        categories=[2],
    )
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
    posts = [
        Post(
            id=9003,
            site="demo",
            title="Pictures",
            date="2026-11-30T11:00:00",
            date_gmt="2026-11-30T11:00:00",
            modified_gmt="2026-11-30T11:00:00",
            categories=[2],
        ),
        Post(
            id=9004,
            site="demo",
            title="Words only",
            date="2026-11-30T10:00:00",
            date_gmt="2026-11-30T10:00:00",
            modified_gmt="2026-11-30T10:00:00",
            categories=[2],
        ),
    ]
    demo_store.save_sync(
        "demo",
        posts=posts,
        html={9003: html, 9004: "<p>No pictures here.</p>"},
        categories=demo_store.categories("demo"),
    )
    return demo_store


@pytest.fixture
def served_pictures(fake):
    asked: list[str] = []
    body = png((200, 100))

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


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_pictures_are_drawn_in_the_article_below_their_labels(long_picture, make, served_pictures, size):
    handler, asked = served_pictures
    config = Config(reader=ReaderConfig(refresh_after_minutes=0, images=True))
    app = make(
        long_picture, open_post="9003", config=config, graphics="halfcell", transport=httpx.MockTransport(handler)
    )
    async with app.run_test(size=size) as pilot:
        view = app.reader.article_view
        await wait_for(pilot, lambda: app.reader.loaded and not app.reader.opening)
        view.focus()
        await wait_for(pilot, lambda: view.picture_top(GULL) is not None)
        view.scroll_to(y=view.picture_top(GULL) - 3, animate=False)  # its label near the top
        await wait_for(pilot, lambda: bool(app.query(".picture")) and app.query_one(".picture").visible)
        await app.workers.wait_for_complete()
        await pilot.pause()
        (picture,) = app.query(".picture")  # only the gull: the boat is another host's, the other is broken
        assert asked[0] == GULL and BROKEN in asked and OTHER_HOST not in asked
        text = screen_text(app)
        assert "[image: A boat][2]" in text or "[image: A boat]" in text.replace("\n", "")
        label = _label_row(app, "[image: A gull on the quay]")
        assert picture.region.y == label + 1  # right below its label...
        assert view.content_region.x <= picture.region.x and picture.region.right <= view.content_region.right
        lines = text.splitlines()
        below = lines[picture.region.bottom] if picture.region.bottom < len(lines) else ""
        assert "▀" in lines[picture.region.y] and "▀" not in below  # ...over rows kept blank for it
        assert "[image: A boat]" in lines[picture.region.bottom] or "[image: A boat]" in "".join(
            lines[picture.region.bottom : picture.region.bottom + 2]
        )

        start = picture.region.y
        await pilot.press("j", "j")
        await pilot.pause()
        assert picture.region.y == start - 2  # it scrolls with the text
        await pilot.press("end")
        await pilot.pause()
        assert not picture.visible  # scrolled out of the pane: not drawn

        await pilot.press("n")  # the next post: its pictures are not this one's
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
