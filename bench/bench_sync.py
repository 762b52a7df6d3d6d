"""First sync of a real local WordPress (2,000 posts, 6,000 comments) vs a plain download.

Targets (issue 2): first sync <= 1.25x a plain concurrent download of the same pages,
measured in the same run; a re-sync with nothing new <= 5 requests and <= 0.5 s.

Starts its own WordPress on loopback (needs Debian's wordpress, mariadb-server, php-cli,
php-mysql; run as root) and stops it at the end.
Run: .venv/bin/python bench/bench_sync.py [--posts 2000 --comments 6000 --rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from cache.http import make_client
from cache.models import Site
from cache.sources import discover
from cache.sources.wordpress import COMMENT_FIELDS, POST_FIELDS, route_url
from cache.store import Store
from cache.sync import sync_site
from tests.e2e.wpserver import WordPress, available

CONCURRENCY = 6


async def plain_download(api_root: str) -> tuple[int, int]:
    """Fetch the same pages a first sync fetches, concurrently, and do nothing with them."""
    limit = asyncio.Semaphore(CONCURRENCY)
    total_bytes = 0
    requests = 0
    async with httpx.AsyncClient(timeout=60) as client:

        async def get(route: str, params: dict) -> httpx.Response:
            nonlocal total_bytes, requests
            url = httpx.URL(route_url(api_root, route)).copy_merge_params(params)
            async with limit:
                response = await client.get(url)
            total_bytes += len(response.content)
            requests += 1
            return response

        async def collection(route: str, params: dict) -> None:
            first = await get(route, {**params, "per_page": 100, "page": 1})
            pages = int(first.headers.get("x-wp-totalpages", "1"))
            await asyncio.gather(*(get(route, {**params, "per_page": 100, "page": n}) for n in range(2, pages + 1)))

        await asyncio.gather(
            collection("/wp/v2/categories", {"_fields": "id,name,slug,parent,count,link"}),
            collection("/wp/v2/posts", {"_fields": POST_FIELDS}),
            collection("/wp/v2/comments", {"_fields": COMMENT_FIELDS, "orderby": "date", "order": "asc"}),
            collection("/wp/v2/users", {"_fields": "id,name"}),
        )
    return requests, total_bytes


async def first_sync(api_root: str, directory: Path) -> tuple[float, object]:
    store = Store(directory)
    site = store.add_site(Site(name="bench", url=api_root, api_root=api_root))
    started = time.perf_counter()
    result = await sync_site(store, site)
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--comments", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if reason := available():
        print(f"cannot start WordPress here: {reason}")
        return 2
    with WordPress(host="127.0.0.50") as wp, tempfile.TemporaryDirectory() as tmp:
        seeded = wp.seed_bulk(posts=args.posts, comments=args.comments)
        print(
            f"WordPress {wp.wp_version} at {wp.url}: seeded {len(seeded['posts'])} posts, "
            f"{len(seeded['comments'])} comments in {seeded['seconds']:.1f}s"
        )

        async def find() -> str:
            async with make_client() as client:
                return (await discover(client, wp.url)).api_root

        api_root = asyncio.run(find())
        asyncio.run(plain_download(api_root))  # warm PHP's opcache and MariaDB's buffers
        plain, synced = [], []
        last = None
        for n in range(args.rounds):
            begin = time.perf_counter()
            requests, size = asyncio.run(plain_download(api_root))
            plain.append(time.perf_counter() - begin)
            seconds, last = asyncio.run(first_sync(api_root, Path(tmp) / f"c{n}"))
            assert last.ok, last.error
            synced.append(seconds)
        ratio = statistics.median(synced) / statistics.median(plain)
        print(
            f"plain concurrent download: {requests} requests, {size / 1e6:.1f} MB, median {statistics.median(plain):.2f}s "
            f"({', '.join(f'{t:.2f}' for t in plain)})"
        )
        print(
            f"first sync: {last.new_posts} posts, {last.new_comments} comments, {last.requests} requests, "
            f"median {statistics.median(synced):.2f}s ({', '.join(f'{t:.2f}' for t in synced)})"
        )
        print(f"ratio sync/download: {ratio:.2f} (target <= 1.25)")

        store = Store(Path(tmp) / f"c{args.rounds - 1}")
        quiet = []
        for _ in range(5):
            begin = time.perf_counter()
            result = asyncio.run(sync_site(store, store.site("bench")))
            quiet.append((time.perf_counter() - begin, result.requests, result.new_posts + result.new_comments))
        times = sorted(q[0] for q in quiet)
        print(
            f"re-sync with nothing new: {quiet[-1][1]} requests, {quiet[-1][2]} new items, "
            f"median {statistics.median(times):.3f}s, max {times[-1]:.3f}s (target <= 5 requests, <= 0.5s)"
        )
        ok = ratio <= 1.25 and quiet[-1][1] <= 5 and times[-1] <= 0.5
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
