"""Safe text: everything that can reach a terminal passes through here.

Remote sites are untrusted. Titles, names, category names, bodies and comments may carry
terminal escape sequences (which could retitle the window, move the cursor or hide text),
raw control characters, bidirectional overrides, or HTML with scripts. The invariants:

- ``clean_text`` output contains no C0/C1 control character except ``\\n`` and ``\\t``,
  no ESC-introduced sequence, and no bidi override/isolate characters; ``clean_line``
  output contains none at all (whitespace folded to single spaces).
- ``html_to_markdown`` drops the *content* of ``script``, ``style``, ``iframe`` and other
  active elements, converts the rest with html-to-markdown (text escaped, so literal
  ``# x``, ``- x``, ``*a*`` or ``[x](y)`` in a paragraph stay text), then applies the link
  policy and ``clean_text``.
- ``html_to_line`` is for one-line strings such as titles: active blocks dropped, tags
  stripped, entities decoded, whitespace folded.
- Every function here runs in time linear in its input. Regular expressions are written
  so that a failed match cannot be retried from every later position (an unclosed tag,
  comment or active block extends to the end of the text, as in a browser); the converter
  is native and linear; nh3 is not used (its cost grows with nesting depth: 100,000 nested
  ``<div>`` took 15 s, 1 MB of ``&#`` 3 s).

One link policy (``safe_url``): a link or image keeps its target only if, after decoding
Markdown backslash escapes and HTML entities, it is an absolute ``http``, ``https`` or
``mailto`` URL. Relative and protocol-relative links are dropped, not resolved here:
bodies are read offline and a relative target would mean nothing to the terminal (a feed's
bodies are resolved against their item's link before they are stored:
``cache.sources.feed.parse.absolute_links``). The policy is
applied to the final Markdown of every path (paragraph fast path, converter, plain
fallback) by ``_police_links``; a link with any other target keeps its text and loses
its target, and a kept target is re-written in one canonical, escaped form so that what
the Markdown renderer decodes is exactly the URL that was checked. The scanner is
conservative: it does not know inline code spans or indented code blocks, so a
``[x](y)`` inside them loses its ``(y)`` unless ``y`` is allowed (fenced blocks at column
0 — the converter's ``<pre>`` — are left alone).

Markup-like text (``[bold]``) is left as is here; the UI shows it literally by never
parsing remote strings as Rich/Textual markup.
"""

from __future__ import annotations

import html
import re
from functools import cache
from typing import Any

# ESC-introduced sequences: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC (ESC ] ... BEL or ST),
# and two-character escapes. The 8-bit forms (0x9b CSI, 0x9d OSC, ...) are C1 controls and
# are removed with the other control characters below. Every string alternative stops at
# the first terminator *or the end of the text*, so an unterminated one is matched once.
_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*+[ -/]*+[@-~]?           # CSI
  | \x1b[\]PX^_].*?(?:\x07|\x1b\\|\Z)    # OSC, DCS, SOS, PM, APC up to BEL/ST/end
  | \x1b[ -/]*+[0-~]?                    # other escapes (charset, keypad, ...), lone ESC
  | \x9b[0-?]*+[ -/]*+[@-~]?             # 8-bit CSI
  | [\x90\x98\x9d\x9e\x9f].*?(?:\x07|\x9c|\Z)  # 8-bit OSC/DCS/... strings
    """,
    re.VERBOSE | re.DOTALL,
)
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SUSPECT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# Elements whose content must never be shown.
_DROP_CONTENT = {
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "noscript",
    "template",
    "svg",
    "math",
    "frameset",
    "frame",
    "applet",
    "form",
    "select",
    "textarea",
    "link",
    "meta",
    "base",
}

MAX_TAGS = 20_000
"""Above this many ``<`` a body is reduced to plain text without calling the converter."""
_MAX_DEPTH = 64
"""Deeper DOM nesting sends a body to the plain-text fallback: it keeps every word, where
the converter would skip the deep nodes (it stops at 1,024 levels) and nested quotes would
repeat their ``> `` prefix on every line (output quadratic in depth)."""
_MAX_GROWTH = 4
"""Markdown longer than this many times its HTML (plus 4 KB) is replaced by plain text."""

_VOID = {"link", "meta", "base", "embed", "frame"}  # no content: removed like any tag

# Tags, comments and active blocks, as a browser's tokenizer sees them: a tag is ``<``
# then a letter (or ``/``, ``!``, ``?``); anything unclosed runs to the end of the text.
# Possessive quantifiers and disjoint alternatives keep every match attempt linear.
_ACTIVE_BLOCK = re.compile(
    r"<(?=[afimnostAFIMNOST])("
    + "|".join(sorted(_DROP_CONTENT - _VOID))
    + r")\b[^>]*+(?:(?<=/)>|>(?:[^<]++|<(?!/\1\s*>))*+(?:</\1\s*>)?|\Z)",
    re.IGNORECASE,
)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)|<[!?][^>]*+(?:>|\Z)", re.DOTALL)
_TAG_BODY = r"""(?:[^>"']++|"[^"]*+(?:"|\Z)|'[^']*+(?:'|\Z))*+(?:>|\Z)"""
_TAG = re.compile(r"</?[A-Za-z]" + _TAG_BODY)


def _strip_html(text: str, tag: str) -> str:
    """Drop active blocks and comments (each becomes a space) and tags (each becomes ``tag``)."""
    text = _ACTIVE_BLOCK.sub(" ", _COMMENT.sub(" ", text))
    return html.unescape(_TAG.sub(tag, text))


# Markdown escaping of text, as html-to-markdown does it with escape_misc, escape_asterisks
# and escape_underscores (checked against it in tests/cache/test_safe*.py): these
# characters anywhere, and ``.``/``)`` after an ASCII digit (``1.``, ``1)`` start lists).
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]#+-=>|~<&"})
_MD_NUMBERED = re.compile(r"([0-9])([.)])")


_MD_ANY = re.compile(r"[\\`*_\[\]#+\-=>|~<&]|[0-9][.)]")


def _escape(text: str) -> str:
    if _MD_ANY.search(text) is None:  # most lines of prose
        return text
    text = text.translate(_MD_SPECIAL)
    return _MD_NUMBERED.sub(r"\1\\\2", text) if "." in text or ")" in text else text


def _plain(text: str) -> str:
    """Linear-time fallback: drop active blocks and every tag, decode entities, escape."""
    text = clean_text(_strip_html(text, " "))
    lines = (_escape(" ".join(line.split())) for line in text.split("\n"))
    out = "\n\n".join(line for line in lines if line)
    return _police_links(out) + "\n" if out else ""


# Text in <p> paragraphs with <br> line breaks and nothing else: what WordPress makes of
# most comments. Converting it needs no HTML parser; the result is what html-to-markdown
# gives for it (text escaped, "  \n" for a line break, a blank line between paragraphs).
# Where the converter's whitespace rules get subtle (a space other than " " inside a
# line, an empty line from "<br><br>", a leading or trailing <br>) the fast path declines
# and the converter decides.
_SIMPLE = re.compile(r"\s*+(?:<p>(?:[^<]++|<br\s*/?>)*+</p>\s*+)++")
_BR = re.compile(r"<br\s*/?>")
_ODD_SPACE = re.compile(r"[^\S ]")


def _paragraphs(text: str) -> str | None:
    paragraphs = []
    for chunk in text.split("</p>"):
        chunk = chunk.strip().removeprefix("<p>")
        lines = [html.unescape(line).strip(" \t\n\r\f") for line in _BR.split(chunk)]
        if not any(lines):
            continue
        if not all(lines) or _ODD_SPACE.search("".join(lines)):
            return None
        paragraphs.append("  \n".join(_escape(" ".join(line.split())) for line in lines))
    return _police_links(clean_text("\n\n".join(paragraphs))) + "\n" if paragraphs else ""


# The link policy. A destination is decoded as the Markdown renderer decodes it
# (backslash escapes, then entities) before the scheme is checked.
_ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_URL_BAD = re.compile(r"[\x00-\x20\x7f-\x9f<>\\\"'`\u202a-\u202e\u2066-\u2069]")


def safe_url(url: str | None) -> str | None:
    """The one link policy: ``url`` if it is an absolute http, https or mailto URL, else None.

    Surrounding whitespace is ignored; a URL with a control, space, quote, backslash,
    angle bracket or bidi character inside is refused, as is a relative one.
    """
    if not url:
        return None
    url = url.strip(" \t\n\r\f")
    match = _SCHEME.match(url)
    if match is None or match.group(1).lower() not in _ALLOWED_SCHEMES or _URL_BAD.search(url):
        return None
    if match.group(1).lower() != "mailto" and not url[match.end() :].startswith("//"):
        return None
    return url


# Markdown link syntax in the converter's output (all literal text is escaped, so an
# unescaped bracket is syntax): escaped characters (skipped), fence lines at column 0,
# link/image openers, closers with an optional inline destination and title, autolinks.
_MD_TOKEN = re.compile(
    r"""
    \\[\s\S](?:[^\\\[\]<!]++|\\[\s\S])*+    # escapes (and the plain text after them): skipped
  | (?P<open>!?\[)
  | (?P<close>\](?P<dest>\([ \t]*\n?[ \t]*(?:<(?:[^<>\n\\]|\\.)*+>|(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*+\))*+)
       (?:\s+(?:"(?:[^"\\]|\\.)*+"|'(?:[^'\\]|\\.)*+'|\((?:[^()\\]|\\.)*+\)))?[ \t]*\n?[ \t]*\))?)
  | (?P<autolink><(?P<auto>[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*+)>)
    """,
    re.VERBOSE,
)
# Fence lines at column 0 (the converter's <pre>); code inside a fenced block is left alone.
_FENCE = re.compile(r"^(`{3,}|~{3,})([^\n]*)", re.MULTILINE)
_DEST = re.compile(r"\([ \t\n]*(?:<((?:[^<>\n\\]|\\.)*+)>|((?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*+\))*+))", re.DOTALL)
_UNBACKSLASH = re.compile(r"\\([!-/:-@\[-`{-~])")
_LINKISH = re.compile(r"\]\(|<[A-Za-z][A-Za-z0-9+.\-]{1,31}:")
_AUTOLINKISH = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]{1,31}:")
# The converter's usual link: plain text, a destination that needs no decoding.
_PLAIN_LINK = re.compile(r"\[[^\[\]\\\n]*\]\(([^\s()<>\\&]*)\)")


def _canonical(url: str) -> str:
    return "(" + re.sub(r"[\\()&<>\[\]]", r"\\\g<0>", url) + ")"


def _fenced(markdown: str) -> list[tuple[int, int]]:
    """The spans of fenced code blocks (an unclosed one runs to the end, as when rendered)."""
    spans, opening, start = [], "", 0
    for line in _FENCE.finditer(markdown):
        fence, info = line.groups()
        if not opening:
            if not (fence[0] == "`" and "`" in info):
                opening, start = fence, line.start()
        elif fence[0] == opening[0] and len(fence) >= len(opening) and not info.strip():
            spans.append((start, line.end()))
            opening = ""
    if opening:
        spans.append((start, len(markdown)))
    return spans


def _police_links(markdown: str) -> str:
    """Apply ``safe_url`` to every link and image of ``markdown`` (see the module docstring)."""
    if _LINKISH.search(markdown) is None:  # the common case: no link at all
        return markdown
    if "```" not in markdown and "~~~" not in markdown and _AUTOLINKISH.search(markdown) is None:
        # The next most common: every "](" opens a plain destination, and all are allowed.
        targets = _PLAIN_LINK.findall(markdown)
        if len(targets) == markdown.count("](") and all(safe_url(url) == url for url in targets):
            return markdown
    fenced = _fenced(markdown) if "```" in markdown or "~~~" in markdown else []
    fenced.append((len(markdown) + 1, len(markdown) + 1))
    edits: list[tuple[int, int, str]] = []
    opens: list[tuple[int, int]] = []
    block = 0
    for token in _MD_TOKEN.finditer(markdown):
        position = token.start()
        while fenced[block][1] <= position:
            block += 1
        if fenced[block][0] <= position:
            continue
        if token["open"]:
            opens.append(token.span("open"))
        elif token["close"]:
            opener = opens.pop() if opens else None
            if token["dest"] is None or opener is None:
                continue
            parts = _DEST.match(token["dest"])
            raw = (parts.group(1) if parts.group(1) is not None else parts.group(2)) if parts else ""
            url = safe_url(html.unescape(_UNBACKSLASH.sub(r"\1", raw)))
            if url is None:
                edits.append((*opener, ""))
                edits.append((*token.span("close"), ""))
            else:
                edits.append((*token.span("close"), "]" + _canonical(url)))
        elif token["auto"] is not None:
            url = safe_url(html.unescape(token["auto"]))
            edits.append((*token.span("autolink"), "<" + url + ">" if url else _escape(token["auto"])))
    if not edits:
        return markdown
    edits.sort()
    out, pos = [], 0
    for start, end, replacement in edits:
        out.append(markdown[pos:start])
        out.append(replacement)
        pos = end
    out.append(markdown[pos:])
    return "".join(out)


def clean_text(text: str | None) -> str:
    """Remove escape sequences, control characters and bidi overrides from ``text``."""
    if not text:
        return ""
    if _SUSPECT.search(text) is None:  # the common case: nothing to remove
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ESCAPES.sub("", text)
    return _CONTROLS.sub("", text)


def clean_line(text: str | None) -> str:
    """Like ``clean_text`` but folded to one line (for names, titles, labels)."""
    if not text:
        return ""
    if text.isprintable() and "  " not in text:  # no control, format or bidi character
        return text.strip()
    folded = " ".join(text.split())  # str.split's whitespace is the regex \s, ~10x faster
    if folded.isprintable():
        return folded
    return " ".join(clean_text(text).split())


def html_to_line(fragment: str | None) -> str:
    """Render a short HTML fragment (a WordPress title) as one safe line of text."""
    if not fragment:
        return ""
    text = clean_text(fragment)
    if "<" in text or "&" in text:
        text = _strip_html(text, "")
    return clean_line(text)


# A cheap check (a plain alternation of literals) for active elements: only bodies that
# have one pay for the converter's selector matching (~25% of its time on ordinary posts).
# The converter drops script/style/iframe/noscript/template content even without it.
_ACTIVE = re.compile("|".join("<" + tag for tag in sorted(_DROP_CONTENT)), re.IGNORECASE)


@cache
def _options(active: bool) -> Any:
    from html_to_markdown import ConversionOptions

    return ConversionOptions(
        escape_misc=True,
        escape_asterisks=True,
        escape_underscores=True,
        max_depth=_MAX_DEPTH,
        exclude_selectors=sorted(_DROP_CONTENT) if active else [],
        extract_metadata=False,
    )


def html_to_markdown(fragment: str | None) -> str:
    """Convert an HTML body (post or comment) to safe Markdown, in time linear in its size.

    Paragraph-only bodies (most comments) take a parser-free fast path; others go to
    html-to-markdown with active elements excluded and text escaped; bodies with too many
    tags, too deep a nesting or a converter failure become escaped plain text. Every path
    ends with the link policy (``safe_url``) and ``clean_text``.
    """
    if not fragment:
        return ""
    text = clean_text(fragment)
    if _SIMPLE.fullmatch(text):  # most comments: paragraphs and line breaks, nothing else
        markdown = _paragraphs(text)
        if markdown is not None:
            return markdown
    if text.count("<") > MAX_TAGS:
        return _plain(text)
    from html_to_markdown import WarningKind, convert

    try:
        result = convert(text, _options(_ACTIVE.search(text) is not None))
    except Exception:
        return _plain(text)
    markdown = result.content or ""
    if (
        any(warning.kind == WarningKind.DEPTH_LIMIT_EXCEEDED for warning in result.warnings)
        or len(markdown) > _MAX_GROWTH * len(text) + 4096
    ):
        return _plain(text)  # depth limit reached (deep nodes skipped) or output blown up
    markdown = _police_links(clean_text(markdown)).strip()
    return markdown + "\n" if markdown else ""
