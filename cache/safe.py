"""Safe text: everything that can reach a terminal passes through here.

Remote sites are untrusted. Titles, names, category names, bodies and comments may carry
terminal escape sequences (which could retitle the window, move the cursor or hide text),
raw control characters, bidirectional overrides, or HTML with scripts. The invariants:

- ``clean_text`` output contains no C0/C1 control character except ``\\n`` and ``\\t``,
  no ESC-introduced sequence, and no bidi override/isolate characters.
- ``html_to_markdown`` drops the *content* of ``script``, ``style``, ``iframe`` and other
  active elements (sanitised with nh3 first), converts the rest with html-to-markdown, and
  then applies ``clean_text``.
- ``html_to_line`` is for one-line strings such as titles: tags stripped, entities decoded,
  whitespace folded.

Markup-like text (``[bold]``) is left as is here; the UI shows it literally by never
parsing remote strings as Rich/Textual markup.
"""

from __future__ import annotations

import html
import re

# ESC-introduced sequences: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC (ESC ] ... BEL or ST),
# and two-character escapes. The 8-bit forms (0x9b CSI, 0x9d OSC, ...) are C1 controls and
# are removed with the other control characters below.
_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]             # CSI
  | \x1b[\]PX^_].*?(?:\x07|\x1b\\|$)    # OSC, DCS, SOS, PM, APC up to BEL/ST/end
  | \x1b[ -/]*[0-~]                     # other escapes (charset, keypad, ...)
  | \x1b                                # a lone ESC
  | \x9b[0-?]*[ -/]*[@-~]               # 8-bit CSI
  | [\x90\x98\x9d\x9e\x9f].*?(?:\x07|\x9c|$)  # 8-bit OSC/DCS/... strings
    """,
    re.VERBOSE | re.DOTALL,
)
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SUSPECT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")

# Elements whose content must never be shown (nh3 drops them with their content).
_DROP_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template",
                 "svg", "math", "frameset", "frame", "applet", "form", "select", "textarea"}
_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details",
    "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp",
    "small", "span", "strike", "strong", "sub", "summary", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "time", "tr", "u", "ul", "var",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"},
                       "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}


# Elements that send a body down the careful (nh3) path. A plain alternation of literals
# (no \b, no \s*) keeps this check ~10x cheaper than the converter; a false positive only
# costs the careful path. Attributes need no check: the converter keeps href/src alone, and
# dangerous link schemes in its output are caught by _BAD_LINK.
_ACTIVE = re.compile(
    "|".join("<" + re.escape(tag) for tag in sorted(_DROP_CONTENT | {"link", "meta", "base"})),
    re.IGNORECASE,
)
_BAD_LINK = re.compile(r"(?:\]\(|<)\s*<?\s*(?:javascript|vbscript|data|file)\s*:", re.IGNORECASE)


MAX_TAGS = 20_000
"""Above this many tags a body is reduced to plain text: the sanitiser's cost grows with
nesting depth, and a hostile page of 100,000 nested ``<div>``s would stall a sync."""
_DROP_BLOCKS = re.compile(r"<(" + "|".join(sorted(_DROP_CONTENT)) + r")\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


# Text in <p> paragraphs with <br> line breaks and nothing else: what WordPress makes of
# most comments. Converting it needs no HTML parser; the result is what html-to-markdown
# gives for it (whitespace folded, "  \n" for a line break, a blank line between paragraphs).
_SIMPLE = re.compile(r"\s*(?:<p>(?:[^<]|<br\s*/?>)*</p>\s*)+")
_BR = re.compile(r"<br\s*/?>")


def _paragraphs(text: str) -> str:
    paragraphs = []
    for chunk in text.split("</p>"):
        chunk = chunk.strip().removeprefix("<p>")
        lines = [" ".join(html.unescape(line).split()) for line in _BR.split(chunk)]
        if any(lines):
            paragraphs.append("  \n".join(line for line in lines if line))
    return clean_text("\n\n".join(paragraphs)) + "\n" if paragraphs else ""


def _plain(text: str) -> str:
    """Linear-time fallback: drop active blocks and every tag, decode entities."""
    text = _TAG.sub(" ", _DROP_BLOCKS.sub(" ", text))
    lines = (" ".join(line.split()) for line in clean_text(html.unescape(text)).split("\n"))
    return "\n".join(line for line in lines if line) + "\n"


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
    return _SPACES.sub(" ", clean_text(text)).strip()


def html_to_line(fragment: str | None) -> str:
    """Render a short HTML fragment (a WordPress title) as one safe line of text."""
    if not fragment:
        return ""
    text = clean_text(fragment)
    if "<" in text:
        import nh3

        text = nh3.clean(text, tags=set(), clean_content_tags=_DROP_CONTENT)
    return clean_line(html.unescape(text))


def html_to_markdown(fragment: str | None) -> str:
    """Convert an HTML body (post or comment) to safe Markdown.

    Most bodies hold no active element and no dangerous link: they go straight to the
    converter (sync converts thousands of comments). Anything else — or any output that
    still carries a ``javascript:``/``data:`` link — is sanitised with nh3 first.
    """
    if not fragment:
        return ""
    from html_to_markdown import convert

    text = clean_text(fragment)
    if _SIMPLE.fullmatch(text):  # most comments: paragraphs and line breaks, nothing else
        return _paragraphs(text)
    if text.count("<") > MAX_TAGS:
        return _plain(text)
    if _ACTIVE.search(text) is None:
        try:
            markdown = convert(text).content
        except Exception:  # the converter is native code: take the careful path
            markdown = ""
        if markdown and _BAD_LINK.search(markdown) is None:
            return clean_text(markdown).strip() + "\n" if markdown.strip() else ""
    import nh3

    sanitized = nh3.clean(
        text,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        clean_content_tags=_DROP_CONTENT,
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
    )
    try:
        markdown = convert(sanitized).content
    except Exception:  # the converter is native code: never let a body break a sync
        markdown = html.unescape(nh3.clean(sanitized, tags=set()))
    return clean_text(markdown).strip() + "\n" if markdown.strip() else ""
