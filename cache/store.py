"""The local cache: the only thing the reader reads.

Layout under the cache directory (every file a TinyDB database on
``AtomicJSONStorage``)::

    sites.json                      sites                 (tiny, hot)
    sites/<name>/index.json         posts, categories, meta  (no bodies: small, hot)
    sites/<name>/ids.json           summary               (post ids + the index's stamp)
    sites/<name>/summary.json       summary               (what listings need + the index's stamp)
    sites/<name>/state.json         read                  (read state: tiny, hot)
    sites/<name>/layout.json        layout                (how many shards of each kind)
    sites/<name>/bodies/<k>-of-<n>.json    bodies         (cold, sharded by post id)
    sites/<name>/comments/<k>-of-<n>.json  comments       (cold, sharded by post id)
    sites/<name>/site.lock          the one lock of the files above but state.json
    outbox.json                     replies               (see ``cache.outbox``)

``sites.json``, ``index.json`` and ``state.json`` keep their previous version beside them
(``.prev``): a corrupt one is replaced by it (``cache.storage``).

Post, category and comment documents use the WordPress id as TinyDB's ``doc_id``.

Invariants:
- ``index.json`` is the commit point of a sync. ``save_sync`` writes bodies and comments
  first and the index (posts, categories, cursors, comment counts) last, each file
  atomically; a sync killed half-way leaves the old index and cursors in force, and the
  next sync simply fetches the same things again.
- Read state lives apart from the index so marking a post read rewrites a tiny file and
  never races a sync writing the index.
- A post is unread unless its id is in ``state.json``.
- ``ids.json`` and ``summary.json`` are derived from the index and written right after it,
  each stamped with the index file's identity (inode, size, mtime), and trusted only while
  that stamp matches the index; anything that disagrees (a sync killed between the writes,
  another process writing the index, a file from an older Broadsheet) falls back to the
  index itself. ``ids.json`` holds only the post ids: ``cache.quick`` (``broadsheet
  unread``, in status bars) parses it whole, so it stays as small as it can be.
  ``summary.json`` holds what the shell's listings need — the ids, the categories, each
  category's post ids (one comma-joined string per category: cheap to parse) and the
  ``RECENT`` newest posts (listing fields only, as arrays) — so ``posts --limit``,
  ``categories`` and ``sites`` read one small file per site (``summary``), never the indexes.
- Shards: a site's bodies and comments are split by post id into as many files as their
  number needs (``shard_count``: one file for a feed of 50 items, up to ``SHARDS``), so a
  small site's sync writes a handful of files, not dozens. ``layout.json`` says how many;
  a site whose count grows is re-sharded by its sync: the new files are written, then
  ``layout.json`` (the layout's commit point), then the old files go. Every writer of
  shards holds the site's ``site.lock`` and reads the layout under it; a reader that
  finds its shard gone mid-move reads the layout again. A cache from before layouts (no
  ``layout.json``, files ``<k>.json``) is ``SHARDS`` shards of the old names.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tinydb import TinyDB

from . import paths
from .errors import NotFound, StoreError
from .layout import (
    COMMENTS_PER_SHARD,
    NEW,
    POSTS_PER_SHARD,
    Layout,
    layout_from_counts,
    layout_of,
    read_layout,
    shard_count,
    shard_counts,
    shard_file,
)
from .models import Article, Category, Comment, Post, Site, breadcrumb, field_defaults, name_key
from .safe import html_to_markdown
from .storage import AtomicJSONStorage, directory_syncs, open_db, storage, table

_KEPT = frozenset({"index.json", "state.json", "sites.json"})
"""Files whose previous version is kept (``keep_previous``): a corrupt one is replaced by it."""
RECENT = 100
"""Newest posts kept in each site's summary: ``posts --limit N`` up to this reads no index."""
SUMMARY_VERSION = 2
"""Bumped when the summary's shape changes: an older summary is treated as stale."""
LISTING_FIELDS = (
    "id",
    "title",
    "date",
    "date_gmt",
    "modified",
    "link",
    "author",
    "categories",
    "sticky",
    "protected",
    "comment_status",
    "comment_count",
)
"""The post fields a listing shows: the summary keeps its newest rows as arrays in this order."""
_DATE_GMT = LISTING_FIELDS.index("date_gmt")
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


def now_iso() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SS``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def valid_name(name: str) -> bool:
    """Site names are short slugs: they name a directory."""
    return bool(_NAME.fullmatch(name))


class Store:
    """The cache in ``directory`` (default: the user cache dir)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = paths.cache_dir(directory)
        self._dbs: dict[Path, TinyDB] = {}

    # -- files -----------------------------------------------------------------------

    def _db(self, path: Path, *, keep_previous: bool = False) -> TinyDB:
        db = self._dbs.get(path)
        if db is None:
            db = self._dbs[path] = open_db(path, keep_previous=keep_previous)
        return db

    def database(self, name: str) -> TinyDB:
        """A database file directly under the cache directory (``outbox.json``), opened once
        per store and shared by every module that writes it."""
        return self._db(self.directory / name)

    def site_dir(self, site: str) -> Path:
        """The directory holding ``site``'s files (not created)."""
        return self._site_dir(site)

    def _site_dir(self, site: str) -> Path:
        if not valid_name(site):
            raise NotFound(f"invalid site name {site!r}")
        return self.directory / "sites" / site

    def _index(self, site: str) -> TinyDB:  # a corrupt one: the previous index comes back
        return self._shard(site, "index.json", keep_previous=True)

    def _summary(self, site: str) -> TinyDB:  # derived from the index: not fsync'd
        return self._shard(site, "ids.json", durable=False)

    def _listing(self, site: str) -> TinyDB:  # derived from the index: not fsync'd
        return self._shard(site, "summary.json", durable=False)

    def _state(self, site: str) -> TinyDB:  # a corrupt one: the previous read marks come back
        return self._db(self._site_dir(site) / "state.json", keep_previous=True)

    def _shard(self, site: str, name: str, *, durable: bool = True, keep_previous: bool = False) -> TinyDB:
        """A file of the site under its one lock (``site.lock``): a shard
        (``bodies/03-of-08.json``), ``layout.json``, the index or its summaries. Read state
        (``state.json``) has its own: marking posts read never waits for a sync's save."""
        directory = self._site_dir(site)
        path = directory / name
        db = self._dbs.get(path)
        if db is None:
            db = self._dbs[path] = open_db(
                path, lock_path=directory / "site.lock", durable=durable, keep_previous=keep_previous
            )
        return db

    def layout(self, site: str) -> Layout:
        """How many shards ``site``'s bodies and comments are split into."""
        row = self._raw(self._shard(site, "layout.json"), "layout").get("1")
        return layout_of(row, self._site_dir(site))

    def _comments(self, site: str, post_id: int, layout: Layout | None = None) -> TinyDB:
        count = (layout or self.layout(site)).comments
        return self._shard(site, shard_file("comments", post_id, count))

    @property
    def _sites(self) -> TinyDB:  # a corrupt one: the previous subscriptions come back
        return self._db(self.directory / "sites.json", keep_previous=True)

    def close(self) -> None:
        """Forget every open file (the next call re-opens them)."""
        for db in self._dbs.values():
            db.close()
        self._dbs.clear()

    def release(self, site: str) -> None:
        """Forget ``site``'s open files and what was read of them (a sync of 200 sites must
        not keep every site's posts and bodies in memory); the next call re-reads them."""
        directory = self._site_dir(site)
        for path in [p for p in list(self._dbs) if directory in p.parents]:
            db = self._dbs.pop(path, None)
            if db is not None:
                db.close()

    # -- sites -----------------------------------------------------------------------

    def sites(self) -> list[Site]:
        """Every subscribed site, in the order they were added."""
        raw = storage(self._sites).read() or {}
        rows = raw.get("sites", {})
        return [Site.from_row(rows[k]) for k in sorted(rows, key=int)]

    def site(self, name: str | None = None) -> Site:
        """The site called ``name``; with ``None``, the only subscribed site."""
        if name is not None:  # one row made into a Site, not every one (200 sites: 200 lookups)
            for row in self._raw(self._sites, "sites").values():
                if row.get("name") == name:
                    return Site.from_row(row)
            raise NotFound(f"no site called {name!r}; `broadsheet sites` lists them")
        sites = self.sites()
        if len(sites) == 1:
            return sites[0]
        if not sites:
            raise NotFound("no site is subscribed; add one with `broadsheet add URL`")
        names = ", ".join(s.name for s in sites)
        raise NotFound(f"several sites are subscribed ({names}); choose one with --site or write SITE:ID")

    def add_site(self, site: Site) -> Site:
        """Subscribe to ``site`` (its name must be new)."""
        return self.add_sites([site])[0]

    def add_sites(self, sites: list[Site]) -> list[Site]:
        """Subscribe to several sites in one write (an OPML import); names must be new.

        Rows are keyed by ids computed here from the file as read under the lock (never
        from TinyDB's cached counter, which another process may have moved). A directory
        left under a new name (a removed site, a sync that finished after the removal) is
        cleared first: a new subscription never inherits another site's posts or cursors.
        """
        db = self._sites
        with storage(db).batch():
            rows = dict(self._raw(db, "sites"))
            taken = {row.get("name") for row in rows.values()}
            next_id = max((int(k) for k in rows), default=0) + 1
            stamp = now_iso()
            for site in sites:
                if not valid_name(site.name):
                    raise StoreError(f"invalid site name {site.name!r}: use letters, digits, '.', '_' or '-'")
                if site.name in taken:
                    raise StoreError(f"a site called {site.name!r} is already subscribed")
                taken.add(site.name)
                site.added = site.added or stamp
                rows[str(next_id)] = site.to_row()
                next_id += 1
            if sites:
                for site in sites:
                    self._clear_site_dir(site.name)
                _upsert(db, "sites", {int(k): v for k, v in rows.items()}, replace=True)
        return sites

    def update_site(self, site: Site) -> None:
        """Save all of ``site``'s fields (looked up by name)."""
        self.update_site_fields(site.name, **site.to_row())

    def update_site_fields(self, name: str, /, **fields: Any) -> None:
        """Change only ``fields`` of the site called ``name``, read and written under the
        lock: a sync recording its time never undoes a ``move`` made meanwhile."""
        db = self._sites
        with storage(db).batch():
            rows = self._raw(db, "sites")
            key = next((k for k, row in rows.items() if row.get("name") == name), None)
            if key is None:
                raise NotFound(f"no site called {name!r}")
            _upsert(db, "sites", {int(key): {**rows[key], **fields}})

    def update_sites_fields(self, fields: dict[str, dict[str, Any]]) -> None:
        """``update_site_fields`` for many sites in one write (names not subscribed any more
        are skipped: they were removed meanwhile)."""
        if not fields:
            return
        db = self._sites
        with storage(db).batch():
            rows = self._raw(db, "sites")
            changed = {
                int(key): {**row, **fields[row["name"]]}
                for key, row in rows.items()
                if row.get("name") in fields and fields[row["name"]]
            }
            if changed:
                _upsert(db, "sites", changed)

    def has_site(self, name: str) -> bool:
        """Whether ``name`` is subscribed (read fresh)."""
        return any(row.get("name") == name for row in self._raw(self._sites, "sites").values())

    def remove_site(self, name: str) -> None:
        """Unsubscribe and delete everything cached for ``name``."""
        db = self._sites
        with storage(db).batch():
            rows = self._raw(db, "sites")
            keys = [int(k) for k, row in rows.items() if row.get("name") == name]
            if not keys:
                raise NotFound(f"no site called {name!r}")
            _upsert(db, "sites", {}, remove=keys)
        self._clear_site_dir(name)

    def _clear_site_dir(self, name: str) -> None:
        directory = self._site_dir(name)
        for path in list(self._dbs):
            if directory in path.parents:
                self._dbs.pop(path).close()
        if not directory.exists():
            return
        import shutil

        # renamed first, so a half-deleted directory is never read as the site's cache
        aside = directory.with_name(f".{name}.removed-{time.time_ns()}")
        try:
            directory.rename(aside)
        except OSError:
            aside = directory
        shutil.rmtree(aside, ignore_errors=True)

    # -- categories ------------------------------------------------------------------

    def categories(self, site: str) -> list[Category]:
        """The site's categories, by name."""
        rows = self._raw(self._index(site), "categories")
        cats = [Category.from_row(row, site) for row in rows.values()]
        return sorted(cats, key=lambda c: name_key(c.name))

    def find_category(self, site: str, name_or_id: str | int) -> Category:
        """A category by id, slug or (case-insensitive) name."""
        cats = self.categories(site)
        key = str(name_or_id).strip()
        for cat in cats:
            if str(cat.id) == key:
                return cat
        for cat in cats:
            if cat.slug == key or cat.name.casefold() == key.casefold():
                return cat
        raise NotFound(f"no category {key!r} in {site}; `broadsheet categories` lists them")

    @staticmethod
    def descendants(cats: Iterable[Category], category_id: int) -> set[int]:
        """``category_id`` and every category below it."""
        children: dict[int, list[int]] = {}
        for cat in cats:
            children.setdefault(cat.parent, []).append(cat.id)
        found, todo = set(), [category_id]
        while todo:
            current = todo.pop()
            if current not in found:
                found.add(current)
                todo.extend(children.get(current, ()))
        return found

    # -- posts -----------------------------------------------------------------------

    def posts(
        self,
        site: str,
        *,
        category: int | None = None,
        unread_only: bool = False,
        limit: int | None = None,
    ) -> list[Post]:
        """Posts of ``site`` newest first, optionally in a category (and below it)."""
        rows = self._raw(self._index(site), "posts")
        posts: Iterable[dict[str, Any]] = rows.values()
        if category is not None:
            wanted = self.descendants(self.categories(site), category)
            posts = (row for row in posts if wanted.intersection(row.get("categories", ())))
        if unread_only:
            read = self.read_ids(site)
            posts = (row for row in posts if row["id"] not in read)
        ordered = sorted(posts, key=lambda row: (row.get("date_gmt", ""), row["id"]), reverse=True)
        if limit is not None:
            ordered = ordered[: max(limit, 0)]
        return [Post.from_row(row, site) for row in ordered]

    def post(self, site: str, post_id: int) -> Post:
        """One post's index entry."""
        row = self._raw(self._index(site), "posts").get(str(post_id))
        if row is None:
            raise NotFound(f"no post {post_id} in {site}")
        return Post.from_row(row, site)

    def find_post(self, site: str, id_or_url: str | int) -> Post:
        """A post by id, by its link, or by a ``?p=ID`` URL."""
        key = str(id_or_url).strip()
        if key.isascii() and key.isdigit():
            return self.post(site, int(key))
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(key)
        if not parts.scheme or not parts.netloc:
            raise NotFound(f"{key!r} is neither a post id nor a post URL")
        query = parse_qs(parts.query)
        if query.get("p", [""])[0].isascii() and query.get("p", [""])[0].isdigit():
            return self.post(site, int(query["p"][0]))
        wanted = link_key(key)
        for row in self._raw(self._index(site), "posts").values():
            if link_key(row.get("link", "")) == wanted:
                return Post.from_row(row, site)
        raise NotFound(f"no cached post at {key} in {site}; try `broadsheet sync`")

    def body(self, site: str, post_id: int) -> str:
        """A post's body (safe Markdown) alone: reads one cold shard, not the index, and does
        not keep it (a reader moving through posts would otherwise hold every shard)."""
        folder = self._site_dir(site)
        layout = read_layout(folder)
        row = self._transient(folder / shard_file("bodies", post_id, layout.bodies)).get("bodies", {}).get(str(post_id))
        if row is None and (moved := read_layout(folder)) != layout:  # re-sharded meanwhile
            row = (
                self._transient(folder / shard_file("bodies", post_id, moved.bodies))
                .get("bodies", {})
                .get(str(post_id))
            )
        row = row if isinstance(row, dict) else {}
        if "html" in row:  # as synced: converted on the way out (html_to_markdown is safe)
            return html_to_markdown(str(row["html"]))
        return str(row.get("body", ""))

    def article(self, site: str, post_id: int) -> Article:
        """A post with its body, read state and breadcrumb."""
        post = self.post(site, post_id)
        cats = {c.id: c for c in self.categories(site)}
        return Article(
            post=post,
            body=self.body(site, post_id),
            unread=post_id not in self.read_ids(site),
            breadcrumb=breadcrumb(post, cats),
        )

    # -- comments --------------------------------------------------------------------

    def comments(self, site: str, post_id: int) -> list[Comment]:
        """The post's comments in thread order (see ``thread``)."""
        return [c for _, c in self.threaded(site, post_id)]

    def threaded(self, site: str, post_id: int) -> list[tuple[int, Comment]]:
        """The post's comments as ``(depth, comment)`` in thread order (see ``thread``)."""
        layout = self.layout(site)
        rows = self._raw(self._comments(site, post_id, layout), "comments")
        if not rows and (moved := self.layout(site)) != layout:  # re-sharded meanwhile: read the new file
            rows = self._raw(self._comments(site, post_id, moved), "comments")
        return list(thread(Comment.from_row(r, site) for r in rows.values() if r.get("post") == post_id))

    def add_comment(self, comment: Comment) -> None:
        """Store one comment (a reply of ours, or one confirmed by the site) and keep the
        post's ``comment_count`` (approved comments, as the site counts them) in step."""
        with storage(self._shard(comment.site, "layout.json")).batch():  # the layout cannot change meanwhile
            _, counts = self._save_comments(comment.site, [comment], self.layout(comment.site).comments)
        self._set_comment_counts(comment.site, counts)

    def _set_comment_counts(self, site: str, counts: dict[int, int]) -> None:
        db = self._index(site)
        rows = self._raw(db, "posts")
        if all(str(pid) not in rows or rows[str(pid)].get("comment_count", 0) == n for pid, n in counts.items()):
            return  # nothing to change: no write
        with storage(db).batch():
            rows = self._raw(db, "posts")
            changed = {pid: {**rows[str(pid)], "comment_count": n} for pid, n in counts.items() if str(pid) in rows}
            _upsert(db, "posts", changed)
        self._write_summary(site)

    def remove_comment(self, site: str, post_id: int, comment_id: int) -> None:
        """Forget one comment (e.g. a pending placeholder once the real one is known)."""
        with storage(self._shard(site, "layout.json")).batch():  # the layout cannot change meanwhile
            db = self._comments(site, post_id)
            tbl = table(db, "comments")
            if tbl.contains(doc_id=comment_id):
                tbl.remove(doc_ids=[comment_id])

    def stamps(self, site: str, post_id: int | None = None) -> tuple[Any, ...]:
        """Identities (inode, size, mtime) of the site's index and of a post's comments
        file: cheap stats a reader polls to notice what another process wrote."""
        found: list[Any] = [storage(self._index(site)).stamp()]
        if post_id is not None:
            found.append(storage(self._comments(site, post_id)).stamp())
        return tuple(tuple(s) if s else None for s in found)

    # -- read state ------------------------------------------------------------------

    def read_ids(self, site: str) -> set[int]:
        """Ids of the posts marked read."""
        return {int(k) for k in self._raw(self._state(site), "read")}

    def mark_read(self, site: str, post_ids: Iterable[int], read: bool = True) -> None:
        """Mark posts read (or unread again) in one write."""
        ids = list(post_ids)
        if not ids:
            return
        db = self._state(site)
        with storage(db).batch():
            current = self._raw(db, "read")  # one read: ``Table.contains`` re-reads per call
            if read:
                stamp = now_iso()
                new = {i: {"at": stamp} for i in dict.fromkeys(ids) if str(i) not in current}
                if new:
                    _upsert(db, "read", new)
            else:
                present = [i for i in ids if str(i) in current]
                if present:
                    _upsert(db, "read", {}, remove=present)

    def unread_counts(self) -> dict[str, int]:
        """Unread posts per site: the status-bar figure, kept cheap (the demo site is left
        out once a real site is subscribed).

        Reads ``ids.json`` (the post ids, written after each index commit, with the index
        file's stamp) instead of the whole index; when the stamp does not match the index
        (a sync died between the two writes) it falls back to the index itself.
        """
        counts: dict[str, int] = {}
        sites = self.sites()
        real = any(not site.demo for site in sites)
        for site in sites:
            if real and site.demo:
                continue  # the demo stops counting once a real site is subscribed
            read = self._raw(self._state(site.name), "read")
            counts[site.name] = sum(1 for k in self._post_keys(site.name) if k not in read)
        return counts

    def _post_keys(self, site: str) -> list[str]:
        ids = self._derived(site, "ids.json")
        return list(ids["ids"]) if ids is not None else list(self._raw(self._index(site), "posts"))

    def _derived(self, site: str, name: str) -> dict[str, Any] | None:
        """A file derived from the site's index (``ids.json``, ``summary.json``), while it
        carries the index's current stamp (inode, size, mtime); else None: read the index."""
        folder = self._site_dir(site)
        stamp = paths.file_stamp(folder / "index.json")
        row = self._transient(folder / name).get("summary", {}).get("1")
        return row if stamp and isinstance(row, dict) and row.get("index") == stamp else None

    def _write_summary(self, site: str) -> None:
        index = self._index(site)
        before = storage(index).stamp()
        summary = _summarise(storage(index).read() or {})
        if before is None or storage(index).stamp() != before:
            return  # another process is writing the index: the fallback stays correct
        storage(self._summary(site)).write({"summary": {"1": {"index": before, "ids": summary["ids"]}}})
        storage(self._listing(site)).write({"summary": {"1": {"index": before, **summary}}})

    def summary(self, site: str) -> Summary:
        """What the shell's listings need of ``site`` (post ids, categories, unread counts,
        the newest posts, read state) from its small ``summary.json`` — or from the index
        when that does not match it. Nothing read here is kept in memory by the store."""
        folder = self._site_dir(site)
        data = self._derived(site, "summary.json")
        if data is None or data.get("version") != SUMMARY_VERSION:
            data = _summarise(self._transient(folder / "index.json"))
        read = self._transient(folder / "state.json").get("read", {})
        return Summary(site, data, frozenset(read))

    def read_raw(self, path: Path) -> dict[str, Any]:
        """A cache file's raw contents (the search index reads the store's files with it): see
        ``_transient``."""
        return self._transient(path)

    def _transient(self, path: Path) -> dict[str, Any]:
        """A file's contents without keeping them (unless this store already holds it open)."""
        cached = self._dbs.get(path)
        if cached is not None:
            return storage(cached).read() or {}
        return AtomicJSONStorage(path, lock_path=self._lock_of(path), keep_previous=path.name in _KEPT).read() or {}

    def _lock_of(self, path: Path) -> Path | None:
        """The lock a file of the cache is written under (a corrupt one is set aside under it):
        a site's files but its read state share ``site.lock``; others have their own."""
        sites = self.directory / "sites"
        if path.name == "state.json" or sites not in path.parents:
            return None
        relative = path.relative_to(sites)
        return sites / relative.parts[0] / "site.lock"

    def category_unread(self, site: str) -> dict[int, int]:
        """Unread posts per category id (each post counts in its own categories)."""
        read = self._raw(self._state(site), "read")
        counts: dict[int, int] = {}
        for key, row in self._raw(self._index(site), "posts").items():
            if key not in read:
                for cat in row.get("categories", ()):
                    counts[cat] = counts.get(cat, 0) + 1
        return counts

    # -- sync ------------------------------------------------------------------------

    def has_index(self, site: str) -> bool:
        """Whether ``site``'s index is there and sound: a stat and its small ``ids.json`` when
        they agree (200 sites: no index parsed), else the index itself is read (a corrupt one
        is set aside: False)."""
        if self._derived(site, "ids.json") is not None:
            return True
        return paths.file_stamp(self._site_dir(site) / "index.json") is not None and bool(
            self._raw(self._index(site), "meta").get("1")
        )

    def cursors(self, site: str) -> dict[str, Any]:
        """The incremental-sync cursors committed with the index."""
        return dict(self._raw(self._index(site), "meta").get("1", {}))

    def post_ids(self, site: str) -> set[int]:
        """Ids of every cached post."""
        return {int(k) for k in self._raw(self._index(site), "posts")}

    def post_stamps(self, site: str) -> dict[int, str]:
        """Cached post id → ``modified_gmt``: what a sync compares the site's answer with."""
        return {int(k): row.get("modified_gmt", "") for k, row in self._raw(self._index(site), "posts").items()}

    def save_sync(
        self,
        site: str,
        *,
        posts: list[Post],
        bodies: dict[int, str] | None = None,
        html: dict[int, str] | None = None,
        comments: Iterable[Comment] = (),
        categories: list[Category] | None = None,
        categories_complete: bool = True,
        removed: Iterable[int] = (),
        cursors: dict[str, Any] | None = None,
        comments_complete_since: str | None = None,
    ) -> tuple[int, int, int, int]:
        """Commit a sync's results; returns (new posts, updated posts, new comments, removed
        comments).

        ``bodies`` are Markdown (tests, benchmarks), ``html`` as the site sent it (sync):
        converted by ``body()``. Bodies and comments first, the index last (the commit point).
        With ``comments_complete_since`` (a site-local time, "" for all time), ``comments``
        is every comment the site shows dated after it: cached comments from the site in that
        range that are not among them are dropped (trashed, spammed or unapproved since). Our
        own replies (negative ids, or ``hold``: invisible to anonymous reads) are kept.
        """
        body_rows = {pid: {"body": text} for pid, text in (bodies or {}).items()}
        body_rows.update({pid: {"html": text} for pid, text in (html or {}).items()})
        comments = list(comments)
        gone = 0
        held = storage(self._shard(site, "layout.json"))
        with held.locked():  # one hold of the site's lock for the whole commit
            before = self._raw(self._index(site), "posts")
            # the shards' directories are fsync'd once when the inner block ends: before the layout
            # (written when the batch ends) and the index
            with held.batch(), directory_syncs():
                layout, moved = self._grow(site, before, body_rows, comments)
                for shard, items in _by_shard(body_rows.items(), lambda kv: kv[0], layout.bodies).items():
                    _upsert(self._shard(site, shard_file("bodies", shard, layout.bodies)), "bodies", dict(items))
                new_comments, counts = self._save_comments(site, comments, layout.comments)
                if comments_complete_since is not None:
                    gone, dropped_counts = self._drop_missing_comments(
                        site, comments, comments_complete_since, layout.comments
                    )
                    counts.update(dropped_counts)
            if moved:
                self._sweep(site)

            db = self._index(site)
            with storage(db).batch():
                old_rows = self._raw(db, "posts")
                rows: dict[int, dict[str, Any]] = {p.id: p.to_row() for p in posts}
                new = sum(1 for pid in rows if str(pid) not in old_rows)
                # updated: a post sent again that differs (a full sync sends every post again;
                # a new comment count alone is the comments' news, not the post's)
                updated = sum(1 for pid, row in rows.items() if _differs(old_rows.get(str(pid)), row))
                for pid, row in rows.items():
                    old = old_rows.get(str(pid))
                    if pid in counts:
                        row["comment_count"] = counts[pid]
                    elif not row.get("comment_count"):  # a feed's slash:comments is kept as sent
                        row["comment_count"] = (old or {}).get("comment_count", 0)
                for pid, count in counts.items():
                    old = old_rows.get(str(pid))
                    if pid not in rows and old is not None and old.get("comment_count", 0) != count:
                        rows[pid] = {**old, "comment_count": count}
                _upsert(db, "posts", rows, remove=[pid for pid in removed if str(pid) in old_rows])
                if categories is not None:
                    _upsert(db, "categories", {c.id: c.to_row() for c in categories}, replace=categories_complete)
                if cursors is not None:
                    _upsert(db, "meta", {1: cursors})
            self._write_summary(site)
        return new, updated, new_comments, gone

    def _grow(
        self, site: str, before: dict[str, Any], bodies: dict[int, Any], comments: list[Comment]
    ) -> tuple[Layout, bool]:
        """The layout a save writes into (under the site lock), and whether files of another
        layout are left to sweep: the stored one, re-sharded when the site now holds more than
        its shards should; a site with no shard yet starts at the size it needs. The layout's
        new row is written when the lock's batch ends, after the shards and their directories
        are on disk (its commit point); ``_sweep`` removes the other files then.

        With no valid ``layout.json`` (lost, or a cache from before layouts) the files say:
        when two layouts' files are there (a re-shard killed between its steps) the rows of
        both are merged, the larger layout's last (it was written after the other)."""
        held = self._shard(site, "layout.json")
        folder = self._site_dir(site)
        stored = self._raw(held, "layout").get("1")
        present = {kind: shard_counts(folder, kind) for kind in ("bodies", "comments")}
        if Layout.valid(stored):
            current = Layout.from_row(stored)
            sources = {"bodies": [current.bodies], "comments": [current.comments]}
        else:
            current = layout_from_counts(present) or NEW
            sources = present
        posts = len(before) + sum(1 for pid in bodies if str(pid) not in before)
        count = sum(int(row.get("comment_count") or 0) for row in before.values()) + len(comments)
        want = Layout(
            max(current.bodies, shard_count(posts, POSTS_PER_SHARD)),
            max(current.comments, shard_count(count, COMMENTS_PER_SHARD)),
        )
        self._reshard(site, "bodies", sources["bodies"], want.bodies)
        self._reshard(site, "comments", sources["comments"], want.comments)
        if stored != want.to_row():
            storage(held).write({"layout": {"1": want.to_row()}})
        leftover = any(present[kind] not in ([], [getattr(want, kind)]) for kind in present)
        return want, leftover

    def _reshard(self, site: str, kind: str, old: list[int], new: int) -> None:
        """Copy ``kind``'s rows from the files of the ``old`` shard counts (in order: a later
        one's rows win) into ``new`` shards (new names: the old files stay in force until the
        layout changes)."""
        if old in ([], [new]):
            return
        folder = self._site_dir(site)
        rows: dict[str, Any] = {}
        for count in old:
            for shard in range(count):
                name = shard_file(kind, shard, count)
                if (folder / name).exists():
                    rows.update(self._raw(self._shard(site, name), kind))
        parts: dict[int, dict[str, Any]] = {}
        for key, row in rows.items():
            owner = int(row.get("post", 0)) if kind == "comments" else int(key)
            parts.setdefault(owner % new, {})[key] = row
        for shard, part in parts.items():
            storage(self._shard(site, shard_file(kind, shard, new))).write({kind: part})

    def _sweep(self, site: str) -> None:
        """Remove shard files that the site's layout does not name (left by a re-shard, or
        by a re-shard killed half-way) and the per-file locks of caches before layouts."""
        folder = self._site_dir(site)
        with storage(self._shard(site, "layout.json")).batch():
            layout = self.layout(site)
            for kind, count in (("bodies", layout.bodies), ("comments", layout.comments)):
                keep = {shard_file(kind, k, count).split("/", 1)[1] for k in range(count)}
                try:
                    entries = list(os.scandir(folder / kind))
                except OSError:
                    continue
                for entry in entries:
                    if entry.name in keep or not entry.name.endswith((".json", ".json.lock")):
                        continue
                    self._dbs.pop(Path(entry.path), None)
                    try:
                        os.unlink(entry.path)
                    except OSError:
                        pass

    def _drop_missing_comments(
        self, site: str, seen: list[Comment], since: str, shards: int
    ) -> tuple[int, dict[int, int]]:
        """Drop the site's approved comments dated after ``since`` that ``seen`` lacks;
        returns (how many, approved count per touched post). Under the shard lock."""
        ids = {c.id for c in seen}
        gone = 0
        counts: dict[int, int] = {}
        folder = self._site_dir(site)
        for shard in range(shards):
            name = shard_file("comments", shard, shards)
            if not (folder / name).exists():
                continue
            db = self._shard(site, name)
            rows = self._raw(db, "comments")
            doomed = [
                key
                for key, row in rows.items()
                if int(key) > 0
                and row.get("status", "approved") == "approved"
                and int(key) not in ids
                and row.get("date", "") > since
            ]
            if not doomed:
                continue
            with storage(db).batch():
                current = dict((storage(db).read() or {}).get("comments", {}))
                touched = {current[k].get("post") for k in doomed if k in current}
                for key in doomed:
                    if current.pop(key, None) is not None:
                        gone += 1
                data = dict(storage(db).read() or {})
                data["comments"] = current
                storage(db).write(data)
            for row in current.values():
                if row.get("post") in touched:
                    counts.setdefault(row["post"], 0)
                    if row.get("status", "approved") == "approved":
                        counts[row["post"]] += 1
            for post in touched:
                counts.setdefault(post, 0)
        return gone, counts

    def _save_comments(self, site: str, comments: list[Comment], shards: int) -> tuple[int, dict[int, int]]:
        """Upsert comments into ``shards`` shards; returns (how many were new, approved count
        of each post they belong to, changed or not: an index rebuilt after a loss gets its
        counts back). Under the shard lock."""
        new = 0
        counts: dict[int, int] = {}
        for shard, items in _by_shard(comments, lambda c: c.post, shards).items():
            db = self._shard(site, shard_file("comments", shard, shards))
            with storage(db).batch():
                existing = (storage(db).read() or {}).get("comments", {})
                rows = {c.id: c.to_row() for c in items}
                rows = {cid: row for cid, row in rows.items() if existing.get(str(cid)) != row}
                if rows:  # else nothing changed: no write
                    new += sum(1 for cid in rows if str(cid) not in existing)
                    _upsert(db, "comments", rows)
                touched = {c.post for c in items}
                for row in (storage(db).read() or {}).get("comments", {}).values():
                    if row.get("post") in touched:
                        counts.setdefault(row["post"], 0)
                        if row.get("status", "approved") == "approved":
                            counts[row["post"]] += 1
        return new, counts

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _raw(db: TinyDB, name: str) -> dict[str, Any]:
        """A table's raw ``{doc_id: row}`` mapping (read-only; no Document copies)."""
        table_: dict[str, Any] = (storage(db).read() or {}).get(name, {})
        return table_


def thread(comments: Iterable[Comment]) -> Iterator[tuple[int, Comment]]:
    """Depth-first ``(depth, comment)`` pairs, oldest first at every level.

    A comment whose parent is missing (held, deleted, or not yet synced) is shown at the
    top level rather than lost; cycles cannot loop.
    """
    items = sorted(comments, key=lambda c: (c.date_gmt, c.id))
    ids = {c.id for c in items}
    children: dict[int, list[Comment]] = {}
    for comment in items:
        parent = comment.parent if comment.parent in ids and comment.parent != comment.id else 0
        children.setdefault(parent, []).append(comment)
    seen: set[int] = set()
    stack = [(0, c) for c in reversed(children.get(0, []))]
    while stack:
        depth, comment = stack.pop()
        if comment.id in seen:
            continue
        seen.add(comment.id)
        yield depth, comment
        stack.extend((depth + 1, c) for c in reversed(children.get(comment.id, [])))
    for comment in items:  # anything left is part of a cycle: show it flat
        if comment.id not in seen:
            seen.add(comment.id)
            yield 0, comment


def _differs(old: dict[str, Any] | None, row: dict[str, Any]) -> bool:
    """Whether a post sent again changed, its comment count aside (None: it is new)."""
    if old is None:
        return False
    keys = (old.keys() | row.keys()) - {"comment_count"}
    return any(old.get(key) != row.get(key) for key in keys)


class Summary:
    """One site's listing data, as ``Store.summary`` read it (see the module docstring).

    Post ids are kept as the index's string keys, as ``state.json`` keys read marks."""

    __slots__ = ("_by_category", "_categories", "_recent", "post_keys", "read", "site")

    def __init__(self, site: str, data: dict[str, Any], read: frozenset[str]) -> None:
        self.site = site
        self.post_keys: list[str] = data.get("ids", [])
        self._categories: list[dict[str, Any]] = data.get("categories", [])
        self._by_category: dict[str, str] = data.get("by_category", {})
        self._recent: list[list[Any]] = data.get("recent", [])
        self.read = read

    @property
    def categories(self) -> list[Category]:
        """The site's categories, by name (as ``Store.categories``)."""
        cats = [Category.from_row(row, self.site) for row in self._categories]
        return sorted(cats, key=lambda c: name_key(c.name))

    def category_names(self) -> dict[int, str]:
        return {row["id"]: row["name"] for row in self._categories}

    @property
    def post_count(self) -> int:
        return len(self.post_keys)

    @property
    def unread_count(self) -> int:
        return len(self.post_keys) - sum(map(self.read.__contains__, self.post_keys))

    def unread(self, post_id: int) -> bool:
        return str(post_id) not in self.read

    def category_unread(self) -> dict[int, int]:
        """Unread posts per category id (each post counts in its own categories), as
        ``Store.category_unread``."""
        read = self.read.__contains__
        counts = {}
        for cat, joined in self._by_category.items():
            keys = joined.split(",")
            counts[int(cat)] = len(keys) - sum(map(read, keys))
        return {cat: n for cat, n in counts.items() if n}

    def newest(self, limit: int, *, unread_only: bool = False, after: str = "") -> list[Post] | None:
        """The ``limit`` newest (unread) posts with their listing fields only, in
        ``Store.posts``'s order; with ``after``, only those whose ``date_gmt`` is later (a
        merge across sites that already has ``limit`` posts that new needs no older ones).
        None when the summary's newest rows cannot tell (ask the index)."""
        rows = self._recent
        complete = len(rows) >= len(self.post_keys) or bool(after and rows and rows[-1][_DATE_GMT] <= after)
        if unread_only:
            rows = [row for row in rows if str(row[0]) not in self.read]
        if after:
            rows = [row for row in rows if row[_DATE_GMT] > after]
        if len(rows) < limit and not complete:
            return None
        return [Post(site=self.site, **dict(zip(LISTING_FIELDS, row, strict=False))) for row in rows[: max(limit, 0)]]


def _summarise(index: dict[str, Any]) -> dict[str, Any]:
    """The summary of an index's contents (``summary.json`` without the stamp)."""
    import heapq

    posts: dict[str, dict[str, Any]] = index.get("posts", {})
    by_category: dict[str, list[str]] = {}
    for key, row in posts.items():
        for cat in row.get("categories", ()):
            by_category.setdefault(str(cat), []).append(key)
    newest = heapq.nlargest(RECENT, posts.values(), key=lambda row: (row.get("date_gmt", ""), row["id"]))
    defaults = {"title": "", **{k: v for k, v in field_defaults(Post).items() if k in LISTING_FIELDS}}
    return {
        "version": SUMMARY_VERSION,
        "ids": list(posts),
        "categories": list(index.get("categories", {}).values()),
        # one string per category: parsing a string costs next to nothing, a list of ids
        # as much as "ids" itself
        "by_category": {cat: ",".join(keys) for cat, keys in by_category.items()},
        "recent": [[row.get(k, defaults.get(k)) for k in LISTING_FIELDS] for row in newest],
    }


def link_key(url: str) -> str:
    """What identifies a post's permalink: host (any case) and path without the trailing
    slash, and the query; not the scheme or the fragment."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    return f"{parts.netloc.lower()}{parts.path.rstrip('/')}?{parts.query}"


def _by_shard(items: Iterable[Any], key: Any, count: int) -> dict[int, list[Any]]:
    shards: dict[int, list[Any]] = {}
    for item in items:
        shards.setdefault(key(item) % count, []).append(item)
    return shards


def _upsert(
    db: TinyDB, name: str, rows: dict[int, dict[str, Any]], *, remove: Iterable[int] = (), replace: bool = False
) -> None:
    """Insert or replace rows by doc_id (and drop ``remove``) in one pass; inside a batch.

    Bulk writes go to the storage layer directly, in TinyDB's own file format: the Table API
    re-keys the whole table on every call, which made it most of a large sync's cost.
    """
    store = storage(db)
    data = dict(store.read() or {})
    current = {} if replace else dict(data.get(name, {}))
    for pid in remove:
        current.pop(str(pid), None)
    current.update((str(pid), row) for pid, row in rows.items())
    data[name] = current
    store.write(data)
