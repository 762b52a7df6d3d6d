"""Full text for summary-only feeds: the main text of an article page, as HTML.

Design (measured in ``bench/bench_feedparse.py``, part 2): readability-lxml, not
trafilatura. On generated pages in four layouts (semantic HTML5, a WordPress theme with text
widgets and related posts, class-less div soup, a short article beside a wordy sidebar)
readability kept every heading, list and link and dropped every navigation, sidebar and
footer text in 20/20 pages at ~2 ms a page; trafilatura (precision or default settings)
lost the headings and lists and kept the sidebar on the div-soup layout (15/20), at ~3–9 ms.

Invariants: ``extract`` is synchronous and CPU-bound (callers run it in a thread); it never
raises (None: nothing worth keeping) and its output is HTML that still goes through the
normal body path (sanitised and converted when read). Pages above ``MAX_PAGE`` characters
are not parsed.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

MAX_PAGE = 3_000_000
MIN_TEXT = 200
"""Fewer characters of text than this in an extract: it failed (keep the summary)."""

_TAG = re.compile(r"<[^<>]*>")  # not <[^>]*>: each unclosed "<" would rescan to the end
_ELLIPSIS = re.compile(
    r"(?:\u2026|\.\.\.|\[&hellip;\]|&hellip;|\[\u2026\]|read more|continue reading)\W*$", re.IGNORECASE
)


FULL_ENOUGH = 1_500
"""Characters of text above which a description is taken for the whole article."""


def text_length(fragment: str) -> int:
    """Characters of text in an HTML fragment (tags removed, whitespace folded)."""
    return len(" ".join(_TAG.sub(" ", fragment).split()))


def summary_only(content: str, summary: str) -> bool:
    """Whether an item carries only a summary: no full content, the content is the summary,
    or the content is short and ends like a teaser (an ellipsis, "read more")."""
    if not content.strip():
        content = summary  # RSS without content:encoded: <description> may be the article
        if not content.strip():
            return True
    teaser = bool(_ELLIPSIS.search(_TAG.sub(" ", content[-400:]).strip()))
    if content.strip() == summary.strip():
        # RSS without content:encoded: <description> may hold the whole article
        return teaser or not has_text(content, FULL_ENOUGH)
    return teaser and not has_text(content, 600)


def prefix(fragment: str, size: int) -> str:
    """``fragment``'s first ``size`` characters, without a tag cut in two at the end."""
    if len(fragment) <= size:
        return fragment
    head = fragment[:size]
    cut = head.rfind("<")
    return head[:cut] if cut > head.rfind(">") else head


def has_text(fragment: str, least: int) -> bool:
    """Whether an HTML fragment holds at least ``least`` characters of text (``text_length``
    of its first 20,000 characters), reading no more of it than it takes."""
    size = least + least // 4
    while True:
        if text_length(prefix(fragment, size)) >= least:
            return True
        if size >= min(len(fragment), 20_000):
            return False
        size = min(size * 4, 20_000)


def extract(page: str, url: str = "") -> str | None:
    """The main text of an article page as HTML, or None."""
    if not page or len(page) > MAX_PAGE:
        return None
    try:
        from readability import Document

        found = Document(page, url=url or None).summary(html_partial=True)
    except Exception as error:  # a malformed page: keep the summary
        log.info("no full text from %s: %s", url, error)
        return None
    if not isinstance(found, str) or text_length(found) < MIN_TEXT:
        return None
    return found
