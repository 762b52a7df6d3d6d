from html_to_markdown import ConversionOptions, convert
from markdown_it import MarkdownIt

from cache.safe import (
    MAX_TAGS,
    clean_line,
    clean_text,
    html_to_line,
    html_to_markdown,
    safe_url,
)

# The slow path's converter settings (text escaped), written out here on purpose.
CAREFUL = ConversionOptions(escape_misc=True, escape_asterisks=True, escape_underscores=True)


def rendered_links(markdown: str) -> list[str]:
    """Every link and image target as the reader's renderer (Rich: markdown-it) sees them."""
    parser = MarkdownIt().enable("strikethrough").enable("table")
    found = []
    for block in parser.parse(markdown):
        for token in block.children or []:
            if token.type == "link_open":
                found.append(token.attrs["href"])
            elif token.type == "image":
                found.append(token.attrs["src"])
    return found


HOSTILE = [
    "\x1b]0;owned\x07",  # OSC: set window title
    "\x1b]8;;http://evil\x1b\\",  # OSC 8 hyperlink
    "\x1b[2J\x1b[H",  # clear screen, cursor home
    "\x1b[31;1m",  # SGR
    "\x9b31m",  # 8-bit CSI
    "\x1bP+q\x1b\\",  # DCS
    "\x07\x08\x00\x7f",  # BEL, BS, NUL, DEL
    "\u202e",  # right-to-left override
]


def test_clean_text_removes_every_escape_and_control():
    for seq in HOSTILE:
        cleaned = clean_text(f"before{seq}after")
        assert cleaned == "beforeafter", repr(seq)


def test_clean_text_keeps_newlines_tabs_and_unicode():
    assert clean_text("a\tb\nc — ü ✓\r\nd") == "a\tb\nc — ü ✓\nd"


def test_clean_line_folds_whitespace():
    assert clean_line("  two\n lines\t here ") == "two lines here"


def test_html_to_line_decodes_entities_and_strips_tags():
    assert html_to_line("Don&#8217;t <em>panic</em> &amp; <script>x()</script>relax") == "Don’t panic & relax"


def test_markup_like_text_is_kept_literally():
    assert html_to_line("[bold red]not bold[/]") == "[bold red]not bold[/]"


def test_html_to_markdown_drops_active_content():
    html = (
        "<p>Hello</p><script>alert('x')</script><style>p{color:red}</style>"
        "<iframe src='https://evil'>frame text</iframe><noscript>nojs</noscript>"
        "<p onclick='x()'>World <a href='javascript:alert(1)'>click</a></p>"
    )
    md = html_to_markdown(html)
    for bad in ("alert", "color:red", "frame text", "nojs", "javascript", "onclick"):
        assert bad not in md
    assert "Hello" in md and "World" in md


def test_html_to_markdown_keeps_structure():
    md = html_to_markdown(
        "<h2>Heading</h2><ul><li>one</li><li>two</li></ul><blockquote><p>quoted</p></blockquote>"
        "<pre><code>x = 1\n</code></pre><p><a href='https://e.test/a'>link</a></p>"
        "<table><tr><th>h</th></tr><tr><td>c</td></tr></table>"
    )
    assert "## Heading" in md
    assert "- one" in md and "- two" in md
    assert "> quoted" in md
    assert "x = 1" in md
    assert "[link](https://e.test/a)" in md
    assert "| h |" in md


def test_html_to_markdown_removes_escapes_inside_bodies():
    md = html_to_markdown("<p>safe\x1b]0;title\x07 text \x1b[5mblink</p>")
    assert "\x1b" not in md and "\x07" not in md
    assert "safe text blink" in md


def test_empty_inputs():
    assert html_to_markdown("") == "" and html_to_line(None) == "" and clean_text(None) == ""


def test_entity_encoded_escapes_are_removed_after_decoding():
    assert html_to_line("a&#27;]0;pwned&#7;b") == "a]0;pwnedb"
    assert "\x9b" not in html_to_line("&#x9b;31m")  # HTML maps it to a printable '›' anyway
    assert "\x1b" not in html_to_markdown("<p>x&#27;[2Jy</p>")


def test_links_with_dangerous_schemes_never_survive():
    for html in (
        "<p><a href='javascript:alert(1)'>a</a></p>",
        "<p><a href='javascript&#58;alert(1)'>b</a></p>",
        "<p><a href='JaVaScRiPt:alert(1)'>c</a></p>",
        "<p><img src='data:image/png;base64,AAAA'></p>",
        "<p><a href='vbscript:msgbox'>d</a></p>",
    ):
        md = html_to_markdown(html).lower()
        assert "javascript:" not in md and "data:" not in md and "vbscript:" not in md, html


def test_pathologically_nested_html_keeps_its_text_without_its_scripts():
    html = "<div>" * 60_000 + "deep <script>x()</script>text" + "</div>" * 60_000
    assert html_to_markdown(html).strip() == "deep text"


def test_plain_paragraph_comments_convert_like_the_library():
    samples = [
        "<p>Hello there, it&#8217;s   me.<br />\nNew line</p>\n<p>Second *para* 1. _x_ #tag</p>\n",
        "<p>a &lt;b&gt; &amp; c</p>",
        "<p>one</p>",
        "\n<p>x<br>y<br/>z</p>\n\n<p>  spaced   out  </p>",
    ]
    for html in samples:
        assert html_to_markdown(html) == convert(html, CAREFUL).content.strip() + "\n", html
    assert html_to_markdown("<p>&#27;]0;t&#7;x</p>") == "\\]0;tx\n"  # decoded escapes still removed


PARAGRAPHS = [
    "<p># Heading?</p>",
    "<p>- item</p>",
    "<p>1. x</p>",
    "<p>&gt; quote</p>",
    "<p>> quote</p>",
    "<p>*a*</p>",
    "<p>a `b` c</p>",
    "<p>[x](y)</p>",
    "<p>[x](smb://evil)</p>",
    "<p>+ plus</p>",
    "<p>a<br>## b</p>",
    "<p>a\\b</p>",
    "<p>===</p>",
    "<p>a<br />\n---</p>",
    "<p>&lt;b&gt;</p>",
    "<p>1) x</p>",
    "<p>~~~</p>",
    "<p>| a | b |</p>",
    "<p>![i](j)</p>",
    "<p>&lt;http://x&gt;</p>",
    "<p>_x_ __y__ 2.5 v1)</p>",
    "<p>&amp;amp; &lt;smb://x&gt;</p>",
    "<p>[a]: smb://x</p>",
    "<p>x<br><br>y</p>",
    "<p>a&nbsp;b</p>",
    "<p>x<br></p>",
    "<p>a\tb</p>",
    "<p>a&#10;b</p>",
]


def test_fast_path_agrees_with_the_careful_converter():
    for html in PARAGRAPHS:
        assert html_to_markdown(html) == convert(html, CAREFUL).content.strip() + "\n", html


def test_literal_markdown_in_a_paragraph_stays_text():
    assert rendered_links(html_to_markdown("<p>[x](https://e.test) and &lt;smb://y&gt;</p>")) == []
    assert not html_to_markdown("<p># Heading?</p>").startswith("#")
    assert not html_to_markdown("<p>- item</p>").startswith("-")


def test_safe_url_is_one_allow_list():
    for url in ("https://e.test/a", "HTTP://e.test", "mailto:a@e.test", " https://e.test "):
        assert safe_url(url) == url.strip()
    for url in (
        "smb://host/share",
        "ms-msdt:/id",
        "ftp://e.test",
        "vbscript:x",
        "javascript:x",
        "/relative",
        "page.html",
        "//e.test/x",
        "http:e.test",
        "https://e.test/\x1b",
        "https://e.test/a b",
        "data:text/html,x",
        "",
        None,
        "file:///etc/passwd",
    ):
        assert safe_url(url) is None, url


def test_links_outside_the_allow_list_keep_their_text_only():
    html = (
        "<p><a href='smb://evil/share'>smb</a> <a href='ms-msdt:/id PCWDiagnostic'>msdt</a> "
        "<a href='ftp://e.test'>ftp</a> <a href=' vb&#x09;script&#58;x'>vbs</a> "
        "<a href='/local'>rel</a> <a href='https://ok.test/a_(b)'>ok</a> "
        "<a href='smb://x'>smb://x</a> <img src='smb://i' alt='pic'></p>"
        "<ul><li><a href='ms-msdt:x'>item</a></li></ul>"
    )
    md = html_to_markdown(html)
    assert rendered_links(md) == ["https://ok.test/a_(b)"]
    for text in ("smb", "msdt", "ftp", "vbs", "rel", "ok", "pic", "item"):
        assert text in md


def test_every_path_applies_the_link_policy():
    link = "<a href='smb://evil'>t</a>"
    bodies = {
        "converter": f"<h2>x</h2><p>{link}</p>",
        "plain fallback": "<b>" * (MAX_TAGS + 1) + "[t](smb://evil)",
        "depth fallback": "<div>" * 100 + "[t](smb://evil)" + "</div>" * 100,
        "fast path": "<p>[t](smb://evil) &lt;smb://evil&gt;</p>",
    }
    for path, html in bodies.items():
        md = html_to_markdown(html)
        assert "t" in md and rendered_links(md) == [], path


def test_deeply_nested_html_keeps_its_text():
    for tag in ("div", "blockquote", "span"):
        closed = f"<{tag}>" * 10_000 + "deep text" + f"</{tag}>" * 10_000
        assert html_to_markdown(closed).strip() == "deep text", tag
        assert html_to_markdown(f"<{tag}>" * 10_000 + "deep text").strip() == "deep text", tag
    assert html_to_line("<span>" * 50_000 + "title") == "title"


def test_unclosed_active_tags_are_dropped_in_one_pass():
    md = html_to_markdown("<p>before</p>" + "<svg>" * 21_000 + "hidden")
    assert md == "before\n"
    md = html_to_markdown("<b>" * (MAX_TAGS + 1) + "shown<script>" + "<script>" * 1000 + "gone")
    assert "shown" in md and "gone" not in md
    assert html_to_line("a<!-- " * 1000 + "b") == "a"
    assert html_to_line("x <meta charset=utf-8> y") == "x y"


def test_large_ordinary_bodies_convert_whole():
    body = "".join(
        f"<h2>Part {i}</h2><p>Text {i} with <a href='https://e.test/{i}'>a link</a>.</p>" for i in range(3000)
    )
    md = html_to_markdown(body)
    assert md.count("## Part") == 3000 and len(rendered_links(md)) == 3000
