"""Property-based tests of WordPress JSON → models: any JSON-shaped input gives a model with
clean, capped strings, or ``BadResponse`` — never another exception."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cache.errors import BadResponse
from cache.sources.wordpress import parse

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats(allow_nan=False) | st.text(max_size=200),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
HOSTILE = st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.sampled_from(
    ["\x1b]0;pwned\x07", "<script>x</script>", "\x1b[2J", "\u202eevil", "<b>bold</b> &amp; more", "a" * 5000]
)


def post_like() -> st.SearchStrategy[dict]:
    rendered = st.fixed_dictionaries({"rendered": HOSTILE}) | HOSTILE | JSON
    return st.fixed_dictionaries(
        {
            "id": st.integers(-5, 2**54) | JSON,
            "title": rendered,
            "content": rendered,
            "excerpt": rendered,
            "date": st.text(max_size=30) | JSON,
            "link": HOSTILE | JSON,
            "categories": st.lists(JSON, max_size=5) | JSON,
            "author": JSON,
            "author_name": HOSTILE | JSON,
            "post": st.integers(-2, 2**54) | JSON,
            "parent": st.integers(-2, 2**54) | JSON,
            "name": HOSTILE | JSON,
            "slug": HOSTILE | JSON,
        },
    )


def strings(model: object) -> list[str]:
    return [v for v in (getattr(model, f) for f in model.__dataclass_fields__) if isinstance(v, str)]


@settings(max_examples=200, deadline=None)
@given(post_like())
def test_any_post_comment_or_category_is_a_clean_model_or_bad_response(data):
    for build in (lambda d: parse.post("s", d), lambda d: parse.comment("s", d), lambda d: parse.category("s", d)):
        try:
            model = build(data)
        except BadResponse as error:
            assert "\n" not in str(error)
            continue
        for value in strings(model):
            assert UNSAFE.search(value.replace("\n", "").replace("\t", "")) is None, value
        assert len(getattr(model, "title", "")) <= parse.MAX_TITLE
        assert 0 < model.id <= 2**53 - 1


@settings(max_examples=100, deadline=None)
@given(JSON)
def test_non_objects_are_bad_responses(data):
    if isinstance(data, dict):
        return
    for build in (parse.post, parse.comment, parse.category):
        with pytest.raises(BadResponse):
            build("s", data)
