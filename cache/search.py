"""Full-text search over the cache: a derived SQLite FTS5 index in ``<cache dir>/search.sqlite``.

The TinyDB store stays the store of record. This index is derived data: it can be stale,
missing or damaged, and ``SearchIndex.rebuild(store)`` makes it again from the store.

Design decisions:

- **One document per post (title + body text) and one per comment.** A search returns at
  most one ``"post"`` hit per post and at most ``comments_per_post`` (default 3) ``"comment"``
  hits per post, so one busy thread cannot fill the whole result list. Comments are indexed
  without their post's title (a title match is one hit, not one per comment).
- **Newest first, cheaply.** A document's rowid is ``datekey(post date_gmt) << 24 | n``: the
  post's date in the high bits, a counter in the low 24 bits. FTS5 walks its doclists in
  rowid order, so ``ORDER BY rowid DESC LIMIT`` stops after the first few matches even when a
  word is in every post; comments sort with their post. The final page is ordered by
  (post date desc, site, post id desc, the post before its comments, comment id).
- **Tokenizer: ``unicode61 remove_diacritics 2``**: case-insensitive, ``café`` = ``cafe``
  (text and queries are NFC-normalised first, so decomposed accents fold too). CJK scripts
  (Han, kana, Hangul) have no spaces between words: before indexing, every CJK character is
  set apart with U+200B (a separator for unicode61, invisible, and removed from snippets),
  and a CJK query becomes a phrase of characters, so ``ウェブ開発`` finds ``…のウェブ開発入門``.
  The ``trigram`` tokenizer was rejected: SQLite 3.40 (this Python's) has no
  ``remove_diacritics`` for it, it cannot match queries shorter than three characters
  (``開発``), and its index is several times larger. Not folded: ``ß``/``ss``, ligatures,
  full-width/half-width forms, emoji and symbols (unicode61 treats them as separators).
- **Queries are never FTS5 syntax.** ``query_terms`` splits the user's text into
  ``"quoted phrases"`` and plain words; every term goes to FTS5 as a quoted string (so
  ``AND(``, ``NEAR``, ``*``, ``:``, ``-`` and stray ``"`` are plain text), all terms must match,
  and the last plain word matches as a prefix when it has >= 3 characters and the query
  does not end with a space (``harb`` finds ``harbour``). A query without any letter or
  digit has no terms: ``search`` returns ``[]`` (callers that want to say so check
  ``query_terms`` first).
- **Indexed text is cheap plain text.** Post bodies are stored as HTML: ``html_text`` strips
  tags with a few regular expressions in linear time (``script``/``style``/... content and
  HTML comments dropped; an unclosed one drops the rest), decodes entities, then removes
  escape sequences and control characters (``cache.safe.clean_text``) and folds whitespace.
  Markdown (comments, ``{"body": …}`` rows) loses link targets and emphasis marks the same
  way. Texts are capped at ``MAX_TEXT`` characters.
- **Snippets are safe and marked.** ``Hit.snippet`` is one line with no control character
  (``cache.safe.clean_line`` leaves it unchanged); ``Hit.marks`` are ``(start, end)`` offsets
  of the matched words in it; ``Hit.marked()`` renders them with a marker pair.
- **Staleness.** Per site the index records the stamps (inode, size, mtime) of ``index.json``
  and of the 32 comment shards as they were *before* it read them. ``stale_sites`` compares
  them with the files now (stats only). ``refresh`` brings stale sites up to date by
  difference: posts whose index row changed (fingerprint of title, dates, link), posts gone,
  and comments whose row changed in a comment shard whose stamp moved. A body that changes
  without its post's index row changing is not noticed (WordPress moves ``modified``).
- **Crash safety.** Every change is one SQLite transaction (WAL journal): a killed process
  leaves the previous index. A file that is not a database or is malformed (SQLite's
  NOTADB/CORRUPT) is deleted and recreated empty; writers carry on (the site's stamps are
  gone, so it shows up as stale), ``search`` raises a one-line ``StoreError`` saying so.
- **Light imports.** The query path imports ``sqlite3``, ``cache.safe`` and
  ``cache.errors`` only: no TinyDB, httpx or Textual. Indexing imports the store's storage.
- **Threads.** A ``SearchIndex`` holds one ``sqlite3`` connection, opened on first use and
  bound to that thread: use one ``SearchIndex`` per thread (opening one costs nothing until
  it is used). Several processes may use the file at once (SQLite's locking; writers wait
  up to ``BUSY_TIMEOUT`` seconds).
"""

from __future__ import annotations

import html
import os
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import Stopped, StoreError
from .layout import read_layout, shard_file
from .safe import clean_text

if TYPE_CHECKING:
    from .store import Store

FILENAME = "search.sqlite"
SCHEMA_VERSION = 1
BUSY_TIMEOUT = 10.0
MAX_TEXT = 1_000_000
"""Characters of one document's text that are indexed (the rest is not searchable)."""
SNIPPET_TOKENS = 16
STOP_EVERY = 20_000
"""SQLite virtual-machine steps between two looks at a stop request (well under 1 ms)."""
OPEN_MARK, CLOSE_MARK = "\ue000", "\ue001"
"""Private-use characters FTS5 puts around matches; removed from indexed text and queries."""
_SHIFT = 24  # low bits of a rowid: documents sharing one post-date second
_ZWSP = "\u200b"

_CJK_CLASS = (
    "\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3038-\u303b\u3040-\u30ff\u3100-\u318f"
    "\u31a0-\u31bf\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af"
    "\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
_CJK_RUN = re.compile(f"[{_CJK_CLASS}]+")
_MARKERS = re.compile(f"[{OPEN_MARK}{CLOSE_MARK}]")
_SPACES = re.compile(r"\s+")

_DROP = (
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "noscript",
    "template",
    "svg",
    "math",
    "select",
    "textarea",
    "frameset",
    "frame",
    "applet",
    "head",
)
_SPECIAL = re.compile(r"<!--|<(" + "|".join(_DROP) + r")(?=[\s/>])", re.IGNORECASE)
_CLOSE = {tag: re.compile(rf"</{tag}[^<>]*>?", re.IGNORECASE) for tag in _DROP}
_TAG = re.compile(r"<[^<>]*>")  # [^<>]: a tag never spans another '<', so this is linear
# Markdown, lightly: [text](target) and ![alt](src) keep their text; emphasis, code and
# heading/quote marks and backslash escapes go. Negated classes keep every pattern linear.
_MD_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\([^()\s]*\)")
_MD_MARKS = re.compile(r"[*`~]+|(?m:^[ \t]*(?:#{1,6}|>+)[ \t])")
_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")

_TERM = re.compile(r'"([^"]*)"?|([^\s"]+)')


# -- text ------------------------------------------------------------------------------


def html_text(fragment: str | None) -> str:
    """Plain, safe, one-line text of an HTML fragment, in linear time (see the module doc)."""
    if not fragment:
        return ""
    fragment = fragment[: 4 * MAX_TEXT]
    if "<!--" not in fragment and _SPECIAL.search(fragment) is None:
        kept = fragment
    else:
        parts, pos = [], 0
        while (found := _SPECIAL.search(fragment, pos)) is not None:
            parts.append(fragment[pos : found.start()])
            parts.append(" ")
            if found.group(1) is None:  # <!-- ... -->
                end = fragment.find("-->", found.end())
                pos = -1 if end < 0 else end + 3
            else:
                close = _CLOSE[found.group(1).lower()].search(fragment, found.end())
                pos = -1 if close is None else close.end()
            if pos < 0:  # never closed: everything after it is dropped
                break
        else:
            parts.append(fragment[pos:])
        kept = "".join(parts)
    return _plain(html.unescape(_TAG.sub(" ", kept)))


def markdown_text(text: str | None) -> str:
    """Plain, safe, one-line text of Markdown (link targets and emphasis marks dropped)."""
    if not text:
        return ""
    text = text[: 2 * MAX_TEXT]
    return _plain(_MD_ESCAPE.sub(r"\1", _MD_MARKS.sub("", _MD_LINK.sub(r"\1", text))))


def _plain(text: str) -> str:
    """NFC, no markers, no control characters, whitespace folded, capped."""
    folded = " ".join(text.split())
    if folded.isprintable() and OPEN_MARK not in folded and CLOSE_MARK not in folded:
        return unicodedata.normalize("NFC", folded)[:MAX_TEXT]  # nothing to clean (most text)
    text = unicodedata.normalize("NFC", text)
    text = _MARKERS.sub("", clean_text(text))
    return " ".join(text.split())[:MAX_TEXT]


def _split_cjk(text: str) -> str:
    """Set every CJK character apart with U+200B so unicode61 makes it a token."""
    if text.isascii():
        return text
    return _CJK_RUN.sub(lambda m: _ZWSP + _ZWSP.join(m.group()) + _ZWSP, text)


def query_terms(query: str) -> list[tuple[str, bool]]:
    """The user's query as ``(term, prefix)`` pairs: quoted phrases and plain words that hold
    at least one letter or digit; ``prefix`` is true for a last plain word of >= 3 characters
    (not CJK) when the query does not end with a space. Empty: nothing to search for."""
    query = _MARKERS.sub("", unicodedata.normalize("NFC", clean_text(query or "")))
    terms: list[tuple[str, bool]] = []
    last_word = False
    for found in _TERM.finditer(query):
        phrase, word = found.group(1), found.group(2)
        text = " ".join((phrase if word is None else word).split())
        last_word = False
        if any(ch.isalnum() for ch in text):
            terms.append((text, False))
            last_word = word is not None
    if last_word and not query[-1:].isspace():
        text = terms[-1][0]
        if len(text) >= 3 and not _CJK_RUN.search(text):
            terms[-1] = (text, True)
    return terms


def _fts_query(terms: list[tuple[str, bool]]) -> str:
    """An FTS5 MATCH expression: every term a quoted string (no operator can get in)."""
    quoted = []
    for text, prefix in terms:
        body = _split_cjk(text).replace('"', '""')
        quoted.append(f'"{body}"' + (" *" if prefix else ""))
    return " ".join(quoted)


def _site_token(site: str) -> str:
    """The site as one token, matched in the ``tag`` column (hex: no separators inside)."""
    return "s" + site.encode().hex()


def _datekey(stamp: str) -> int:
    """``YYYY-MM-DDTHH:MM:SS`` as an integer in the same order (0 when unparsable)."""
    try:
        y, mo, d = int(stamp[0:4]), int(stamp[5:7]), int(stamp[8:10])
        h, mi, s = (int(stamp[11:13]), int(stamp[14:16]), int(stamp[17:19])) if len(stamp) >= 19 else (0, 0, 0)
    except ValueError:
        return 0
    if not (0 < y <= 9999 and 0 < mo <= 12 and 0 < d <= 31 and h < 24 and mi < 60 and s < 62):
        return 0
    return ((((y * 12 + mo) * 31 + d) * 24 + h) * 60 + mi) * 62 + s


# -- hits ------------------------------------------------------------------------------


@dataclass(slots=True)
class Hit:
    """One search result. ``id`` is the post's id; ``in_`` says where the match is
    (``"post"``: title or body; ``"comment"``: comment ``comment_id`` of that post).
    ``date`` is the post's (site-local) date; ``marks`` are ``(start, end)`` offsets of the
    matched words in ``snippet``."""

    site: str
    id: int
    title: str
    date: str
    link: str
    snippet: str
    in_: str
    comment_id: int | None = None
    marks: list[tuple[int, int]] = field(default_factory=list)
    date_gmt: str = ""

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` form: keys site, id, title, date, link, snippet, in, comment_id."""
        return {
            "site": self.site,
            "id": self.id,
            "title": self.title,
            "date": self.date,
            "link": self.link,
            "snippet": self.snippet,
            "in": self.in_,
            "comment_id": self.comment_id,
        }

    def marked(self, start: str = "«", end: str = "»") -> str:
        """The snippet with every match wrapped in ``start``/``end`` (for plain terminals)."""
        out, pos = [], 0
        for a, b in self.marks:
            out += [self.snippet[pos:a], start, self.snippet[a:b], end]
            pos = b
        out.append(self.snippet[pos:])
        return "".join(out)


def _snippet(raw: str) -> tuple[str, list[tuple[int, int]]]:
    """FTS5's marked snippet as (one safe line, match offsets)."""
    text, marks, opened = "", [], None
    for piece in re.split(f"([{OPEN_MARK}{CLOSE_MARK}])", raw.replace(_ZWSP, "")):
        if piece == OPEN_MARK:
            opened = len(text)
        elif piece == CLOSE_MARK:
            if opened is not None and len(text) > opened:
                marks.append((opened, len(text)))
            opened = None
        else:
            piece = _SPACES.sub(" ", clean_text(piece))
            if text.endswith(" ") and piece.startswith(" "):
                piece = piece[1:]
            text += piece
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    marks = [(max(a - lead, 0), min(b - lead, len(text))) for a, b in marks]
    return text, [(a, b) for a, b in marks if a < b]


# -- the index -------------------------------------------------------------------------

_SCHEMA = f"""
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sites(site TEXT PRIMARY KEY, stamp TEXT NOT NULL);
CREATE TABLE posts(site TEXT NOT NULL, id INTEGER NOT NULL, title TEXT NOT NULL, date TEXT NOT NULL,
                   date_gmt TEXT NOT NULL, link TEXT NOT NULL, fp INTEGER NOT NULL,
                   PRIMARY KEY (site, id)) WITHOUT ROWID;
CREATE TABLE docs(rowid INTEGER PRIMARY KEY, site TEXT NOT NULL, post INTEGER NOT NULL,
                  comment INTEGER, fp INTEGER NOT NULL);
CREATE INDEX docs_post ON docs(site, post);
CREATE VIRTUAL TABLE fts USING fts5(title, body, tag, tokenize='unicode61 remove_diacritics 2');
PRAGMA user_version = {SCHEMA_VERSION};
"""


@contextmanager
def _transaction(conn: sqlite3.Connection, handler: Callable[[], int] | None = None) -> Iterator[None]:
    """One write transaction (taken at once: no lock upgrade to deadlock on). ``handler``:
    the connection's progress handler (a stop request), set aside for the rollback."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.set_progress_handler(None, 0)  # a stop request must not interrupt the rollback
        try:
            conn.execute("ROLLBACK")
        finally:
            if handler is not None:
                conn.set_progress_handler(handler, STOP_EVERY)
        raise
    conn.execute("COMMIT")


class _Moved(Exception):
    """(Internal.) A site was re-sharded while it was being indexed: roll back, read it again."""


def _is_corruption(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
    message = str(error).lower()
    return "not a database" in message or "malformed" in message


class SearchIndex:
    """The search index of the cache in ``directory`` (``Store.directory``)."""

    def __init__(self, directory: str | os.PathLike[str], *, stop: Callable[[], bool] | None = None) -> None:
        """``stop()`` true: the work under way ends soon with ``Stopped`` (its transaction
        rolled back), between statements or inside one."""
        self.path = Path(directory) / FILENAME
        self._stop = stop
        self._handler: Callable[[], int] | None = None if stop is None else (lambda: int(stop()))
        self._conn: sqlite3.Connection | None = None
        self._next: dict[int, int] = {}
        self._files: dict[Path, dict[str, Any]] = {}  # cache files read during one update

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (the next call opens it again)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- connection ---------------------------------------------------------------------

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        """The connection; ``None`` when there is no usable index and ``create`` is false."""
        if self._conn is not None:
            return self._conn
        if not create and not self.path.exists():
            return None
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open the search index {self.path}: {error}") from None
        if self._handler is not None:
            conn.set_progress_handler(self._handler, STOP_EVERY)  # non-zero: the statement aborts
        try:
            conn.execute("PRAGMA synchronous = NORMAL")  # with WAL: durable enough for derived data
            conn.execute("PRAGMA journal_size_limit = 8388608")  # the WAL shrinks back after a rebuild
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                if not create:
                    conn.close()
                    return None
                self._create(conn)
        except sqlite3.Error as error:
            conn.close()
            if not _is_corruption(error):
                raise StoreError(f"cannot open the search index: {error}") from None
            self._reset()
            if not create:
                raise StoreError("the search index was damaged and has been reset; run `broadsheet reindex`") from None
            return self._connect(create)
        self._conn = conn
        return conn

    @staticmethod
    def _create(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:  # not made meanwhile
                for name in ("fts", "docs", "posts", "sites", "meta"):
                    conn.execute(f"DROP TABLE IF EXISTS {name}")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _reset(self) -> None:
        """Delete a damaged index (derived data) so it can be made again."""
        self.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except FileNotFoundError:
                pass
            except OSError as error:
                raise StoreError(f"cannot remove the damaged search index {self.path}: {error.strerror}") from None
        import logging

        logging.getLogger(__name__).info("search index %s was damaged; reset it", self.path)

    def _guarded(self, error: sqlite3.Error, *, reading: bool) -> StoreError:
        """Turn an SQLite error into a one-line ``StoreError`` (resetting a damaged index)."""
        if _is_corruption(error):
            self._reset()
            return StoreError("the search index was damaged and has been reset; run `broadsheet reindex`")
        if reading:
            return StoreError(f"search failed: {error}")
        return StoreError(f"cannot update the search index: {error}")

    # -- searching ----------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        site: str | None = None,
        limit: int = 50,
        comments_per_post: int | None = 3,
        snippets: bool = True,
    ) -> list[Hit]:
        """Posts and comments matching ``query`` (see ``query_terms``), newest post first.
        ``snippets=False``: hits without snippets (FTS5 makes them from each document's text:
        most of a search's time when only the posts are wanted, as in the reader's tree).

        ``[]`` when the query has no term or there is no index yet. Raises ``StoreError``
        (one line) when the index is damaged (it is reset) or unreadable.
        """
        terms = query_terms(query)
        if not terms or limit <= 0:
            return []
        expression = "{title body} : (" + _fts_query(terms) + ")"
        if site is not None:
            expression = f'tag : "{_site_token(site)}" AND {expression}'
        try:
            conn = self._connect(create=False)
            if conn is None:
                return []
            return self._search(conn, expression, limit, comments_per_post, snippets)
        except sqlite3.Error as error:
            self.check_stop()  # an interrupted statement is a stop, not a damaged index
            raise self._guarded(error, reading=True) from None

    def _search(
        self, conn: sqlite3.Connection, expression: str, limit: int, per_post: int | None, with_snippets: bool
    ) -> list[Hit]:
        picked: list[tuple[int, str, int, int | None]] = []
        seen: dict[tuple[str, int], int] = {}
        rows = conn.execute(
            "SELECT f.rowid, d.site, d.post, d.comment FROM fts AS f JOIN docs AS d ON d.rowid = f.rowid "
            "WHERE fts MATCH ? ORDER BY f.rowid DESC",
            (expression,),
        )
        for rowid, site, post, comment in rows:
            if comment is not None and per_post is not None:
                count = seen.get((site, post), 0)
                if count >= per_post:
                    continue
                seen[(site, post)] = count + 1
            picked.append((rowid, site, post, comment))
            if len(picked) >= limit:
                break
        rows.close()
        if not picked:
            return []
        # All snippets in one statement: FTS5 sets a query up once per statement, and for a
        # prefix that means merging every matching term's doclist (milliseconds each time).
        ids = ",".join(str(row[0]) for row in picked)  # integers from our own table
        snippets = (
            {
                rowid: (body, title)
                for rowid, body, title in conn.execute(
                    "SELECT rowid, snippet(fts, 1, ?1, ?2, '…', ?3), snippet(fts, 0, ?1, ?2, '…', ?3) FROM fts "
                    f"WHERE fts MATCH ?4 AND rowid BETWEEN ?5 AND ?6 AND +rowid IN ({ids})",
                    (OPEN_MARK, CLOSE_MARK, SNIPPET_TOKENS, expression, picked[-1][0], picked[0][0]),
                )
            }
            if with_snippets
            else {rowid: ("", "") for rowid, *_ in picked}
        )
        hits = []
        for rowid, site, post, comment in picked:
            meta = conn.execute(
                "SELECT title, date, date_gmt, link FROM posts WHERE site = ? AND id = ?", (site, post)
            ).fetchone()
            if rowid not in snippets or meta is None:
                continue
            body, title_snippet = snippets[rowid]
            snippet, marks = _snippet(body or "")  # the body's matches; else the title's
            if not marks and title_snippet:
                snippet, marks = _snippet(title_snippet)
            title, date, date_gmt, link = meta
            hits.append(
                Hit(
                    site=site,
                    id=post,
                    title=title,
                    date=date or date_gmt,
                    link=link,
                    snippet=snippet,
                    in_="post" if comment is None else "comment",
                    comment_id=comment,
                    marks=marks,
                    date_gmt=date_gmt,
                )
            )
        hits.sort(key=lambda h: (h.comment_id is not None, h.comment_id or 0))
        hits.sort(key=lambda h: (h.date_gmt, h.site, h.id), reverse=True)
        return hits

    def indexed_sites(self) -> list[str]:
        """Sites with a complete index recorded (stale or not); ``[]`` without an index."""
        try:
            conn = self._connect(create=False)
            if conn is None:
                return []
            return [row[0] for row in conn.execute("SELECT site FROM sites ORDER BY site")]
        except sqlite3.Error as error:
            raise self._guarded(error, reading=True) from None

    # -- staleness ----------------------------------------------------------------------

    @staticmethod
    def _stamps(store: Store, site: str) -> dict[str, Any]:
        """The identities of the files the site's index comes from (stats only)."""
        from .paths import file_stamp

        folder = store.site_dir(site)
        layout = read_layout(folder)
        return {
            "index": file_stamp(folder / "index.json"),
            "layout": [layout.bodies, layout.comments],
            "comments": [
                file_stamp(folder / shard_file("comments", k, layout.comments)) for k in range(layout.comments)
            ],
        }

    def _recorded(self, conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
        import json

        return {site: json.loads(stamp) for site, stamp in conn.execute("SELECT site, stamp FROM sites")}

    def stale_sites(self, store: Store) -> list[str]:
        """Subscribed sites whose cache files changed since they were indexed (or that were
        never indexed), in the store's order. Stats only: cheap enough to call often."""
        names = [s.name for s in store.sites()]
        try:
            conn = self._connect(create=False)
            recorded = {} if conn is None else self._recorded(conn)
        except sqlite3.Error as error:
            if not _is_corruption(error):
                raise self._guarded(error, reading=True) from None
            self._reset()
            recorded = {}
        except StoreError:  # damaged: reset by _connect, so every site is stale
            recorded = {}
        return [name for name in names if recorded.get(name) != self._stamps(store, name)]

    # -- indexing -----------------------------------------------------------------------

    @staticmethod
    def _check_layout(store: Store, site: str, stamps: dict[str, Any]) -> None:
        """Raise ``_Moved`` when ``site`` was re-sharded since ``stamps`` were taken: what was
        read of it may come from files swept meanwhile (read as empty)."""
        layout = read_layout(store.site_dir(site))
        if [layout.bodies, layout.comments] != stamps["layout"]:
            raise _Moved

    def check_stop(self) -> None:
        """Raise ``Stopped`` when the owner asked to stop."""
        if self._stop is not None and self._stop():
            raise Stopped("stopped before the search index was brought up to date")

    def _writing(self) -> sqlite3.Connection:
        conn = self._connect(create=True)
        assert conn is not None
        return conn

    def _run(self, work: Any) -> Any:
        """Run ``work(conn)`` in one transaction; a damaged index is reset and ``work`` retried,
        and so is work that read a site while another process re-sharded it."""
        reset = False
        for _attempt in range(4):
            self._next.clear()
            self._files.clear()
            try:
                conn = self._writing()
                with _transaction(conn, self._handler):
                    return work(conn)
            except _Moved:
                continue  # rolled back: read the site again, in its new layout
            except sqlite3.Error as error:
                self.check_stop()
                if not reset and _is_corruption(error):
                    self._reset()
                    reset = True
                    continue
                raise self._guarded(error, reading=False) from None
        raise StoreError("the cache kept changing while the search index was brought up to date; try again")

    def update(self, store: Store, site: str, post_ids: Iterable[int] | None = None) -> int:
        """Index ``site``'s posts ``post_ids`` (their title, body and comments), or the whole
        site when ``None`` (which also records its stamps). Ids no longer in the store are
        removed. Returns the number of posts indexed."""
        ids = None if post_ids is None else sorted(set(post_ids))

        def work(conn: sqlite3.Connection) -> int:
            stamps = self._stamps(store, site)
            posts = self._post_rows(store, site)
            if ids is None:
                self._delete_site(conn, site)
                wanted = list(posts)
            else:
                gone = [pid for pid in ids if pid not in posts]
                self._delete_posts(conn, site, gone, comments=True)
                wanted = [pid for pid in ids if pid in posts]
            self._index_posts(conn, store, site, [posts[pid] for pid in wanted], indexed=ids is not None)
            self._index_comments(conn, store, site, None if ids is None else set(wanted))
            self._check_layout(store, site, stamps)
            if ids is None:
                self._record(conn, site, stamps)
            return len(wanted)

        return int(self._run(work))

    def remove(self, site: str, post_ids: Iterable[int] | None = None) -> None:
        """Forget ``site``'s posts ``post_ids`` (and their comments), or the whole site."""
        ids = None if post_ids is None else list(post_ids)

        def work(conn: sqlite3.Connection) -> None:
            if ids is None:
                self._delete_site(conn, site)
            else:
                self._delete_posts(conn, site, ids, comments=True)

        if self.path.exists():
            self._run(work)

    def rebuild(self, store: Store) -> int:
        """Make the whole index again from the store (``broadsheet reindex``); returns the
        number of posts indexed. One transaction: killed half-way, the old index stays."""

        def work(conn: sqlite3.Connection) -> int:
            for name in ("fts", "docs", "posts", "sites"):
                conn.execute(f"DELETE FROM {name}")
            total = 0
            for site in store.sites():
                stamps = self._stamps(store, site.name)
                posts = list(self._post_rows(store, site.name).values())
                self._index_posts(conn, store, site.name, posts, indexed=False)
                self._index_comments(conn, store, site.name, None)
                self._check_layout(store, site.name, stamps)
                self._record(conn, site.name, stamps)
                total += len(posts)
            conn.execute("INSERT INTO fts(fts) VALUES ('optimize')")  # one segment: faster queries
            return total

        total = int(self._run(work))
        try:  # move the rebuild out of the WAL into the file (best effort: readers may hold it)
            self._writing().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        return total

    def refresh(self, store: Store, sites: Iterable[str] | None = None) -> int:
        """Bring stale sites up to date by difference (what sync calls after saving), and
        forget sites no longer subscribed. Returns the number of posts (re)indexed."""
        names = [s.name for s in store.sites()]
        wanted = names if sites is None else [name for name in sites if name in names]

        def work(conn: sqlite3.Connection) -> int:
            recorded = self._recorded(conn)
            if sites is None:
                for gone in set(recorded) - set(names):
                    self._delete_site(conn, gone)
            total = 0
            for name in wanted:
                self.check_stop()
                now = self._stamps(store, name)
                old = recorded.get(name)
                if old != now:
                    total += self._refresh_site(conn, store, name, old, now)
                    self._check_layout(store, name, now)
                    self._record(conn, name, now)
            return total

        return int(self._run(work))

    def _refresh_site(
        self, conn: sqlite3.Connection, store: Store, site: str, old: dict[str, Any] | None, now: dict[str, Any]
    ) -> int:
        posts = self._post_rows(store, site)
        ours = {
            pid: (fp, date_gmt)
            for pid, fp, date_gmt in conn.execute("SELECT id, fp, date_gmt FROM posts WHERE site = ?", (site,))
        }
        gone = [pid for pid in ours if pid not in posts]
        changed = [p for pid, p in posts.items() if ours.get(pid, (None,))[0] != _post_fp(p)]
        moved = {p.id for p in changed if p.id in ours and ours[p.id][1] != p.date_gmt}
        self._delete_posts(conn, site, gone, comments=True)
        self._index_posts(conn, store, site, [p for p in changed if p.id in ours])
        self._index_posts(conn, store, site, [p for p in changed if p.id not in ours], indexed=False)
        # comments: the posts of shards whose file changed, plus new posts and posts whose date moved
        count = len(now["comments"])
        if old is None or old.get("layout") != now["layout"]:  # new, or re-sharded: every shard
            shards = set(range(count))
        else:
            shards = {k for k in range(count) if old["comments"][k] != now["comments"][k]}
        fresh = {p.id for p in changed if p.id not in ours} | moved
        self._index_comments(conn, store, site, moved)
        self._index_comments(conn, store, site, fresh - moved, indexed=False)
        self._diff_comments(conn, store, site, shards, skip=fresh)
        return len(changed)

    def _read(self, store: Store, site: str, name: str) -> dict[str, Any]:
        """A cache file of ``site``, raw, read once per update. A file the store holds open
        (it just wrote it, e.g. during a sync) comes from the store's own parsed copy, which
        its storage re-validates against the file's stamp."""
        path = store.site_dir(site) / name
        data = self._files.get(path)
        if data is None:
            data = self._files[path] = store.read_raw(path)
        return data

    def _post_rows(self, store: Store, site: str) -> dict[int, _PostRow]:
        """The site's posts as the index needs them, from ``index.json``."""
        store.site(site)  # NotFound for a site that is not subscribed
        rows = self._read(store, site, "index.json").get("posts", {})
        return {
            int(key): _PostRow(int(key), row) for key, row in rows.items() if key.isdigit() and isinstance(row, dict)
        }

    def _record(self, conn: sqlite3.Connection, site: str, stamps: dict[str, Any]) -> None:
        import json

        conn.execute("INSERT OR REPLACE INTO sites(site, stamp) VALUES (?, ?)", (site, json.dumps(stamps)))

    def _delete_site(self, conn: sqlite3.Connection, site: str) -> None:
        conn.execute("DELETE FROM fts WHERE rowid IN (SELECT rowid FROM docs WHERE site = ?)", (site,))
        conn.execute("DELETE FROM docs WHERE site = ?", (site,))
        conn.execute("DELETE FROM posts WHERE site = ?", (site,))
        conn.execute("DELETE FROM sites WHERE site = ?", (site,))

    def _delete_posts(self, conn: sqlite3.Connection, site: str, ids: Iterable[int], *, comments: bool) -> None:
        only = "" if comments else " AND comment IS NULL"
        for pid in ids:
            conn.execute(
                f"DELETE FROM fts WHERE rowid IN (SELECT rowid FROM docs WHERE site = ? AND post = ?{only})",
                (site, pid),
            )
            conn.execute(f"DELETE FROM docs WHERE site = ? AND post = ?{only}", (site, pid))
            if comments:
                conn.execute("DELETE FROM posts WHERE site = ? AND id = ?", (site, pid))

    def _rowid(self, conn: sqlite3.Connection, date_gmt: str) -> int:
        """A free rowid in the slot of ``date_gmt`` (see the module doc)."""
        base = _datekey(date_gmt) << _SHIFT
        nxt = self._next.get(base)
        if nxt is None:
            top = conn.execute(
                "SELECT max(rowid) FROM docs WHERE rowid BETWEEN ? AND ?", (base, base + (1 << _SHIFT) - 1)
            ).fetchone()[0]
            nxt = base if top is None else top + 1
        if nxt >= base + (1 << _SHIFT):  # 16 million documents in one second: put it last
            self._next.clear()
            nxt = (conn.execute("SELECT max(rowid) FROM docs").fetchone()[0] or 0) + 1
        self._next[base] = nxt + 1
        return nxt

    def _index_posts(
        self, conn: sqlite3.Connection, store: Store, site: str, posts: list[_PostRow], *, indexed: bool = True
    ) -> None:
        """(Re)index the post documents of ``posts`` (title and body) and their metadata.
        ``indexed=False``: none of them is in the index yet (nothing to delete first)."""
        if not posts:
            return
        from .safe import clean_line

        if indexed:
            self._delete_posts(conn, site, [p.id for p in posts], comments=False)
        tag = _site_token(site)
        count = store.layout(site).bodies
        by_shard: dict[int, list[Any]] = {}
        for post in posts:
            by_shard.setdefault(post.id % count, []).append(post)
        fts, docs, meta = [], [], []
        for shard, items in by_shard.items():
            self.check_stop()
            bodies = self._read(store, site, shard_file("bodies", shard, count)).get("bodies", {})
            for post in items:
                row = bodies.get(str(post.id)) or {}
                body = html_text(row["html"]) if "html" in row else markdown_text(row.get("body", ""))
                title = _plain(clean_line(post.title))
                rowid = self._rowid(conn, post.date_gmt)  # a slot's next rowid is kept in memory
                fts.append((rowid, _split_cjk(title), _split_cjk(body), tag))
                docs.append((rowid, site, post.id))
                meta.append(
                    (
                        site,
                        post.id,
                        title,
                        clean_line(post.date),
                        clean_line(post.date_gmt),
                        clean_line(post.link),
                        _post_fp(post),
                    )
                )
        conn.executemany("INSERT INTO fts(rowid, title, body, tag) VALUES (?, ?, ?, ?)", fts)
        conn.executemany("INSERT INTO docs(rowid, site, post, comment, fp) VALUES (?, ?, ?, NULL, 0)", docs)
        conn.executemany(
            "INSERT OR REPLACE INTO posts(site, id, title, date, date_gmt, link, fp) VALUES (?, ?, ?, ?, ?, ?, ?)", meta
        )

    def _index_comments(
        self, conn: sqlite3.Connection, store: Store, site: str, post_ids: set[int] | None, *, indexed: bool = True
    ) -> None:
        """(Re)index every comment of the indexed posts ``post_ids``; ``None``: of every
        indexed post of the site, whose comments the caller has already deleted.
        ``indexed=False``: no comment of those posts is in the index yet."""
        if post_ids is not None and not post_ids:
            return
        dates = dict(conn.execute("SELECT id, date_gmt FROM posts WHERE site = ?", (site,)))
        if post_ids is not None and indexed:
            for pid in post_ids:
                conn.execute(
                    "DELETE FROM fts WHERE rowid IN "
                    "(SELECT rowid FROM docs WHERE site = ? AND post = ? AND comment IS NOT NULL)",
                    (site, pid),
                )
                conn.execute("DELETE FROM docs WHERE site = ? AND post = ? AND comment IS NOT NULL", (site, pid))
        count = store.layout(site).comments
        shards = range(count) if post_ids is None else sorted({pid % count for pid in post_ids})
        for shard in shards:
            rows = _comment_rows(self._read(store, site, shard_file("comments", shard, count)), dates, post_ids)
            for cid in sorted(rows):
                post, row = rows[cid]
                self._insert_comment(conn, site, post, cid, row, dates[post])

    def _diff_comments(
        self, conn: sqlite3.Connection, store: Store, site: str, shards: set[int], *, skip: set[int]
    ) -> None:
        """In the comment ``shards``, re-index the comments whose row changed, index the new
        ones and drop those gone (the comments of the posts in ``skip`` are left alone)."""
        if not shards:
            return
        dates = dict(conn.execute("SELECT id, date_gmt FROM posts WHERE site = ?", (site,)))
        count = store.layout(site).comments
        ours: dict[int, dict[int, tuple[int, int, int]]] = {}
        for rowid, post, comment, fp in conn.execute(
            "SELECT rowid, post, comment, fp FROM docs WHERE site = ? AND comment IS NOT NULL", (site,)
        ):
            if post % count in shards and post not in skip:
                ours.setdefault(post % count, {})[comment] = (rowid, post, fp)
        for shard in sorted(shards):
            mine = ours.get(shard, {})
            rows = _comment_rows(self._read(store, site, shard_file("comments", shard, count)), dates, None)
            for cid in sorted(rows):
                post, row = rows[cid]
                if post in skip:
                    continue
                fp = _row_fp(row)
                old = mine.pop(cid, None)
                if old is not None:
                    if old[1] == post and old[2] == fp:
                        continue
                    self._delete_doc(conn, old[0])
                self._insert_comment(conn, site, post, cid, row, dates[post], fp)
            for rowid, _post, _fp in mine.values():  # no longer in the shard
                self._delete_doc(conn, rowid)

    def _insert_comment(
        self,
        conn: sqlite3.Connection,
        site: str,
        post: int,
        cid: int,
        row: dict[str, Any],
        date_gmt: str,
        fp: int | None = None,
    ) -> None:
        rowid = self._rowid(conn, date_gmt)
        conn.execute(
            "INSERT INTO fts(rowid, title, body, tag) VALUES (?, '', ?, ?)",
            (rowid, _split_cjk(markdown_text(str(row.get("text") or ""))), _site_token(site)),
        )
        conn.execute(
            "INSERT INTO docs(rowid, site, post, comment, fp) VALUES (?, ?, ?, ?, ?)",
            (rowid, site, post, cid, _row_fp(row) if fp is None else fp),
        )

    @staticmethod
    def _delete_doc(conn: sqlite3.Connection, rowid: int) -> None:
        conn.execute("DELETE FROM fts WHERE rowid = ?", (rowid,))
        conn.execute("DELETE FROM docs WHERE rowid = ?", (rowid,))


def _comment_rows(
    shard: dict[str, Any], dates: dict[int, str], post_ids: set[int] | None
) -> dict[int, tuple[int, dict[str, Any]]]:
    """``{comment id: (post, row)}`` of a comment shard's data, for indexed posts (of ``post_ids``)."""
    found = {}
    for key, row in shard.get("comments", {}).items():
        post = row.get("post") if isinstance(row, dict) else None
        if post in dates and (post_ids is None or post in post_ids) and key.lstrip("-").isdigit():
            found[int(key)] = (post, row)
    return found


class _PostRow:
    """What the index needs of a post's row in ``index.json`` (compact rows omit defaults)."""

    __slots__ = ("date", "date_gmt", "id", "link", "modified_gmt", "title")

    def __init__(self, pid: int, row: dict[str, Any]) -> None:
        self.id = pid
        self.title = str(row.get("title") or "")
        self.date = str(row.get("date") or "")
        self.date_gmt = str(row.get("date_gmt") or "")
        self.modified_gmt = str(row.get("modified_gmt") or "")
        self.link = str(row.get("link") or "")


def _post_fp(post: _PostRow) -> int:
    """What the post document and its metadata depend on, besides the body."""
    import zlib

    key = f"{post.title}\0{post.date}\0{post.date_gmt}\0{post.modified_gmt}\0{post.link}"
    return zlib.crc32(key.encode("utf-8", "surrogatepass"))


def _row_fp(row: dict[str, Any]) -> int:
    """What a comment document depends on."""
    import zlib

    key = f"{row.get('post')}\0{row.get('status')}\0{row.get('date_gmt')}\0{row.get('text')}"
    return zlib.crc32(key.encode("utf-8", "surrogatepass"))
