"""The ``broadsheet`` command.

``broadsheet`` alone opens the reader; the subcommands read and refresh the same cache from
the shell. Conventions every command keeps:

- output for people on stdout, ``--json`` for scripts; progress on stderr, and only when
  stderr is a terminal;
- every error is one line on stderr (``broadsheet: error: …``; a usage error may add a
  hint on a second line) and a non-zero exit (1 an error, 2 a usage error, 75 a reply
  queued, 130 interrupted); a traceback only with ``--debug``;
- nothing already stored is lost when a command fails.

Module map: this package's ``__init__`` holds the parser, ``main``, the shared output
helpers and the mapping of errors to one line; one module per topic holds the commands and
registers them — ``sites`` (add, remove, sites, sync), ``reading`` (categories, posts, read,
comments, unread, mark), ``replies`` (login, logout, reply, outbox), ``completion``
(shell completion). The commands reach the data layer only through ``cache.service``
(``Service``), ``Store`` for reads, ``cache.models``, ``cache.errors`` and ``cache.config``.

Start-up is kept light (``broadsheet unread`` sits in status bars): ``unread`` answers from
``cache.quick`` before the parser is even built, with or without ``--cache-dir``; heavy
modules (httpx, Textual, the HTML converter, argcomplete) are imported only by the commands
that use them, and the reader (``tui.app``) only when ``broadsheet`` runs with no command,
so the shell and the reader never import each other at module level.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from cache.errors import BroadsheetError, NotFound

if TYPE_CHECKING:
    import httpx

    from cache.models import Post, Site
    from cache.service import Service
    from cache.store import Store


EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_TEMPFAIL, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 75, 130, 143

Handler = Callable[["Service", argparse.Namespace], int]
Command = Callable[[str, Handler, str], argparse.ArgumentParser]


# -- the parser --------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors in one line (plus a hint) instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, _usage_text(self.prog.removeprefix("broadsheet").strip(), message))


def usage_error(command: str, message: str) -> int:
    """Say what is wrong with a command's arguments (one line, as ``Parser.error`` does)."""
    print(_usage_text(command, message), end="", file=sys.stderr)
    return EXIT_USAGE


def _usage_text(command: str, message: str) -> str:
    """A usage error in one line, and where the usage is (``command`` "" for the top level)."""
    where, prog = (f"{command}: ", f"broadsheet {command}") if command else ("", "broadsheet")
    return f"broadsheet: error: {where}{one_line(message)}\n  (`{prog} --help` shows the usage)\n"


def positive_int(value: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def build_parser() -> Parser:
    """The whole command line: global options, then one subcommand per topic module."""
    from . import completion, reading, replies, sites

    parser = Parser(
        prog="broadsheet",
        description="A keyboard-driven terminal newsreader for news sites: WordPress sites and any site with a feed. "
        "With no command, opens the reader.",
    )
    parser.add_argument(
        "--cache-dir", metavar="DIR", help="cache directory (default: $BROADSHEET_CACHE_DIR or the user cache dir)"
    )
    parser.add_argument("--config", metavar="FILE", help="config file (default: config.toml in the user config dir)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    site_option(parser, help="(reader) start on this site", dest="reader_site")
    parser.add_argument("--open", metavar="POST", dest="open_post", help="(reader) open this post: an id or its URL")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help.split("\n", maxsplit=1)[0],
            description=help,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(handler=handler)
        # also accepted after the command (`broadsheet unread --cache-dir DIR`)
        sub.add_argument("--cache-dir", metavar="DIR", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        return sub

    sites.register(command)
    reading.register(command)
    replies.register(command)
    completion.register(command)
    return parser


def site_option(sub: argparse.ArgumentParser, help: str | None = None, dest: str = "site") -> None:
    """``--site NAME``, completed with the subscribed sites' names."""
    from .completion import site_names

    action = sub.add_argument(
        "--site", metavar="NAME", dest=dest, help=help or "site name (may be left out when one site is subscribed)"
    )
    action.completer = site_names  # type: ignore[attr-defined]  # argcomplete's documented hook


def site_argument(sub: argparse.ArgumentParser, dest: str, **kwargs: Any) -> None:
    """A positional site name, completed with the subscribed sites' names."""
    from .completion import site_names

    action = sub.add_argument(dest, metavar="NAME", **kwargs)
    action.completer = site_names  # type: ignore[attr-defined]


# -- output helpers ----------------------------------------------------------------------


def emit_json(data: Any) -> None:
    import json

    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def warn(message: str) -> None:
    print(f"broadsheet: warning: {message}", file=sys.stderr)


def one_line(text: str) -> str:
    """``text`` as one printable line (control, format and bidi characters become spaces),
    at most 300 characters: error text can quote what a site or a user sent."""
    text = str(text)
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())[:300]


# -- finding things ----------------------------------------------------------------------


def sites_for(store: Store, name: str | None) -> list[Site]:
    """The named site, or every subscribed one (refusing when there is none)."""
    if name:
        return [store.site(name)]
    sites = store.sites()
    if not sites:
        raise NotFound("no site is subscribed; add one with `broadsheet add URL`")
    return sites


def check_post_key(key: str) -> str:
    """``key`` when it can name a post (ASCII digits, ``SITE:ID`` as ``posts`` prints it, or a
    URL); a one-line refusal otherwise."""
    key = key.strip()
    if "://" in key or (key.isascii() and key.isdigit()) or _site_and_id(key) is not None:
        return key
    raise NotFound(f"{one_line(key)!r} is not a post id: give its number, SITE:NUMBER or its URL")


def _site_and_id(key: str) -> tuple[str, str] | None:
    site, colon, number = key.rpartition(":")
    if colon and site and "/" not in site and number.isascii() and number.isdigit():
        return site, number
    return None


def find_post(store: Store, site_name: str | None, key: str) -> tuple[str, Post]:
    """``(site, post)`` for an id or URL; a URL finds its site even among several."""
    key = check_post_key(key)
    if "://" not in key and (pair := _site_and_id(key)) is not None:
        if site_name and site_name != pair[0]:
            raise NotFound(f"{one_line(key)!r} names site {pair[0]!r}, not {site_name!r}")
        return store.site(pair[0]).name, store.find_post(pair[0], pair[1])
    if site_name or "://" not in key:
        name = store.site(site_name).name
        return name, store.find_post(name, key)
    for site in store.sites():
        try:
            return site.name, store.find_post(site.name, key)
        except NotFound:
            continue
    raise NotFound(f"no cached post at {key}; try `broadsheet sync`")


# -- errors ------------------------------------------------------------------------------


def describe(error: BaseException, directory: Any = None) -> str:
    """The one line a user sees for ``error``: read-only caches named as such."""
    import errno

    unwritable = {errno.EACCES, errno.EPERM, errno.EROFS}
    cause = error if isinstance(error, OSError) else (error.__cause__ or error.__context__)
    if isinstance(cause, OSError) and cause.errno in unwritable:
        where = os.fspath(cause.filename) if isinstance(cause.filename, (str, os.PathLike)) else ""
        root = os.fspath(directory) if directory is not None else ""
        if root and (not where or _inside(where, root)):
            return f"cache dir {root} is read-only ({cause.strerror or 'not writable'})"
        if where:
            return f"cannot write {where}: {cause.strerror}"
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return one_line(f"{where}{error.strerror or error}")
    return one_line(str(error)) or type(error).__name__


def _inside(path: str, directory: str) -> bool:
    path, directory = os.path.abspath(path), os.path.abspath(directory)
    return os.path.commonpath([path, directory]) == directory


def _leaf(error: BaseException) -> BaseException:
    """The one error inside (nested) exception groups of a single member."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


# -- entry point -------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, *, transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Run ``broadsheet`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    ``transport`` replaces the network for every request (tests)."""
    if "_ARGCOMPLETE" in os.environ:  # a shell asking for completions: answers and exits
        from .completion import autocomplete

        try:
            autocomplete(build_parser())
        except BroadsheetError as error:  # argcomplete missing: complete to nothing, say why
            print(f"broadsheet: error: {error}", file=sys.stderr)
            return EXIT_ERROR
    argv = sys.argv[1:] if argv is None else list(argv)
    quick = _quick_argv(argv)
    if quick is not None:
        try:
            code = _quick_unread(*quick)
        except BrokenPipeError:  # `broadsheet unread | head -c 1`: the reader left
            return stdout_gone()
        if code is not None:
            return code
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is not None and args.reader_site is not None:  # the command's own --site wins silently
        return usage_error(
            args.command,
            "--site before the command is the reader's; give the site after the command",
        )
    if args.debug:  # otherwise Python's last-resort handler prints warnings, bare
        import logging  # (not imported by default: `broadsheet unread` starts in status bars)

        logging.basicConfig(level=logging.DEBUG, format="broadsheet: %(levelname)s: %(name)s: %(message)s")
    from cache.service import Service

    Service.on_corruption(warn_corrupt)
    service: Service | None = None
    try:
        service = Service(args.cache_dir, transport=transport)
        if args.command is None:
            return run_reader(service.store, args)
        handled: int = args.handler(service, args)
        return handled
    except KeyboardInterrupt:
        print("broadsheet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return stdout_gone()
    except Exception as raised:
        if args.debug:
            raise
        leaf = _leaf(raised)
        directory = service.directory if service is not None else args.cache_dir
        if isinstance(leaf, (BroadsheetError, OSError)):
            print(f"broadsheet: error: {describe(leaf, directory)}", file=sys.stderr)
            return getattr(leaf, "exit_code", EXIT_ERROR)
        # a bug: still one line unless --debug
        print(
            f"broadsheet: internal error: {type(leaf).__name__}: {describe(leaf)} (run with --debug for details)",
            file=sys.stderr,
        )
        return EXIT_ERROR


def stdout_gone(stream: TextIO | None = None) -> int:
    """Whatever reads our output (``stream``, default stdout) has gone (``| head``): nothing
    more is written to it, and Python's own flush at exit does not complain either."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, (stream or sys.stdout).fileno())
    os.close(null)
    return EXIT_OK


def _quick_argv(argv: Sequence[str]) -> tuple[str | None, bool] | None:
    """``(cache_dir, as_json)`` when ``argv`` is ``unread`` with at most ``--json`` and
    ``--cache-dir DIR`` (before or after the command); None for anything else."""
    cache_dir: str | None = None
    as_json = command = False
    tokens = iter(argv)
    for token in tokens:
        if token == "unread" and not command:
            command = True
        elif token == "--json" and command:
            as_json = True
        elif token == "--cache-dir":
            cache_dir = next(tokens, None)
            if cache_dir is None:
                return None
        elif token.startswith("--cache-dir="):
            cache_dir = token.partition("=")[2]
        else:
            return None
    return (cache_dir, as_json) if command else None


def _quick_unread(cache_dir: str | None, as_json: bool) -> int | None:
    """``broadsheet unread`` without the store's machinery (see ``cache.quick``)."""
    from cache import paths
    from cache.quick import unread_counts

    counts = unread_counts(paths.cache_dir(cache_dir))
    if counts is None:
        return None
    if as_json:
        emit_json({"total": sum(counts.values()), "sites": counts})
    else:
        print(sum(counts.values()))
    return EXIT_OK


def run_reader(store: Store, args: argparse.Namespace) -> int:
    """Open the reader (imported here, and only here: the shell never loads Textual)."""
    from cache.config import load_config

    config = load_config(args.config)
    from ..app import run_reader as run

    return run(store, config, site=args.reader_site, open_post=args.open_post)


def warn_corrupt(path: Any, moved: Any) -> None:
    """One warning line per corrupt file set aside, saying what actually recovers it."""
    from pathlib import Path

    path, moved = Path(path), Path(moved)
    site = path.parent.name if path.parent.parent.name == "sites" else path.parent.parent.name
    restored = path.exists()  # its previous version was put back (``keep_previous``)
    if restored and path.name == "sites.json":
        advice = "the subscriptions before the last change were put back (a site added just before may be missing)"
    elif restored and path.name == "index.json":
        advice = f"its previous version was put back; `broadsheet sync {site}` fetches what is newer"
    elif restored and path.name == "state.json":
        advice = f"{site}'s read marks before the last change were put back"
    elif path.name == "sites.json":
        advice = "the subscriptions are in that copy: add your sites again with `broadsheet add URL`"
    elif path.name == "outbox.json":
        advice = "it holds the text of your unsent replies (`broadsheet sync` cannot rebuild it)"
    elif path.name == "state.json":
        advice = f"{site}'s posts show as unread again; its read marks are in that copy"
    elif path.name in ("index.json", "ids.json", "summary.json"):
        advice = f"run `broadsheet sync {site}` to rebuild it"
    else:
        advice = f"run `broadsheet sync --full {site}` to fetch it again"
    warn(f"{path} was corrupt; kept it as {moved}: {advice}")
