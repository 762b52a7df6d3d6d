"""Fixtures for the end-to-end tests against a real local WordPress (see wpserver.py).

* ``wordpress`` (session): one started :class:`~tests.e2e.wpserver.WordPress`, shared by
  every e2e test. Tests ADD content and must not assume an empty site: create your own
  category/posts and filter by them.
* ``wp_http`` (function): an ``httpx.Client`` with ``base_url=wordpress.url``, no proxies
  from the environment, no redirects followed.
* ``fresh_wordpress`` (function): a factory ``fresh_wordpress(**kwargs) -> WordPress`` for a
  private, empty site on another loopback address (127.0.0.43, ...); ~2 s each; stopped at
  the end of the test.

Without the Debian packages (or root) the e2e tests are skipped — except when the
environment variable CI is "true": then they fail, because CI must run them.
Everything under tests/e2e is marked ``e2e`` (deselect with ``-m "not e2e"``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from .wpserver import WordPress, available

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def require_wordpress() -> None:
    """Skip (or, when CI == "true", fail) the test when WordPress cannot run here."""
    reason = available()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"e2e tests must run in CI, but WordPress is unavailable: {reason}", pytrace=False)
    pytest.skip(f"WordPress e2e unavailable: {reason}")


@pytest.fixture(scope="session")
def wordpress() -> Iterator[WordPress]:
    require_wordpress()
    with WordPress() as wp:
        yield wp


@pytest.fixture
def wp_http(wordpress: WordPress) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=wordpress.url, trust_env=False, follow_redirects=False, timeout=30) as client:
        yield client


@pytest.fixture
def fresh_wordpress() -> Iterator[Callable[..., WordPress]]:
    require_wordpress()
    started: list[WordPress] = []

    def start(**kwargs) -> WordPress:
        kwargs.setdefault("host", "127.0.0.43")
        wp = WordPress(**kwargs)
        started.append(wp)
        return wp.start()

    try:
        yield start
    finally:
        for wp in started:
            wp.stop()


# -- feed producers (see feedsite.py): a Hugo site and static files served by nginx ----------
#
# * ``feedsite`` (function): a started :class:`~tests.e2e.feedsite.FeedSite` with the default
#   12 posts (RSS ``feed_url``, ``atom_url``, ``json_url``); ~0.2 s, private to the test, so
#   tests may add, edit and remove posts and ``rebuild()``.
# * ``static_server`` (function): a factory ``static_server(directory, **kwargs) ->
#   StaticServer`` (nginx serving ``directory``), stopped at the end of the test.
# Skipped without Debian's hugo and nginx, failed instead when CI == "true".

from .feedsite import FeedSite, StaticServer  # noqa: E402
from .feedsite import available as feeds_available  # noqa: E402


def require_feed_producers(*, hugo: bool = True) -> None:
    """Skip (or, when CI == "true", fail) the test when hugo/nginx cannot run here."""
    reason = feeds_available(hugo=hugo)
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"e2e tests must run in CI, but the feed producers are unavailable: {reason}", pytrace=False)
    pytest.skip(f"feed e2e unavailable: {reason}")


@pytest.fixture
def feedsite() -> Iterator[FeedSite]:
    require_feed_producers()
    with FeedSite() as site:
        yield site


@pytest.fixture
def static_server() -> Iterator[Callable[..., StaticServer]]:
    require_feed_producers(hugo=False)
    started: list[StaticServer] = []

    def start(directory: str | os.PathLike[str], **kwargs) -> StaticServer:
        server = StaticServer(directory, **kwargs)
        started.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in started:
            server.stop()
