"""The ``broadsheet`` command.

``broadsheet`` alone opens the reader; the subcommands read and refresh the same cache from
the shell. Conventions every command keeps:

- output for people on stdout, ``--json`` for scripts; progress on stderr, and only when
  stderr is a terminal;
- every error is one line on stderr (``broadsheet: error: …``) and a non-zero exit; a
  traceback only with ``--debug``;
- nothing already stored is lost when a command fails.

Start-up is kept light (``broadsheet unread`` sits in status bars): heavy modules (httpx,
Textual, the HTML converter) are imported only by the commands that use them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from typing import TYPE_CHECKING

from cache.errors import BroadsheetError, NotFound

if TYPE_CHECKING:
    from cache.store import Store


EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_TEMPFAIL, EXIT_INTERRUPTED = 0, 1, 2, 75, 130


# -- the parser --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="broadsheet",
        description="A keyboard-driven terminal newsreader for WordPress news sites. "
        "With no command, opens the reader.",
    )
    parser.add_argument("--cache-dir", metavar="DIR", help="cache directory (default: $BROADSHEET_CACHE_DIR or the user cache dir)")
    parser.add_argument("--config", metavar="FILE", help="config file (default: config.toml in the user config dir)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("--site", metavar="NAME", help="(reader) start on this site")
    parser.add_argument("--open", metavar="POST", dest="open_post", help="(reader) open this post: an id or its URL")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Callable[..., int], help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    sub = command("add", cmd_add, "subscribe to a site (any page URL of it; `demo` for the bundled demo)")
    sub.add_argument("url")
    sub.add_argument("--name", help="short name for the site (default: from the host)")

    sub = command("remove", cmd_remove, "unsubscribe from a site and delete its cache and saved login")
    sub.add_argument("name")
    sub.add_argument("--force", action="store_true", help="also drop the site's unsent replies")

    sub = command("sites", cmd_sites, "list subscribed sites")
    sub.add_argument("--json", action="store_true")

    sub = command("sync", cmd_sync, "fetch what is new (all sites, or those named)")
    sub.add_argument("names", nargs="*", metavar="NAME")
    sub.add_argument("--full", action="store_true", help="fetch everything again, not just what changed")

    sub = command("categories", cmd_categories, "show the category tree")
    _site_arg(sub)
    sub.add_argument("--json", action="store_true")

    sub = command("posts", cmd_posts, "list posts, newest first")
    _site_arg(sub)
    sub.add_argument("--category", metavar="NAME_OR_ID")
    sub.add_argument("--unread", action="store_true", help="only unread posts")
    sub.add_argument("--limit", type=int, metavar="N")
    sub.add_argument("--json", action="store_true")

    sub = command("read", cmd_read, "print a post and mark it read")
    _site_arg(sub)
    sub.add_argument("post", metavar="POST", help="post id or URL")
    sub.add_argument("--json", action="store_true")
    sub.add_argument("--keep-unread", action="store_true", help="do not mark the post read")

    sub = command("comments", cmd_comments, "print a post's comments, threaded")
    _site_arg(sub)
    sub.add_argument("post", metavar="POST", help="post id or URL")
    sub.add_argument("--json", action="store_true")

    sub = command("unread", cmd_unread, "print the number of unread posts")
    sub.add_argument("--json", action="store_true", help="per-site counts as JSON")

    sub = command("mark", cmd_mark, "mark posts read (or --unread)")
    _site_arg(sub)
    sub.add_argument("posts", nargs="*", metavar="POST")
    sub.add_argument("--all", action="store_true", help="every post of the site")
    sub.add_argument("--unread", action="store_true", help="mark unread instead")

    _extend_parser(command)
    return parser


def _site_arg(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--site", metavar="NAME", help="site name (may be left out when one site is subscribed)")


def _extend_parser(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Commands defined in other modules (replies) register here."""
    try:
        from . import replies_cli
    except ImportError:
        return
    replies_cli.register(command)


# -- output helpers ----------------------------------------------------------------------


def emit_json(data: Any) -> None:
    import json

    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def progress_printer() -> Callable[[str, str], None] | None:
    """A progress callback writing to stderr, or None when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(site: str, message: str) -> None:
        sys.stderr.write(f"\r\x1b[K{site}: {message}")
        sys.stderr.flush()

    return show


def site_slug(url: str) -> str:
    """A default site name from a URL's host: ``www.example.com:8080`` → ``example.com-8080``."""
    from urllib.parse import urlsplit

    netloc = urlsplit(url if "://" in url else "//" + url).netloc.lower()
    netloc = netloc.rsplit("@", 1)[-1]
    if netloc.startswith("www."):
        netloc = netloc[4:]
    slug = re.sub(r"[^a-z0-9.]+", "-", netloc).strip("-.")
    return slug[:60] or "site"


# -- commands ----------------------------------------------------------------------------


def cmd_add(store: Store, args: argparse.Namespace) -> int:
    import asyncio

    from cache.service import Service

    service = Service(store=store)
    if args.url == "demo":
        site = service.add_demo()
        print(f"added {site.name}: {site.title} — run `broadsheet sync {site.name}` to fetch it")
        return EXIT_OK
    added = asyncio.run(service.subscribe(args.url, name=args.name))
    site = added.site
    if added.note:
        print(f"broadsheet: note: {added.note}", file=sys.stderr)
    print(f"added {site.name}: {site.title or site.url} ({site.kind}) — run `broadsheet sync {site.name}` to fetch it")
    return EXIT_OK


def cmd_remove(store: Store, args: argparse.Namespace) -> int:
    from cache import credentials, outbox

    site = store.site(args.name)
    pending = outbox.pending_for(store, site.name)
    if pending and not args.force:
        ids = ", ".join(str(e.id) for e in pending)
        raise BroadsheetError(
            f"{site.name} has {len(pending)} unsent repl{'ies' if len(pending) > 1 else 'y'} in the outbox ({ids}): "
            "send or drop them first (`broadsheet outbox`), or use --force"
        )
    for entry in pending:
        outbox.drop(store, entry.id)
    store.remove_site(site.name)
    forgot = credentials.delete(site.name)
    print(f"removed {site.name}" + (" and its saved login" if forgot else ""))
    return EXIT_OK


def cmd_sites(store: Store, args: argparse.Namespace) -> int:
    sites = store.sites()
    counts = store.unread_counts()
    rows = [
        {
            "name": s.name,
            "title": s.title,
            "url": s.url,
            "posts": len(store.post_ids(s.name)),
            "unread": counts.get(s.name, 0),
            "last_sync": s.last_sync,
            "last_error": s.last_error,
            "demo": s.demo,
        }
        for s in sites
    ]
    if args.json:
        emit_json(rows)
        return EXIT_OK
    if not rows:
        print("no sites yet: `broadsheet add URL` subscribes to one")
        return EXIT_OK
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        synced = (r["last_sync"] or "never").replace("T", " ")
        line = f"{r['name']:<{width}}  {r['unread']:>5} unread / {r['posts']:<5} {r['title'] or r['url']}  (synced {synced})"
        if r["last_error"]:
            line += f"  last error: {r['last_error']}"
        print(line)
    return EXIT_OK


def cmd_sync(store: Store, args: argparse.Namespace) -> int:
    import asyncio

    from cache.sync import sync_sites

    sites = [store.site(name) for name in args.names] if args.names else store.sites()
    if not sites:
        raise NotFound("no site is subscribed; add one with `broadsheet add URL`")
    progress = progress_printer()
    results = asyncio.run(sync_sites(store, sites, progress=progress, full=args.full))
    if progress:
        sys.stderr.write("\r\x1b[K")
    for result in results:
        print(result.summary(), file=sys.stdout if result.ok else sys.stderr)
    return EXIT_OK if all(r.ok for r in results) else EXIT_ERROR


def cmd_categories(store: Store, args: argparse.Namespace) -> int:
    sites = _sites_for(store, args.site)
    data = []
    for site in sites:
        from cache.models import category_chain, category_rows

        counts = store.category_unread(site.name)
        cats = {c.id: c for c in store.categories(site.name)}
        for depth, cat in category_rows(cats.values()):
            data.append(
                {"site": site.name, "id": cat.id, "name": cat.name, "slug": cat.slug, "parent": cat.parent,
                 "depth": depth, "path": [c.name for c in category_chain(cats, cat.id)], "count": cat.count,
                 "unread": counts.get(cat.id, 0)}
            )
    if args.json:
        emit_json(data)
        return EXIT_OK
    for site in sites:
        if len(sites) > 1:
            print(f"{site.name}:")
        indent = "  " if len(sites) > 1 else ""
        for row in (d for d in data if d["site"] == site.name):
            unread = f", {row['unread']} unread" if row["unread"] else ""
            print(f"{indent}{'  ' * row['depth']}{row['name']} ({row['count']}{unread})  [{row['id']}]")
    return EXIT_OK


def cmd_posts(store: Store, args: argparse.Namespace) -> int:
    sites = _sites_for(store, args.site)
    rows: list[tuple[Any, Any, bool]] = []
    for site in sites:
        category = store.find_category(site.name, args.category).id if args.category else None
        read = store.read_ids(site.name)
        names = {c.id: c.name for c in store.categories(site.name)}
        for post in store.posts(site.name, category=category, unread_only=args.unread, limit=args.limit):
            rows.append((post, names, post.id not in read))
    rows.sort(key=lambda r: r[0].date_gmt, reverse=True)
    if args.limit is not None:
        rows = rows[: max(args.limit, 0)]
    if args.json:
        emit_json([_post_json(p, names, unread) for p, names, unread in rows])
        return EXIT_OK
    multi = len(sites) > 1
    for post, _, unread in rows:
        flags = ("N" if unread else " ") + ("S" if post.sticky else " ")
        comments = f"  [{post.comment_count}]" if post.comment_count else ""
        where = f"{post.site}:" if multi else ""
        print(f"{flags} {where}{post.id:<7} {post.date[:10]}  {post.title}{comments}")
    return EXIT_OK


def _post_json(post: Any, names: dict[int, str], unread: bool) -> dict[str, Any]:
    return {
        "site": post.site, "id": post.id, "title": post.title, "date": post.date, "date_gmt": post.date_gmt,
        "modified": post.modified, "link": post.link, "categories": [names.get(c, str(c)) for c in post.categories],
        "author": post.author, "comment_count": post.comment_count, "unread": unread, "sticky": post.sticky,
        "protected": post.protected, "comment_status": post.comment_status,
    }


def cmd_read(store: Store, args: argparse.Namespace) -> int:
    site, post = find_post(store, args.site, args.post)
    article = store.article(site, post.id)
    names = {c.id: c.name for c in store.categories(site)}
    if not args.keep_unread:
        store.mark_read(site, [post.id])
    if args.json:
        emit_json({**_post_json(post, names, article.unread), "breadcrumb": article.breadcrumb, "body": article.body})
        return EXIT_OK
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
        out.write(article.body or "(this post has no text)\n")
    count = post.comment_count
    if count:
        out.write(f"\n{count} comment{'s' * (count != 1)}: broadsheet comments --site {site} {post.id}\n")
    return EXIT_OK


def cmd_comments(store: Store, args: argparse.Namespace) -> int:
    from cache.store import thread

    site, post = find_post(store, args.site, args.post)
    pairs = list(thread(store.comments(site, post.id)))
    if args.json:
        emit_json(
            [
                {"id": c.id, "parent": c.parent, "author": c.author, "date": c.date, "text": c.text,
                 "depth": depth, "status": c.status, "link": c.link}
                for depth, c in pairs
            ]
        )
        return EXIT_OK
    print(f"{len(pairs)} comment{'s' * (len(pairs) != 1)} on “{post.title}”\n")
    for depth, comment in pairs:
        pad = "  " * depth
        status = "" if comment.status == "approved" else f" [{comment.status}]"
        print(f"{pad}{comment.author} · {comment.date.replace('T', ' ')[:16]} · #{comment.id}{status}")
        for line in comment.text.rstrip().splitlines() or [""]:
            print(f"{pad}  {line}".rstrip())
        print()
    return EXIT_OK


def cmd_unread(store: Store, args: argparse.Namespace) -> int:
    counts = store.unread_counts()
    if args.json:
        emit_json({"total": sum(counts.values()), "sites": counts})
    else:
        print(sum(counts.values()))
    return EXIT_OK


def cmd_mark(store: Store, args: argparse.Namespace) -> int:
    site = store.site(args.site).name
    if args.all:
        ids = sorted(store.post_ids(site))
    elif args.posts:
        ids = [store.find_post(site, p).id for p in args.posts]
    else:
        raise BroadsheetError("name the posts to mark, or use --all")
    store.mark_read(site, ids, read=not args.unread)
    print(f"marked {len(ids)} post{'s' * (len(ids) != 1)} {'unread' if args.unread else 'read'}")
    return EXIT_OK


def _sites_for(store: Store, name: str | None) -> list[Any]:
    if name:
        return [store.site(name)]
    sites = store.sites()
    if not sites:
        raise NotFound("no site is subscribed; add one with `broadsheet add URL`")
    return sites


def find_post(store: Store, site_name: str | None, key: str) -> tuple[str, Any]:
    """``(site, post)`` for an id or URL; a URL finds its site even among several."""
    if site_name or not ("://" in key):
        site = store.site(site_name).name
        return site, store.find_post(site, key)
    for site in store.sites():
        try:
            return site.name, store.find_post(site.name, key)
        except NotFound:
            continue
    raise NotFound(f"no cached post at {key}; try `broadsheet sync`")


# -- entry point -------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["unread"] and set(argv[1:]) <= {"--json"}:
        quick = _quick_unread("--json" in argv)
        if quick is not None:
            return quick
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:  # otherwise Python's last-resort handler prints warnings, bare
        import logging  # (not imported by default: `broadsheet unread` starts in status bars)

        logging.basicConfig(level=logging.DEBUG, format="broadsheet: %(levelname)s: %(name)s: %(message)s")
    from cache.storage import on_corruption
    from cache.store import Store

    on_corruption(_warn_corrupt)
    try:
        store = Store(args.cache_dir)
        if args.command is None:
            return run_reader(store, args)
        return args.handler(store, args)
    except KeyboardInterrupt:
        print("broadsheet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BroadsheetError as error:
        if args.debug:
            raise
        print(f"broadsheet: error: {_one_line(error)}", file=sys.stderr)
        return getattr(error, "exit_code", EXIT_ERROR)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as error:  # a bug: still one line unless --debug
        if args.debug:
            raise
        print(
            f"broadsheet: internal error: {type(error).__name__}: {_one_line(error)} (run with --debug for details)",
            file=sys.stderr,
        )
        return EXIT_ERROR


def _quick_unread(as_json: bool) -> int | None:
    """``broadsheet unread`` without the store's machinery (see ``cache.quick``)."""
    from cache import paths
    from cache.quick import unread_counts

    counts = unread_counts(paths.cache_dir())
    if counts is None:
        return None
    if as_json:
        emit_json({"total": sum(counts.values()), "sites": counts})
    else:
        print(sum(counts.values()))
    return EXIT_OK


def run_reader(store: Store, args: argparse.Namespace) -> int:
    from cache.config import load_config

    config = load_config(args.config)
    from .app import run_reader as run

    return run(store, config, site=args.site, open_post=args.open_post)


def _warn_corrupt(path: Any, moved: Any) -> None:
    print(f"broadsheet: warning: {path} was corrupt; kept it as {moved.name} (run `broadsheet sync` to rebuild)",
          file=sys.stderr)


def _one_line(error: BaseException) -> str:
    from cache.safe import clean_line

    return clean_line(str(error))[:300] or type(error).__name__
