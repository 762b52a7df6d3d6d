from cache.safe import clean_line, clean_text, html_to_line, html_to_markdown

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


def test_pathologically_nested_html_skips_the_sanitiser(monkeypatch):
    import nh3

    def refuse(*args, **kwargs):
        raise AssertionError("nh3's cost grows with nesting: it must not see this body")

    monkeypatch.setattr(nh3, "clean", refuse)
    html = "<div>" * 60_000 + "deep <script>x()</script>text" + "</div>" * 60_000
    assert html_to_markdown(html).strip() == "deep text"


def test_plain_paragraph_comments_convert_like_the_library(monkeypatch):
    from html_to_markdown import convert

    samples = [
        "<p>Hello there, it&#8217;s   me.<br />\nNew line</p>\n<p>Second *para* 1. _x_ #tag</p>\n",
        "<p>a &lt;b&gt; &amp; c</p>",
        "<p>one</p>",
        "\n<p>x<br>y<br/>z</p>\n\n<p>  spaced   out  </p>",
    ]
    for html in samples:
        assert html_to_markdown(html) == convert(html).content.strip() + "\n", html
    assert html_to_markdown("<p>&#27;]0;t&#7;x</p>") == "]0;tx\n"  # decoded escapes still removed
