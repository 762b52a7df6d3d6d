"""Worst-case time of ``cache.http.send`` against a misbehaving server, with the DEFAULT deadlines.

Target (issue 8): worst-case time against the slow-drip server <= the deadline + 1 s; and
cancellation (the reader's ``q``, Ctrl-C) ends network work at once (< 1 s in the reader).

Starts tests/fault/server.py's HostileServer on 127.0.0.1 (a free port) with a 5 s drip,
sends ``--rounds`` requests per behaviour (the deadline-bound ones all at once, the others
one at a time beside them; each request on its own client, so one slow answer cannot hold
another's connection; server and clients share one event loop), and prints the worst time,
the requests put on the wire and the one-line outcome of each. Then it cancels sends
mid-body, mid-headers and mid-back-off at random moments and reports the latency from
``task.cancel()`` to the task having finished. Takes about deadline + a few seconds.
Run: .venv/bin/python bench/bench_hostile.py [--rounds 3 --cancels 30 --deadline 60]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cache.errors import BroadsheetError
from cache.http import DEADLINE, RetryPolicy, make_client, send
from tests.fault.server import HostileServer, bomb

BEHAVIOURS = [
    "/ok",
    "/slow-headers",
    "/drip",
    "/silence",
    "/lie-long",
    "/reset",
    "/truncated",
    "/status/500",
    "/status/503?retry-after=3600",
    "/status/429?retry-after-in=3600",
    "/loop",
    "/hops/6",
    "/cross-host",
    "/file",
    "/big?size=40000000",
    "/endless",
    "/gzip-bomb?mb=256",
    "/gzip-stack",
    "/malformed-status",
    "/bad-utf8",
]
SLOW = {"/slow-headers", "/drip", "/silence", "/lie-long"}
CANCELLED_DURING = ["/drip", "/silence", "/slow-headers", "/status/503?retry-after={wait}"]
"""Mid-body, before any answer, mid-headers, and mid-back-off (a Retry-After sleep)."""


async def one(server: HostileServer, path: str, policy: RetryPolicy) -> tuple[float, int, str]:
    counter = [0]
    async with make_client() as client:
        start = time.perf_counter()
        try:
            response = await send(client, "GET", server.url(path), policy=policy, counter=counter)
            outcome = f"{response.status_code}, {len(response.content)} bytes"
        except BroadsheetError as error:
            outcome = f"{type(error).__name__}: {error}".replace(f"127.0.0.1:{server.port}", "HOST")
        except Exception as error:
            outcome = f"NOT A cache.errors TYPE: {type(error).__name__}: {error}"
        return time.perf_counter() - start, counter[0], outcome


async def cancel_latency(server: HostileServer, path: str, policy: RetryPolicy) -> float:
    async with make_client() as client:
        task = asyncio.create_task(send(client, "GET", server.url(path), policy=policy))
        await asyncio.sleep(random.uniform(0.2, 1.5))
        if task.done():
            raise RuntimeError(f"{path} finished before it was cancelled: {task.result()}")
        start = time.perf_counter()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        return time.perf_counter() - start


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cancels", type=int, default=30)
    parser.add_argument("--deadline", type=float, default=DEADLINE, help="RetryPolicy.deadline (default: the default)")
    args = parser.parse_args()
    policy = RetryPolicy(deadline=args.deadline)
    print(
        f"policy: {policy.retries} retries, back-off {policy.backoff} s, "
        f"{policy.attempt_deadline} s per attempt, {policy.deadline} s per send"
    )
    ok = True
    bomb(256), bomb(64)  # built before the clock starts: server and clients share this event loop
    wait = max(2, min(25, int(policy.deadline / 2)))
    async with HostileServer(lifetime=policy.deadline + 30, max_connections=256) as server:
        slow = [path for path in BEHAVIOURS if path in SLOW]

        async def each_in_turn(paths: list[str]) -> dict[str, list[tuple[float, int, str]]]:
            return {path: [await one(server, path, policy) for _ in range(args.rounds)] for path in paths}

        # the deadline-bound ones all at once (they idle), the others one at a time beside them
        waiting = asyncio.gather(*(asyncio.gather(*(one(server, p, policy) for _ in range(args.rounds))) for p in slow))
        quick = await each_in_turn([path for path in BEHAVIOURS if path not in SLOW])
        results = {**dict(zip(slow, await waiting, strict=False)), **quick}
        print(f"\n{'behaviour':34} {'worst s':>8} {'tries':>5}  outcome")
        for path, runs in results.items():
            worst = max(runs)
            within = worst[0] <= policy.deadline + 1
            ok &= within and "NOT A" not in worst[2]
            print(f"{path:34} {worst[0]:8.2f} {worst[1]:5}  {worst[2][:110]}{'' if within else '  <-- OVER'}")
        latencies = []
        for i in range(args.cancels):
            path = CANCELLED_DURING[i % len(CANCELLED_DURING)].format(wait=wait)
            latencies.append(await cancel_latency(server, path, policy))
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    print(
        f"\ncancellation latency over {len(latencies)} cancels ({', '.join(CANCELLED_DURING).format(wait=wait)}): "
        f"median {statistics.median(latencies) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms, "
        f"max {latencies[-1] * 1000:.2f} ms"
    )
    print(f"\nworst case within deadline + 1 s for every behaviour: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
