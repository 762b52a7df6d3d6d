"""Feed bytes → ``Feed`` of ``Entry``: RSS 0.9x/1.0 (RDF)/2.0, Atom 1.0 (and 0.3), JSON Feed.

Design (measured in ``bench/bench_feedparse.py``): XML is parsed by lxml directly, with our
own mapping. ``feedparser`` reads everything but took 8 s for the 10,000-item feed (newsboat
reloads it in 1.7 s) and 5 s / 65 MB on a billion-laughs document; ``fastfeedparser`` is as
fast as lxml (it is lxml underneath) but converts every date to UTC (the feed's own offset
is lost), drops ``wfw:commentRss`` and ``thr:in-reply-to``, and silently truncates a title
at an undeclared entity or a bare ``&``. Invariants:

- Safety: the DOCTYPE (with any internal subset) is cut out before parsing, and lxml runs
  with ``resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False``: no
  external entity is read (XXE), no entity is expanded (billion laughs, quadratic blowup).
- Tolerance: bytes that are not valid in the declared encoding are read as UTF-8 with
  replacement characters when most multi-byte sequences are valid, else as windows-1252;
  HTML named entities become numeric references and bare ``&`` become ``&amp;``; lxml's
  ``recover`` mode keeps what precedes a truncation.
- Bounds: at most ``MAX_ITEMS`` items (in document order: feeds list newest first); every
  string is capped (``MAX_TITLE``… as in the WordPress parser) and every text but bodies is
  cleaned here (``cache.safe``); bodies stay HTML (converted, sanitised, when read).
- Only ``BadResponse`` leaves ``read`` (anything else a parser raises is mapped to it).
"""

from __future__ import annotations

import codecs
import email.utils
import html
import html.entities
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ...errors import BadResponse
from ...safe import clean_line, html_to_line

MAX_ITEMS = 10_000
MAX_TITLE = 1_000
MAX_NAME = 200
MAX_URL = 2_000
MAX_HTML = 2_000_000
"""Characters kept of a title, a name (author, category), a URL, and a body (HTML)."""
MAX_CATEGORIES = 100
MAX_ENCLOSURES = 20

ATOM = "http://www.w3.org/2005/Atom"
ATOM03 = "http://purl.org/atom/ns#"
RSS1 = "http://purl.org/rss/1.0/"
RSS09 = "http://my.netscape.com/rdf/simple/0.9/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
WFW = "http://wellformedweb.org/CommentAPI/"
SLASH = "http://purl.org/rss/1.0/modules/slash/"
THR = "http://purl.org/syndication/thread/1.0"
SY = "http://purl.org/rss/1.0/modules/syndication/"
XHTML = "http://www.w3.org/1999/xhtml"

JSON_FEED = "https://jsonfeed.org/version/"
PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400, "yearly": 365 * 86400}


@dataclass
class Entry:
    """One item of a feed, cleaned (titles and names are safe lines; bodies are HTML)."""

    guid: str = ""
    link: str = ""
    title: str = ""
    author: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    categories: list[str] = field(default_factory=list)
    enclosures: list[dict[str, Any]] = field(default_factory=list)
    content: str = ""
    """The full body (content:encoded, Atom content, JSON content_html/text), HTML."""
    summary: str = ""
    """The summary (description, Atom summary, JSON summary), HTML."""
    comments_feed: str = ""
    comment_count: int | None = None
    in_reply_to: str = ""
    """Atom threading (RFC 4685): the id of the entry this one answers."""


@dataclass
class Feed:
    """A parsed feed: what it says about itself, and its entries (at most ``MAX_ITEMS``)."""

    format: str
    title: str = ""
    link: str = ""
    description: str = ""
    ttl: int = 0
    """Seconds the feed asks readers to wait between fetches (``<ttl>``, ``sy:update*``)."""
    entries: list[Entry] = field(default_factory=list)
    truncated: int = 0
    """Items left out beyond ``MAX_ITEMS``."""


# -- bytes → a document lxml reads safely ---------------------------------------------------

_DECL = re.compile(rb"^<\?xml[^>]*?>", re.IGNORECASE)
_DECL_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")
_BAD_AMP = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});)")
# Anchored on "xmlns" itself (the space before it is matched backwards): a pattern starting
# with \s+ rescans every run of whitespace from each of its positions (quadratic).
_XMLNS = re.compile(r"""(?<=\s)xmlns(?::[\w.-]+)?\s*=\s*(?:"[^"]*"|'[^']*')""")
_NAMED = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")


def skip_prolog(data: bytes, *, cut_doctype: bool = False) -> tuple[bytes, int]:
    """The document with a DOCTYPE cut out (when asked) and the offset of its root element.

    A small scanner, not a regular expression: an internal subset may hold ``>`` and ``]``
    inside quoted entity values."""
    i, n = 0, len(data)
    kept: list[bytes] = []  # with cut_doctype: the pieces around DOCTYPEs, joined once
    start = 0
    while i < n:
        while i < n and data[i] in b" \t\r\n":
            i += 1
        if data.startswith(b"<?", i):
            end = data.find(b"?>", i)
            i = n if end < 0 else end + 2
        elif data.startswith(b"<!--", i):
            end = data.find(b"-->", i)
            i = n if end < 0 else end + 3
        elif data[i : i + 9].upper() == b"<!DOCTYPE":
            j, depth, quote = i + 9, 0, 0
            while j < n:
                c = data[j]
                if quote:
                    if c == quote:
                        quote = 0
                elif c in b"\"'":
                    quote = c
                elif c == 0x5B:  # [
                    depth += 1
                elif c == 0x5D:  # ]
                    depth -= 1
                elif c == 0x3E and depth <= 0:  # >
                    break
                j += 1
            if cut_doctype:
                kept.append(data[start:i])
                start = j + 1
            i = j + 1
        else:
            break
    if cut_doctype and kept:
        head = b"".join(kept)
        return head + data[start:], len(head) + (i - start)
    return data, i


def to_utf8(data: bytes) -> bytes:
    """The document as UTF-8 bytes without an XML declaration (see the module's notes)."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", "replace")
        return _DECL.sub(b"", text.lstrip().encode("utf-8"))
    declared = "utf-8"
    head = data.lstrip()[:200]
    decl = _DECL.match(head)
    if decl:
        found = _DECL_ENCODING.search(decl.group())
        if found:
            try:
                declared = codecs.lookup(found.group(1).decode("ascii")).name
            except LookupError:
                declared = "utf-8"
    body = _DECL.sub(b"", data.lstrip(), count=1)
    if declared in ("utf-8", "ascii", "us-ascii"):
        try:
            body.decode("utf-8")
            return body
        except UnicodeDecodeError:
            pass
    else:
        try:
            return body.decode(declared).encode("utf-8")
        except (UnicodeDecodeError, LookupError):
            pass
    text = body.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    multibyte = len(_MULTIBYTE.findall(body[:1_000_000]))
    if multibyte and multibyte >= bad:  # UTF-8 with a few broken bytes
        return text.encode("utf-8")
    return body.decode("cp1252", "replace").encode("utf-8")


def _entity(match: re.Match[bytes]) -> bytes:
    name = match.group(1).decode("ascii") + ";"
    chars = html.entities.html5.get(name)
    if chars is None:
        return b"&amp;" + match.group(0)[1:]
    return "".join(f"&#{ord(c)};" for c in chars).encode("ascii")


def repair_entities(data: bytes) -> bytes:
    """HTML named entities → numeric references; other bare ``&`` → ``&amp;``."""
    if _BAD_AMP.search(data) is None:
        return data
    data = _NAMED.sub(
        lambda m: m.group(0) if m.group(1) in (b"amp", b"lt", b"gt", b"quot", b"apos") else _entity(m), data
    )
    return _BAD_AMP.sub(b"&amp;", data)


_CONTROL_BYTES = bytes(c for c in range(32) if c not in (9, 10, 13))
_CONTROL_REFS = re.compile(rb"&#(?:0*(?:[0-8]|1[124-9]|2[0-9]|3[01])|[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]));")


# A whole terminal escape sequence, raw or written as a character reference (``&#27;[31m``):
# removed as one piece before the control bytes go, or its tail ("]0;pwned", "[31m") would
# be left as text. OSC/DCS bodies are bounded, so every match attempt is short (linear).
_ESC = rb"(?:\x1b|&#0*27;|&#[xX]0*1[bB];)"
_ESC_SEQUENCE = re.compile(
    _ESC
    + rb"(?:\[[0-?]{0,64}[ -/]{0,8}[@-~]|[\]PX^_][^\x07\x1b&<]{0,2048}(?:\x07|&#0*7;|\x1b\\\\|"
    + _ESC
    + rb"\\\\)?|[ -/]{0,4}[0-~])?"
)


def prepare(data: bytes) -> bytes:
    """Bytes lxml can read safely: UTF-8, no DOCTYPE, entities repaired, and no control
    character XML 1.0 forbids (raw or as a reference: lxml would drop the rest of the
    element; they could only be escape sequences)."""
    data = to_utf8(data)
    if b"\x1b" in data or b"&#" in data:
        data = _ESC_SEQUENCE.sub(b"", data)
    data = data.translate(None, _CONTROL_BYTES)
    if b"&#" in data:
        data = _CONTROL_REFS.sub(b"", data)
    data, _ = skip_prolog(data, cut_doctype=True)
    return repair_entities(data)


# -- reading ------------------------------------------------------------------------------


def sniff(data: bytes) -> str:
    """``rss``, ``atom``, ``rdf``, ``json`` or "" (not a feed), from the first bytes."""
    head = data[:65536].removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"{"):
        return "json" if b"jsonfeed.org/version/" in head[:4096] else ""
    _, root = skip_prolog(head)
    start = head[root : root + 200]
    if re.match(rb"<(?:[A-Za-z_][\w.-]*:)?rss\b", start):
        return "rss"
    if re.match(rb"<(?:[A-Za-z_][\w.-]*:)?feed\b", start):
        return "atom"
    if re.match(rb"<(?:[A-Za-z_][\w.-]*:)?RDF\b", start):
        return "rdf"
    return ""


def read(data: bytes, url: str = "") -> Feed:
    """Parse a feed (``url``: where it came from, to resolve relative links).

    Raises: BadResponse (not a feed, or unreadable)."""
    try:
        stripped = data.removeprefix(b"\xef\xbb\xbf").lstrip()
        if stripped.startswith(b"{"):
            return _json_feed(stripped, url)
        return _xml_feed(prepare(data), url)
    except BadResponse:
        raise
    except Exception as error:  # lxml and the mapping: a hostile feed must not crash a sync
        raise BadResponse(f"unreadable feed: {clean_line(str(error))[:120] or type(error).__name__}") from None


def _xml_feed(data: bytes, url: str) -> Feed:
    from lxml import etree

    parser = etree.XMLParser(
        recover=True,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    root = etree.fromstring(data, parser) if data.strip() else None
    if root is None or not isinstance(root.tag, str):
        raise BadResponse("the answer is not a feed (no XML document)")
    name = _local(root.tag)
    if name == "rss":
        channel = _child(root, "channel")
        if channel is None:
            raise BadResponse("an RSS document without a channel")
        return _rss(channel, list(channel.iterchildren("item", "{*}item")), "rss", url)
    if name == "RDF":
        channel = _child(root, "channel")
        items = [el for el in root.iterchildren() if isinstance(el.tag, str) and _local(el.tag) == "item"]
        return _rss(channel, items, "rdf", url)
    if name == "feed":
        return _atom(root, url)
    raise BadResponse(f"the answer is not a feed (an XML <{clean_line(name)[:40]}> document)")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _child(el: Any, name: str) -> Any:
    if el is None:
        return None
    for child in el.iterchildren():
        if isinstance(child.tag, str) and _local(child.tag) == name:
            return child
    return None


def _text(el: Any) -> str:
    """An element's content as a string: its text, or its inner markup when it has children
    (unescaped HTML inside ``<description>``, Atom ``xhtml``)."""
    from lxml import etree

    if el is None:
        return ""
    if len(el) == 0:
        return el.text or ""
    parts = [el.text or ""]
    for child in el:
        parts.append(etree.tostring(child, encoding="unicode", with_tail=True))
    return _XMLNS.sub("", "".join(parts))


def _line(text: str, limit: int) -> str:
    return clean_line(text[: limit * 4])[:limit]


def _html_line(text: str, limit: int) -> str:
    return html_to_line(text[: limit * 4])[:limit]


def _plain_html(text: str) -> str:
    """Plain text as HTML paragraphs."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text[:MAX_HTML]) if p.strip()]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)


def url_join(base: str, ref: str) -> str:
    """``ref`` resolved against ``base``; only http(s) URLs are kept."""
    ref = clean_line(ref[: MAX_URL * 2])
    if not ref:
        return ""
    if ref[:8].lower().startswith(("http://", "https://")) and " " not in ref:
        return ref[:MAX_URL]  # absolute already: the common case, no parsing
    from urllib.parse import urljoin

    try:
        joined = urljoin(base, ref.replace(" ", "%20")) if base else ref
    except ValueError:
        return ""
    return joined[:MAX_URL] if joined[:8].lower().startswith(("http://", "https://")) else ""


_RELATIVE_LINK = re.compile(
    r"""(\b(?:href|src)\s*=\s*)(["'])(?!\s*(?:[a-z][a-z0-9+.\-]*:|\#))([^"'<>]*)\2""", re.IGNORECASE
)
"""An ``href``/``src`` attribute whose quoted value has no scheme (and is no ``#fragment``)."""


def absolute_links(body: str, base: str) -> str:
    """``body`` (HTML) with its relative and protocol-relative links and images resolved
    against ``base`` (the item's link): ``<img src="/img/a.png">``, ``href="../about"``,
    ``src="//cdn…"``. Without it the link policy (``cache.safe``) drops them, text kept.

    Only the attribute values change (one linear pass; no tree is built, so nothing of a
    deeply nested body is lost); what cannot be resolved to http(s) becomes empty. Most
    bodies link only to absolute addresses: five counts (``str.count``, several times faster
    than the pattern over 10,000 items) tell, and only the others are rewritten. Attributes
    written ``HREF`` or ``href = "…"`` in a body whose other links are absolute are missed.
    """
    if not body or not base:
        return body
    count = body.count
    links = count('href="') + count('src="')
    if links == count('href="http') + count('src="http') and "='" not in body:
        return body

    def resolve(match: re.Match[str]) -> str:
        joined = url_join(base, html.unescape(match.group(3)))
        return f"{match.group(1)}{match.group(2)}{html.escape(joined)}{match.group(2)}"

    return _RELATIVE_LINK.sub(resolve, body)


def parse_date(text: str | None) -> datetime | None:
    """An RFC 822 or ISO 8601 date with its offset (UTC when it has none); None if invalid."""
    if not text:
        return None
    text = " ".join(text[:80].split())
    found: datetime | None = None
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        try:
            found = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if found is None or not 1970 <= found.year <= 2200:
        return None
    if found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 16 else None


def _author(text: str) -> str:
    """RSS ``author`` is ``email (Name)``: the name when there is one."""
    text = text.strip()
    match = re.fullmatch(r"[^\s()]+@[^\s()]+\s*\((.+)\)", text)
    return match.group(1) if match else text


def _rss(channel: Any, items: list[Any], fmt: str, url: str) -> Feed:
    feed = Feed(fmt)
    if channel is not None:
        period, frequency = "", 1
        for el in channel.iterchildren():
            if not isinstance(el.tag, str):
                continue
            name = _local(el.tag)
            if name == "title":
                feed.title = _html_line(_text(el), MAX_TITLE)
            elif name == "link" and not feed.link and el.tag in ("link", f"{{{RSS1}}}link", f"{{{RSS09}}}link"):
                feed.link = url_join(url, _text(el))
            elif name == "description":
                feed.description = _html_line(_text(el), MAX_TITLE)
            elif name == "ttl":
                feed.ttl = max(feed.ttl, 60 * (_int(el.text) or 0))
            elif name == "updatePeriod":
                period = (el.text or "").strip().lower()
            elif name == "updateFrequency":
                frequency = _int(el.text) or 1
        if period in PERIODS:
            feed.ttl = max(feed.ttl, PERIODS[period] // max(frequency, 1))
    feed.truncated = max(0, len(items) - MAX_ITEMS)
    for item in items[:MAX_ITEMS]:
        entry = Entry()
        guid = ""
        for el in item.iterchildren():
            tag = el.tag
            if not isinstance(tag, str):
                continue
            name = _local(tag)
            ns = tag[1 : tag.index("}")] if tag.startswith("{") else ""
            if name == "title":
                entry.title = _text(el)
            elif name == "link" and ns in ("", RSS1, RSS09):
                entry.link = entry.link or _text(el)
            elif name == "link" and ns == ATOM and not entry.link and el.get("rel", "alternate") == "alternate":
                entry.link = el.get("href", "")
            elif name == "guid":
                guid = _text(el).strip()
            elif name == "pubDate" or (name in ("date", "created", "issued") and ns in (DC, DCTERMS)):
                entry.published = entry.published or parse_date(el.text)
            elif name in ("modified", "updated") and ns in (DCTERMS, ATOM):
                entry.updated = parse_date(el.text)
            elif name == "creator" or (name == "author" and ns == ""):
                entry.author = entry.author or _author(_text(el))
            elif name in ("category", "subject"):
                entry.categories.append(_text(el))
            elif name == "enclosure":
                entry.enclosures.append(
                    {"url": el.get("url", ""), "type": el.get("type", ""), "length": el.get("length", "")}
                )
            elif name == "encoded" and ns == CONTENT:
                entry.content = _text(el)
            elif name == "description":
                entry.summary = _text(el)
            elif name == "commentRss" or (name == "commentRSS" and ns == WFW):
                entry.comments_feed = _text(el)
            elif name == "comments" and ns == SLASH:
                entry.comment_count = _int(el.text)
            elif name == "in-reply-to" and ns == THR:
                entry.in_reply_to = el.get("ref", "")
        about = item.get(f"{{{RDF}}}about", "")
        entry.guid = guid or about
        feed.entries.append(_finish(entry, url))
    return feed


def _atom_text(el: Any) -> str:
    """An Atom text construct as HTML (``text`` escaped, ``html`` as is, ``xhtml`` inner)."""
    if el is None:
        return ""
    kind = (el.get("type") or "text").lower()
    value = _text(el)
    if kind in ("html", "text/html"):
        return value
    if kind in ("xhtml", "application/xhtml+xml"):
        div = _child(el, "div")
        return _text(div) if div is not None else value
    return html.escape(value)


def _atom(root: Any, url: str) -> Feed:
    feed = Feed("atom")
    entries = []
    for el in root.iterchildren():
        if not isinstance(el.tag, str):
            continue
        name = _local(el.tag)
        if name == "entry":
            entries.append(el)
        elif name == "title":
            feed.title = _html_line(_atom_text(el), MAX_TITLE)
        elif name in ("subtitle", "tagline"):
            feed.description = _html_line(_atom_text(el), MAX_TITLE)
        elif name == "link" and el.get("rel", "alternate") == "alternate" and not feed.link:
            feed.link = url_join(url, el.get("href", ""))
        elif name == "updatePeriod":
            feed.ttl = max(feed.ttl, PERIODS.get((el.text or "").strip().lower(), 0))
    feed.truncated = max(0, len(entries) - MAX_ITEMS)
    for item in entries[:MAX_ITEMS]:
        entry = Entry()
        for el in item.iterchildren():
            if not isinstance(el.tag, str):
                continue
            name = _local(el.tag)
            ns = el.tag[1 : el.tag.index("}")] if el.tag.startswith("{") else ""
            if name == "id":
                entry.guid = _text(el).strip()
            elif name == "title":
                entry.title = _atom_text(el)
            elif name == "link":
                rel = el.get("rel", "alternate")
                if rel == "alternate" and not entry.link:
                    entry.link = el.get("href", "")
                elif rel == "enclosure":
                    entry.enclosures.append(
                        {"url": el.get("href", ""), "type": el.get("type", ""), "length": el.get("length", "")}
                    )
                elif rel == "replies" and not entry.comments_feed:
                    entry.comments_feed = el.get("href", "")
                    entry.comment_count = _int(el.get(f"{{{THR}}}count"))
            elif name in ("published", "issued", "created") or (name == "date" and ns == DC):
                entry.published = entry.published or parse_date(el.text)
            elif name in ("updated", "modified"):
                entry.updated = parse_date(el.text)
            elif name == "author":
                entry.author = entry.author or _text(_child(el, "name")) or _text(_child(el, "email"))
            elif name == "creator":
                entry.author = entry.author or _text(el)
            elif name == "category":
                entry.categories.append(el.get("label") or el.get("term") or _text(el))
            elif name == "content":
                entry.content = _atom_text(el) if not el.get("src") else ""
            elif name == "summary":
                entry.summary = _atom_text(el)
            elif name == "in-reply-to" and ns == THR:
                entry.in_reply_to = el.get("ref", "")
            elif name == "commentRss":
                entry.comments_feed = _text(el)
            elif name == "comments" and ns == SLASH:
                entry.comment_count = _int(el.text)
        feed.entries.append(_finish(entry, url))
    return feed


def _json_feed(data: bytes, url: str) -> Feed:
    import orjson

    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise BadResponse("the feed is malformed JSON") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(JSON_FEED):
        raise BadResponse("the answer is JSON but not a JSON Feed")

    def s(value: Any) -> str:
        return value if isinstance(value, str) else (str(value) if isinstance(value, (int, float)) else "")

    feed = Feed(
        "json",
        title=_line(s(doc.get("title")), MAX_TITLE),
        link=url_join(url, s(doc.get("home_page_url"))),
        description=_line(s(doc.get("description")), MAX_TITLE),
    )
    raw_items = doc.get("items")
    items: list[Any] = raw_items if isinstance(raw_items, list) else []
    feed.truncated = max(0, len(items) - MAX_ITEMS)
    for item in items[:MAX_ITEMS]:
        if not isinstance(item, dict):
            continue
        raw_authors, raw_tags, raw_attachments = item.get("authors"), item.get("tags"), item.get("attachments")
        authors: list[Any] = raw_authors if isinstance(raw_authors, list) else [item.get("author")]
        author = next((s(a.get("name")) for a in authors if isinstance(a, dict) and s(a.get("name"))), "")
        tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
        attachments: list[Any] = raw_attachments if isinstance(raw_attachments, list) else []
        content = s(item.get("content_html")) or _plain_html(s(item.get("content_text")))
        entry = Entry(
            guid=s(item.get("id")).strip(),
            link=s(item.get("url")) or s(item.get("external_url")),
            title=html.escape(s(item.get("title"))),
            author=author,
            published=parse_date(s(item.get("date_published"))),
            updated=parse_date(s(item.get("date_modified"))),
            categories=[s(t) for t in tags],
            enclosures=[
                {"url": s(a.get("url")), "type": s(a.get("mime_type")), "length": s(a.get("size_in_bytes"))}
                for a in attachments
                if isinstance(a, dict)
            ],
            content=content,
            summary=_plain_html(s(item.get("summary"))),
        )
        feed.entries.append(_finish(entry, url))
    return feed


def _finish(entry: Entry, url: str) -> Entry:
    """Clean and cap every field of an entry."""
    entry.guid = _line(entry.guid, MAX_URL)
    entry.link = url_join(url, entry.link)
    entry.title = _html_line(entry.title, MAX_TITLE)
    entry.author = _html_line(entry.author, MAX_NAME)
    names: dict[str, str] = {}
    for name in entry.categories[:MAX_CATEGORIES]:
        name = _html_line(name, MAX_NAME)
        if name:
            names.setdefault(name.casefold(), name)
    entry.categories = list(names.values())
    enclosures = []
    for enclosure in entry.enclosures[:MAX_ENCLOSURES]:
        link = url_join(url, enclosure.get("url") or "")
        if link:
            length = _int(str(enclosure.get("length") or ""))
            enclosures.append(
                {"url": link, "type": _line(enclosure.get("type") or "", MAX_NAME), "length": length or 0}
            )
    entry.enclosures = enclosures
    base = entry.link or url
    entry.content = absolute_links(entry.content[:MAX_HTML], base)
    entry.summary = absolute_links(entry.summary[:MAX_HTML], base)
    entry.comments_feed = url_join(url, entry.comments_feed)
    entry.in_reply_to = _line(entry.in_reply_to, MAX_URL)
    return entry
