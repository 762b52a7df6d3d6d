"""Benchmark feeds written as static files: big RSS feeds, sets of feeds, OPML and newsboat
``urls`` files. No processes, no network; serve the files with
:class:`tests.e2e.feedsite.StaticServer`.

Design decisions:

* Deterministic: the same arguments give the same bytes (``random.Random(seed)``), so runs
  and tools compare like with like.
* Realistic RSS 2.0 items (the shape WordPress and Hugo write): title (some non-ASCII),
  link and permalink GUID on the serving host, ``pubDate`` in several time zones,
  ``dc:creator``, one to three ``category``, and an HTML body (paragraphs, a list, a link)
  escaped into ``description``. ``body_bytes`` sets the body size: the default makes the
  10,000-item feed about 39 MB, the size of the newsboat anchor figure in NOTES.md.
* Folders: feed ``i`` of a set goes into ``FOLDERS[i % len(FOLDERS)]``; ``None`` is the top
  level and "Tech/Linux" is nested under "Tech". OPML nests outlines; newsboat's ``urls``
  carries the folder path as one tag and the title as a ``"~title"`` tag.

Usage::

    from tests.e2e.feedgen import write_big_feed, write_feed_set, write_opml, write_newsboat_urls

    big = write_big_feed(www, server.url, items=10_000)           # www/big.xml
    feeds = write_feed_set(www, server.url, feeds=200, items=50)  # www/feeds/feed-000.xml ...
    write_opml(tmp / "feeds.opml", feeds)
    write_newsboat_urls(tmp / "urls", feeds)
    write_opml(tmp / "1000.opml", unreachable_feeds(1000))        # for import, no network
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

__all__ = [
    "FOLDERS",
    "FeedRef",
    "rss_feed",
    "unreachable_feeds",
    "write_big_feed",
    "write_feed_set",
    "write_newsboat_urls",
    "write_opml",
]

FOLDERS: tuple[str | None, ...] = (None, "News", "Tech", "Tech/Linux", "Science")

_WORDS = [
    "the",
    "council",
    "city",
    "report",
    "new",
    "data",
    "study",
    "people",
    "water",
    "energy",
    "market",
    "school",
    "river",
    "train",
    "museum",
    "festival",
    "election",
    "budget",
    "climate",
    "doctor",
    "garden",
    "library",
    "bridge",
    "harbour",
    "software",
    "release",
    "kernel",
    "terminal",
    "reader",
    "story",
    "night",
    "morning",
    "week",
    "year",
    "local",
    "world",
    "said",
    "after",
    "before",
    "between",
    "during",
    "under",
    "over",
    "about",
    "against",
    "because",
    "while",
    "where",
    "when",
    "café",
    "naïve",
    "Zürich",
    "São",
    "Paulo",
    "Kraków",
    "résumé",
    "über",
    "straße",
]
_TITLE_WORDS = (
    "Council",
    "approves",
    "new",
    "budget",
    "for",
    "the",
    "harbour",
    "bridge",
    "Study",
    "finds",
    "river",
    "cleaner",
    "than",
    "expected",
    "Kernel",
    "release",
    "brings",
    "faster",
    "terminal",
    "Zürich",
    "festival",
    "draws",
    "crowds",
    "Ünïcode",
    "café",
    "opens",
    "in",
    "São Paulo",
    "Kraków",
    "wins",
    "award",
)
_CATEGORIES = ("News", "Politics", "Science", "Technology", "Culture", "Sport", "Économie", "Local")
_AUTHORS = ("Ada Lovelace", "Zoë Ødegård", "Grace Hopper", "李小龍", "José Martí")
_ZONES = (
    dt.UTC,
    dt.timezone(dt.timedelta(hours=2)),
    dt.timezone(dt.timedelta(hours=-5)),
    dt.timezone(dt.timedelta(hours=5, minutes=30)),
    dt.timezone(dt.timedelta(hours=9)),
)
_EPOCH = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
_BODY_BYTES = 3050  # the 10,000-item feed comes to ~39 MB


@dataclass(frozen=True)
class FeedRef:
    """One feed: its title, URL, folder (None = top level) and, when written, file and size."""

    title: str
    url: str
    folder: str | None = None
    path: Path | None = None
    items: int = 0
    size: int = 0


def _sentence(rng: random.Random, n: int) -> str:
    words = rng.choices(_WORDS, k=n)
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _body(rng: random.Random, size: int, link: str) -> str:
    parts: list[str] = []
    length = 0
    k = 0
    while length < size:
        if k % 4 == 2:
            part = "<ul>" + "".join(f"<li>{_sentence(rng, 6)}</li>" for _ in range(3)) + "</ul>"
        elif k % 4 == 3:
            part = f'<p>{_sentence(rng, 10)} <a href="{link}#k{k}">Read the {rng.choice(_WORDS)} notes</a>.</p>'
        else:
            part = "<p>" + " ".join(_sentence(rng, rng.randint(8, 18)) for _ in range(3)) + "</p>"
        parts.append(part)
        length += len(part)
        k += 1
    return "\n".join(parts)


def rss_feed(
    items: int, *, title: str, base_url: str, slug: str, seed: int = 0, body_bytes: int = _BODY_BYTES
) -> bytes:
    """An RSS 2.0 document with ``items`` items, newest first, links under
    ``base_url + slug``. Deterministic for equal arguments."""
    rng = random.Random(f"{seed}:{slug}")
    base = base_url.rstrip("/") + "/" + slug.strip("/")
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
        f"<title>{escape(title)}</title>\n<link>{escape(base)}/</link>\n"
        f"<description>{escape(title)}: generated for Broadsheet's benchmarks</description>\n"
        f'<atom:link href="{escape(base)}.xml" rel="self" type="application/rss+xml"/>\n'
        "<language>en</language>\n<generator>broadsheet feedgen</generator>\n"
    ]
    for i in range(items):
        n = items - i  # newest first, item numbers count up with time
        link = f"{base}/{n:05d}/"
        date = (_EPOCH - dt.timedelta(hours=3 * i, minutes=rng.randint(0, 59))).astimezone(_ZONES[i % len(_ZONES)])
        cats = "".join(f"<category>{escape(c)}</category>" for c in rng.sample(_CATEGORIES, rng.randint(1, 3)))
        headline = " ".join(rng.choices(_TITLE_WORDS, k=rng.randint(5, 10)))
        out.append(
            f"<item>\n<title>{escape(headline)} ({n})</title>\n<link>{link}</link>\n"
            f'<guid isPermaLink="true">{link}</guid>\n'
            f"<pubDate>{date.strftime('%a, %d %b %Y %H:%M:%S %z')}</pubDate>\n"
            f"<dc:creator>{escape(rng.choice(_AUTHORS))}</dc:creator>\n{cats}\n"
            f"<description>{escape(_body(rng, body_bytes, link))}</description>\n</item>\n"
        )
    out.append("</channel>\n</rss>\n")
    return "".join(out).encode()


def write_big_feed(
    directory: Path, base_url: str, items: int = 10_000, *, name: str = "big.xml", body_bytes: int = _BODY_BYTES
) -> FeedRef:
    """Write one feed of ``items`` items to ``directory/name``; URL ``base_url + name``."""
    data = rss_feed(
        items,
        title=f"Big feed ({items:,} items)",
        base_url=base_url,
        slug=name.rsplit(".", 1)[0],
        body_bytes=body_bytes,
    )
    path = Path(directory) / name
    path.write_bytes(data)
    return FeedRef(f"Big feed ({items:,} items)", base_url.rstrip("/") + "/" + name, None, path, items, len(data))


def write_feed_set(
    directory: Path,
    base_url: str,
    feeds: int = 200,
    items: int = 50,
    *,
    subdir: str = "feeds",
    body_bytes: int = _BODY_BYTES,
) -> list[FeedRef]:
    """Write ``feeds`` feeds of ``items`` items as ``directory/subdir/feed-NNN.xml``."""
    folder_dir = Path(directory) / subdir
    folder_dir.mkdir(parents=True, exist_ok=True)
    refs = []
    for i in range(feeds):
        name = f"feed-{i:03d}"
        title = f"Feed {i:03d} — {_TITLE_WORDS[i % len(_TITLE_WORDS)]}"
        data = rss_feed(items, title=title, base_url=base_url, slug=f"{subdir}/{name}", seed=i, body_bytes=body_bytes)
        path = folder_dir / f"{name}.xml"
        path.write_bytes(data)
        refs.append(
            FeedRef(
                title, f"{base_url.rstrip('/')}/{subdir}/{name}.xml", FOLDERS[i % len(FOLDERS)], path, items, len(data)
            )
        )
    return refs


def unreachable_feeds(n: int, host: str = "127.0.0.1", port: int = 9) -> list[FeedRef]:
    """``n`` feed references on a loopback port nothing answers (the discard port), with
    folders: for import benchmarks that must not touch the network."""
    return [
        FeedRef(f"Imported feed {i:04d}", f"http://{host}:{port}/feeds/{i:04d}.xml", FOLDERS[i % len(FOLDERS)])
        for i in range(n)
    ]


def write_opml(path: Path, feeds: Sequence[FeedRef], title: str = "Broadsheet benchmark feeds") -> None:
    """OPML 2.0 with nested folder outlines (folder paths split on "/")."""
    tree: dict = {"": [], "/": {}}  # "" = feeds here, "/" = sub-folders

    for ref in feeds:
        node = tree
        for part in ref.folder.split("/") if ref.folder else []:
            node = node["/"].setdefault(part, {"": [], "/": {}})
        node[""].append(ref)

    def emit(node: dict, depth: int) -> list[str]:
        pad = "  " * depth
        lines = []
        for name, child in node["/"].items():
            lines.append(f"{pad}<outline text={quoteattr(name)} title={quoteattr(name)}>")
            lines += emit(child, depth + 1)
            lines.append(f"{pad}</outline>")
        for ref in node[""]:
            lines.append(
                f'{pad}<outline type="rss" text={quoteattr(ref.title)} title={quoteattr(ref.title)} '
                f"xmlUrl={quoteattr(ref.url)}/>"
            )
        return lines

    body = "\n".join(emit(tree, 2))
    Path(path).write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n'
        f"  <head><title>{escape(title)}</title></head>\n  <body>\n{body}\n  </body>\n</opml>\n",
        encoding="utf-8",
    )


def write_newsboat_urls(path: Path, feeds: Sequence[FeedRef]) -> None:
    """newsboat's ``urls`` file: URL, the folder path as a tag, ``"~title"``."""

    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [" ".join([ref.url] + ([q(ref.folder)] if ref.folder else []) + [q("~" + ref.title)]) for ref in feeds]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
