"""Where Broadsheet keeps things: every path comes from here.

- cache dir (sites, posts, comments, read state, outbox): ``--cache-dir`` >
  ``$BROADSHEET_CACHE_DIR`` > platformdirs' user cache dir.
- config dir (``config.toml``, ``credentials.toml``): ``$BROADSHEET_CONFIG_DIR`` >
  platformdirs' user config dir.

Nothing is ever written inside the source tree.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "broadsheet"


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache directory (not created)."""
    if override:
        return Path(override).expanduser()
    if env := os.environ.get("BROADSHEET_CACHE_DIR"):
        return Path(env).expanduser()
    from platformdirs import user_cache_path

    return user_cache_path(APP_NAME, appauthor=False)


def config_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The configuration directory (not created)."""
    if override:
        return Path(override).expanduser()
    if env := os.environ.get("BROADSHEET_CONFIG_DIR"):
        return Path(env).expanduser()
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False)


def file_stamp(path: Path) -> list[int] | None:
    """A file's identity now (inode, size, mtime in ns), or None when it cannot be stat'd:
    what derived data (summaries, the search index) records to tell it is still current."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns]
