"""Shell commands for reading: ``categories``, ``posts``, ``read``, ``comments``, ``unread``
and ``mark``.

They read through ``Store`` and change read state only through ``Service.mark``.
``categories`` and ``posts --limit N`` (without ``--category``) read each site's summary
(``Store.summary``: one small file a site), never the post indexes, so they stay fast over
hundreds of sites; ``posts`` without a limit or with a category reads the indexes.
``read`` prints the post first and marks it afterwards: a cache that cannot be written
(full disk, read-only) still shows the post, then warns and exits 1.
``unread`` normally never gets here: ``main`` answers it from ``cache.quick``; this is the
fallback when the quick files disagree with the index.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import TYPE_CHECKING, Any

from . import (
    EXIT_ERROR,
    EXIT_OK,
    Command,
    describe,
    emit_json,
    find_post,
    positive_int,
    site_option,
    sites_for,
    usage_error,
    warn,
)

if TYPE_CHECKING:
    from cache.models import Post
    from cache.service import Service


def register(command: Command) -> None:
    """Add the reading commands to ``broadsheet``'s parser."""
    sub = command("categories", cmd_categories, "show the category tree")
    site_option(sub)
    sub.add_argument("--json", action="store_true")

    sub = command("posts", cmd_posts, "list posts, newest first")
    site_option(sub)
    sub.add_argument("--category", metavar="NAME_OR_ID")
    sub.add_argument("--unread", action="store_true", help="only unread posts")
    sub.add_argument("--limit", type=positive_int, metavar="N", help="at most N posts (N >= 1)")
    sub.add_argument("--json", action="store_true")

    sub = command(
        "read",
        cmd_read,
        "print a post and mark it read\n\n"
        "The post is printed first; if it cannot then be marked read (a full or read-only\n"
        "cache), a warning follows and the exit status is 1.",
    )
    site_option(sub)
    sub.add_argument("post", metavar="POST", help="post id or URL")
    sub.add_argument("--json", action="store_true")
    sub.add_argument("--keep-unread", action="store_true", help="do not mark the post read")

    sub = command("comments", cmd_comments, "print a post's comments, threaded")
    site_option(sub)
    sub.add_argument("post", metavar="POST", help="post id or URL")
    sub.add_argument("--json", action="store_true")

    sub = command("unread", cmd_unread, "print the number of unread posts")
    sub.add_argument("--json", action="store_true", help="per-site counts as JSON")

    sub = command("search", cmd_search, "search every cached post (title and body) and comment, newest first")
    site_option(sub)
    sub.add_argument("query", nargs="+", metavar="WORD", help='words (all must match); "quoted phrases" too')
    sub.add_argument("--limit", type=positive_int, default=50, metavar="N")
    sub.add_argument("--json", action="store_true")

    command("reindex", cmd_reindex, "rebuild the search index from the cache")

    sub = command("mark", cmd_mark, "mark posts read (or --unread)")
    site_option(sub)
    sub.add_argument("posts", nargs="*", metavar="POST")
    sub.add_argument("--all", action="store_true", help="every post of the site")
    sub.add_argument("--unread", action="store_true", help="mark unread instead")


def cmd_categories(service: Service, args: argparse.Namespace) -> int:
    from cache.models import category_chain, category_rows

    store = service.store
    sites = sites_for(store, args.site)
    data: list[dict[str, Any]] = []
    for site in sites:
        summary = store.summary(site.name)  # categories and unread counts, not the posts
        counts = summary.category_unread()
        cats = {c.id: c for c in summary.categories}
        for depth, cat in category_rows(cats.values()):
            data.append(
                {
                    "site": site.name,
                    "id": cat.id,
                    "name": cat.name,
                    "slug": cat.slug,
                    "parent": cat.parent,
                    "depth": depth,
                    "path": [c.name for c in category_chain(cats, cat.id)] if args.json else [],
                    "count": cat.count,
                    "unread": counts.get(cat.id, 0),
                }
            )
    if args.json:
        emit_json(data)
        return EXIT_OK
    multi = len(sites) > 1
    indent = "  " if multi else ""
    by_site: dict[str, list[dict[str, Any]]] = {site.name: [] for site in sites}
    for row in data:
        by_site[row["site"]].append(row)
    lines = []
    for name, rows in by_site.items():
        if multi:
            lines.append(f"{name}:")
        for row in rows:
            unread = f", {row['unread']} unread" if row["unread"] else ""
            pad = "  " * row["depth"]
            lines.append(f"{indent}{pad}{row['name']} ({row['count']}{unread})  [{row['id']}]")
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")  # one write: hundreds of sites make thousands of lines
    return EXIT_OK


def cmd_posts(service: Service, args: argparse.Namespace) -> int:
    store = service.store
    sites = sites_for(store, args.site)
    rows: list[tuple[Post, dict[int, str], bool]] = []
    for site in sites:
        if args.limit is not None and not args.category:  # the summaries' newest rows, no index
            summary = store.summary(site.name)
            # once `limit` posts are in hand, a later site's post must be newer to get in
            # (the merge is stable: on equal dates the earlier site's post stays ahead)
            after = rows[-1][0].date_gmt if len(rows) >= args.limit else ""
            posts = summary.newest(args.limit, unread_only=args.unread, after=after)
            if posts is None:  # too few unread among them: this site's index answers
                posts = store.posts(site.name, unread_only=args.unread, limit=args.limit)
            if posts:
                names = summary.category_names()
                rows.extend((post, names, summary.unread(post.id)) for post in posts)
                rows.sort(key=lambda r: r[0].date_gmt, reverse=True)
                del rows[args.limit :]
            continue
        category = store.find_category(site.name, args.category).id if args.category else None
        read = store.read_ids(site.name)
        names = {c.id: c.name for c in store.categories(site.name)}
        for post in store.posts(site.name, category=category, unread_only=args.unread, limit=args.limit):
            rows.append((post, names, post.id not in read))
    rows.sort(key=lambda r: r[0].date_gmt, reverse=True)
    if args.limit is not None:
        rows = rows[: args.limit]
    if args.json:
        emit_json([post_json(p, names, unread) for p, names, unread in rows])
        return EXIT_OK
    multi = len(sites) > 1
    for post, _, unread in rows:
        flags = ("N" if unread else " ") + ("S" if post.sticky else " ")
        comments = f"  [{post.comment_count}]" if post.comment_count else ""
        where = f"{post.site}:" if multi else ""
        print(f"{flags} {where}{post.id:<7} {post.date[:10]}  {post.title}{comments}")
    return EXIT_OK


def post_json(post: Post, names: dict[int, str], unread: bool) -> dict[str, Any]:
    """A post for ``--json`` output."""
    return {
        "site": post.site,
        "id": post.id,
        "title": post.title,
        "date": post.date,
        "date_gmt": post.date_gmt,
        "modified": post.modified,
        "link": post.link,
        "categories": [names.get(c, str(c)) for c in post.categories],
        "author": post.author,
        "comment_count": post.comment_count,
        "unread": unread,
        "sticky": post.sticky,
        "protected": post.protected,
        "comment_status": post.comment_status,
    }


def cmd_read(service: Service, args: argparse.Namespace) -> int:
    store = service.store
    site, post = find_post(store, args.site, args.post)
    article = store.article(site, post.id)
    names = {c.id: c.name for c in store.categories(site)}
    if args.json:
        emit_json({**post_json(post, names, article.unread), "breadcrumb": article.breadcrumb, "body": article.body})
    else:
        _print_article(site, post, article, names)
    sys.stdout.flush()
    if args.keep_unread:
        return EXIT_OK
    from cache.errors import BroadsheetError

    try:
        service.mark(site, [post.id])
    except (BroadsheetError, OSError) as error:  # the post is out; say why it stays unread
        warn(f"post {post.id} not marked read: {describe(error, service.directory)}")
        return EXIT_ERROR
    return EXIT_OK


def _print_article(site: str, post: Post, article: Any, names: dict[int, str]) -> None:
    out = sys.stdout
    out.write(" › ".join(article.breadcrumb) + "\n\n")
    out.write(post.title + "\n" + "=" * min(len(post.title), 78) + "\n")
    byline = " · ".join(x for x in (f"By {post.author}" if post.author else "", post.date.replace("T", " ")[:16]) if x)
    out.write(byline + "\n")
    cats = ", ".join(names.get(c, str(c)) for c in post.categories)
    if cats:
        out.write(f"Filed under {cats}\n")
    out.write(post.link + "\n\n")
    if post.protected:
        out.write("This post is password protected: open it in a browser to enter the password.\n")
    else:
        out.write(_plain_markdown(article.body) or "(this post has no text)\n")
    count = post.comment_count
    if count:
        out.write(f"\n{count} comment{'s' * (count != 1)}: broadsheet comments --site {site} {post.id}\n")


def cmd_comments(service: Service, args: argparse.Namespace) -> int:

    store = service.store
    site, post = find_post(store, args.site, args.post)
    pairs = store.threaded(site, post.id)
    if args.json:
        emit_json(
            [
                {
                    "id": c.id,
                    "parent": c.parent,
                    "author": c.author,
                    "date": c.date,
                    "text": c.text,
                    "depth": depth,
                    "status": c.status,
                    "link": c.link,
                }
                for depth, c in pairs
            ]
        )
        return EXIT_OK
    print(f"{len(pairs)} comment{'s' * (len(pairs) != 1)} on “{post.title}”\n")
    for depth, comment in pairs:
        pad = "  " * depth
        status = "" if comment.status == "approved" else f" [{comment.status}]"
        print(f"{pad}{comment.author} · {comment.date.replace('T', ' ')[:16]} · #{comment.id}{status}")
        for line in _plain_markdown(comment.text).rstrip().splitlines() or [""]:
            print(f"{pad}  {line}".rstrip())
        print()
    return EXIT_OK


def cmd_unread(service: Service, args: argparse.Namespace) -> int:
    counts = service.store.unread_counts()
    if args.json:
        emit_json({"total": sum(counts.values()), "sites": counts})
    else:
        print(sum(counts.values()))
    return EXIT_OK


def cmd_mark(service: Service, args: argparse.Namespace) -> int:
    from cache.errors import BroadsheetError

    store = service.store
    read = not args.unread
    if args.all:  # every post of the site, or of every site when none is named
        count = sum(service.mark_all(site.name, read) for site in sites_for(store, args.site))
    elif args.posts:
        count = 0
        for key in args.posts:
            site, post = find_post(store, args.site, key)
            count += service.mark(site, [post.id], read)
    else:
        raise BroadsheetError("name the posts to mark, or use --all")
    print(f"marked {count} post{'s' * (count != 1)} {'read' if read else 'unread'}")
    return EXIT_OK


def cmd_search(service: Service, args: argparse.Namespace) -> int:
    query = " ".join(args.query)
    if not service.query_terms(query):
        return usage_error("search", 'give a word or a "phrase" to look for (letters or digits)')
    hits = service.search(query, site=args.site, limit=args.limit)
    if args.json:
        emit_json([hit.as_json() for hit in hits])
        return EXIT_OK
    if not hits:
        print(f"nothing matches {query!r}", file=sys.stderr)
        return EXIT_OK
    multi = len({hit.site for hit in hits}) > 1 or (args.site is None and len(service.store.sites()) > 1)
    for hit in hits:
        where = f"{hit.site}:" if multi else ""
        what = f"comment #{hit.comment_id} on " if hit.in_ == "comment" else ""
        print(f"{where}{hit.id:<7} {hit.date[:10]}  {what}{hit.title}")
        if hit.snippet:
            print(f"          {hit.marked('«', '»')}")
    return EXIT_OK


def cmd_reindex(service: Service, args: argparse.Namespace) -> int:
    count = service.reindex()
    print(f"indexed {count} post{'s' * (count != 1)}")
    return EXIT_OK


_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<&])")


def _plain_markdown(text: str) -> str:
    """Markdown for reading in a terminal: the converter's backslash escapes (``1\\.``,
    ``\\#``) dropped, which only matter to a Markdown renderer."""
    return _ESCAPED.sub(r"\1", text)
