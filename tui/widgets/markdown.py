"""Markdown as the reader draws it: Rich's ``Markdown`` with numbered links and image labels.

Design: the article and the comments render Markdown through Rich (one renderer, so a
comment looks like the article it answers). Before rendering, the token stream markdown-it
produced is rewritten in place:

- after every link's text, a ``[n]`` marker (the number the ``L`` list shows for it);
- every image becomes the text ``[image: alt text]`` followed by its marker, so no image
  is fetched or drawn (Rich's own image element shows a bare emoji) and its address is one
  ``L`` away.

``links_in`` walks the same rewrite without rendering, so the numbers in the text and in
the list can never disagree. Numbering starts at ``start``: an article rendered in chunks
numbers each chunk from where the previous one stopped.

Invariant: nothing here parses a remote string as Rich markup; tokens only ever become
``text`` tokens, which Rich draws verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it.token import Token
from rich.markdown import Markdown as RichMarkdown


@dataclass(frozen=True)
class Link:
    """A link (or image) found in Markdown; ``number`` is the ``[n]`` shown after it."""

    number: int
    text: str
    url: str
    image: bool = False
    #: Where it is: "" for the article, else e.g. "comment by Ada".
    where: str = ""


class NumberedMarkdown(RichMarkdown):
    """Rich ``Markdown`` whose links carry ``[n]`` markers and whose images are labels.

    ``links`` lists what was numbered, in order; ``number=False`` keeps the labels and the
    list but draws no markers (comments: their links are listed, not numbered in the text).
    """

    def __init__(self, markup: str, *, start: int = 1, number: bool = True, hyperlinks: bool = True) -> None:
        super().__init__(markup, hyperlinks=hyperlinks)
        self.links: list[Link] = []
        for token in self.parsed:
            if token.type == "inline" and token.children:
                token.children = self._rewrite(token.children, start, number)

    def _rewrite(self, children: list[Token], start: int, number: bool) -> list[Token]:
        out: list[Token] = []
        link_stack: list[tuple[str, int]] = []  # (href, index in out where its text starts)
        for child in children:
            if child.type == "link_open":
                link_stack.append((str(child.attrs.get("href", "")), len(out) + 1))
                out.append(child)
            elif child.type == "link_close" and link_stack:
                href, first = link_stack.pop()
                out.append(child)
                text = "".join(t.content for t in out[first:] if t.type in ("text", "code_inline"))
                n = start + len(self.links)
                self.links.append(Link(n, text.strip() or href, href))
                if number:
                    out.append(_text(f"[{n}]"))
            elif child.type == "image":
                alt = _alt(child)
                n = start + len(self.links)
                self.links.append(Link(n, alt, str(child.attrs.get("src", "")), image=True))
                label = f"[image: {alt}]" if alt else "[image]"
                out.append(_text(label + (f"[{n}]" if number else "")))
            else:
                out.append(child)
        return out


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)


def _alt(token: Token) -> str:
    parts = [c.content for c in token.children or [] if c.type in ("text", "code_inline")]
    return " ".join("".join(parts).split()) or " ".join(token.content.split())


def links_in(source: str, *, start: int = 1, where: str = "") -> list[Link]:
    """The links and images of ``source`` as ``NumberedMarkdown`` numbers them (parses,
    does not render)."""
    links = NumberedMarkdown(source, start=start).links
    if where:
        links = [Link(k.number, k.text, k.url, k.image, where) for k in links]
    return links


_MARKDOWN_SIGNS = re.compile(r"[*_`\[\]<>#|~\\&!]|^\s*(?:[-+=]|\d+[.)])(?:\s|$)|^ {4}|  $", re.MULTILINE)


def is_plain(text: str) -> bool:
    """Whether ``text`` has nothing Markdown would change but its paragraphs (so it can be
    wrapped directly: ~20 times faster than rendering it)."""
    return _MARKDOWN_SIGNS.search(text) is None


def plain_paragraphs(text: str) -> list[str]:
    """``text``'s paragraphs as Markdown sees them: blank lines separate, newlines join."""
    return [" ".join(block.split()) for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]
