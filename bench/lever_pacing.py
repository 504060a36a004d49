"""Adaptive Lever pacing bench: a 2,000-request backlog on one key against the sandbox's Lever
limit (10/s, at most 20 in any second, 429 + Retry-After).

Usage: .venv/bin/python bench/lever_pacing.py [--requests 2000] [--redis-url redis://…/14]

Phases, in one run, each on a fresh key and a fresh bucket:

1. **adaptive**: `--requests` `add_tags` writes from `--workers` threads (each with its own
   client and limiter handle on the same key, as separate Celery workers would have), at the
   product's defaults (start at Lever's 10/s, burst 20; halve on a 429, recover additively).
2. **baseline**: the pace before adaptive pacing, a fixed 8/s burst 10 (`--baseline-requests`):
   what bulk work got of Lever's 10/s until now.
3. **slow_lever**: the sandbox allows only 5/s, burst 10 (Lever "may change the numbers with
   load"): the pace must come down to it, with few 429s, and never send inside a Retry-After.

Send times come from a `requests` response hook (response time minus `elapsed`). A request
"inside a Retry-After" is one sent after a 429 was received and before its Retry-After ran
out (requests already in flight when the 429 came are not counted: they were sent before).
Exit code 0 when every target is met.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from integrations.lever.client import LeverClient
from integrations.lever.errors import LeverError
from integrations.lever.ratelimit import RateLimiter, RedisBucketStore, rate_limiter_for
from integrations.lever.sandbox import ALL_PERMISSIONS, SandboxServer

LEVER_RATE = 10.0  # Lever's documented steady rate (integrations/lever/README.md §6)


@dataclass
class Run:
    """Every HTTP response one key's workers got: (sent at, received at, status, Retry-After)."""

    responses: list[tuple[float, float, int, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        received = time.time()
        sent = received - response.elapsed.total_seconds()
        retry_after = 0.0
        if response.status_code == 429:
            try:
                retry_after = float(response.headers.get("Retry-After", "0"))
            except ValueError:
                retry_after = 0.0
        self.responses.append((sent, received, response.status_code, retry_after))

    def figures(self, *, burst: int, lever_rate: float) -> dict[str, Any]:
        ok = sorted(s for s, _r, status, _ra in self.responses if status < 400)
        sends = sorted(s for s, _r, _status, _ra in self.responses)
        refused = [(r, ra) for _s, r, status, ra in self.responses if status == 429]
        inside = sum(
            1 for received, ra in refused for s in sends if received + 0.002 < s < received + ra
        )
        steady = (len(ok) - burst) / (ok[-1] - ok[0]) if len(ok) > burst + 1 else float("nan")
        return {
            "requests": len(sends),
            "applied": len(ok),
            "errors": len(self.errors),
            "steady_rate": round(steady, 2),
            "of_lever_rate": round(steady / lever_rate, 3),
            "overall_rate": round(len(ok) / (ok[-1] - ok[0]), 2) if len(ok) > 1 else None,
            "responses_429": len(refused),
            "share_429": round(len(refused) / max(1, len(sends)), 4),
            "sent_inside_retry_after": inside,
            "max_in_1s": _busiest(sends),
            "seconds": round(sends[-1] - sends[0], 1) if sends else 0,
        }


def _busiest(times: list[float], window: float = 1.0) -> int:
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def drain(
    lever: SandboxServer,
    *,
    n: int,
    workers: int,
    rate: float,
    burst: int,
    redis_url: str | None,
    local_dir: Path,
) -> tuple[Run, float]:
    """Send ``n`` writes on a fresh key; return the run and the pace the bucket ended at."""
    api_key = lever.create_api_key(sorted(ALL_PERMISSIONS), f"pacing {uuid.uuid4().hex[:6]}")
    opportunity_ids = [o["id"] for o in lever.sandbox.opportunities()]
    jobs: queue.Queue[int] = queue.Queue()
    for i in range(n):
        jobs.put(i)
    run = Run()
    prefix = f"karatlever:bench:pacing:{uuid.uuid4().hex}"

    def limiter() -> RateLimiter:
        if redis_url:
            store = RedisBucketStore(redis_url, key_prefix=prefix)
            return RateLimiter(store, "k", rate=rate, burst=burst)
        return rate_limiter_for(
            api_key, rate=rate, burst=burst, redis_url=None, local_dir=local_dir
        )

    def worker() -> None:
        session = requests.Session()
        session.hooks["response"].append(run.record)
        client = LeverClient(
            api_key=api_key,
            base_url=lever.api_url,
            session=session,
            rate_limiter=limiter(),
            max_retries=6,
        )
        while True:
            try:
                i = jobs.get_nowait()
            except queue.Empty:
                return
            try:
                client.add_tags(opportunity_ids[i % len(opportunity_ids)], [f"pace:{i}"])
            except LeverError as exc:
                run.errors.append(type(exc).__name__)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pace = limiter().pace()
    if redis_url:
        store = RedisBucketStore(redis_url, key_prefix=prefix)
        for key in store.keys_for("k"):
            store._redis.delete(key)  # our own keys only, never a flush
    return run, pace


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="adaptive backlog")
    parser.add_argument("--baseline-requests", type=int, default=400)
    parser.add_argument("--slow-requests", type=int, default=400)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--redis-url", default=None, help="the Redis store (default: SQLite)")
    parser.add_argument("--phases", default="adaptive,baseline,slow_lever")
    args = parser.parse_args()
    phases = set(args.phases.split(","))

    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
        f"Python {platform.python_version()}",
        "store": "redis" if args.redis_url else "sqlite",
    }
    targets: dict[str, bool] = {}
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(port=0) as lever:
        common = {"workers": args.workers, "redis_url": args.redis_url, "local_dir": Path(tmp)}
        if "adaptive" in phases:
            lever.set_rate_limit(LEVER_RATE, burst=20)
            run, pace = drain(lever, n=args.requests, rate=10.0, burst=20, **common)
            f = run.figures(burst=20, lever_rate=LEVER_RATE)
            results["adaptive"] = {**f, "pace_at_end": round(pace, 2)}
            targets["adaptive: >= 0.9 of Lever's 10/s"] = f["of_lever_rate"] >= 0.9
            targets["adaptive: <= 0.1 % 429s"] = f["responses_429"] <= 0.001 * f["requests"]
            targets["adaptive: none inside a Retry-After"] = f["sent_inside_retry_after"] == 0
            targets["adaptive: all applied"] = f["applied"] == args.requests and not f["errors"]
        if "baseline" in phases:
            lever.set_rate_limit(LEVER_RATE, burst=20)
            run, _pace = drain(lever, n=args.baseline_requests, rate=8.0, burst=10, **common)
            results["baseline_fixed_8_per_s"] = run.figures(burst=10, lever_rate=LEVER_RATE)
        if "slow_lever" in phases:
            lever.set_rate_limit(5.0, burst=10)
            run, pace = drain(lever, n=args.slow_requests, rate=10.0, burst=20, **common)
            f = run.figures(burst=20, lever_rate=5.0)
            results["slow_lever_5_per_s"] = {**f, "pace_at_end": round(pace, 2)}
            targets["slow Lever: none inside a Retry-After"] = f["sent_inside_retry_after"] == 0
            targets["slow Lever: <= 2 % 429s"] = f["share_429"] <= 0.02
            targets["slow Lever: >= 0.7 of its 5/s"] = f["of_lever_rate"] >= 0.7
            targets["slow Lever: all applied"] = (
                f["applied"] == args.slow_requests and not f["errors"]
            )
    results["targets_met"] = targets
    print(json.dumps(results, indent=2))
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
