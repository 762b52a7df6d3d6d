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
- **Exactly once on the site.** Entry ids are allocated under the lock from a counter kept in
  the file (never TinyDB's cached ``_next_id``). An entry that was tried before (a lost
  answer, a time-out, a dead process) is looked up on the site before it is sent again, and a
  409 duplicate is treated as sent (then looked up for its id). Preparing the same
  site/post/parent/text again returns the existing entry instead of a new one.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from . import credentials as credentials_mod
from . import replies
from .errors import BroadsheetError, InsecureTransport, NotFound, SourceError, StoreError, Unreachable
from .models import Comment, Site
from .store import Store, now_iso
from .storage import storage, table

FILE_NAME = "outbox.json"
STALE_CLAIM = 120.0
QUEUED, SENDING, SENT, HELD, REFUSED, DRAFT = "queued", "sending", "sent", "held", "refused", "draft"
#: States in which an entry is (or will be) on the site: a second identical reply joins it.
LIVE = frozenset({QUEUED, SENDING, SENT, HELD})
#: States an entry leaves only when the user asks (``send`` by id).
PARKED = frozenset({REFUSED, DRAFT})

_PROCESS = f"{os.getpid()}-{secrets.token_hex(4)}"


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

    @property
    def placeholder_id(self) -> int:
        """The id of this reply's placeholder comment in the thread (negative)."""
        return -self.id

    def to_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Entry:
        return cls(**{k: v for k, v in row.items() if k in cls.__dataclass_fields__})


@dataclass
class SendOutcome:
    """What became of one reply: ``published``, ``held``, ``queued``, ``sending`` or ``refused``."""

    result: str
    entry: Entry
    message: str = ""
    link: str = ""
    comment_id: int | None = None

    @property
    def exit_code(self) -> int:
        """0 published/held, 75 queued (try later; also ``sending`` elsewhere), 1 refused."""
        return {"published": 0, "held": 0, "refused": 1}.get(self.result, 75)

    def summary(self) -> str:
        """One line for people."""
        if self.result == "published":
            return self.link or f"published (comment {self.comment_id})"
        if self.result == "held":
            return "held for moderation" + (f" (comment {self.comment_id})" if self.comment_id else "")
        if self.result == "refused":
            return f"refused: {self.message} (kept in the outbox as draft {self.entry.id})"
        if self.result == "sending":
            return f"queued: another Broadsheet is sending reply {self.entry.id} now"
        return f"queued: {self.message} — reply {self.entry.id} waits in the outbox (`broadsheet outbox send`)"


# -- the file ----------------------------------------------------------------------------


def _db(store: Store):  # noqa: ANN202 - TinyDB
    return store._db(store.directory / FILE_NAME)  # one TinyDB (and storage cache) per store


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


def draft_for(store: Store, site: str, post: int, parent: int) -> Entry | None:
    """The newest unsent draft (or refused reply) answering ``post``/``parent``, for pre-filling."""
    drafts = [e for e in entries(store, site) if e.post == post and e.parent == parent and e.state in PARKED]
    return drafts[-1] if drafts else None


def _update(store: Store, entry_id: int, **changes: Any) -> Entry:
    db = _db(store)
    with storage(db).batch():
        tbl = table(db, "replies")
        row = tbl.get(doc_id=entry_id)
        if row is None:
            raise NotFound(f"no reply {entry_id} in the outbox")
        changes["updated"] = now_iso()
        tbl.update(changes, doc_ids=[entry_id])
        return Entry.from_row({**row, **changes})


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
    db = _db(store)
    with storage(db).batch():
        tbl = table(db, "replies")
        same = [
            Entry.from_row(row) for row in tbl.all()
            if row.get("site") == site and row.get("post") == post and row.get("parent") == parent
            and _normal(row.get("text", "")) == text
        ]
        live = [e for e in same if e.state in LIVE]
        if live:
            return live[0], False
        if same:
            entry = same[-1]
            changes = {"state": QUEUED, "author": author, "email": email, "last_error": "", "error_code": "",
                       "updated": now_iso()}
            tbl.update(changes, doc_ids=[entry.id])
            entry = Entry.from_row({**entry.to_row(), **changes})
        else:
            from tinydb.table import Document

            entry = Entry(
                id=_allocate(db), site=site, post=post, parent=parent, text=text, author=author, email=email,
                created=now_iso(), token=secrets.token_hex(8),
            )
            entry.updated = entry.created
            tbl.insert(Document(entry.to_row(), doc_id=entry.id))
    _put_placeholder(store, entry)
    return entry, True


def save_draft(
    store: Store, site: str, post: int, parent: int, text: str, author: str = "", email: str = "",
    *, draft_id: int | None = None,
) -> Entry | None:
    """Keep unsent text as a draft (replacing ``draft_id``'s text); None when ``text`` is empty."""
    text = _normal(text)
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
        from tinydb.table import Document

        entry = Entry(id=_allocate(db), site=site, post=post, parent=parent, text=text, author=author,
                      email=email, created=now_iso(), state=DRAFT, token=secrets.token_hex(8))
        entry.updated = entry.created
        tbl.insert(Document(entry.to_row(), doc_id=entry.id))
        return entry


def drop(store: Store, entry_id: int) -> Entry:
    """Remove an entry (and its placeholder); a reply being sent right now cannot be dropped."""
    db = _db(store)
    with storage(db).batch():
        tbl = table(db, "replies")
        row = tbl.get(doc_id=entry_id)
        if row is None:
            raise NotFound(f"no reply {entry_id} in the outbox; `broadsheet outbox` lists them")
        entry = Entry.from_row(row)
        if entry.state == SENDING and time.time() - entry.claimed_at < STALE_CLAIM:
            raise StoreError(f"reply {entry_id} is being sent right now; try again in a moment")
        tbl.remove(doc_ids=[entry_id])
    if entry.state not in (SENT, HELD) or entry.comment_id is None:
        _remove_placeholder(store, entry)
    return entry


# -- claiming --------------------------------------------------------------------------------


def claim(store: Store, site: str, ids: Iterable[int] | None = None) -> list[Entry]:
    """Mark entries ``sending`` for this process and return them (as they were before).

    Without ``ids``: the site's queued entries and stale claims. With ``ids``: those entries
    if they are queued, parked (draft/refused) or stale — never one sent or freshly claimed.
    """
    wanted = set(ids) if ids is not None else None
    now = time.time()
    db = _db(store)
    claimed: list[Entry] = []
    with storage(db).batch():
        tbl = table(db, "replies")
        for row in tbl.all():
            entry = Entry.from_row(row)
            if entry.site != site or (wanted is not None and entry.id not in wanted):
                continue
            stale = entry.state == SENDING and now - entry.claimed_at >= STALE_CLAIM
            ok = entry.state == QUEUED or stale or (wanted is not None and entry.state in PARKED)
            if not ok:
                continue
            if stale:
                entry.attempts = max(entry.attempts, 1)  # it may have reached the site
            tbl.update({"state": SENDING, "claimed_at": now, "claimed_by": _PROCESS}, doc_ids=[entry.id])
            claimed.append(entry)
    return claimed


def _release(store: Store, entry: Entry, state: str = QUEUED, **changes: Any) -> Entry:
    return _update(store, entry.id, state=state, claimed_at=0.0, claimed_by="", **changes)


# -- sending -------------------------------------------------------------------------------


async def send_entry(
    store: Store, site: Site, entry: Entry, client: httpx.AsyncClient, creds: credentials_mod.Credentials | None
) -> SendOutcome:
    """Send one claimed entry and record the outcome (never raises ``SourceError``)."""
    attempts = entry.attempts + 1
    _update(store, entry.id, attempts=attempts)
    posted: replies.Posted | None = None
    try:
        if entry.attempts > 0:  # tried before: the site may already have it
            posted = await replies.find(client, site.api_root, entry.post, entry.parent, entry.text,
                                        author=entry.author, credentials=creds)
        if posted is None:
            try:
                if creds is not None:
                    posted = await replies.post_rest(client, site.api_root, creds, entry.post, entry.parent, entry.text)
                else:
                    posted = await replies.post_form(client, replies.home_of(site.api_root), entry.post,
                                                     entry.parent, entry.text, entry.author, entry.email)
            except replies.Duplicate:
                found = await replies.find(client, site.api_root, entry.post, entry.parent, entry.text,
                                           author=entry.author, credentials=creds)
                # not visible (held, and we may not see held comments): it is on the site anyway
                posted = found or replies.Posted("hold")
    except Unreachable as error:
        entry = _release(store, entry, QUEUED, last_error=str(error), error_code=error.code)
        return SendOutcome("queued", entry, str(error))
    except (SourceError, InsecureTransport) as error:
        code = getattr(error, "code", "") or type(error).__name__
        entry = _release(store, entry, REFUSED, last_error=str(error), error_code=code)
        _remove_placeholder(store, entry)
        return SendOutcome("refused", entry, str(error))
    state = HELD if posted.held else SENT
    entry = _release(store, entry, state, comment_id=posted.comment_id, link=posted.link,
                     last_error="", error_code="")
    _confirm(store, entry, posted)
    result = "held" if posted.held else "published"
    return SendOutcome(result, entry, "held for moderation" if posted.held else "published",
                       posted.link, posted.comment_id)


async def send_ids(
    store: Store, site: Site, client: httpx.AsyncClient, ids: Iterable[int] | None = None
) -> list[SendOutcome]:
    """Claim and send entries of ``site`` (all queued ones, or ``ids``); stops at the first
    network failure and leaves the rest queued."""
    creds = credentials_mod.load(site.name)
    claimed = claim(store, site.name, ids)
    outcomes: list[SendOutcome] = []
    for index, entry in enumerate(claimed):
        outcome = await send_entry(store, site, entry, client, creds)
        outcomes.append(outcome)
        if outcome.result == "queued":
            for rest in claimed[index + 1:]:
                state = rest.state if rest.state in PARKED else QUEUED
                outcomes.append(SendOutcome("queued", _release(store, rest, state), outcome.message))
            break
    return outcomes


async def flush(store: Store, site: Site, client: httpx.AsyncClient) -> int:
    """Send the site's queued replies (called by ``sync`` before reading); returns how many
    reached the site. Failures stay in the outbox; nothing is raised for them."""
    if not any(e.state in (QUEUED, SENDING) for e in entries(store, site.name)):
        return 0
    outcomes = await send_ids(store, site, client)
    return sum(1 for o in outcomes if o.result in ("published", "held"))


async def send_now(
    store: Store, site: Site, entry_id: int, *, client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SendOutcome:
    """Send one entry now (if no other process is sending it, and it is not sent already)."""
    entry = get(store, entry_id)
    if entry.state in (SENT, HELD):
        return SendOutcome("held" if entry.state == HELD else "published", entry,
                           "already sent", entry.link, entry.comment_id)
    if not claim(store, site.name, [entry_id]):
        return SendOutcome("sending", get(store, entry_id), "being sent by another Broadsheet")
    from .http import make_client
    from .sync import transport_for

    own = client is None
    client = client or make_client(transport or transport_for(site))
    try:
        outcomes = [await send_entry(store, site, get(store, entry_id), client,
                                     credentials_mod.load(site.name))]
    finally:
        if own:
            await client.aclose()
    return outcomes[0]


def submit(
    store: Store, site: Site, post: int, parent: int, text: str, author: str = "", email: str = "",
    *, transport: httpx.AsyncBaseTransport | None = None,
) -> SendOutcome:
    """Store the reply, then send it (blocking: run it in a thread worker)."""
    entry, _ = prepare(store, site.name, post, parent, text, author, email)
    return asyncio.run(send_now(store, site, entry.id, transport=transport))


# -- the thread's view -----------------------------------------------------------------------


def _placeholder(entry: Entry) -> Comment:
    return Comment(id=entry.placeholder_id, site=entry.site, post=entry.post, parent=entry.parent,
                   author=entry.author or "you", date=entry.created, date_gmt=entry.created,
                   text=entry.text + "\n", status="pending")


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


def _confirm(store: Store, entry: Entry, posted: replies.Posted) -> None:
    """Swap the placeholder for the confirmed comment."""
    fallback = _placeholder(entry)
    if posted.comment_id is None:
        # on the site but not visible to us (held): keep the placeholder, marked held
        fallback.status = "hold"
        _put_placeholder_comment(store, fallback)
        return
    _remove_placeholder(store, entry)
    fallback.date = fallback.date_gmt = now_iso()
    comment = posted.comment(entry.site, fallback)
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
    "Entry", "SendOutcome", "as_json", "claim", "draft_for", "drop", "entries", "flush", "get", "prepare",
    "save_draft", "send_ids", "send_now", "submit",
]
