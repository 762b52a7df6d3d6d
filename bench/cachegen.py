"""Build a large synthetic cache (through the real ``Store.save_sync``) for benchmarks."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cache.models import Category, Comment, Post, Site
from cache.store import Store

WORDS = [
    "harbour",
    "quay",
    "council",
    "ferry",
    "tide",
    "season",
    "board",
    "report",
    "vote",
    "plan",
    "berth",
    "fleet",
    "town",
    "weather",
    "market",
    "library",
    "school",
    "road",
    "bridge",
    "lantern",
    "festival",
    "budget",
]


def paragraph(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def build_cache(
    directory: Path,
    posts: int = 10_000,
    comments: int = 30_000,
    site: str = "bench",
    big_thread: int = 0,
    seed: int = 1,
) -> Store:
    """A cache with ``posts`` posts (~4 KB bodies) and ``comments`` comments in one site.

    ``big_thread``: put that many extra comments on the newest post.
    """
    rng = random.Random(seed)
    store = Store(directory)
    store.add_site(
        Site(
            name=site,
            url="https://bench.test",
            api_root="https://bench.test/wp-json/",
            title="Bench News",
            last_sync="2099-01-01T00:00:00",
        )
    )
    cats = [Category(i, site, f"Category {i}", parent=(0 if i <= 5 else (i - 1) // 5)) for i in range(1, 31)]
    batch_posts, bodies = [], {}
    for pid in range(1, posts + 1):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_700_000_000 + pid * 600))
        batch_posts.append(
            Post(
                pid,
                site,
                f"Post {pid}: {paragraph(rng, 6)}",
                date=stamp,
                date_gmt=stamp,
                modified=stamp,
                modified_gmt=stamp,
                link=f"https://bench.test/p/{pid}/",
                author="Bench Writer",
                categories=[rng.randint(1, 30)],
            )
        )
        bodies[pid] = "".join(f"<p>{paragraph(rng, 60)}</p>\n" for _ in range(9))
    all_comments = []
    for cid in range(1, comments + 1):
        post = rng.randint(1, posts)
        all_comments.append(
            Comment(cid, site, post, 0, "Reader", text=paragraph(rng, 30), date_gmt=f"2026-01-01T00:00:{cid % 60:02d}")
        )
    for n in range(big_thread):
        cid = comments + 1 + n
        parent = 0 if n % 10 == 0 else cid - 1
        all_comments.append(
            Comment(
                cid,
                site,
                posts,
                parent,
                f"Reader {n % 37}",
                text=paragraph(rng, 40),
                date_gmt=f"2026-02-01T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}",
            )
        )
    store.save_sync(site, posts=batch_posts, html=bodies, comments=all_comments, categories=cats)
    return store


def build_sites(
    directory: Path,
    sites: int = 200,
    posts: int = 500,
    comments: int = 1_500,
    read: int = 100,
    paragraphs: int = 9,
    seed: int = 1,
) -> Store:
    """A heavy reader's cache: ``sites`` sites of ``posts`` posts (``paragraphs`` paragraphs
    of ~450 bytes each as the body) and ``comments`` comments each, every site with 12
    categories in a tree, filed in 8 folders, its oldest ``read`` posts marked read.

    Sites interleave in time (and every 50th shares its dates), so a listing across sites must
    really merge them. Everything goes through ``Store.add_sites``/``save_sync``.
    """
    rng = random.Random(seed)
    store = Store(directory)
    names = [f"site{n:04d}" for n in range(sites)]
    store.add_sites(
        [
            Site(
                name=name,
                url=f"https://{name}.test",
                api_root=f"https://{name}.test/wp-json/",
                title=f"{name.title()} Gazette",
                folder=f"Folder {n % 8}" if n % 3 else "",
                last_sync="2099-01-01T00:00:00",
            )
            for n, name in enumerate(names)
        ]
    )
    for n, site in enumerate(names):
        cats = [
            Category(i, site, f"{site} section {i}", slug=f"section-{i}", parent=0 if i <= 4 else (i - 1) // 4, count=0)
            for i in range(1, 13)
        ]
        batch, bodies = [], {}
        for pid in range(1, posts + 1):
            at = 1_700_000_000 + pid * 3600 + (n % 50) * 60  # sites 50 apart tie: the merge must be stable
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at))
            batch.append(
                Post(
                    pid,
                    site,
                    f"{site} {pid}: {paragraph(rng, 6)}",
                    date=stamp,
                    date_gmt=stamp,
                    modified=stamp,
                    modified_gmt=stamp,
                    link=f"https://{site}.test/p/{pid}/",
                    author="Bench Writer",
                    categories=rng.sample(range(1, 13), rng.randint(1, 2)),
                    sticky=pid == posts // 2,
                )
            )
            bodies[pid] = "".join(f"<p>{paragraph(rng, 60)}</p>\n" for _ in range(paragraphs))
        for cat in cats:
            cat.count = sum(1 for p in batch if cat.id in p.categories)
        found = [
            Comment(
                cid,
                site,
                rng.randint(1, posts),
                0,
                "Reader",
                text=paragraph(rng, 30),
                date_gmt=f"2026-01-01T00:{cid // 60 % 60:02d}:{cid % 60:02d}",
            )
            for cid in range(1, comments + 1)
        ]
        store.save_sync(
            site,
            posts=batch,
            html=bodies,
            comments=found,
            categories=cats,
            cursors={"modified_after": "2099-01-01T00:00:00"},
        )
        store.mark_read(site, range(1, read + 1))
        store.close()  # keep the builder's own memory flat
    return store


if __name__ == "__main__":
    target = Path(sys.argv[1])
    started = time.perf_counter()
    if len(sys.argv) > 2:  # cachegen.py DIR SITES [POSTS [COMMENTS]]
        build_sites(target, *(int(a) for a in sys.argv[2:5]))
    else:
        build_cache(target)
    print(f"built {target} in {time.perf_counter() - started:.1f}s")
