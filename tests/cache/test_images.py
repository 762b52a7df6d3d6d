"""``Service.fetch_image``: host rules, size bounds, the cache's own bound, atomic files."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from cache import service as service_module
from cache.errors import BadResponse
from cache.http import RetryPolicy
from cache.models import Site
from cache.service import Service

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def make(tmp_path: Path, handler, *, feed_url: str = "https://news.example.com/feed") -> tuple[Service, list[str]]:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return handler(request)

    svc = Service(
        tmp_path / "cache",
        transport=httpx.MockTransport(record),
        policy=RetryPolicy(backoff=0, deadline=5, attempt_deadline=5),
    )
    svc.store.add_sites(
        [
            Site(
                name="news",
                url="https://news.example.com/",
                home="https://news.example.com/",
                kind="feed",
                feed_url=feed_url,
            )
        ]
    )
    return svc, seen


def image(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})


def fetch(svc: Service, url: str) -> Path | None:
    return asyncio.run(svc.fetch_image("news", url))


def test_fetches_once_into_the_cache(tmp_path: Path) -> None:
    svc, seen = make(tmp_path, image)
    path = fetch(svc, "https://news.example.com/a.png")
    assert path is not None and path.read_bytes() == PNG
    assert path.parent == svc.store.directory / "images"
    assert fetch(svc, "https://news.example.com/a.png") == path
    assert seen == ["https://news.example.com/a.png"]  # the second came from the cache
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp file left


@pytest.mark.parametrize(
    "url",
    [
        "https://tracker.example.net/pixel.png",  # another domain
        "http://news.example.com/a.png",  # a downgrade from an https feed
        "file:///etc/passwd",
        "data:image/png;base64,AAAA",
        "https://127.0.0.1/a.png",
        "",
    ],
)
def test_refuses_what_is_not_the_sites_own(tmp_path: Path, url: str) -> None:
    svc, seen = make(tmp_path, image)
    assert fetch(svc, url) is None
    assert seen == []


def test_same_domain_other_host_is_allowed(tmp_path: Path) -> None:
    svc, seen = make(tmp_path, image)
    assert fetch(svc, "https://cdn.example.com/b.png") is not None
    assert seen == ["https://cdn.example.com/b.png"]


def test_too_big_is_refused_and_not_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "IMAGE_MAX_BYTES", 1000)
    svc, _ = make(tmp_path, lambda r: httpx.Response(200, content=b"x" * 5000, headers={"content-type": "image/png"}))
    with pytest.raises(BadResponse, match=r"limit|more than"):
        fetch(svc, "https://news.example.com/big.png")
    folder = svc.store.directory / "images"
    assert not folder.exists() or not list(folder.iterdir())


def test_not_an_image_or_an_error_status_is_refused(tmp_path: Path) -> None:
    svc, _ = make(tmp_path, lambda r: httpx.Response(200, text="<html>", headers={"content-type": "text/html"}))
    with pytest.raises(BadResponse, match="not an image"):
        fetch(svc, "https://news.example.com/page")
    svc, _ = make(tmp_path / "b", lambda r: httpx.Response(404))
    with pytest.raises(BadResponse, match="404"):
        fetch(svc, "https://news.example.com/gone.png")


def test_off_site_redirect_is_refused(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "https://elsewhere.example.org/x.png"})

    svc, _ = make(tmp_path, handler)
    with pytest.raises(BadResponse):
        fetch(svc, "https://news.example.com/r.png")


def test_cache_bound_deletes_the_oldest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "IMAGES_MAX_BYTES", 250)
    body = b"y" * 100
    svc, seen = make(tmp_path, lambda r: httpx.Response(200, content=body, headers={"content-type": "image/jpeg"}))
    paths = []
    for i in range(3):
        path = fetch(svc, f"https://news.example.com/{i}.jpg")
        assert path is not None
        os.utime(path, (1000 + i, 1000 + i))  # distinct ages, oldest first
        paths.append(path)
    assert [p.exists() for p in paths] == [False, True, True]
    total = sum(p.stat().st_size for p in (svc.store.directory / "images").iterdir())
    assert total <= 250
    # showing one again renews it: the next one pushes out the other
    assert fetch(svc, "https://news.example.com/1.jpg") == paths[1]
    assert fetch(svc, "https://news.example.com/3.jpg") is not None
    assert paths[1].exists() and not paths[2].exists()
    assert len(seen) == 4
