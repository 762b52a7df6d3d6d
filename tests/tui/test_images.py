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


def png() -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (40, 20), (200, 30, 30)).save(out, "PNG")
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
