"""Shared fixtures: every test gets its own cache and config directories."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Never touch the user's real cache or config."""
    monkeypatch.setenv("BROADSHEET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BROADSHEET_CONFIG_DIR", str(tmp_path / "config"))
