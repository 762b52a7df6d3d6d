"""Shell commands for replies: ``login``, ``logout``, ``reply`` and ``outbox``.

``reply`` follows the slrn/rtv habit: the text comes from ``-m``, ``-F FILE``, stdin when it
is not a terminal, or else ``$VISUAL``/``$EDITOR`` (``tui.editor``) on a template quoting
what is answered. Exit codes: 0 published or held, 75 (EX_TEMPFAIL) queued in the outbox,
1 refused (the text stays in the outbox as a draft).

Invariants: nothing is asked or sent before every check that can be made locally has
passed — the login's transport (no password over plain http to a remote host), the post
and the comment answered (``--to`` must name a comment in the cache), a non-empty text.
Storing and sending (exactly once) is ``Service.reply``'s business.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from . import EXIT_ERROR, EXIT_OK, Command, emit_json, find_post, positive_int, site_argument, site_option

if TYPE_CHECKING:
    from cache.service import Service


def register(command: Command) -> None:
    """Add the reply commands to ``broadsheet``'s parser."""
    sub = command("login", cmd_login, "store an Application Password for a site (checked against the site)")
    site_argument(sub, "name", help="site name")
    sub.add_argument("--user", metavar="USER", help="WordPress user name (asked for when left out)")

    sub = command("logout", cmd_logout, "forget a site's stored Application Password")
    site_argument(sub, "name", help="site name")

    sub = command("reply", cmd_reply, "reply to a post or a comment (exit 75: queued in the outbox)")
    site_option(sub)
    sub.add_argument("post", metavar="POST", help="post id or URL")
    sub.add_argument(
        "--to",
        type=positive_int,
        metavar="COMMENT_ID",
        default=0,
        help="answer this comment (one in the cache: `broadsheet comments POST`)",
    )
    text = sub.add_mutually_exclusive_group()
    text.add_argument("-m", "--message", metavar="TEXT", help="the reply's text")
    text.add_argument("-F", "--file", metavar="FILE", help="read the reply from FILE ('-' for stdin)")
    sub.add_argument("--author", metavar="NAME", help="your name (comment form; default from config.toml)")
    sub.add_argument("--email", metavar="ADDR", help="your e-mail (comment form; default from config.toml)")

    sub = command("outbox", cmd_outbox, "list replies waiting to be sent; `send` sends them, `drop ID` deletes one")
    sub.add_argument("action", nargs="?", choices=("list", "send", "drop"), default="list")
    sub.add_argument("ids", nargs="*", type=positive_int, metavar="ID")
    site_option(sub, help="only this site")
    sub.add_argument("--json", action="store_true")


# -- login / logout -------------------------------------------------------------------------


def cmd_login(service: Service, args: argparse.Namespace) -> int:
    import asyncio
    import getpass

    from cache.errors import BroadsheetError

    site = service.store.site(args.name)
    service.check_login_transport(site.name)  # before asking anything
    interactive = sys.stdin.isatty()
    user = args.user
    if not user:
        if not interactive:
            raise BroadsheetError("give the WordPress user name with --user when the password comes from stdin")
        user = input("WordPress user: ").strip()
    if interactive:
        password = getpass.getpass(f"Application Password for {user} on {site.name}: ")
    else:
        password = sys.stdin.readline()
    # The password is bound to this address (scheme://host:port) and to the verified user id:
    # it is never sent to another site that is later given the same name.
    me = asyncio.run(service.login(site.name, user, password))
    named = f" ({me['name']})" if me.get("name") else ""
    print(f"logged in to {site.name} as {user.strip()}{named}; saved in {me['path']}")
    return EXIT_OK


def cmd_logout(service: Service, args: argparse.Namespace) -> int:
    from cache.errors import NotFound

    if not service.logout(args.name):
        raise NotFound(f"no stored password for {args.name!r}")
    print(f"logged out of {args.name}")
    return EXIT_OK


# -- reply -------------------------------------------------------------------------------------


def cmd_reply(service: Service, args: argparse.Namespace) -> int:
    import asyncio

    from cache.config import load_config
    from cache.errors import BroadsheetError, NotFound, Refused

    from ..editor import edit_text, strip_instructions, template

    store = service.store
    site, post = find_post(store, args.site, args.post)
    if refusal := service.replies_refused(store.site(site)):
        raise Refused(f"{refusal}: {post.link}" if post.link else refusal, "no_replies")
    parent = args.to or 0
    answered = None
    if parent:
        answered = next((c for c in store.comments(site, post.id) if c.id == parent), None)
        if answered is None:
            raise NotFound(
                f"no comment {parent} on post {post.id} in the cache: nothing sent "
                f"(`broadsheet comments {post.id}` lists them; run `broadsheet sync {site}` if it is new)"
            )
    config = load_config(args.config)
    author = args.author if args.author is not None else config.reply.author
    email = args.email if args.email is not None else config.reply.email
    if store.site(site).demo:  # the demo's form wants a name and e-mail: give it its own
        author, email = author or "Demo reader", email or "reader@demo.invalid"
    if not (author and email) and not service.has_login(site):
        print(
            "broadsheet: note: no login for this site and no name/e-mail "
            "(set [reply] author/email in config.toml, or --author/--email)",
            file=sys.stderr,
        )

    if args.message is not None:
        text = args.message
    elif args.file is not None:
        text = _read_file(args.file)
    elif not sys.stdin.isatty():
        text = sys.stdin.read()
    else:
        text = strip_instructions(edit_text(template(post.title, answered)))
    if not text.strip():
        raise BroadsheetError("the reply is empty: nothing sent")

    outcome = asyncio.run(service.reply(site, post.id, parent, text, author, email))
    if outcome.result == "published":
        print(outcome.link or outcome.summary())
    elif outcome.result == "held":
        print(outcome.summary())
    elif outcome.result == "refused":
        print(f"broadsheet: error: {outcome.summary()}", file=sys.stderr)
    else:
        print(outcome.summary(), file=sys.stderr)
    return outcome.exit_code


def _read_file(name: str) -> str:
    from cache.errors import BroadsheetError

    if name == "-":
        return sys.stdin.read()
    try:
        with open(name, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise BroadsheetError(f"cannot read {name}: {getattr(error, 'strerror', None) or error}") from None


# -- outbox ------------------------------------------------------------------------------------


def cmd_outbox(service: Service, args: argparse.Namespace) -> int:
    from cache.errors import BroadsheetError

    if args.action == "drop":
        if not args.ids:
            raise BroadsheetError("name the replies to drop: `broadsheet outbox drop ID`")
        for entry_id in args.ids:
            service.drop_reply(entry_id)
            print(f"dropped reply {entry_id}")
        return EXIT_OK
    if args.action == "send":
        return _outbox_send(service, args)
    items = service.outbox(args.site)
    if args.json:
        emit_json([service.outbox_json(e) for e in items])
        return EXIT_OK
    if not items:
        print("the outbox is empty")
        return EXIT_OK
    for e in items:
        target = f"post {e.post}" + (f", comment {e.parent}" if e.parent else "")
        first = " ".join(e.text.split())
        line = f"{e.id:>4}  {e.state:<8} {e.site}: {target}  “{first[:50]}{'…' if len(first) > 50 else ''}”"
        if e.state in ("sent", "held") and e.link:
            line += f"  {e.link}"
        elif e.last_error:
            line += f"  ({e.last_error})"
        print(line)
    return EXIT_OK


def _outbox_send(service: Service, args: argparse.Namespace) -> int:
    import asyncio

    outcomes = asyncio.run(service.send_outbox(args.ids or None, site=args.site))
    if not outcomes:
        print("nothing to send")
        return EXIT_OK
    for outcome in outcomes:
        line = f"{outcome.entry.id}: {outcome.summary()}"
        print(line, file=sys.stdout if outcome.exit_code == 0 else sys.stderr)
    codes = {outcome.exit_code for outcome in outcomes}
    return EXIT_ERROR if EXIT_ERROR in codes else max(codes)
