"""Shell commands for subscriptions: ``add``, ``remove``, ``move``, ``sites``, ``import``,
``export`` and ``sync``.

Every change goes through ``cache.service.Service`` (discovery, the duplicate check, what
``remove`` drops and forgets, sync); this module only reads ``Store`` for the listing and
turns results into lines. Network work runs with ``asyncio.run``: the shell has nothing else
to do meanwhile. ``sites`` reads each site's summary (``Store.summary``), not its index.
``sync`` prints each site's line as soon as that site is done (``SyncDisplay``): over
hundreds of sites the output flows, and a slow or failing site holds up no other line.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from . import EXIT_ERROR, EXIT_OK, EXIT_TERMINATED, Command, emit_json, one_line, site_argument, stdout_gone

if TYPE_CHECKING:
    from cache.service import Service, SyncResult


def register(command: Command) -> None:
    from .completion import folder_names

    """Add the subscription commands to ``broadsheet``'s parser."""
    sub = command(
        "add",
        cmd_add,
        "subscribe to a site: a home page, an article or a feed URL "
        "(WordPress sites are read through their REST API, others through their feed; "
        "`demo` for the bundled demo)",
    )
    sub.add_argument("url", metavar="URL")
    sub.add_argument("--name", help="short name for the site (default: from the host)")
    folder = sub.add_argument("--folder", default="", help="file the site under this folder in the sidebar")
    folder.completer = folder_names  # type: ignore[attr-defined]
    sub.add_argument(
        "--kind",
        choices=("auto", "wordpress", "feed"),
        default="auto",
        help="how to read the site (default: auto, WordPress first)",
    )

    sub = command("move", cmd_move, 'file a site under a folder ("" for none)')
    site_argument(sub, "name")
    folder = sub.add_argument("folder", metavar="FOLDER")
    folder.completer = folder_names  # type: ignore[attr-defined]

    sub = command(
        "import",
        cmd_import,
        "subscribe to the feeds of an OPML file or a newsboat urls file "
        "('-' for stdin); nothing is fetched until the next sync",
    )
    sub.add_argument("file", metavar="FILE")

    command("export", cmd_export, "write every subscription as OPML 2.0 (with folders) to stdout")

    sub = command("remove", cmd_remove, "unsubscribe from a site and delete its cache and saved login")
    site_argument(sub, "name")
    sub.add_argument("--force", action="store_true", help="also drop the site's unsent replies")

    sub = command("sites", cmd_sites, "list subscribed sites")
    sub.add_argument("--json", action="store_true")

    sub = command("sync", cmd_sync, "fetch what is new (all sites, or those named)")
    site_argument(sub, "names", nargs="*")
    sub.add_argument("--full", action="store_true", help="fetch everything again, not just what changed")
    sub.add_argument(
        "--force",
        action="store_true",
        help="fetch every site now, even those not due or asking to be fetched less often",
    )


def cmd_add(service: Service, args: argparse.Namespace) -> int:
    import asyncio

    if args.url == "demo":
        if service.store.has_site("demo"):
            print("demo is already subscribed (`broadsheet sync demo` refreshes it)")
            return EXIT_OK
        site = service.add_demo()
    else:
        added = asyncio.run(service.subscribe(args.url, name=args.name, folder=args.folder, kind=args.kind))
        site = added.site
        if added.note:
            print(f"broadsheet: note: {added.note}", file=sys.stderr)
    kind = "" if site.demo else f" ({'WordPress' if site.kind == 'wordpress' else 'feed'})"
    print(f"added {site.name}{kind}: {site.title or site.url} — run `broadsheet sync {site.name}` to fetch it")
    return EXIT_OK


def cmd_move(service: Service, args: argparse.Namespace) -> int:
    site = service.move(args.name, args.folder)
    print(f"moved {site.name} to {site.folder!r}" if site.folder else f"moved {site.name} out of its folder")
    return EXIT_OK


def cmd_import(service: Service, args: argparse.Namespace) -> int:
    from cache.errors import BroadsheetError

    if args.file == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(args.file, encoding="utf-8-sig") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as error:
            raise BroadsheetError(f"cannot read {args.file}: {getattr(error, 'strerror', None) or error}") from None
    imported = service.import_subscriptions(text)
    for line in imported.skipped:
        print(f"skipped {line}", file=sys.stderr)
    for line in imported.refused:
        print(f"broadsheet: warning: not imported: {line}", file=sys.stderr)
    folders = len({s.folder for s in imported.added if s.folder})
    print(
        f"imported {len(imported.added)} site{'s' * (len(imported.added) != 1)}"
        + (f" in {folders} folder{'s' * (folders != 1)}" if folders else "")
        + (" — run `broadsheet sync` to fetch them" if imported.added else "")
    )
    return EXIT_OK if not imported.refused else EXIT_ERROR


def cmd_export(service: Service, args: argparse.Namespace) -> int:
    sys.stdout.write(service.export_opml())
    return EXIT_OK


def cmd_remove(service: Service, args: argparse.Namespace) -> int:
    removed = service.remove(args.name, force=args.force)
    dropped = removed.dropped_replies
    extras = [f"{dropped} unsent repl{'ies' if dropped != 1 else 'y'}"] if dropped else []
    if removed.forgot_login:
        extras.append("its saved login")
    print(f"removed {removed.site}" + (" and " + " and ".join(extras) if extras else ""))
    return EXIT_OK


def cmd_sites(service: Service, args: argparse.Namespace) -> int:
    from cache.config import load_config

    config = load_config(args.config)
    store = service.store
    sites = store.sites()
    counts = {}  # from each site's summary, a small file (not its index), one at a time
    for site in sites:
        summary = store.summary(site.name)
        counts[site.name] = (summary.post_count, summary.unread_count)
    rows: list[dict[str, Any]] = [
        {
            "name": s.name,
            "title": s.title,
            "url": s.url,
            "posts": counts[s.name][0],
            "unread": counts[s.name][1],
            "last_sync": s.last_sync,
            "last_error": s.last_error,
            "demo": s.demo,
            "kind": s.kind,
            "folder": s.folder,
            "feed_url": s.feed_url,
            "refresh_minutes": config.refresh_minutes(s.name),
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
    folders = sorted({r["folder"] for r in rows}, key=lambda f: (f != "", f.casefold()))
    for folder in folders:
        indent = "  " if folder else ""
        if folder:
            print(f"{folder}/")
        for r in (r for r in rows if r["folder"] == folder):
            synced = (r["last_sync"] or "never").replace("T", " ")
            kind = "demo" if r["demo"] else ("wp" if r["kind"] == "wordpress" else "feed")
            line = (
                f"{indent}{r['name']:<{width}}  {kind:<4} {r['unread']:>5} unread / {r['posts']:<5} "
                f"{r['title'] or r['url']}  (synced {synced})"
            )
            if r["last_error"]:
                line += f"  last error: {r['last_error']}"
            print(line)
    return EXIT_OK


def cmd_sync(service: Service, args: argparse.Namespace) -> int:
    import asyncio

    from cache.config import load_config

    service.config = load_config(args.config)
    display = SyncDisplay(sys.stderr.isatty())

    async def sync() -> list[SyncResult]:
        # SIGTERM (`timeout`, a service manager) stops the sync as Ctrl-C does: what finished
        # is recorded (last_sync) and the workers are stopped, instead of dying mid-way
        task = asyncio.current_task()
        assert task is not None
        if threading.current_thread() is threading.main_thread():  # (signals reach only it)
            try:
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
            except (NotImplementedError, RuntimeError):  # no signals here (Windows, nested loops)
                pass
        return await service.sync(
            args.names or None,
            full=args.full,
            force=args.force,
            progress=display.progress if display.tty else None,
            on_done=display.done,
        )

    try:
        results = asyncio.run(sync())
    except asyncio.CancelledError:
        display.clear()
        print("broadsheet: stopped (SIGTERM); what finished is saved", file=sys.stderr)
        return EXIT_TERMINATED
    finally:
        display.clear()
    if not results:
        print("every site is up to date (none is due yet); `broadsheet sync --force` fetches them anyway")
        return EXIT_OK
    return EXIT_OK if all(r.ok for r in results) else EXIT_ERROR


class SyncDisplay:
    """What ``sync`` shows: each site's summary line as soon as that site is done (stdout,
    failures on stderr), in the order they finish; on a terminal also one status line on
    stderr (sites done and running, the latest step), redrawn below the lines."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.running: set[str] = set()
        self.finished = 0
        self.latest = ""

    def progress(self, site: str, message: str) -> None:
        """``Service.sync``'s progress hook (terminal only)."""
        if site not in self.running and message == "fetching":
            self.running.add(site)
        self.latest = f"{site}: {message}"
        self._draw()

    def done(self, result: SyncResult) -> None:
        """``Service.sync``'s ``on_done`` hook: the site's line, now."""
        self.running.discard(result.site)
        self.finished += 1
        self.clear()
        stream = sys.stdout if result.ok else sys.stderr
        try:
            print(result.summary(), file=stream, flush=True)
        except BrokenPipeError:  # `sync | head -1`: the sync goes on, quietly (nothing is lost)
            stdout_gone(stream)
        self._draw()

    def clear(self) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()

    def _draw(self) -> None:
        if self.tty:
            text = f"sync: {self.finished} done, {len(self.running)} running  {self.latest}"
            sys.stderr.write(f"\r\x1b[K{one_line(text)[: max(20, shutil.get_terminal_size().columns - 1)]}")
            sys.stderr.flush()
