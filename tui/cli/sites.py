"""Shell commands for subscriptions: ``add``, ``remove``, ``sites`` and ``sync``.

Every change goes through ``cache.service.Service`` (discovery, the duplicate check, what
``remove`` drops and forgets, sync); this module only reads ``Store`` for the listing and
turns results into lines. Network work runs with ``asyncio.run``: the shell has nothing else
to do meanwhile.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from . import EXIT_ERROR, EXIT_OK, Command, emit_json, progress_printer, site_argument

if TYPE_CHECKING:
    from cache.service import Service


def register(command: Command) -> None:
    """Add the subscription commands to ``broadsheet``'s parser."""
    sub = command("add", cmd_add, "subscribe to a site (any page URL of it; `demo` for the bundled demo)")
    sub.add_argument("url", metavar="URL")
    sub.add_argument("--name", help="short name for the site (default: from the host)")

    sub = command("remove", cmd_remove, "unsubscribe from a site and delete its cache and saved login")
    site_argument(sub, "name")
    sub.add_argument("--force", action="store_true", help="also drop the site's unsent replies")

    sub = command("sites", cmd_sites, "list subscribed sites")
    sub.add_argument("--json", action="store_true")

    sub = command("sync", cmd_sync, "fetch what is new (all sites, or those named)")
    site_argument(sub, "names", nargs="*")
    sub.add_argument("--full", action="store_true", help="fetch everything again, not just what changed")


def cmd_add(service: Service, args: argparse.Namespace) -> int:
    import asyncio

    if args.url == "demo":
        site = service.add_demo()
    else:
        site = asyncio.run(service.subscribe(args.url, name=args.name))
    print(f"added {site.name}: {site.title or site.url} — run `broadsheet sync {site.name}` to fetch it")
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
    store = service.store
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
        for s in store.sites()
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


def cmd_sync(service: Service, args: argparse.Namespace) -> int:
    import asyncio

    progress = progress_printer()
    results = asyncio.run(service.sync(args.names or None, full=args.full, progress=progress))
    if progress:
        sys.stderr.write("\r\x1b[K")
    for result in results:
        print(result.summary(), file=sys.stdout if result.ok else sys.stderr)
    return EXIT_OK if all(r.ok for r in results) else EXIT_ERROR
