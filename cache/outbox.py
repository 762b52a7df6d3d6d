"""The outbox: replies written to disk before any network call, sent exactly once.

``outbox.json`` (in the cache directory, on ``AtomicJSONStorage``) holds one entry per
reply (``Entry``). Its life::

    prepare ──► queued ──claim──► sending ──► sent | held        (done)
                  ▲                  │
                  └── Unreachable ◄──┤                            (network, 5xx, 429, flood)
                                     └──► refused (reason kept)   (closed, bad login, ...)
    save_draft ──► draft  (kept by the user; sent only when asked by id)

Invariants:

- **Nothing is lost.** An entry is written (fsync'd, atomic) before any request, and its
  text stays until the user drops it. A placeholder comment (status ``pending``, id
  ``-entry.id``: never a WordPress id) is put in the thread at once and replaced by the real
  comment when the site confirms it (``approved`` or ``hold``); refusal removes it.
- **One sender.** Entries are claimed under the file lock (state ``sending``, ``claimed_at``,
  ``claimed_by``); another process (the reader and a shell ``reply``) skips claimed entries.
  A claim older than ``STALE_CLAIM`` seconds is from a process that died: it may be retaken.
  So a process claims **one entry at a time** (claim → send → release), and every change it
  makes to an entry it is sending first checks, under the lock, that the entry is still
  ``sending`` and ``claimed_by`` this process; if another process has taken it over, the
  entry is left alone (that process looks the comment up before sending it again).
- **Exactly once on the site.** Entry ids are allocated under the lock from a counter kept in
  the file (never TinyDB's cached ``_next_id``). An entry that was tried before (a lost
  answer, a time-out, a dead process) is looked up on the site before it is sent again, and a
  409 duplicate is treated as sent (then looked up for its id) — unless the entry was never
  sent before and the look-up finds no comment of ours since it was written: then the 409 is
  about an older comment with the same text and the entry is refused (kept). A look-up
  accepts only our own comments written after the entry (the source's ``Writer.find``). Preparing the same
  site/post/parent/text again returns the existing entry instead of a new one.
- **Only to the site it was written for.** Site names can be reused (``remove foo``, then
  ``add https://other.example --name foo``), so each entry records the API root's
  ``origin`` (``scheme://host[:port]``) when it is prepared. An entry whose origin differs
  from the site's current one is refused ("the site's address changed since this reply was
  written"), never sent; credentials saved for another origin are never used (``AuthError``).
  Entries written before origins were recorded (empty ``origin``) are sent as before.
  ``pending_for`` lists a site's unsent entries, so ``broadsheet remove`` can refuse to
  drop a site whose replies would be lost.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from . import credentials as credentials_mod
from . import sources
from .errors import (
    AuthError,
    BroadsheetError,
    InsecureTransport,
    NotFound,
    Refused,
    SourceError,
    StoreError,
    Unreachable,
)
from .http import NOT_SENT
from .models import Comment, Site
from .storage import storage, table
from .store import Store, now_iso

FILE_NAME = "outbox.json"
STALE_CLAIM = 120.0
QUEUED, SENDING, SENT, HELD, REFUSED, DRAFT = "queued", "sending", "sent", "held", "refused", "draft"
UNCONFIRMED = "unconfirmed"
#: States in which an entry is (or will be) on the site: a second identical reply joins it.
LIVE = frozenset({QUEUED, SENDING, SENT, HELD, UNCONFIRMED})
#: States an entry leaves only when the user asks (``send`` by id).
PARKED = frozenset({REFUSED, DRAFT, UNCONFIRMED})
#: States of a reply that is not on the site (yet): see ``pending_for``.
UNSENT = frozenset({QUEUED, SENDING, DRAFT, REFUSED, UNCONFIRMED})
UNCONFIRMED_MESSAGE = (
    "the site may already have this reply (an earlier answer was lost, and without a login held "
    "comments cannot be seen): check the post, then `broadsheet outbox send {id}` sends it anyway"
)
ORIGIN_CHANGED = "the site's address changed since this reply was written"
NO_REPLIES = "this site takes no replies (it is read through its feed); comment on the site itself"


HEARTBEAT = 30.0
"""Seconds between two renewals of a claim while its reply is being sent."""


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" when it cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            data = handle.read()
    except OSError:
        return ""
    fields = data[data.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else ""


def _machine() -> str:
    """This machine and PID namespace: two machines sharing a cache (an NFS home) or a
    process in a container see different pids, and must not judge each other's claims."""
    try:
        with open("/etc/machine-id", encoding="ascii") as handle:
            machine = handle.read().strip()
    except OSError:
        import socket

        machine = socket.gethostname()
    try:
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        namespace = ""
    return f"{machine}.{namespace}".replace(":", "_")


def _identity() -> str:
    pid = os.getpid()
    return f"{pid}:{_boot_id()}:{_start_time(pid)}:{_machine()}:{secrets.token_hex(4)}"


_PROCESS = _identity()


def claimer_alive(claimed_by: str) -> bool | None:
    """Whether the process that wrote ``claimed_by`` still runs: on this machine and in this
    PID namespace, the same boot, a process with that pid, started at the same time (so a
    reused pid is not taken for it). None when it cannot be told (another machine or
    container, no /proc): the claim's age decides then, and a live sender renews it."""
    if claimed_by == _PROCESS:
        return True
    parts = claimed_by.split(":")
    if len(parts) != 5 or not parts[0].isdigit():
        return None
    pid, boot, started, machine, _ = parts
    here = _boot_id()
    if not boot or not here or not started or machine != _machine():
        return None  # another machine or container: only the claim's age can tell
    if boot != here:
        return False  # this machine restarted since
    now = _start_time(int(pid))
    return bool(now) and now == started


@dataclass
class Entry:
    """One reply in the outbox."""

    id: int
    site: str
    post: int
    parent: int
    text: str
    author: str = ""
    email: str = ""
    created: str = ""
    state: str = QUEUED
    attempts: int = 0
    last_error: str = ""
    error_code: str = ""
    comment_id: int | None = None
    link: str = ""
    token: str = ""
    claimed_at: float = 0.0
    claimed_by: str = ""
    updated: str = ""
    #: ``scheme://host[:port]`` of the site's API root when the reply was written ("" unknown).
    origin: str = ""

    @property
    def placeholder_id(self) -> int:
        """The id of this reply's placeholder comment in the thread (negative)."""
        return -self.id

    def to_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def as_json(self) -> dict[str, Any]:
        """For ``broadsheet outbox --json``: no internal claim fields."""
        return as_json(self)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Entry:
        return cls(**{k: v for k, v in row.items() if k in cls.__dataclass_fields__})


@dataclass
class SendOutcome:
    """What became of one reply: ``published``, ``held``, ``queued``, ``sending`` (by another
    process), ``refused`` or ``unconfirmed`` (maybe on the site already: not sent again)."""

    result: str
    entry: Entry
    message: str = ""
    link: str = ""
    comment_id: int | None = None

    @property
    def exit_code(self) -> int:
        """0 published/held, 75 queued (try later; also ``sending`` elsewhere), 1 refused or
        unconfirmed (the user decides)."""
        return {"published": 0, "held": 0, "refused": 1, "unconfirmed": 1}.get(self.result, 75)

    def summary(self) -> str:
        """One line for people."""
        if self.result == "published":
            return self.link or f"published (comment {self.comment_id})"
        if self.result == "held":
            return "held for moderation" + (f" (comment {self.comment_id})" if self.comment_id else "")
        if self.result == "refused":
            return f"refused: {self.message} (kept in the outbox as draft {self.entry.id})"
        if self.result == "unconfirmed":
            return f"not sent again: {self.message}"
        if self.result == "sending":
            return f"queued: another Broadsheet is sending reply {self.entry.id} now"
        return f"queued: {self.message} — reply {self.entry.id} waits in the outbox (`broadsheet outbox send`)"


# -- the file ----------------------------------------------------------------------------


def _db(store: Store) -> Any:
    return store.database(FILE_NAME)  # one TinyDB (and storage cache) per store


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().replace("\r\n", "\n").split("\n"))


def entries(store: Store, site: str | None = None) -> list[Entry]:
    """Every entry (of ``site``), oldest first."""
    rows = (storage(_db(store)).read() or {}).get("replies", {})
    found = [Entry.from_row(row) for row in rows.values()]
    return sorted((e for e in found if site is None or e.site == site), key=lambda e: e.id)


def get(store: Store, entry_id: int) -> Entry:
    """One entry by id."""
    row = (storage(_db(store)).read() or {}).get("replies", {}).get(str(entry_id))
    if row is None:
        raise NotFound(f"no reply {entry_id} in the outbox; `broadsheet outbox` lists them")
    return Entry.from_row(row)


def pending_for(store: Store, site: str) -> list[Entry]:
    """``site``'s unsent entries (queued, sending, draft or refused), oldest first.

    For ``broadsheet remove``: a site with pending replies should not be removed silently
    (they would be lost, or sent later to another site given the same name).
    """
    return [e for e in entries(store, site) if e.state in UNSENT]


def draft_for(store: Store, site: str, post: int, parent: int) -> Entry | None:
    """The newest unsent draft (or refused reply) answering ``post``/``parent``, for pre-filling."""
    drafts = [e for e in entries(store, site) if e.post == post and e.parent == parent and e.state in PARKED]
    return drafts[-1] if drafts else None


class ClaimLost(Exception):
    """Another process took over an entry this one was sending (its claim went stale)."""

    def __init__(self, entry: Entry) -> None:
        super().__init__(f"reply {entry.id} is being sent by another Broadsheet")
        self.entry = entry


def _update(store: Store, entry_id: int, *, claimed: bool = False, **changes: Any) -> Entry:
    """Change an entry under the lock. ``claimed``: only while this process's claim holds
    (state ``sending``, ``claimed_by`` us); otherwise nothing is written and ``ClaimLost``
    is raised with the entry as it is."""
    db = _db(store)
    with storage(db).batch():
        tbl = table(db, "replies")
        row = tbl.get(doc_id=entry_id)
        if row is None:
            raise NotFound(f"no reply {entry_id} in the outbox")
        if claimed and (row.get("state") != SENDING or row.get("claimed_by") != _PROCESS):
            raise ClaimLost(Entry.from_row(row))
        changes["updated"] = now_iso()
        tbl.update(changes, doc_ids=[entry_id])
        return Entry.from_row({**row, **changes})


def _origin(store: Store, site: str) -> str:
    """The origin of ``site``'s API root now ("" if it is not subscribed)."""
    try:
        return credentials_mod.origin_of(store.site(site).api_root)
    except (NotFound, StoreError, ValueError, TypeError):
        return ""


def _check_replies(store: Store, site: str) -> None:
    """Refuse (nothing queued) when the site's kind takes no replies."""
    try:
        found = store.site(site)
    except NotFound:
        return  # an entry for a site removed meanwhile: the send will say so
    if not sources.can_reply(found):
        raise Refused(NO_REPLIES, "no_replies")


def _same_origin(a: str, b: str) -> bool:
    return not a or not b or a == b


def _allocate(db: Any) -> int:
    """The next entry id, from a counter in the file (call under the batch lock)."""
    meta = table(db, "meta")
    row = meta.get(doc_id=1) or {}
    rows = (storage(db).read() or {}).get("replies", {})
    next_id = max([int(row.get("next_id", 1)), *(int(k) + 1 for k in rows)])
    if meta.contains(doc_id=1):
        meta.update({"next_id": next_id + 1}, doc_ids=[1])
    else:
        from tinydb.table import Document

        meta.insert(Document({"next_id": next_id + 1}, doc_id=1))
    return next_id


# -- creating ------------------------------------------------------------------------------


def prepare(
    store: Store, site: str, post: int, parent: int, text: str, author: str = "", email: str = ""
) -> tuple[Entry, bool]:
    """Write a queued reply (and its placeholder in the thread) before any network call.

    Returns ``(entry, created)``; an identical reply already queued, being sent, or sent is
    returned instead of a new one (``created`` False). A draft or refused reply with the same
    text is queued again.
    """
    text = _normal(text)
    if not text:
        raise BroadsheetError("the reply is empty: nothing to send")
    _check_replies(store, site)
    origin = _origin(store, site)
    db = _db(store)
    with storage(db).batch():
        tbl = table(db, "replies")
        same = [
            Entry.from_row(row)
            for row in tbl.all()
            if row.get("site") == site
            and row.get("post") == post
            and row.get("parent") == parent
            and _normal(row.get("text", "")) == text
            and _same_origin(row.get("origin", ""), origin)
        ]
        live = [e for e in same if e.state in LIVE]
        if live:
            return live[0], False
        if same:
            entry = same[-1]
            changes = {
                "state": QUEUED,
                "author": author,
                "email": email,
                "last_error": "",
                "error_code": "",
                "updated": now_iso(),
                "origin": origin or entry.origin,
            }
            tbl.update(changes, doc_ids=[entry.id])
            entry = Entry.from_row({**entry.to_row(), **changes})
        else:
            entry = _insert(db, tbl, Entry(0, site, post, parent, text, author, email, origin=origin))
    _put_placeholder(store, entry)
    return entry, True


def _insert(db: Any, tbl: Any, entry: Entry) -> Entry:
    """Give a new entry its id (from the file's counter), token and times, and store it
    (call under the batch lock)."""
    from tinydb.table import Document

    entry.id = _allocate(db)
    entry.created = entry.updated = now_iso()
    entry.token = secrets.token_hex(8)
    tbl.insert(Document(entry.to_row(), doc_id=entry.id))
    return entry


def save_draft(
    store: Store,
    site: str,
    post: int,
    parent: int,
    text: str,
    author: str = "",
    email: str = "",
    *,
    draft_id: int | None = None,
) -> Entry | None:
    """Keep unsent text as a draft (replacing ``draft_id``'s text); None when ``text`` is empty."""
    text = _normal(text)
    origin = _origin(store, site)
    db = _db(store)
    with storage(db).batch():
        tbl = table(db, "replies")
        if draft_id is not None and (row := tbl.get(doc_id=draft_id)) is not None and row.get("state") in PARKED:
            if not text:
                tbl.remove(doc_ids=[draft_id])
                return None
            changes = {"text": text, "state": DRAFT, "updated": now_iso()}
            tbl.update(changes, doc_ids=[draft_id])
            return Entry.from_row({**row, **changes})
        if not text:
            return None
        return _insert(db, tbl, Entry(0, site, post, parent, text, author, email, state=DRAFT, origin=origin))


def drop(store: Store, entry_id: int) -> Entry:
    """Remove an entry (and its placeholder); a reply being sent right now cannot be dropped."""
    db = _db(store)
    with storage(db).batch():
        tbl = table(db, "replies")
        row = tbl.get(doc_id=entry_id)
        if row is None:
            raise NotFound(f"no reply {entry_id} in the outbox; `broadsheet outbox` lists them")
        entry = Entry.from_row(row)
        if entry.state == SENDING and not _stale(entry, time.time()):
            raise StoreError(f"reply {entry_id} is being sent right now; try again in a moment")
        tbl.remove(doc_ids=[entry_id])
    if entry.state not in (SENT, HELD) or entry.comment_id is None:
        _remove_placeholder(store, entry)
    return entry


# -- claiming --------------------------------------------------------------------------------


def _claimable(entry: Entry, site: str, wanted: set[int] | None, now: float) -> tuple[bool, bool]:
    """``(claimable, stale)`` for one entry."""
    if entry.site != site or (wanted is not None and entry.id not in wanted):
        return False, False
    stale = entry.state == SENDING and _stale(entry, now)
    return entry.state == QUEUED or stale or (wanted is not None and entry.state in PARKED), stale


def _stale(entry: Entry, now: float) -> bool:
    """Whether a ``sending`` claim belongs to nobody any more: its process is gone, or (when
    that cannot be told) it has not been renewed for ``STALE_CLAIM`` seconds. A live
    sender is never taken over: it renews its claim and its requests have deadlines."""
    alive = claimer_alive(entry.claimed_by)
    if alive is None:
        return now - entry.claimed_at >= STALE_CLAIM
    return not alive


def claim(
    store: Store,
    site: str,
    ids: Iterable[int] | None = None,
    *,
    limit: int | None = None,
    exclude: Iterable[int] = (),
) -> list[Entry]:
    """Mark entries ``sending`` for this process and return them (as they were before).

    Without ``ids``: the site's queued entries and stale claims. With ``ids``: those entries
    if they are queued, parked (draft/refused) or stale — never one sent or freshly claimed.
    At most ``limit`` entries (oldest first), none of ``exclude``. A claim lasts
    ``STALE_CLAIM`` seconds: claim only what is sent right away (``send_ids`` takes one
    at a time).
    """
    wanted = set(ids) if ids is not None else None
    skip = set(exclude)
    now = time.time()
    db = _db(store)
    claimed: list[Entry] = []
    with storage(db).batch():
        tbl = table(db, "replies")
        for row in sorted(tbl.all(), key=lambda r: r.doc_id):
            if limit is not None and len(claimed) >= limit:
                break
            entry = Entry.from_row(row)
            ok, stale = _claimable(entry, site, wanted, now)
            if not ok or entry.id in skip:
                continue
            if stale:
                entry.attempts = max(entry.attempts, 1)  # it may have reached the site
            tbl.update(
                {"state": SENDING, "claimed_at": now, "claimed_by": _PROCESS, "attempts": entry.attempts},
                doc_ids=[entry.id],
            )
            claimed.append(entry)
    return claimed


def _release(store: Store, entry: Entry, state: str = QUEUED, **changes: Any) -> Entry:
    """End this process's claim (``ClaimLost``, nothing written, if it is not ours any more)."""
    return _update(store, entry.id, claimed=True, state=state, claimed_at=0.0, claimed_by="", **changes)


# -- sending -------------------------------------------------------------------------------


async def send_entry(
    store: Store, site: Site, entry: Entry, client: httpx.AsyncClient, creds: credentials_mod.Credentials | None
) -> SendOutcome:
    """Send one entry claimed by this process and record the outcome (never raises
    ``SourceError``). If the claim is lost meanwhile (another process took the entry over),
    the entry is left alone and the outcome is ``sending``."""
    heartbeat = asyncio.ensure_future(_renew(store, entry.id))
    try:
        return await _send_claimed(store, site, entry, client, creds)
    except ClaimLost as lost:
        return SendOutcome("sending", lost.entry, "being sent by another Broadsheet")
    except asyncio.CancelledError:
        # Stopped (quit, Ctrl-C, a deadline): give the claim back at once rather than leave
        # it to a live process for ever. An attempt already counted is looked up next time.
        try:
            _release(store, entry, QUEUED, last_error="interrupted while sending", error_code="interrupted")
        except (ClaimLost, BroadsheetError):
            pass
        raise
    finally:
        heartbeat.cancel()


async def _renew(store: Store, entry_id: int) -> None:
    """Renew this process's claim every ``HEARTBEAT`` seconds while the reply is sent."""
    while True:
        await asyncio.sleep(HEARTBEAT)
        try:
            _update(store, entry_id, claimed=True, claimed_at=time.time())
        except (ClaimLost, BroadsheetError):
            return


async def _send_claimed(
    store: Store,
    site: Site,
    entry: Entry,
    client: httpx.AsyncClient,
    creds: credentials_mod.Credentials | None,
) -> SendOutcome:
    was = entry.state  # as it was before this process claimed it
    posted: sources.Posted | None = None
    before: int | None = None  # attempts before this one, once counted
    try:
        current = credentials_mod.origin_of(site.api_root)
        if entry.origin and entry.origin != current:
            raise Refused(f"{ORIGIN_CHANGED} (it was for {entry.origin}, the site is now {current})", "origin_changed")
        if creds is not None:
            credentials_mod.check_origin(creds, site.api_root)
        before = entry.attempts
        tried_before = before > 0
        entry = _update(store, entry.id, claimed=True, attempts=before + 1)
        writer = sources.make_source(site, client).writer()
        if writer is None:
            raise Refused(NO_REPLIES, "no_replies")
        if tried_before:  # the site may already have it
            posted = await writer.find(
                entry.post, entry.parent, entry.text, author=entry.author, credentials=creds, since=entry.created
            )
            if posted is None and creds is None and was != UNCONFIRMED:
                # Held comments are invisible without a login: not finding it proves nothing,
                # and a site without WordPress's duplicate check would take it twice.
                entry = _release(
                    store,
                    entry,
                    UNCONFIRMED,
                    attempts=before,
                    last_error=UNCONFIRMED_MESSAGE.format(id=entry.id),
                    error_code="unconfirmed",
                )
                return SendOutcome("unconfirmed", entry, entry.last_error)
        if posted is None:
            try:
                posted = await writer.post(
                    entry.post, entry.parent, entry.text, credentials=creds, author=entry.author, email=entry.email
                )
            except sources.Duplicate as duplicate:
                found = await writer.find(
                    entry.post, entry.parent, entry.text, author=entry.author, credentials=creds, since=entry.created
                )
                if found is None and not tried_before:
                    # Never sent before, so the site's copy is an older comment with this text
                    # (WordPress's duplicate check has no time limit): this reply is not there.
                    raise Refused(
                        f"the site already has this comment from you ({duplicate}); not sent again",
                        duplicate.code or "comment_duplicate",
                    ) from None
                # tried before but not visible (held, and we may not see held comments):
                # it is on the site anyway
                posted = found or sources.Posted("hold")
    except Unreachable as error:
        # A failure to connect never reached the site: that attempt does not count.
        extra = {"attempts": before} if before is not None and error.code == NOT_SENT else {}
        entry = _release(store, entry, QUEUED, last_error=str(error), error_code=error.code, **extra)
        return SendOutcome("queued", entry, str(error))
    except (SourceError, InsecureTransport) as error:
        code = getattr(error, "code", "") or type(error).__name__
        # A clear "no" (refused, bad login, never sent) means this attempt did not reach the
        # site: don't count it, so a 409 after the user queues it again is not taken for ours.
        # Anything else (a redirect, a malformed answer) may have: it counts.
        definite = isinstance(error, (Refused, AuthError, InsecureTransport)) and before is not None
        counted: dict[str, Any] = {"attempts": before} if definite else {}
        entry = _release(store, entry, REFUSED, last_error=str(error), error_code=code, **counted)
        _remove_placeholder(store, entry)
        return SendOutcome("refused", entry, str(error))
    state = HELD if posted.held else SENT
    result = "held" if posted.held else "published"
    # The thread first, then the entry: a kill in between leaves the entry claimed by a dead
    # process, whose successor finds the comment on the site and confirms it again (harmless).
    _confirm(store, entry, posted)
    try:
        entry = _release(
            store, entry, state, comment_id=posted.comment_id, link=posted.link, last_error="", error_code=""
        )
    except ClaimLost as lost:
        # It is on the site, but the entry is another process's now: it will find it there.
        entry = lost.entry
    return SendOutcome(
        result, entry, "held for moderation" if posted.held else "published", posted.link, posted.comment_id
    )


async def send_ids(
    store: Store, site: Site, client: httpx.AsyncClient, ids: Iterable[int] | None = None
) -> list[SendOutcome]:
    """Send entries of ``site`` (all queued ones, or ``ids``), claiming **one at a time**
    (claim → send → release), so no claim waits behind slow requests until it is stale.
    Stops at the first network failure: the rest stay as they are, reported ``queued``."""
    wanted = None if ids is None else list(ids)
    creds = credentials_mod.load(site.name)
    outcomes: list[SendOutcome] = []
    done: set[int] = set()
    while True:
        claimed = claim(store, site.name, wanted, limit=1, exclude=done)
        if not claimed:
            break
        entry = claimed[0]
        done.add(entry.id)
        outcome = await send_entry(store, site, entry, client, creds)
        outcomes.append(outcome)
        if outcome.result == "queued":
            now, only = time.time(), None if wanted is None else set(wanted)
            for rest in entries(store, site.name):
                if rest.id not in done and _claimable(rest, site.name, only, now)[0]:
                    done.add(rest.id)
                    outcomes.append(SendOutcome("queued", rest, outcome.message))
            break
    # Never "nothing to send" while something waits: say what another process is sending.
    only = None if wanted is None else set(wanted)
    for rest in entries(store, site.name):
        if rest.id not in done and rest.state == SENDING and (only is None or rest.id in only):
            outcomes.append(SendOutcome("sending", rest, "being sent by another Broadsheet now"))
    return outcomes


async def flush(store: Store, site: Site, client: httpx.AsyncClient) -> int:
    """Send the site's queued replies (called by ``sync`` before reading); returns how many
    reached the site. Failures stay in the outbox; nothing is raised for them."""
    waiting = entries(store, site.name)
    _heal_placeholders(store, waiting)
    if not any(e.state in (QUEUED, SENDING) for e in waiting):
        return 0
    outcomes = await send_ids(store, site, client)
    return sum(1 for o in outcomes if o.result in ("published", "held"))


async def send_now(
    store: Store,
    site: Site,
    entry_id: int,
    *,
    client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SendOutcome:
    """Send one entry now (if no other process is sending it, and it is not sent already)."""
    entry = get(store, entry_id)
    if entry.state in (SENT, HELD):
        return SendOutcome(
            "held" if entry.state == HELD else "published", entry, "already sent", entry.link, entry.comment_id
        )
    claimed = claim(store, site.name, [entry_id])
    if not claimed:
        return SendOutcome("sending", get(store, entry_id), "being sent by another Broadsheet")
    from .http import make_client

    own = client is None
    client = client or make_client(transport or sources.transport_for(site))
    try:
        return await send_entry(store, site, claimed[0], client, credentials_mod.load(site.name))
    finally:
        if own:
            await client.aclose()


def submit(
    store: Store,
    site: Site,
    post: int,
    parent: int,
    text: str,
    author: str = "",
    email: str = "",
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SendOutcome:
    """Store the reply, then send it (blocking: run it in a thread worker)."""
    entry, _ = prepare(store, site.name, post, parent, text, author, email)
    return asyncio.run(send_now(store, site, entry.id, transport=transport))


# -- the thread's view -----------------------------------------------------------------------


def _placeholder(entry: Entry) -> Comment:
    return Comment(
        id=entry.placeholder_id,
        site=entry.site,
        post=entry.post,
        parent=entry.parent,
        author=entry.author or "you",
        date=entry.created,
        date_gmt=entry.created,
        text=entry.text + "\n",
        status="pending",
    )


def _put_placeholder(store: Store, entry: Entry) -> None:
    _put_placeholder_comment(store, _placeholder(entry))


def _put_placeholder_comment(store: Store, comment: Comment) -> None:
    try:
        store.add_comment(comment)
    except StoreError:
        pass  # the outbox has the text; the thread catches up on the next sync


def _remove_placeholder(store: Store, entry: Entry) -> None:
    try:
        store.remove_comment(entry.site, entry.post, entry.placeholder_id)
    except (StoreError, NotFound):
        pass


def _heal_placeholders(store: Store, done: list[Entry]) -> None:
    """Drop placeholders left beside confirmed comments (a process killed between recording
    a reply as sent and swapping its placeholder, before that order was reversed)."""
    confirmed = [e for e in done if e.state in (SENT, HELD) and e.comment_id is not None]
    by_post: dict[tuple[str, int], list[Entry]] = {}
    for entry in confirmed:
        by_post.setdefault((entry.site, entry.post), []).append(entry)
    for (site, post), group in by_post.items():  # each thread read once
        shown = {c.id for c in store.comments(site, post)}
        for entry in group:
            if entry.placeholder_id in shown:
                _remove_placeholder(store, entry)


def _confirm(store: Store, entry: Entry, posted: sources.Posted) -> None:
    """Swap the placeholder for the confirmed comment."""
    fallback = _placeholder(entry)
    if posted.comment_id is None:
        # on the site but not visible to us (held): keep the placeholder, marked held
        fallback.status = "hold"
        _put_placeholder_comment(store, fallback)
        return
    _remove_placeholder(store, entry)
    fallback.date = fallback.date_gmt = now_iso()
    comment = fallback
    if posted.comment is not None and posted.comment.id == posted.comment_id:
        comment = dataclasses.replace(posted.comment, site=entry.site)
    comment.id = posted.comment_id
    comment.status = posted.status
    comment.link = posted.link or comment.link
    try:
        store.add_comment(comment)
    except StoreError:
        pass


def as_json(entry: Entry) -> dict[str, Any]:
    """An entry for ``broadsheet outbox --json`` (no internal claim fields)."""
    row = entry.to_row()
    for key in ("claimed_at", "claimed_by", "token"):
        row.pop(key, None)
    return row


__all__ = [
    "ClaimLost",
    "Entry",
    "SendOutcome",
    "as_json",
    "claim",
    "draft_for",
    "drop",
    "entries",
    "flush",
    "get",
    "pending_for",
    "prepare",
    "save_draft",
    "send_ids",
    "send_now",
    "submit",
]
