"""The status-bar fast path: unread counts with nothing but ``os`` and ``orjson``.

``broadsheet unread`` runs in shell prompts and status bars, so it must start in well under
0.15 s. This module reads the three small files a count needs — ``sites.json``, each site's
``ids.json`` (the post ids, stamped with the identity of the ``index.json`` they came from)
and ``state.json`` — without importing TinyDB, the models or the HTML stack. It answers
``None`` whenever anything is not exactly as expected (a missing or corrupt file, a stamp
that no longer matches the index); the caller then asks the full ``Store``, which handles
(and reports) every such case.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _load(path: Path) -> Any:
    import orjson

    return orjson.loads(path.read_bytes())


def unread_counts(directory: Path) -> dict[str, int] | None:
    """Unread posts per site, or None when the full store must answer."""
    try:
        sites = _load(directory / "sites.json").get("sites", {})
        counts: dict[str, int] = {}
        real = any(not sites[key].get("demo") for key in sites)
        for key in sorted(sites, key=int):
            if real and sites[key].get("demo"):
                continue  # the demo stops counting once a real site is subscribed
            name = sites[key]["name"]
            folder = directory / "sites" / name
            summary = _load(folder / "ids.json")["summary"]["1"]
            stat = os.stat(folder / "index.json")
            if summary["index"] != [stat.st_ino, stat.st_size, stat.st_mtime_ns]:
                return None
            try:
                read = _load(folder / "state.json").get("read", {})
            except FileNotFoundError:
                read = {}
            counts[name] = sum(1 for post in summary["ids"] if post not in read)
        return counts
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
