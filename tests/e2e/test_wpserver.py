"""Tests of the WordPress harness itself: the server it starts answers like a real site."""

from __future__ import annotations

import os
import re
import uuid

import httpx
import pytest

from .wpserver import WP_CONFIG_DIR, WordPress, WordPressError


def _uniq(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def test_rest_root_lists_wp_v2_and_home_page_links_to_it(wordpress: WordPress, wp_http: httpx.Client) -> None:
    root = wp_http.get("/wp-json/")
    assert root.status_code == 200
    assert "wp/v2" in root.json()["namespaces"]

    home = wp_http.get("/")
    assert home.status_code == 200
    links = home.headers.get_list("link")
    assert f'<{wordpress.url}wp-json/>; rel="https://api.w.org/"' in links
    assert f'<link rel="https://api.w.org/" href="{wordpress.url}wp-json/"' in home.text


def test_posts_paging_headers(wordpress: WordPress, wp_http: httpx.Client) -> None:
    cat = wordpress.create_category(_uniq("Paging"))
    ids = [
        wordpress.create_post(
            f"Paging post {i}", f"<p>Body {i}</p>", categories=[cat], date=f"2024-03-0{i + 1} 10:00:00"
        )
        for i in range(3)
    ]

    page1 = wp_http.get("/wp-json/wp/v2/posts", params={"categories": cat, "per_page": 2})
    assert page1.status_code == 200
    assert page1.headers["X-WP-Total"] == "3"
    assert page1.headers["X-WP-TotalPages"] == "2"
    assert [p["id"] for p in page1.json()] == [ids[2], ids[1]]  # newest first

    page2 = wp_http.get("/wp-json/wp/v2/posts", params={"categories": cat, "per_page": 2, "page": 2})
    assert [p["id"] for p in page2.json()] == [ids[0]]

    page3 = wp_http.get("/wp-json/wp/v2/posts", params={"categories": cat, "per_page": 2, "page": 3})
    assert page3.status_code == 400
    assert page3.json()["code"] == "rest_post_invalid_page_number"


def test_held_comment_is_not_visible_anonymously(wordpress: WordPress, wp_http: httpx.Client) -> None:
    post = wordpress.create_post(_uniq("Comments"), "<p>x</p>")
    visible = wordpress.create_comment(post, "Approved one")
    held = wordpress.create_comment(post, "Held one", approved=False)

    r = wp_http.get("/wp-json/wp/v2/comments", params={"post": post})
    assert r.status_code == 200
    assert [c["id"] for c in r.json()] == [visible]
    assert r.headers["X-WP-Total"] == "1"
    assert wordpress.count_comments(post) == 2
    assert {c["id"]: c["approved"] for c in wordpress.comments_of(post)} == {visible: "1", held: "0"}


def test_application_password_authenticates_basic_auth(wordpress: WordPress, wp_http: httpx.Client) -> None:
    login = "reader" + uuid.uuid4().hex[:6]
    user_id = wordpress.create_user(login, role="subscriber", display_name="A Reader")
    password = wordpress.create_app_password(login)
    assert re.fullmatch(r"[A-Za-z0-9]{24}", password)

    me = wp_http.get("/wp-json/wp/v2/users/me", auth=(login, password))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user_id
    assert me.json()["name"] == "A Reader"

    assert wp_http.get("/wp-json/wp/v2/users/me").status_code == 401
    # WordPress 6.1 quirk: the "incorrect_password" error is collected too late, so a wrong
    # application password looks exactly like no credentials at all.
    wrong = wp_http.get("/wp-json/wp/v2/users/me", auth=(login, "x" * 24))
    assert wrong.status_code == 401
    assert wrong.json()["code"] in ("rest_not_logged_in", "incorrect_password")


def test_anonymous_comment_form_creates_exactly_one_comment(wordpress: WordPress, wp_http: httpx.Client) -> None:
    post = wordpress.create_post(_uniq("Form"), "<p>Comment on me</p>")
    r = wp_http.post(
        "/wp-comments-post.php",
        data={
            "comment": "Hello from the form",
            "author": "Form Reader",
            "email": "form@example.com",
            "url": "",
            "comment_post_ID": str(post),
            "comment_parent": "0",
        },
    )
    assert r.status_code == 302, r.text[:500]
    m = re.search(r"#comment-(\d+)$", r.headers["location"])
    assert m, r.headers["location"]
    assert "unapproved=" not in r.headers["location"]  # moderation is off

    comments = wordpress.comments_of(post)
    assert len(comments) == 1 and wordpress.count_comments(post) == 1
    assert comments[0]["id"] == int(m.group(1))
    assert comments[0]["content"] == "Hello from the form"
    assert comments[0]["author"] == "Form Reader"
    assert comments[0]["approved"] == "1"

    # A second comment right away is allowed (no flood check), a duplicate is not.
    again = wp_http.post(
        "/wp-comments-post.php",
        data={
            "comment": "Hello from the form",
            "author": "Form Reader",
            "email": "form@example.com",
            "comment_post_ID": str(post),
            "comment_parent": "0",
        },
    )
    assert again.status_code == 409
    other = wp_http.post(
        "/wp-comments-post.php",
        data={
            "comment": "A second thought",
            "author": "Form Reader",
            "email": "form@example.com",
            "comment_post_ID": str(post),
            "comment_parent": str(comments[0]["id"]),
        },
    )
    assert other.status_code == 302
    assert wordpress.count_comments(post) == 2
    assert wordpress.comments_of(post)[1]["parent"] == comments[0]["id"]


def test_php_errors_raise_with_stderr(wordpress: WordPress) -> None:
    assert wordpress.php("echo get_option('permalink_structure');") == "/%year%/%monthnum%/%postname%/"
    with pytest.raises(WordPressError, match="boom from the test"):
        wordpress.php("throw new RuntimeException('boom from the test');")


def test_seed_bulk_on_a_fresh_site_without_pretty_permalinks(fresh_wordpress) -> None:
    wp = fresh_wordpress(pretty_permalinks=False)
    config = WP_CONFIG_DIR / f"config-{wp.host}.php"
    assert config.exists() and wp.host != "127.0.0.42"

    seeded = wp.seed_bulk(posts=30, comments=90, categories=4, body_bytes=1000)
    assert len(seeded["posts"]) == 30 and len(seeded["comments"]) == 90
    assert len(seeded["categories"]) == 4

    with httpx.Client(base_url=wp.url, trust_env=False, timeout=30) as http:
        # No pretty permalinks: /wp-json/ is just the HTML home page (200!); the Link header
        # points at ?rest_route=.
        home = http.get("/wp-json/")
        assert home.headers["content-type"].startswith("text/html")
        assert f'<{wp.url}index.php?rest_route=/>; rel="https://api.w.org/"' in home.headers.get_list("link")
        assert http.get("/", params={"rest_route": "/"}).json()["namespaces"]
        posts = http.get("/", params={"rest_route": "/wp/v2/posts", "per_page": 100})
        assert posts.status_code == 200
        assert posts.headers["X-WP-Total"] == "31"  # + "Hello world!"
        assert all(len(p["content"]["rendered"]) > 800 for p in posts.json() if p["id"] in seeded["posts"])
        comments = http.get("/", params={"rest_route": "/wp/v2/comments", "per_page": 1})
        assert comments.headers["X-WP-Total"] == "91"  # + the default comment
        cats = http.get("/", params={"rest_route": "/wp/v2/categories", "per_page": 100}).json()
        counts = {c["id"]: c["count"] for c in cats}
        assert sum(counts[c] for c in seeded["categories"]) >= 30

    tmp = wp.tmp
    pids = [p.pid for p in wp._procs.values()]
    wp.stop()
    assert not config.exists()
    assert tmp is not None and not tmp.exists()
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}")
    with pytest.raises(httpx.ConnectError):
        httpx.get(wp.url, trust_env=False, timeout=5)


def test_timezone_moderation_and_flood_options(fresh_wordpress) -> None:
    wp = fresh_wordpress(timezone="Asia/Kolkata", moderate_comments=True, comment_flood=True)
    post = wp.create_post("Dated", "<p>x</p>", date="2024-06-01 12:00:00")
    c1 = wp.create_comment(post, "c1", date="2024-06-01 12:00:00")
    c2 = wp.create_comment(post, "c2", date="2024-06-01 13:00:00")
    assert wp.comments_of(post)[0]["date_gmt"] == "2024-06-01 06:30:00"

    with httpx.Client(base_url=wp.url, trust_env=False, timeout=30) as http:
        p = http.get(f"/wp-json/wp/v2/posts/{post}").json()
        assert (p["date"], p["date_gmt"]) == ("2024-06-01T12:00:00", "2024-06-01T06:30:00")

        def after(value: str) -> list[int]:
            return [c["id"] for c in http.get("/wp-json/wp/v2/comments", params={"post": post, "after": value}).json()]

        # `after` compares comment_date (site-local), strictly; an explicit offset is honoured.
        assert after("2024-06-01T12:00:00") == [c2]
        assert after("2024-06-01T11:59:59") == [c2, c1]
        assert after("2024-06-01T06:45:00Z") == [c2]

        form = {"comment": "Please hold me", "author": "Mod", "email": "mod@example.com", "comment_post_ID": str(post)}
        r = http.post("/wp-comments-post.php", data=form)
        assert r.status_code == 302
        assert "unapproved=" in r.headers["location"] and "moderation-hash=" in r.headers["location"]
        assert wp.comments_of(post)[-1]["approved"] == "0"
        # comment_flood=True keeps WordPress's 15-second throttle.
        r = http.post("/wp-comments-post.php", data={**form, "comment": "Too soon"})
        assert r.status_code == 429
    assert wp.count_comments(post) == 3
