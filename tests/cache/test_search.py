from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cache.errors import StoreError
from cache.models import Comment, Post, Site
from cache.safe import clean_line
from cache.search import SearchIndex, html_text, markdown_text, query_terms
from cache.store import Store
from tests.factories import stamp

HOSTILE = "Evil \x1b]0;owned\x07\x1b[31mred\x1b[0m title"


def post(pid: int, title: str, minutes: int | None = None, site: str = "news") -> Post:
    when = stamp(pid if minutes is None else minutes)
    return Post(
        pid, site, title, date=when, date_gmt=when, modified=when, modified_gmt=when, link=f"https://n.test/{pid}/"
    )


def comment(cid: int, pid: int, text: str, site: str = "news") -> Comment:
    return Comment(cid, site, pid, text=text, date_gmt=stamp(5000 + cid))


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache")
    store.add_site(Site(name="news", url="https://n.test"))
    store.add_site(Site(name="other", url="https://o.test"))
    store.save_sync(
        "news",
        posts=[
            post(1, "Harbour council meets"),
            post(2, "Le café de la gare"),
            post(3, "ウェブ開発の基本"),
            post(4, HOSTILE),
            post(5, "Ferry timetable"),
        ],
        html={
            1: "<p>The harbour board and the council met about the new quay.</p>",
            2: "<p>Un <b>café</b> &amp; des croissants, près de l'océan.</p>",
            3: "<p>これはウェブ開発入門の記事です。</p>",
            4: "<p>Body with \x1b[2J a clear-screen and &#27;]0;title&#7; entity escapes, harbour.</p>",
            5: "<p>Timetable.</p><script>var harbour = 'secret';</script><style>.harbour{}</style>",
        },
        comments=[
            comment(11, 1, "I **love** the [harbour plan](https://x.test/plan) a lot"),
            comment(12, 1, "The harbour is cold"),
            comment(13, 1, "Nothing to see"),
            comment(14, 5, "Ferry late again; harbour closed"),
        ],
    )
    store.save_sync(
        "other",
        posts=[post(1, "Other harbour news", minutes=9000, site="other")],
        html={1: "<p>Elsewhere, a harbour.</p>"},
    )
    return store


@pytest.fixture
def index(store):
    index = SearchIndex(store.directory)
    assert index.rebuild(store) == 6
    yield index
    index.close()


def keys(hits):
    return [(h.site, h.id, h.in_, h.comment_id) for h in hits]


def test_posts_and_comments_newest_first_with_comment_ids(index):
    hits = index.search("harbour")
    assert keys(hits) == [
        ("other", 1, "post", None),
        ("news", 5, "comment", 14),
        ("news", 4, "post", None),
        ("news", 1, "post", None),
        ("news", 1, "comment", 11),
        ("news", 1, "comment", 12),
    ]
    first = hits[1]
    assert first.title == "Ferry timetable" and first.link == "https://n.test/5/" and first.date == stamp(5)
    assert first.as_json() == {
        "site": "news",
        "id": 5,
        "title": "Ferry timetable",
        "date": stamp(5),
        "link": "https://n.test/5/",
        "snippet": first.snippet,
        "in": "comment",
        "comment_id": 14,
    }


def test_snippets_mark_the_match_and_drop_markup(index):
    hit = next(h for h in index.search("plan") if h.comment_id == 11)
    assert hit.snippet == "I love the harbour plan a lot"  # no ** and no link target
    assert [hit.snippet[a:b] for a, b in hit.marks] == ["plan"]
    assert hit.marked("[", "]") == "I love the harbour [plan] a lot"


def test_script_and_style_content_is_not_indexed(index):
    assert keys(index.search("secret")) == []
    assert ("news", 5, "post", None) not in keys(index.search("harbour"))


def test_hostile_text_never_reaches_snippets_or_titles(index):
    hits = index.search("harbour") + index.search("evil") + index.search("title")
    assert any(h.id == 4 and h.site == "news" for h in hits)
    for hit in hits:
        for text in (hit.snippet, hit.title, hit.marked()):
            assert "\x1b" not in text and "\x07" not in text
            assert clean_line(text) == text
    assert index.search("evil")[0].title == "Evil red title"


def test_site_filter(index):
    assert {h.site for h in index.search("harbour", site="other")} == {"other"}
    assert {h.site for h in index.search("harbour", site="news")} == {"news"}
    assert index.search("harbour", site="nosuch") == []


def test_phrase_and_prefix(index):
    assert keys(index.search('"harbour board"')) == [("news", 1, "post", None)]
    assert keys(index.search('"board harbour"')) == []
    assert keys(index.search("timet")) == [("news", 5, "post", None)]  # prefix: last word, >= 3 chars
    assert keys(index.search("timet ")) == []  # a trailing space ends the word
    assert keys(index.search("ferry timet")) == [("news", 5, "post", None)]  # all terms in one document


def test_diacritics_and_case_fold_both_ways(index):
    for query in ("cafe", "CAFÉ", "Café", "ocean", "pres", "cafe\u0301"):
        assert ("news", 2, "post", None) in keys(index.search(query)), query


def test_cjk_words_are_found_inside_runs(index):
    for query in ("ウェブ開発", "開発", "入門", "ウェブ開発の基本"):
        assert ("news", 3, "post", None) in keys(index.search(query)), query
    hit = index.search("開発入門")[0]
    assert [hit.snippet[a:b] for a, b in hit.marks] == ["開発入門"]
    assert "\u200b" not in hit.snippet


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '""',
        "*",
        "AND(",
        "NEAR",
        "NEAR(harbour",
        "-",
        ":",
        "harbour:",
        "title:harbour",
        "^harbour",
        '"harbour',
        'harbour" OR "x',
        "(",
        ")",
        "harbour AND",
        "OR",
        "NOT harbour",
        "{title}",
        "\ue000",
        "'",
        "\\",
    ],
)
def test_fts5_syntax_in_queries_is_plain_text(index, query):
    hits = index.search(query)  # never raises
    assert isinstance(hits, list)


def test_operator_words_are_plain_words(index):
    assert keys(index.search("harbour AND board")) == [("news", 1, "post", None)]  # "and" is in the text
    assert keys(index.search("harbour OR zebra")) == []  # not an alternative: "or" and "zebra" must match
    assert keys(index.search("NOT harbour")) == []  # not a negation: "not" is in no text


def test_empty_query_has_no_terms_and_no_hits(index):
    for query in ("", "   ", "* - :", '""'):
        assert query_terms(query) == []
        assert index.search(query) == []
    assert query_terms('harbour "quay side" counc') == [("harbour", False), ("quay side", False), ("counc", True)]


def test_comments_per_post_cap(store, index):
    store.save_sync("news", posts=[], comments=[comment(100 + n, 1, f"harbour note {n}") for n in range(10)])
    index.refresh(store)
    per_post = [h for h in index.search("note") if h.id == 1]
    assert len(per_post) == 3
    assert len([h for h in index.search("note", comments_per_post=None) if h.id == 1]) == 10
    assert len(index.search("note", comments_per_post=None, limit=4)) == 4


def test_stale_detection_and_refresh(store, index):
    assert index.stale_sites(store) == []
    store.save_sync("news", posts=[post(6, "Lighthouse reopens")], html={6: "<p>A lighthouse.</p>"})
    assert index.stale_sites(store) == ["news"]
    assert index.search("lighthouse") == []
    assert index.refresh(store) == 1
    assert index.stale_sites(store) == []
    assert keys(index.search("lighthouse")) == [("news", 6, "post", None)]
    # a reply of ours touches a comment shard only (not index.json): still noticed
    store.add_comment(Comment(-1, "news", 2, text="My zebra reply", status="pending"))
    assert index.stale_sites(store) == ["news"]
    index.refresh(store)
    assert keys(index.search("zebra")) == [("news", 2, "comment", -1)]
    store.remove_comment("news", 2, -1)
    index.refresh(store)
    assert index.search("zebra") == []
    # a changed title; a removed post
    store.save_sync(
        "news",
        posts=[Post(6, "news", "Lantern fair", date=stamp(6), date_gmt=stamp(6), modified_gmt=stamp(99))],
        removed=[5],
    )
    index.refresh(store)
    assert keys(index.search("lantern")) == [("news", 6, "post", None)]
    assert all(h.id != 5 or h.site != "news" for h in index.search("ferry"))
    assert index.refresh(store) == 0  # nothing changed since


def test_update_given_posts_and_remove(store, index):
    store.save_sync(
        "news",
        posts=[post(7, "Quayside market")],
        html={7: "<p>Stalls.</p>"},
        comments=[comment(70, 7, "great stalls")],
    )
    assert index.update(store, "news", [7]) == 1
    assert keys(index.search("stalls")) == [("news", 7, "post", None), ("news", 7, "comment", 70)]
    index.remove("news", [7])
    assert index.search("stalls") == []
    index.remove("other")
    assert {h.site for h in index.search("harbour")} == {"news"}
    assert "other" in index.stale_sites(store)


def test_unsubscribed_site_leaves_the_index_on_refresh(store, index):
    store.remove_site("other")
    index.refresh(store)
    assert {h.site for h in index.search("harbour")} == {"news"}
    assert index.indexed_sites() == ["news"]


def test_missing_index_is_empty_and_every_site_stale(store, tmp_path):
    index = SearchIndex(store.directory)
    assert index.search("harbour") == []
    assert index.stale_sites(store) == ["news", "other"]
    assert not (store.directory / "search.sqlite").exists()  # searching creates nothing


@pytest.mark.parametrize("damage", [b"this is not a database at all" * 200, b""])
def test_corrupt_index_is_reset_with_one_line_and_rebuilt(store, index, damage):
    path = store.directory / "search.sqlite"
    index.close()
    for extra in Path(store.directory).glob("search.sqlite-*"):
        extra.unlink()
    path.write_bytes(damage)
    fresh = SearchIndex(store.directory)
    if damage:
        with pytest.raises(StoreError) as caught:
            fresh.search("harbour")
        assert "\n" not in str(caught.value) and "reindex" in str(caught.value)
    assert fresh.search("harbour") == []
    assert fresh.stale_sites(store) == ["news", "other"]
    fresh.refresh(store)
    assert len(fresh.search("harbour")) == 6


def test_malformed_pages_are_reset_when_writing(store, index):
    path = store.directory / "search.sqlite"
    index.close()
    raw = bytearray(path.read_bytes())
    raw[100 : len(raw)] = b"\xff" * (len(raw) - 100)  # keep the header, ruin every page
    path.write_bytes(bytes(raw))
    for extra in Path(store.directory).glob("search.sqlite-*"):
        extra.unlink()
    fresh = SearchIndex(store.directory)
    assert fresh.rebuild(store) == 6
    assert len(fresh.search("harbour")) == 6


def test_a_failed_rebuild_leaves_the_old_index(store, index, monkeypatch):
    store.save_sync("news", posts=[post(8, "Regatta")], html={8: "<p>Boats.</p>"})

    def boom(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(SearchIndex, "_index_comments", boom)
    with pytest.raises(RuntimeError):
        index.rebuild(store)
    monkeypatch.undo()
    assert len(index.search("harbour")) == 6 and index.search("regatta") == []
    with sqlite3.connect(store.directory / "search.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_the_query_path_imports_no_heavy_module(index, store):
    code = (
        "import sys; from cache.search import SearchIndex; "
        f"print(len(SearchIndex({str(store.directory)!r}).search('harbour'))); "
        "print(sorted(m for m in ('tinydb', 'httpx', 'textual', 'nh3', 'html_to_markdown') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["6", "[]"]


def test_html_text_is_linear_and_safe():
    assert html_text("<p>a &lt;b&gt; <!-- hidden --> c</p><SCRIPT>x</script >d") == "a <b> c d"
    assert html_text("before <script>never closed") == "before"
    assert html_text("before <!-- never closed") == "before"
    assert html_text("a\x1b[31mb&#27;[2Jc") == "ab[2Jc"  # the ESC (raw or as an entity) never survives
    # pathological inputs finish quickly (they would be quadratic with naive patterns)
    import time

    started = time.perf_counter()
    for hostile in ("<" * 200_000, "<script" * 50_000, "<!--" * 50_000, "<a " * 100_000):
        html_text(hostile)
    markdown_text("[" * 200_000 + "](" * 100_000)
    assert time.perf_counter() - started < 2.0


def test_search_catches_up_with_what_changed_since_and_sync_does_not_index(store):
    """A sync stores; the next search indexes what changed (posts, a stored reply, a site
    removed) before it answers."""
    from cache.service import Service

    service = Service(store=store)
    assert not (store.directory / "search.sqlite").exists()  # saving indexed nothing
    assert {(h.site, h.id) for h in service.search("harbour") if not h.comment_id} == {
        ("news", 1),
        ("news", 4),
        ("other", 1),
    }
    store.save_sync("news", posts=[post(6, "Lighthouse reopens")], html={6: "<p>A lighthouse.</p>"})
    store.add_comment(Comment(15, "news", 5, text="the lighthouse keeper waves", date_gmt=stamp(9999)))
    assert {(h.id, h.comment_id) for h in service.search("lighthouse")} == {(6, None), (5, 15)}
    service.remove("other")
    assert {h.site for h in service.search("harbour")} == {"news"}
    assert service.catch_up_index() == 0  # nothing left to do: stats only


def test_a_stopped_catch_up_keeps_nothing_and_the_next_one_finishes(store):
    from cache.errors import Stopped
    from cache.service import Service

    service = Service(store=store)
    calls = []

    def stop_soon():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Stopped):
        service.catch_up_index(stop=stop_soon)
    with SearchIndex(store.directory) as index:
        assert index.indexed_sites() == [] and index.search("harbour") == []
    assert service.catch_up_index(stop=lambda: False) == 6
    assert len(service.search("harbour")) >= 3


def test_a_stop_interrupts_a_long_statement(store, monkeypatch):
    """SQLite's progress handler aborts a statement under way; the rollback still runs."""
    from cache.errors import Stopped

    stop = {"now": False}
    index = SearchIndex(store.directory, stop=lambda: stop["now"])
    index.rebuild(store)

    def slow(conn):
        stop["now"] = True  # asked while the statement below runs
        conn.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n")

    with pytest.raises(Stopped):
        index._run(slow)
    stop["now"] = False
    assert index.indexed_sites() == ["news", "other"]
    index.close()


def test_hits_without_snippets_are_the_same_hits(index):
    full = index.search("harbour", limit=50)
    bare = index.search("harbour", limit=50, snippets=False)
    assert keys(bare) == keys(full) and len(full) >= 4
    assert all(h.snippet == "" and h.marks == [] for h in bare)
    assert any(h.snippet for h in full)


def test_a_search_without_catch_up_answers_from_the_index_as_it_is(store):
    """The reader keeps the index level in the background and searches without the check;
    an index never built is built all the same."""
    from cache.service import Service

    service = Service(store=store)
    assert service.search("harbour", catch_up=False)  # never built: built now
    store.save_sync("news", posts=[post(7, "Lighthouse keeper")], html={7: "<p>lamp</p>"})
    assert service.search("lighthouse", catch_up=False) == []
    assert [h.id for h in service.search("lighthouse")] == [7]
