"""Build a large synthetic cache (through the real ``Store.save_sync``) for benchmarks."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cache.models import Category, Comment, Post, Site  # noqa: E402
from cache.store import Store  # noqa: E402

WORDS = ("harbour quay council ferry tide season board report vote plan berth fleet town "
         "weather market library school road bridge lantern festival budget").split()


def paragraph(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def build_cache(directory: Path, posts: int = 10_000, comments: int = 30_000, site: str = "bench",
                big_thread: int = 0, seed: int = 1) -> Store:
    """A cache with ``posts`` posts (~4 KB bodies) and ``comments`` comments in one site.

    ``big_thread``: put that many extra comments on the newest post.
    """
    rng = random.Random(seed)
    store = Store(directory)
    store.add_site(Site(name=site, url="https://bench.test", api_root="https://bench.test/wp-json/",
                        title="Bench News", last_sync="2099-01-01T00:00:00"))
    cats = [Category(i, site, f"Category {i}", parent=(0 if i <= 5 else (i - 1) // 5)) for i in range(1, 31)]
    batch_posts, bodies = [], {}
    for pid in range(1, posts + 1):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_700_000_000 + pid * 600))
        batch_posts.append(Post(pid, site, f"Post {pid}: {paragraph(rng, 6)}", date=stamp, date_gmt=stamp,
                                modified=stamp, modified_gmt=stamp, link=f"https://bench.test/p/{pid}/",
                                author="Bench Writer", categories=[rng.randint(1, 30)]))
        bodies[pid] = "".join(f"<p>{paragraph(rng, 60)}</p>\n" for _ in range(9))
    all_comments = []
    for cid in range(1, comments + 1):
        post = rng.randint(1, posts)
        all_comments.append(Comment(cid, site, post, 0, "Reader", text=paragraph(rng, 30),
                                    date_gmt=f"2026-01-01T00:00:{cid % 60:02d}"))
    for n in range(big_thread):
        cid = comments + 1 + n
        parent = 0 if n % 10 == 0 else cid - 1
        all_comments.append(Comment(cid, site, posts, parent, f"Reader {n % 37}", text=paragraph(rng, 40),
                                    date_gmt=f"2026-02-01T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}"))
    store.save_sync(site, posts=batch_posts, html=bodies, comments=all_comments, categories=cats)
    return store


if __name__ == "__main__":
    target = Path(sys.argv[1])
    started = time.perf_counter()
    build_cache(target)
    print(f"built {target} in {time.perf_counter() - started:.1f}s")
