"""Shell commands for replies: ``login``, ``logout``, ``reply`` and ``outbox``.

``reply`` follows the slrn/rtv habit: the text comes from ``-m``, ``-F FILE``, stdin when it
is not a terminal, or else ``$VISUAL``/``$EDITOR`` on a template quoting what is answered.
Exit codes: 0 published or held, 75 (EX_TEMPFAIL) queued in the outbox, 1 refused (the text
stays in the outbox as a draft).

The editor helpers (``editor_command``, ``edit_text``, ``strip_instructions``) are shared
with the reader's compose screen.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cache.errors import AuthError, BroadsheetError, NotFound

if TYPE_CHECKING:
    from cache.store import Store

EXIT_OK, EXIT_ERROR, EXIT_TEMPFAIL = 0, 1, 75


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the reply commands to ``broadsheet``'s parser."""
    sub = command("login", cmd_login, "store an Application Password for a site (checked against the site)")
    sub.add_argument("name", metavar="NAME", help="site name")
    sub.add_argument("--user", metavar="USER", help="WordPress user name (asked for when left out)")

    sub = command("logout", cmd_logout, "forget a site's stored Application Password")
    sub.add_argument("name", metavar="NAME", help="site name")

    sub = command("reply", cmd_reply, "reply to a post or a comment (exit 75: queued in the outbox)")
    sub.add_argument("--site", metavar="NAME", help="site name (may be left out when one site is subscribed)")
    sub.add_argument("post", metavar="POST", help="post id or URL")
    sub.add_argument("--to", type=int, metavar="COMMENT_ID", default=0, help="answer this comment")
    text = sub.add_mutually_exclusive_group()
    text.add_argument("-m", "--message", metavar="TEXT", help="the reply's text")
    text.add_argument("-F", "--file", metavar="FILE", help="read the reply from FILE ('-' for stdin)")
    sub.add_argument("--author", metavar="NAME", help="your name (comment form; default from config.toml)")
    sub.add_argument("--email", metavar="ADDR", help="your e-mail (comment form; default from config.toml)")

    sub = command("outbox", cmd_outbox, "list replies waiting to be sent; `send` sends them, `drop ID` deletes one")
    sub.add_argument("action", nargs="?", choices=("list", "send", "drop"), default="list")
    sub.add_argument("ids", nargs="*", type=int, metavar="ID")
    sub.add_argument("--site", metavar="NAME", help="only this site")
    sub.add_argument("--json", action="store_true")


# -- login / logout -------------------------------------------------------------------------


def cmd_login(store: Store, args: argparse.Namespace) -> int:
    import asyncio
    import dataclasses
    import getpass

    from cache import credentials
    from cache.service import Service

    site = store.site(args.name)
    service = Service(store=store)
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
    password = password.strip()
    if not user or not password:
        raise AuthError("no user or password given: nothing stored")
    # The password is bound to this address (scheme://host:port) and to the verified user id:
    # it is never sent to another site that is later given the same name.
    creds = credentials.Credentials(site.name, user, password, origin=credentials.origin_of(site.api_root))

    del creds
    me = asyncio.run(service.login(site.name, user, password))
    print(f"logged in to {site.name} as {user}" + (f" ({me['name']})" if me.get("name") else "") + f"; saved in {me['path']}")
    return EXIT_OK


def cmd_logout(store: Store, args: argparse.Namespace) -> int:
    from cache import credentials

    if not credentials.remove(args.name):
        raise NotFound(f"no stored password for {args.name!r}")
    print(f"logged out of {args.name}")
    return EXIT_OK


# -- reply -------------------------------------------------------------------------------------


def cmd_reply(store: Store, args: argparse.Namespace) -> int:
    from cache import credentials, outbox
    from cache.config import load_config

    from . import cli

    site_name, post = cli.find_post(store, args.site, args.post)
    site = store.site(site_name)
    parent = args.to or 0
    answered = None
    if parent:
        answered = next((c for c in store.comments(site_name, post.id) if c.id == parent), None)
    config = load_config(args.config)
    author = args.author if args.author is not None else config.reply.author
    email = args.email if args.email is not None else config.reply.email
    if credentials.load(site.name) is None and not (author and email):
        print("broadsheet: note: no login for this site and no name/e-mail "
              "(set [reply] author/email in config.toml, or --author/--email)", file=sys.stderr)

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

    outcome = outbox.submit(store, site, post.id, parent, text, author, email, transport=_transport(site))
    if outcome.result == "published":
        print(outcome.link or outcome.summary())
    elif outcome.result == "held":
        print(outcome.summary())
    elif outcome.result == "refused":
        print(f"broadsheet: error: {outcome.summary()}", file=sys.stderr)
    else:
        print(outcome.summary(), file=sys.stderr)
    return outcome.exit_code


def _transport(site: Any) -> Any:
    from cache import sources

    return sources.transport_for(site)


def _read_file(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        with open(name, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise BroadsheetError(f"cannot read {name}: {getattr(error, 'strerror', None) or error}") from None


# -- outbox ------------------------------------------------------------------------------------


def cmd_outbox(store: Store, args: argparse.Namespace) -> int:
    from cache import outbox

    from .cli import emit_json

    if args.action == "drop":
        if not args.ids:
            raise BroadsheetError("name the replies to drop: `broadsheet outbox drop ID`")
        for entry_id in args.ids:
            outbox.drop(store, entry_id)
            print(f"dropped reply {entry_id}")
        return EXIT_OK
    if args.action == "send":
        return _outbox_send(store, args)
    items = outbox.entries(store, args.site)
    if args.json:
        emit_json([outbox.as_json(e) for e in items])
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


def _outbox_send(store: Store, args: argparse.Namespace) -> int:
    import asyncio

    from cache import outbox
    from cache.http import make_client

    ids = args.ids or None
    by_site: dict[str, list[int] | None] = {}
    if ids:
        for entry_id in ids:
            entry = outbox.get(store, entry_id)
            by_site.setdefault(entry.site, []).append(entry_id)  # type: ignore[union-attr]
    else:
        names = [args.site] if args.site else sorted({e.site for e in outbox.entries(store)})
        by_site = {name: None for name in names}

    async def run() -> list[Any]:
        results = []
        for name, wanted in by_site.items():
            site = store.site(name)
            async with make_client(_transport(site)) as client:
                results += await outbox.send_ids(store, site, client, wanted)
        return results

    outcomes = asyncio.run(run())
    if not outcomes:
        print("nothing to send")
        return EXIT_OK
    for outcome in outcomes:
        line = f"{outcome.entry.id}: {outcome.summary()}"
        print(line, file=sys.stdout if outcome.exit_code == 0 else sys.stderr)
    codes = {outcome.exit_code for outcome in outcomes}
    return EXIT_ERROR if EXIT_ERROR in codes else max(codes)


# -- the editor --------------------------------------------------------------------------------


INSTRUCTIONS = "# Lines starting with '#' are removed. Save an empty reply to cancel."


def template(title: str, comment: Any = None) -> str:
    """The editor's starting text: room to type, then what is answered, quoted as comments."""
    import textwrap

    lines = ["", ""]
    if comment is not None:
        lines.append(f"# Replying to {comment.author}'s comment #{comment.id} on “{title}”:")
        quoted = comment.text.strip().splitlines()
    else:
        lines.append(f"# Replying to “{title}”")
        quoted = []
    for line in quoted[:40]:
        lines.extend(f"# > {part}" for part in (textwrap.wrap(line, 74) or [""]))
    lines.append(INSTRUCTIONS)
    return "\n".join(lines) + "\n"


def strip_instructions(text: str) -> str:
    """The reply without the template's ``#`` lines and surrounding blank lines."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip()


def editor_command() -> list[str]:
    """``$VISUAL``, else ``$EDITOR``, else ``vi``, split like a shell would."""
    import shlex

    value = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    return shlex.split(value) or ["vi"]


def edit_text(text: str, suffix: str = ".md") -> str:
    """Let the user edit ``text`` in their editor; returns what they saved."""
    import subprocess
    import tempfile

    fd, path = tempfile.mkstemp(prefix="broadsheet-reply-", suffix=suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        command = [*editor_command(), path]
        try:
            status = subprocess.run(command, check=False).returncode
        except OSError as error:
            raise BroadsheetError(f"cannot run the editor {command[0]!r}: {error.strerror}") from None
        if status != 0:
            raise BroadsheetError(f"the editor {command[0]!r} exited with status {status}: nothing sent")
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
