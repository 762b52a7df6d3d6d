"""Subscriptions in and out: OPML 1.0/2.0 and newsboat's ``urls`` file.

- ``parse_subscriptions(text)`` reads either format (sniffed: OPML is XML with an ``<opml>``
  root; anything else is read as a ``urls`` file) into ``Subscription``s: a feed URL, a
  title, a folder. OPML folders come from nested outlines (joined with `` / ``); newsboat
  tags become folders (the first tag that is not a ``~title`` or ``!hidden`` one), and a
  ``"~Title"`` tag names the feed.
- ``to_opml(sites)`` writes OPML 2.0 with one outline per folder, so export → import gives
  the same sites in the same folders.

Input is untrusted (a file from anywhere): a DOCTYPE is refused outright, so no entity is
ever expanded, and only http(s) URLs are kept. Nothing here touches the network or the store.
"""

from __future__ import annotations

import shlex
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import quoteattr

from .errors import BroadsheetError
from .models import Site
from .safe import clean_line

MAX_SUBSCRIPTIONS = 10_000
FOLDER_SEPARATOR = " / "


@dataclass
class Subscription:
    """One feed to subscribe to."""

    url: str
    title: str = ""
    folder: str = ""
    home: str = ""
    #: ``wordpress`` with ``api_root`` when the file says so (Broadsheet's own exports).
    kind: str = "feed"
    api_root: str = ""


def parse_subscriptions(text: str) -> list[Subscription]:
    """Subscriptions from an OPML document or a newsboat ``urls`` file.

    Raises: BroadsheetError (one line) when the file is neither.
    """
    head = text.lstrip("\ufeff \t\r\n")[:2000].lower()
    found = _parse_opml(text) if head.startswith(("<?xml", "<opml")) or "<opml" in head else _parse_urls(text)
    if len(found) > MAX_SUBSCRIPTIONS:
        raise BroadsheetError(f"the file lists {len(found)} feeds; the limit is {MAX_SUBSCRIPTIONS}")
    return found


def _parse_opml(text: str) -> list[Subscription]:
    if "<!doctype" in text[:10_000].lower() or "<!entity" in text.lower():
        raise BroadsheetError("the OPML file declares a DOCTYPE or entities; refusing to read it")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise BroadsheetError(f"not a valid OPML file: {clean_line(str(error))[:120]}") from None
    if root.tag.lower() != "opml":
        raise BroadsheetError("not an OPML file (no <opml> root)")
    body = next((child for child in root if child.tag.lower() == "body"), None)
    if body is None:
        raise BroadsheetError("the OPML file has no <body>")
    found: list[Subscription] = []
    stack: list[tuple[ET.Element, tuple[str, ...]]] = [(child, ()) for child in reversed(list(body))]
    while stack:
        node, folders = stack.pop()
        if node.tag.lower() != "outline":
            continue
        attrs = {k.lower(): v for k, v in node.attrib.items()}
        title = clean_line(attrs.get("title") or attrs.get("text") or "")[:300]
        url = (attrs.get("xmlurl") or "").strip()
        if url:
            if _http(url):
                home = (attrs.get("htmlurl") or "").strip()
                api = (attrs.get("broadsheetapi") or "").strip()
                wordpress = attrs.get("broadsheetkind") == "wordpress" and _http(api)
                found.append(
                    Subscription(
                        url,
                        title,
                        FOLDER_SEPARATOR.join(folders)[:100],
                        home if _http(home) else "",
                        "wordpress" if wordpress else "feed",
                        api if wordpress else "",
                    )
                )
            continue
        children = list(node)
        if children:  # a folder
            inner = (*folders, title) if title else folders
            stack.extend((child, inner) for child in reversed(children))
    return found


def _parse_urls(text: str) -> list[Subscription]:
    found: list[Subscription] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            raise BroadsheetError(f"line {number} of the urls file has an unclosed quote") from None
        if not words:
            continue
        url, tags = words[0], words[1:]
        if url.startswith(("query:", "exec:", "filter:")):
            continue  # newsboat's virtual feeds: nothing to subscribe to
        if not _http(url):
            raise BroadsheetError(f"line {number}: {clean_line(url)[:100]!r} is not an http(s) URL (not OPML either)")
        title = next((t[1:] for t in tags if t.startswith("~")), "")
        folder = next((t for t in tags if not t.startswith(("~", "!"))), "")
        found.append(Subscription(url, clean_line(title)[:300], clean_line(folder)[:100]))
    return found


def _http(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://"))


def to_opml(sites: Iterable[Site], title: str = "Broadsheet subscriptions") -> str:
    """OPML 2.0 of ``sites``, grouped in one outline per folder."""
    by_folder: dict[str, list[Site]] = {}
    for site in sites:
        if site.demo:
            continue
        by_folder.setdefault(site.folder, []).append(site)
    when = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_text(title)}</title><dateCreated>{when}</dateCreated></head>",
        "  <body>",
    ]

    def outline(site: Site, indent: str) -> str:
        name = site.title or site.name
        feed = site.feed_url or site.url
        kind = "rss"
        extra = f" htmlUrl={quoteattr(site.home or site.url)}" if (site.home or site.url) else ""
        if site.kind == "wordpress" and site.api_root:  # read back as WordPress, not as its feed
            extra += f' broadsheetKind="wordpress" broadsheetApi={quoteattr(site.api_root)}'
        return (
            f"{indent}<outline type={quoteattr(kind)} text={quoteattr(name)} title={quoteattr(name)}"
            f" xmlUrl={quoteattr(feed)}{extra}/>"
        )

    for folder in sorted(by_folder, key=lambda f: (f != "", f.casefold())):
        members = by_folder[folder]
        if folder:
            lines.append(f"    <outline text={quoteattr(folder)} title={quoteattr(folder)}>")
            lines.extend(outline(site, "      ") for site in members)
            lines.append("    </outline>")
        else:
            lines.extend(outline(site, "    ") for site in members)
    lines += ["  </body>", "</opml>"]
    return "\n".join(lines) + "\n"


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
