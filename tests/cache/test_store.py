from __future__ import annotations

import pytest

from cache.errors import NotFound, StoreError
from cache.models import Category, Comment, Post, Site
from cache.store import Store, thread


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache")
    store.add_site(Site(name="news", url="https://n.test"))
    cats = [
        Category(2, "news", "News"),
        Category(3, "news", "Local", parent=2),
        Category(4, "news", "Harbour", parent=3),
        Category(5, "news", "Sport"),
    ]
    posts = [
        Post(
            1, "news", "Oldest", date_gmt="2026-01-01T00:00:00", categories=[5], link="https://n.test/2026/01/oldest/"
        ),
        Post(
            2,
            "news",
            "Middle",
            date_gmt="2026-01-02T00:00:00",
            categories=[2, 3, 4],
            link="https://n.test/2026/01/middle/",
        ),
        Post(
            3, "news", "Newest", date_gmt="2026-01-03T00:00:00", categories=[3], link="https://n.test/2026/01/newest/"
        ),
    ]
    store.save_sync("news", posts=posts, bodies={1: "one", 2: "two", 3: "three"}, comments=[], categories=cats)
    return store


def test_posts_newest_first_and_by_category_including_children(store):
    assert [p.id for p in store.posts("news")] == [3, 2, 1]
    assert [p.id for p in store.posts("news", category=2)] == [3, 2]
    assert [p.id for p in store.posts("news", category=4)] == [2]
    assert [p.id for p in store.posts("news", limit=1)] == [3]


def test_unread_by_default_and_toggle(store):
    assert store.unread_counts() == {"news": 3}
    store.mark_read("news", [1, 3])
    assert [p.id for p in store.posts("news", unread_only=True)] == [2]
    store.mark_read("news", [3], read=False)
    assert store.read_ids("news") == {1}
    assert store.category_unread("news") == {2: 1, 3: 2, 4: 1}


def test_article_breadcrumb_follows_the_deepest_category(store):
    article = store.article("news", 2)
    assert article.breadcrumb == ["Home", "News", "Local", "Harbour"]
    assert article.body == "two" and article.unread


def test_find_post_by_id_link_and_query(store):
    assert store.find_post("news", "2").id == 2
    assert store.find_post("news", "https://n.test/2026/01/newest").id == 3
    assert store.find_post("news", "https://n.test/?p=1").id == 1
    with pytest.raises(NotFound):
        store.find_post("news", "https://n.test/nope/")
    with pytest.raises(NotFound):
        store.find_post("news", "not a post")


def test_find_category_by_id_slug_or_name(store):
    assert store.find_category("news", "3").name == "Local"
    assert store.find_category("news", "harbour").id == 4
    with pytest.raises(NotFound):
        store.find_category("news", "Weather")


def test_site_lookup_errors_are_one_line(store):
    with pytest.raises(NotFound, match="no site called"):
        store.site("other")
    store.add_site(Site(name="other", url="https://o.test"))
    with pytest.raises(NotFound, match="several sites"):
        store.site()
    with pytest.raises(StoreError, match="already subscribed"):
        store.add_site(Site(name="other", url="https://o.test"))
    with pytest.raises(StoreError, match="invalid site name"):
        store.add_site(Site(name="../evil", url="https://o.test"))


def test_remove_site_deletes_its_files(store):
    directory = store.directory / "sites" / "news"
    assert directory.exists()
    store.remove_site("news")
    assert not directory.exists() and store.sites() == []


def test_comments_threaded_depth_first_with_orphans_kept(store):
    comments = [
        Comment(10, "news", 2, 0, date_gmt="1"),
        Comment(11, "news", 2, 10, date_gmt="2"),
        Comment(12, "news", 2, 11, date_gmt="3"),
        Comment(13, "news", 2, 0, date_gmt="4"),
        Comment(14, "news", 2, 99, date_gmt="5"),  # parent held or missing
        Comment(15, "news", 2, 10, date_gmt="6"),
    ]
    store.save_sync("news", posts=[], bodies={}, comments=comments)
    pairs = [(d, c.id) for d, c in thread(store.comments("news", 2))]
    assert pairs == [(0, 10), (1, 11), (2, 12), (1, 15), (0, 13), (0, 14)]
    assert store.post("news", 2).comment_count == 6


def test_thread_survives_cycles():
    comments = [Comment(1, "s", 1, 2), Comment(2, "s", 1, 1)]
    assert sorted(c.id for _, c in thread(comments)) == [1, 2]


def test_a_second_store_instance_sees_changes(store):
    other = Store(store.directory)
    other.mark_read("news", [2])
    assert store.read_ids("news") == {2}


def test_unread_counts_use_the_summary_only_while_it_matches_the_index(store):
    from cache.storage import open_db, storage, table

    assert (store.directory / "sites" / "news" / "ids.json").exists()
    assert store.unread_counts() == {"news": 3}
    # another writer changes the index without refreshing the summary (a crash between the two)
    index = open_db(store.directory / "sites" / "news" / "index.json")
    with storage(index).batch():
        table(index, "posts").remove(doc_ids=[1])
    assert Store(store.directory).unread_counts() == {"news": 2}


def test_bodies_synced_as_html_are_converted_safely_when_read(store):
    store.save_sync("news", posts=[], html={2: "<h2>Hi</h2><p>there\x1b]0;x\x07</p><script>steal()</script>"})
    body = store.body("news", 2)
    assert body.startswith("## Hi") and "there" in body
    assert "steal" not in body and "\x1b" not in body
    assert store.article("news", 2).body == body


def test_a_confirmed_reply_counts_in_its_posts_comment_count(tmp_path):
    from cache.models import Comment, Post, Site
    from cache.store import Store

    store = Store(tmp_path)
    store.add_site(Site(name="news", url="https://n.example/"))
    store.save_sync("news", posts=[Post(1, "news", "One")], comments=[Comment(10, "news", 1, text="first")])
    assert store.post("news", 1).comment_count == 1
    store.add_comment(Comment(-3, "news", 1, text="mine, pending", status="pending"))
    assert store.post("news", 1).comment_count == 1, "a pending reply is not on the site yet"
    store.remove_comment("news", 1, -3)
    store.add_comment(Comment(11, "news", 1, text="mine, published"))
    assert store.post("news", 1).comment_count == 2
    assert Store(tmp_path).unread_counts() == {"news": 1}  # the summary follows the index
    store.save_sync("news", posts=[], comments=[Comment(11, "news", 1, text="mine, published")])
    assert store.post("news", 1).comment_count == 2, "a sync returning the same comment keeps the count"


# -- summaries (summary.json): what the shell's listings read instead of the indexes --------


@pytest.fixture
def many(tmp_path):
    from tests.factories import many_sites

    store = Store(tmp_path / "many")
    return store, many_sites(store)


def _listing(post):
    from cache.store import LISTING_FIELDS

    return {name: getattr(post, name) for name in (*LISTING_FIELDS, "site")}


def assert_summary_agrees_with_the_index(store, site):
    from cache.store import RECENT

    summary = store.summary(site)
    assert summary.post_count == len(store.post_ids(site))
    assert summary.unread_count == store.unread_counts()[site]
    assert summary.categories == store.categories(site)
    assert summary.category_unread() == store.category_unread(site)
    for unread_only in (False, True):
        for limit in (1, 7, 60, RECENT):
            fast = summary.newest(limit, unread_only=unread_only)
            if fast is None:
                continue
            full = store.posts(site, unread_only=unread_only, limit=limit)
            assert [_listing(p) for p in fast] == [_listing(p) for p in full]
    return summary


def test_summary_answers_as_the_index_does(many):
    store, names = many
    for name in names:
        summary = assert_summary_agrees_with_the_index(store, name)
        assert summary.newest(20) is not None and summary.newest(20, unread_only=True) is not None
    data = (store.directory / "sites" / names[0] / "summary.json").read_bytes()
    assert b'"recent"' in data and b'"by_category"' in data
    ids = (store.directory / "sites" / names[0] / "ids.json").read_bytes()
    assert b'"recent"' not in ids  # `broadsheet unread` parses ids.json: only the ids


def test_summary_says_when_its_newest_rows_cannot_tell(many):
    from cache.store import RECENT

    store, names = many  # 130 posts, more than RECENT
    summary = store.summary(names[0])
    assert summary.newest(RECENT + 1) is None
    newest = [p.id for p in store.posts(names[0], limit=RECENT)]
    store.mark_read(names[0], newest[5:])  # only 5 unread left among the newest rows
    summary = store.summary(names[0])
    assert [p.id for p in summary.newest(5, unread_only=True)] == newest[:5]
    assert summary.newest(6, unread_only=True) is None  # the index must answer
    small = Store(store.directory / "small")
    small.add_site(Site(name="tiny", url="https://t.test"))
    small.save_sync("tiny", posts=[Post(i, "tiny", f"P{i}", date_gmt=f"2026-01-0{i}T00:00:00") for i in (1, 2, 3)])
    assert [p.id for p in small.summary("tiny").newest(500)] == [3, 2, 1]  # all of them: complete


def test_summary_newest_after_a_date(many):
    store, names = many
    posts = store.posts(names[0])
    for cut in (posts[3].date_gmt, posts[-1].date_gmt, posts[110].date_gmt):
        for unread_only in (False, True):
            newer = [
                p.id for p in posts if p.date_gmt > cut and (not unread_only or p.id not in store.read_ids(names[0]))
            ]
            got = store.summary(names[0]).newest(20, unread_only=unread_only, after=cut)
            assert [p.id for p in got] == newer[:20]
    # all but the 3 newest read: below 20 unread among the summary's rows, and older unread
    # posts exist, yet none of them is newer than a cut inside the summary's rows
    store.mark_read(names[0], [p.id for p in posts[3:]])
    store.mark_read(names[0], [1, 2], read=False)
    summary = store.summary(names[0])
    assert [p.id for p in summary.newest(20, unread_only=True, after=posts[50].date_gmt)] == [130, 129, 128]
    assert summary.newest(20, unread_only=True) is None  # posts 1 and 2 are beyond its rows


def test_summary_is_rebuilt_by_every_sync(many):
    store, names = many
    site = names[1]
    store.save_sync(
        site, posts=[Post(1000, site, "Brand new", date_gmt="2030-01-01T00:00:00", categories=[5])], removed=[130]
    )
    summary = assert_summary_agrees_with_the_index(store, site)
    assert summary.newest(1)[0].title == "Brand new" and 130 not in [p.id for p in summary.newest(5)]
    assert summary.category_unread()[5] == 1


def test_a_stale_summary_falls_back_to_the_index(many):
    """A sync killed between the index write and the summary write leaves a summary whose
    stamp no longer matches the index: every listing then answers from the index."""
    from cache.storage import open_db, storage

    store, names = many
    site = names[0]
    summary_path = store.directory / "sites" / site / "summary.json"
    before = summary_path.read_bytes()
    index = open_db(store.directory / "sites" / site / "index.json")
    with storage(index).batch():  # what save_sync's index commit does, and then the "kill"
        data = dict(storage(index).read())
        posts = dict(data["posts"])
        del posts["130"]
        posts["999"] = {"id": 999, "title": "Only in the index", "date_gmt": "2031-01-01T00:00:00", "categories": [4]}
        data["posts"] = posts
        storage(index).write(data)
    assert summary_path.read_bytes() == before  # the summary still describes the old index
    fresh = Store(store.directory)
    summary = assert_summary_agrees_with_the_index(fresh, site)
    assert summary.newest(1)[0].title == "Only in the index"
    assert summary.post_count == 130 and "130" not in summary.post_keys


def test_a_summary_from_an_older_broadsheet_is_not_trusted(many):
    """An older Broadsheet wrote no summary.json (or one of another version): the listings
    read the index, and ``cache.quick`` still reads ids.json."""
    import orjson

    store, names = many
    path = store.directory / "sites" / names[0] / "summary.json"
    data = orjson.loads(path.read_bytes())
    data["summary"]["1"]["version"] = 1
    data["summary"]["1"]["recent"] = [[1]]
    path.write_bytes(orjson.dumps(data))
    assert_summary_agrees_with_the_index(Store(store.directory), names[0])
    (store.directory / "sites" / names[1] / "summary.json").unlink()
    summary = assert_summary_agrees_with_the_index(Store(store.directory), names[1])
    assert summary.categories and summary.newest(3)
    from cache.quick import unread_counts

    assert unread_counts(store.directory) == store.unread_counts()
