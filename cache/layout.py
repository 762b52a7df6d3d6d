"""How a site's bodies and comments are split into files (shards), without TinyDB: the
store writes by it and the search index reads by it (its query path loads no TinyDB).
See ``cache.store`` for the files and the re-sharding protocol."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHARDS = 32
"""The most files a site's bodies (or comments) are split into."""
POSTS_PER_SHARD = 64
COMMENTS_PER_SHARD = 512
"""A site gets more shards when it holds more than this many posts (comments) per shard."""


def shard_count(items: int, per_shard: int) -> int:
    """Shards for ``items`` things: a power of two, about ``per_shard`` in each, at most ``SHARDS``."""
    count = 1
    while count < SHARDS and count * per_shard < items:
        count *= 2
    return count


def shard_file(kind: str, post_id: int, count: int) -> str:
    """The file under a site's directory holding ``post_id``'s body (``kind`` "bodies") or
    comments ("comments") when they are split into ``count`` shards."""
    if count == SHARDS:  # the names of caches from before layouts
        return f"{kind}/{post_id % count:02d}.json"
    return f"{kind}/{post_id % count:02d}-of-{count:02d}.json"


@dataclass(frozen=True)
class Layout:
    """How many shards a site's bodies and comments are split into (``layout.json``)."""

    bodies: int = SHARDS
    comments: int = SHARDS

    @staticmethod
    def valid(row: Any) -> bool:
        """Whether ``row`` is a stored layout (counts that are powers of two up to ``SHARDS``)."""
        return isinstance(row, dict) and all(row.get(kind) in _COUNTS for kind in ("bodies", "comments"))

    @classmethod
    def from_row(cls, row: Any) -> Layout:
        """A stored layout (see ``valid``); anything else: ``SHARDS`` each."""
        return cls(row["bodies"], row["comments"]) if cls.valid(row) else cls()

    def to_row(self) -> dict[str, int]:
        return {"bodies": self.bodies, "comments": self.comments}


_COUNTS = frozenset(1 << k for k in range(SHARDS.bit_length()))
_NAME = re.compile(r"\d{2}(?:-of-(\d{2}))?\.json")


def read_layout(folder: Path) -> Layout:
    """The layout of a site's directory, read without keeping ``layout.json`` open; see
    ``infer_layout`` when that file is missing or damaged."""
    import orjson

    try:
        data = orjson.loads((folder / "layout.json").read_bytes())
        row = data.get("layout", {}).get("1") if isinstance(data, dict) else None
    except (OSError, orjson.JSONDecodeError, AttributeError):
        row = None
    return layout_of(row, folder)


def layout_of(row: Any, folder: Path) -> Layout:
    """The layout ``row`` (``layout.json``'s) stores, else the one the files show, else
    ``NEW`` (a site with no shard yet)."""
    return Layout.from_row(row) if Layout.valid(row) else infer_layout(folder) or NEW


def shard_counts(folder: Path, kind: str) -> list[int]:
    """The shard counts whose files exist for ``kind`` ("bodies", "comments"), ascending:
    one, or two after a re-shard killed before its old (or new) files were removed."""
    try:
        with os.scandir(folder / kind) as entries:
            counts = {int(m.group(1) or SHARDS) for e in entries if (m := _NAME.fullmatch(e.name))}
    except OSError:
        return []
    return sorted(counts & _COUNTS)


def infer_layout(folder: Path) -> Layout | None:
    """The layout the shard files' names show (``layout.json`` lost: nothing else says), or
    None when the site has no shard yet. Names of two layouts (a re-shard killed between
    its steps) give the larger: its files were written from the smaller's and after them,
    so they hold everything either did (``Store._grow`` merges both when it next writes)."""
    return layout_from_counts({kind: shard_counts(folder, kind) for kind in ("bodies", "comments")})


def layout_from_counts(present: dict[str, list[int]]) -> Layout | None:
    """``infer_layout`` from ``shard_counts`` already taken of each kind."""
    if not any(present.values()):
        return None
    return Layout(*(present[kind][-1] if present[kind] else 1 for kind in ("bodies", "comments")))


NEW = Layout(1, 1)
"""The layout of a site with no shard yet (it grows from there)."""
