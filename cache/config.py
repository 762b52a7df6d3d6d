"""``config.toml``: one typed model, validated, unknown keys refused.

Example::

    [reader]
    refresh_after_minutes = 30   # background refresh when the cache is older (0: never)
    theme = "textual-dark"
    comments = true              # show the comments pane at start
    sidebar_width = 0            # columns (0: the layout's default); `<`/`>` in the reader
    images = false               # draw images in the article (kitty or sixel terminals, not tmux)

    [reply]
    author = "Ada Reader"        # for sites where you are not logged in
    email = "ada@example.com"

    [keys]                       # binding id = keys (comma-separated), see `?` in the reader
    next_post = "n,ctrl+n"

    [sites.news]                 # per site (by its name in `broadsheet sites`)
    refresh_minutes = 10         # how often `sync` (without names) and the reader fetch it
    full_text = "auto"           # feeds: fetch the article page for summary-only items
                                 # ("auto"), for every item ("always"), or never ("never")
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from . import paths
from .errors import ConfigError


@dataclass
class ReaderConfig:
    refresh_after_minutes: int = 30
    theme: str = "textual-dark"
    comments: bool = True
    sidebar_width: int = 0
    images: bool = False


@dataclass
class ReplyConfig:
    author: str = ""
    email: str = ""


FULL_TEXT = ("auto", "always", "never")


@dataclass
class SiteConfig:
    refresh_minutes: int = -1
    """-1: ``[reader] refresh_after_minutes``; 0: only when asked by name or with ``R``."""
    full_text: str = "auto"


@dataclass
class Config:
    reader: ReaderConfig = field(default_factory=ReaderConfig)
    reply: ReplyConfig = field(default_factory=ReplyConfig)
    keys: dict[str, str] = field(default_factory=dict)
    sites: dict[str, SiteConfig] = field(default_factory=dict)
    path: Path | None = None

    def refresh_minutes(self, site: str) -> int:
        """How often ``site`` is due for a refresh, in minutes (0: never by itself)."""
        own = self.sites.get(site)
        if own is not None and own.refresh_minutes >= 0:
            return own.refresh_minutes
        return self.reader.refresh_after_minutes

    def full_text(self, site: str) -> str:
        own = self.sites.get(site)
        return own.full_text if own is not None else "auto"


def config_path(directory: str | os.PathLike[str] | None = None) -> Path:
    """Where ``config.toml`` lives."""
    return paths.config_dir(directory) / "config.toml"


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config; a missing file gives the defaults."""
    file = Path(path) if path else config_path()
    try:
        raw = tomllib.loads(file.read_text("utf-8"))
    except FileNotFoundError:
        return Config(path=file)
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {file}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: {error}") from None
    config = Config(path=file)
    for key, value in raw.items():
        if key == "keys":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ConfigError(f"{file}: [keys] maps binding ids to key names (strings)")
            config.keys = dict(value)
        elif key == "sites":
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise ConfigError(f"{file}: [sites.NAME] tables hold per-site settings")
            for name, table in value.items():
                site = SiteConfig()
                _fill(site, table, f"{file}: [sites.{name}]")
                if site.full_text not in FULL_TEXT:
                    raise ConfigError(f"{file}: [sites.{name}] full_text must be one of {', '.join(FULL_TEXT)}")
                config.sites[name] = site
        elif key in ("reader", "reply"):
            if not isinstance(value, dict):
                raise ConfigError(f"{file}: [{key}] must be a table")
            _fill(getattr(config, key), value, f"{file}: [{key}]")
        else:
            raise ConfigError(f"{file}: unknown section or key {key!r}")
    return config


def _read_raw(file: Path) -> dict[str, Any]:
    """The config file as TOML data ({} when it does not exist), for rewriting it."""
    try:
        return tomllib.loads(file.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {file}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: {error}") from None


def save_reply_identity(path: str | os.PathLike[str], author: str, email: str) -> None:
    """Write ``[reply] author``/``email`` into the config file at ``path``, keeping every
    other key (comments are not kept: TOML is rewritten). Atomic: temp file, then rename."""
    import tomli_w

    file = Path(path)
    raw = _read_raw(file)
    reply = raw.get("reply")
    if not isinstance(reply, dict):
        reply = raw["reply"] = {}
    reply["author"], reply["email"] = author, email
    temp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "wb") as handle:
            tomli_w.dump(raw, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, file)
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {file}: {error}") from None


def _fill(target: Any, values: dict[str, Any], where: str) -> None:
    known = {f.name: f for f in fields(target)}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{where} unknown key {key!r}")
        expected = type(getattr(target, key))
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            kind = {"int": "whole number", "str": "string", "bool": "true or false"}.get(
                expected.__name__, expected.__name__
            )
            raise ConfigError(f"{where} {key} must be a {kind}")
        setattr(target, key, value)


def save_reader_setting(path: str | os.PathLike[str], key: str, value: Any) -> None:
    """Set ``[reader] key = value`` in the config file at ``path``, keeping every other key
    (comments are not kept: the file is rewritten with tomli-w). The file is replaced
    atomically; a missing file is created.

    Raises: ConfigError when the file cannot be read, parsed or written, or ``key`` is not a
    ``[reader]`` setting of ``value``'s type."""
    import tomli_w

    known = {f.name: f for f in fields(ReaderConfig)}
    expected = type(getattr(ReaderConfig(), key)) if key in known else None
    if expected is None or not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"[reader] {key} cannot be set to {value!r}")
    file = Path(path)
    raw = _read_raw(file)
    reader = raw.get("reader")
    if reader is None:
        reader = raw["reader"] = {}
    elif not isinstance(reader, dict):
        raise ConfigError(f"{file}: [reader] must be a table")
    reader[key] = value
    temp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(tomli_w.dumps(raw), "utf-8")
        os.replace(temp, file)
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {file}: {error.strerror or error}") from None
