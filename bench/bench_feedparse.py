"""Feed parsers and article extractors, side by side (issue 7).

Part 1 — parsers: ``feedparser`` against ``fastfeedparser`` on a generated 10,000-item RSS
feed (~39 MB, the size of the newsboat anchor in NOTES.md), then on a set of broken
real-world-style feeds (wrong encodings, undeclared entities, missing dates, HTML in titles,
RSS 0.91 / 1.0 RDF / 2.0, Atom 1.0, JSON Feed 1.0/1.1), then on hostile ones (XXE, billion
laughs, quadratic blowup): each must neither read a file nor blow memory. Last, Broadsheet's
own path (``cache.sources.feed.parse_feed``: DOCTYPE stripped, JSON Feed by orjson, every
string cleaned) on the same inputs.

Part 2 — extractors: ``trafilatura`` against ``readability-lxml`` on generated article pages
(navigation, sidebar, footer, comments around an article with sub-headings, lists, links):
time per page, and whether headings/lists/links are kept and the chrome dropped.

Run: .venv/bin/python bench/bench_feedparse.py [--items 10000] [--rounds 3] [--part parse|extract|all]
Figures are indicative on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import threading
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORDS = [
    "news",
    "terminal",
    "reader",
    "feed",
    "article",
    "update",
    "river",
    "harbour",
    "council",
    "budget",
    "school",
    "weather",
    "market",
    "train",
    "election",
    "garden",
    "library",
    "museum",
    "concert",
    "football",
]


def paragraph(n: int, seed: int) -> str:
    return " ".join(WORDS[(seed * 7 + i * 13) % len(WORDS)] for i in range(n))


def big_rss(items: int = 10_000) -> bytes:
    """An RSS 2.0 feed of ``items`` items of ~3.9 KB each (content:encoded, categories, …)."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
        'xmlns:slash="http://purl.org/rss/1.0/modules/slash/">\n<channel>\n'
        "<title>Big feed</title><link>https://big.example/</link><description>10k items</description>\n"
    )
    parts = [head]
    for i in range(items):
        body = "".join(f"<p>{paragraph(66, i + k)}</p>\n" for k in range(7))
        day = 1 + i % 28
        parts.append(
            f"<item><title>Item {i}: {paragraph(6, i)}</title>"
            f'<link>https://big.example/{i}/</link><guid isPermaLink="false">big-{i}</guid>'
            f"<pubDate>Mon, {day:02d} Jan 2024 {i % 24:02d}:{i % 60:02d}:00 +0100</pubDate>"
            f"<dc:creator>Author {i % 17}</dc:creator><category>cat{i % 20}</category><category>tag{i % 7}</category>"
            f"<description>{paragraph(30, i)}</description>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded>"
            f"<wfw:commentRss>https://big.example/{i}/feed/</wfw:commentRss><slash:comments>{i % 5}</slash:comments>"
            "</item>\n"
        )
    parts.append("</channel></rss>\n")
    return "".join(parts).encode()


def broken_feeds() -> dict[str, tuple[bytes, int]]:
    """name → (bytes, items expected)."""
    rss = '<rss version="2.0"><channel><title>T</title><link>https://b.example/</link>{}</channel></rss>'
    item = "<item><title>{t}</title><link>https://b.example/{n}</link><guid>g{n}</guid>{extra}</item>"
    return {
        "latin-1 declared utf-8": (
            (
                '<?xml version="1.0" encoding="utf-8"?>' + rss.format(item.format(t="Caf\xe9 cr\xe8me", n=1, extra=""))
            ).encode("latin-1"),
            1,
        ),
        "undeclared entities": (
            rss.format(item.format(t="Fish&nbsp;&amp;&nbsp;chips &eacute;t&eacute; &hellip;", n=1, extra="")).encode(),
            1,
        ),
        "bare ampersand": (rss.format(item.format(t="Q&A", n=1, extra="<description>a & b</description>")).encode(), 1),
        "missing dates": (
            rss.format(item.format(t="a", n=1, extra="") + item.format(t="b", n=2, extra="")).encode(),
            2,
        ),
        "bad dates": (
            rss.format(
                item.format(t="a", n=1, extra="<pubDate>not a date</pubDate>")
                + item.format(t="b", n=2, extra="<pubDate>31 Feb 2024 25:61:00 XYZ</pubDate>")
            ).encode(),
            2,
        ),
        "html in titles": (
            rss.format(
                item.format(t="&lt;b&gt;Bold&lt;/b&gt; &amp;amp; <![CDATA[<i>it</i>]]>", n=1, extra="")
            ).encode(),
            1,
        ),
        "rss 0.91 netscape doctype": (
            b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
            b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel><title>Old</title>'
            b"<link>https://old.example/</link><description>d</description><language>en</language>"
            b"<item><title>One</title><link>https://old.example/1</link><description>x &eacute;</description></item>"
            b"<item><title>Two</title><link>https://old.example/2</link></item></channel></rss>",
            2,
        ),
        "rss 1.0 rdf": (
            b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            b'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            b'<channel rdf:about="https://r.example/"><title>R</title><link>https://r.example/</link></channel>'
            b'<item rdf:about="https://r.example/1"><title>One</title><link>https://r.example/1</link>'
            b"<dc:date>2024-01-02T10:00:00+02:00</dc:date></item>"
            b'<item rdf:about="https://r.example/2"><title>Two</title><link>https://r.example/2</link></item></rdf:RDF>',
            2,
        ),
        "atom 1.0": (
            b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
            b'<link href="https://a.example/"/><id>urn:a</id><updated>2024-01-02T10:00:00Z</updated>'
            b'<entry><id>urn:a:1</id><title type="html">&lt;em&gt;One&lt;/em&gt;</title><link href="https://a.example/1"/>'
            b'<updated>2024-01-02T10:00:00-05:00</updated><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div></content></entry>'
            b'<entry><id>urn:a:2</id><title>Two</title><link href="https://a.example/2"/><updated>2024-01-03T10:00:00Z</updated></entry></feed>',
            2,
        ),
        "json feed 1.1": (
            b'{"version":"https://jsonfeed.org/version/1.1","title":"J","home_page_url":"https://j.example/",'
            b'"items":[{"id":"1","url":"https://j.example/1","title":"One","content_html":"<p>x</p>",'
            b'"date_published":"2024-01-02T10:00:00+01:00","tags":["a","b"]},{"id":"2","content_text":"two"}]}',
            2,
        ),
        "json feed 1.0": (
            b'{"version":"https://jsonfeed.org/version/1","title":"J","items":[{"id":"1","title":"One","content_text":"x",'
            b'"author":{"name":"Ann"}}]}',
            1,
        ),
        "garbage before root": (b"\n\n  \xef\xbb\xbf" + rss.format(item.format(t="x", n=1, extra="")).encode(), 1),
        "truncated": (
            rss.format(item.format(t="a", n=1, extra="") + item.format(t="b", n=2, extra="")).encode()[:-40],
            2,
        ),
    }


def hostile_feeds() -> dict[str, bytes]:
    rss_tail = (
        '<rss version="2.0"><channel><title>&x;</title><item><title>&x;</title><guid>1</guid></item></channel></rss>'
    )
    laughs = "".join(f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">' for i in range(1, 10))
    return {
        "xxe /etc/passwd": f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>{rss_tail}'.encode(),
        "billion laughs": (
            f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">{laughs}<!ENTITY x "&l9;">]>' + rss_tail
        ).encode(),
        "quadratic blowup": (
            f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "{"a" * 100_000}">]>'
            + rss_tail.replace("<title>&x;</title><guid>", "<title>" + "&x;" * 20_000 + "</title><guid>")
        ).encode(),
    }


def parsers() -> dict[str, object]:
    import fastfeedparser
    import feedparser

    found = {
        "feedparser": feedparser.parse,
        "fastfeedparser": fastfeedparser.parse,
    }
    try:
        from cache.sources.feed import parse_feed
    except ImportError:  # before the module exists: the two libraries alone
        return found
    found["broadsheet"] = lambda data: parse_feed(data, "bench", url="https://bench.example/feed")
    return found


def entries_of(result: object) -> list:
    if hasattr(result, "posts"):
        return result.posts
    return list(result.get("entries", []) or [])


def title_of(entry: object) -> str:
    if hasattr(entry, "title"):
        return entry.title
    return str(entry.get("title", ""))


def measure(fn, data: bytes) -> tuple[float, float, object, str]:
    """Seconds, peak MB (tracemalloc), result, error."""
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result, error = fn(data), ""
    except Exception as exc:  # what a parser raises is part of the figures
        result, error = None, f"{type(exc).__name__}: {str(exc)[:60]}"
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, result, error


def timed(fn, data: bytes, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - started)
    return times


def part_parse(items: int, rounds: int) -> None:
    feed = big_rss(items)
    print(
        f"== {items}-item RSS feed: {len(feed) / 2**20:.1f} MB; median of {rounds} (peak Python heap in a separate run)"
    )
    for name, fn in parsers().items():
        times = timed(fn, feed, rounds)
        _, peak, result, error = measure(fn, feed)
        n = len(entries_of(result)) if result is not None else 0
        print(
            f"  {name:15} {statistics.median(times):6.2f} s  (min {min(times):.2f})  peak heap {peak:6.0f} MB  "
            f"{n} items {error}"
        )

    print("\n== broken feeds: items recovered / expected, first title")
    for label, (data, expected) in broken_feeds().items():
        row = []
        for name, fn in parsers().items():
            _, _, result, error = measure(fn, data)
            entries = entries_of(result) if result is not None else []
            first = title_of(entries[0])[:22] if entries else ""
            row.append(f"{name[:6]} {len(entries)}/{expected} {first!r:26}" + (f" [{error[:30]}]" if error else ""))
        print(f"  {label:26} " + " | ".join(row))

    print("\n== hostile feeds: time, peak heap, whether /etc/passwd leaked, first title's length")
    passwd = Path("/etc/passwd").read_text().split(":")[0] + ":x:"
    for label, data in hostile_feeds().items():
        for name, fn in parsers().items():
            seconds, peak, result, error = measure(fn, data)
            text = repr(result)
            entries = entries_of(result) if result is not None else []
            size = len(title_of(entries[0])) if entries else 0
            leaked = "LEAKED" if passwd in text else "no leak"
            print(
                f"  {label:18} {name:15} {seconds * 1000:7.1f} ms  {peak:6.1f} MB  {leaked}  title {size} chars {error}"
            )
    print(f"  (max RSS of this process so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


# -- part 2: article extraction -------------------------------------------------------------


def article_page(i: int) -> tuple[str, dict[str, list[str]]]:
    """A realistic page and what the extract must keep and drop; four layouts in turn:
    semantic HTML5, a WordPress theme (div soup with a long text widget and related posts),
    a page without helpful class names, and a short article beside a wordy sidebar."""
    layout = i % 4
    nav = "".join(f'<li><a href="/section/{k}">Section {k}</a></li>' for k in range(12))
    side = "".join(f'<li><a href="/popular/{k}">Popular story number {k} {paragraph(5, k)}</a></li>' for k in range(10))
    paragraphs = 2 if layout == 3 else 4
    body = (
        f"<h1>Article {i}: {paragraph(5, i)}</h1><p class='byline'>By Ann Writer</p>"
        + "".join(
            f"<p>{paragraph(55, i + k)} <a href='https://src.example/{k}'>source {k}</a>.</p>"
            for k in range(paragraphs)
        )
        + f"<h2>Subheading alpha {i}</h2>"
        + "".join(f"<p>{paragraph(45, i + k + 9)}</p>" for k in range(1 if layout == 3 else 3))
        + "<ul>"
        + "".join(f"<li>List point {k} {paragraph(8, k)}</li>" for k in range(5))
        + "</ul>"
        + (
            ""
            if layout == 3
            else f"<h2>Subheading beta {i}</h2>" + "".join(f"<p>{paragraph(50, i + k + 20)}</p>" for k in range(3))
        )
    )
    widget = "<p>SIDEBARTEXT " + paragraph(120, i + 3) + "</p>"
    head = (
        f"<!doctype html><html><head><title>Article {i} | The Daily</title>"
        "<script>var tracking = 'SCRIPTTEXT';</script><style>body{color:red}</style></head><body>"
    )
    foot = "<footer><p>FOOTERTEXT © The Daily 2024</p><a href='/privacy'>Privacy</a></footer></body></html>"
    if layout == 0:
        page = (
            head + f"<header><div class='logo'>The Daily</div><nav class='menu'><ul>{nav}</ul></nav></header>"
            "<div class='cookie-banner'>We use cookies COOKIEBANNER</div>"
            f"<main><article class='post'>{body}</article>"
            "<section class='comments'><h3>3 comments</h3><p>COMMENTTEXT first!</p></section></main>"
            f"<aside class='sidebar'><h3>Most read</h3><ul>{side}</ul>{widget}</aside>" + foot
        )
    elif layout == 1:
        page = (
            head + f"<div id='page' class='site'><div class='site-header'><div class='site-title'>The Daily</div>"
            f"<div class='main-navigation'><ul>{nav}</ul></div></div><div class='cookie-banner'>COOKIEBANNER</div>"
            f"<div id='content' class='site-content'><div id='primary' class='content-area'><div class='post type-post hentry'>"
            f"<div class='entry-content'>{body}<div class='jp-relatedposts'><h3>Related</h3><p>RELATEDTEXT more</p></div></div>"
            "<div class='post-navigation'><a href='/prev'>Previous post</a></div>"
            "<div id='comments' class='comments-area'><h2>2 thoughts</h2><p>COMMENTTEXT nice</p></div></div></div>"
            f"<div id='secondary' class='widget-area'><div class='widget'><h2>About</h2>{widget}</div>"
            f"<div class='widget'><ul>{side}</ul></div></div></div>"
            + foot.replace("<footer>", "<div class='site-footer'>").replace("</footer>", "</div>")
            + "</div>"
        )
    elif layout == 2:
        page = (
            head + f"<div><div>The Daily</div><div><ul>{nav}</ul></div><div>COOKIEBANNER</div>"
            f"<div><div>{body}</div><div><ul>{side}</ul>{widget}</div></div>" + foot + "</div>"
        )
    else:
        page = (
            head + f"<header><nav><ul>{nav}</ul></nav></header><div class='cookie-banner'>COOKIEBANNER</div>"
            f"<main><article>{body}</article></main><aside class='sidebar'>{widget}{widget}<ul>{side}</ul></aside>"
            + foot
        )
    return page, {
        "keep": [f"Subheading alpha {i}", "List point 3", "https://src.example/1", paragraph(45, i + 9)[:40]],
        "drop": ["SCRIPTTEXT", "COOKIEBANNER", "SIDEBARTEXT", "FOOTERTEXT", "Section 11", "Popular story number 7"]
        + (["RELATEDTEXT", "COMMENTTEXT"] if layout == 1 else []),
    }


def extractors() -> dict[str, object]:
    import trafilatura
    from readability import Document

    return {
        "trafilatura": lambda page: (
            trafilatura.extract(
                page,
                output_format="html",
                include_links=True,
                include_formatting=True,
                include_comments=False,
                favor_precision=True,
            )
            or ""
        ),
        "trafilatura-default": lambda page: (
            trafilatura.extract(page, output_format="html", include_links=True, include_formatting=True) or ""
        ),
        "readability": lambda page: Document(page).summary(html_partial=True),
    }


def part_extract(rounds: int) -> None:
    pages = [article_page(i) for i in range(20)]
    print(f"\n== article extraction: {len(pages)} generated pages (~{len(pages[0][0]) // 1024} KB each)")
    from cache.safe import html_to_markdown

    for name, fn in extractors().items():
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            for page, _ in pages:
                fn(page)
            times.append((time.perf_counter() - started) / len(pages))
        kept = dropped = drops = 0
        headings = lists = links = 0
        layouts = [0, 0, 0, 0]
        for number, (page, expect) in enumerate(pages):
            markdown = html_to_markdown(fn(page))
            kept += sum(k in markdown for k in expect["keep"])
            dropped += sum(d not in markdown for d in expect["drop"])
            drops += len(expect["drop"])
            layouts[number % 4] += all(k in markdown for k in expect["keep"]) and not any(
                d in markdown for d in expect["drop"]
            )
            headings += "## Subheading" in markdown or "Subheading alpha" in markdown.split("\n#")[-1]
            lists += "- List point" in markdown or "* List point" in markdown
            links += "](https://src.example/" in markdown
        n = len(pages)
        print(
            f"  {name:19} {statistics.median(times) * 1000:6.1f} ms/page  kept {kept}/{4 * n}  dropped {dropped}/{drops}  "
            f"clean by layout {layouts} of {n // 4} each  headings {headings}/{n} lists {lists}/{n} links {links}/{n}"
        )
    sample = extractors()["trafilatura"](pages[0][0])
    print("  trafilatura sample (markdown, first 300 chars):", repr(html_to_markdown(sample)[:300]))
    sample = extractors()["readability"](pages[0][0])
    print("  readability sample (markdown, first 300 chars):", repr(html_to_markdown(sample)[:300]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--part", choices=("parse", "extract", "all"), default="all")
    args = parser.parse_args()
    threading.stack_size(0)
    if args.part in ("parse", "all"):
        part_parse(args.items, args.rounds)
    if args.part in ("extract", "all"):
        part_extract(args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
