"""Properties of cache.safe for arbitrary text and HTML (hypothesis), checked against the
reader's own Markdown parser (markdown-it, as Rich uses it) for links."""

from html_to_markdown import ConversionOptions, convert
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from cache.safe import clean_line, clean_text, html_to_line, html_to_markdown, safe_url

FORBIDDEN = {chr(c) for c in range(0x20) if chr(c) not in "\n\t"} | {chr(c) for c in range(0x7F, 0xA0)}
FORBIDDEN |= set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
NASTY = [
    "\x1b",
    "\x1b[",
    "\x1b]8;;",
    "\x07",
    "\x9b",
    "\x9d",
    "\u202e",
    "\u2066",
    "\r",
    "\x00",
    "\u0301",
    "&#27;",
    "&#x9b;",
    "&#8238;",
    "&#0;",
    "&",
    ";",
    "<",
    ">",
    "/",
    "=",
    "'",
    '"',
    " ",
    "\n",
    "\t",
]
TAGS = [
    "p",
    "a",
    "div",
    "blockquote",
    "svg",
    "script",
    "code",
    "pre",
    "img",
    "li",
    "ul",
    "br",
    "b",
    "h2",
    "table",
    "td",
    "tr",
    "meta",
    "form",
    "em",
]
HREFS = [
    "https://ok.test/x",
    "smb://evil",
    "ms-msdt:x",
    "ftp://f",
    "vbscript:x",
    "java&#x09;script:x",
    "/rel",
    "//host/x",
    "mailto:a@b.test",
    "https://ok.test/a_(b)",
    "https://ok.test/a)b",
    " smb:x ",
    "http://e/<x>",
    "https://a.test/a b",
    "data:x",
    "sMb&#58;//x",
]
MARKDOWN = ["#", "-", "*", "_", "`", "```", "[", "]", "(", ")", "](", "![", "\\", "1.", "> ", "|", "~"]

fragments = st.one_of(
    st.text(max_size=12),
    st.sampled_from(NASTY + MARKDOWN),
    st.builds(lambda t: f"<{t}>", st.sampled_from(TAGS)),
    st.builds(lambda t: f"</{t}>", st.sampled_from(TAGS)),
    st.builds(lambda h: f"<a href='{h}'>", st.sampled_from(HREFS)),
    st.builds(lambda h: f"<img src='{h}' alt='i'>", st.sampled_from(HREFS)),
    st.builds(lambda h: f"[t]({h})", st.sampled_from(HREFS)),
    st.builds(lambda h: f"&lt;{h}&gt;", st.sampled_from(HREFS)),
)
documents = st.lists(fragments, max_size=40).map("".join)
paragraphs = st.lists(
    st.lists(
        st.one_of(
            st.text(alphabet=st.characters(codec="utf-8", exclude_characters="<"), max_size=10),
            st.sampled_from([*MARKDOWN, "&amp;", "&lt;", "&#8217;", " ", "  "]),
        ),
        min_size=1,
        max_size=8,
    )
    .map("".join)
    .map(lambda p: "<p>" + p.replace("\n", "<br />\n") + "</p>"),
    min_size=1,
    max_size=4,
).map("\n".join)

CAREFUL = ConversionOptions(escape_misc=True, escape_asterisks=True, escape_underscores=True)
SETTINGS = settings(max_examples=150, deadline=None)
_parser = MarkdownIt().enable("strikethrough").enable("table")


def targets(markdown: str) -> list[str]:
    found = []
    for block in _parser.parse(markdown):
        for token in block.children or []:
            if token.type == "link_open":
                found.append(token.attrs["href"])
            elif token.type == "image":
                found.append(token.attrs["src"])
    return found


def assert_terminal_safe(text: str, newline_ok: bool = True) -> None:
    bad = FORBIDDEN if newline_ok else FORBIDDEN | {"\n", "\t"}
    assert not bad & set(text), repr(text)


@SETTINGS
@given(st.one_of(st.text(), documents))
def test_clean_text_and_clean_line_emit_no_control(text):
    assert_terminal_safe(clean_text(text))
    line = clean_line(text)
    assert_terminal_safe(line, newline_ok=False)
    assert "\n" not in line


@SETTINGS
@given(documents)
def test_html_to_line_is_one_safe_line(html):
    line = html_to_line(html)
    assert_terminal_safe(line, newline_ok=False)


@SETTINGS
@given(documents)
def test_html_to_markdown_is_safe_and_links_only_to_allowed_schemes(html):
    markdown = html_to_markdown(html)
    assert_terminal_safe(markdown)
    for target in targets(markdown):
        assert safe_url(target) is not None, (html, markdown, target)
        assert target.split(":", 1)[0].lower() in {"http", "https", "mailto"}


@SETTINGS
@given(paragraphs)
def test_fast_path_agrees_with_the_careful_converter(html):
    expected = clean_text(convert(clean_text(html), CAREFUL).content).strip()
    assert html_to_markdown(html) == (expected + "\n" if expected else "")
