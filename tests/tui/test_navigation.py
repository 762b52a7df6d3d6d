"""``tui.navigation.PostLists`` without Textual: list order, filter, neighbours, steps."""

from __future__ import annotations

from cache.models import Category, Post, Site
from tui.listing import Listing, SiteListing
from tui.navigation import PostLists, Step


def listing(read: set[int] = frozenset()) -> Listing:  # type: ignore[assignment]
    """Six posts, newest (6) first; even ids in category 1 "Harbour" (child of 2 "News")."""
    site = Site(name="s", url="https://s.invalid/")
    posts = [
        Post(
            id=i,
            site="s",
            title=f"{'Harbour' if i % 2 == 0 else 'Town'} story {i}",
            categories=[1] if i % 2 == 0 else [2],
        )
        for i in range(6, 0, -1)
    ]
    cats = [Category(id=1, site="s", name="Harbour", parent=2), Category(id=2, site="s", name="News")]
    return Listing({"s": SiteListing.build(site, posts, cats, set(read))})


def test_lists_are_newest_first_and_categories_include_their_children():
    lists = PostLists(listing())
    assert lists.ids(("s", None)) == [6, 5, 4, 3, 2, 1]
    assert lists.ids(("s", 1)) == [6, 4, 2]
    assert lists.ids(("s", 2)) == [6, 5, 4, 3, 2, 1]  # News holds Harbour's posts too
    assert lists.ids(("nosuch", None)) == []


def test_filter_applies_and_is_forgotten_when_changed():
    lists = PostLists(listing())
    lists.filter_text = "town"
    assert lists.ids(("s", None)) == [5, 3, 1]
    lists.filter_text = "STORY 4"
    assert lists.ids(("s", None)) == [4]
    lists.filter_text = ""
    assert lists.ids(("s", None)) == [6, 5, 4, 3, 2, 1]
    lists.filter_text = "town"
    lists.listing = Listing()  # a new snapshot forgets the memo
    assert lists.ids(("s", None)) == []


def test_neighbours():
    lists = PostLists(listing())
    newer, older = lists.neighbours(("s", 1), 4)
    assert (newer.id, older.id) == (6, 2)
    assert lists.neighbours(("s", 1), 6)[0] is None
    assert lists.neighbours(("s", 1), 2)[1] is None
    assert lists.neighbours(("s", 1), 5) == (None, None)  # not in that list


def test_step_next_previous_and_from_nothing():
    lists = PostLists(listing())
    key = ("s", None)
    assert lists.step(key, None, +1, unread=False) == Step(6)  # nothing open: the newest
    assert lists.step(key, 6, +1, unread=False) == Step(5)
    assert lists.step(key, 5, -1, unread=False) == Step(6)
    end = lists.step(key, 1, +1, unread=False)
    assert end.post_id is None and end.message == "No older post in this list."
    assert lists.step(key, None, -1, unread=False).message == "No newer post in this list."
    assert lists.step(key, 99, +1, unread=False) == Step(6)  # filtered out: from the top


def test_step_unread_skips_read_posts_and_follows_changes():
    snapshot = listing(read={6, 5, 3})
    lists = PostLists(snapshot)
    key = ("s", None)
    assert lists.step(key, None, +1, unread=True) == Step(4)
    assert lists.step(key, 4, +1, unread=True) == Step(2)
    assert lists.step(key, 4, -1, unread=True).message == "No newer unread post in this list."
    snapshot.sites["s"].set_read(5, False)
    assert lists.step(key, 4, -1, unread=True) == Step(5)
