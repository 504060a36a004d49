"""Outbound rate benchmark: LeverClient + shared limiter against the local Lever sandbox.

Usage: .venv/bin/python bench/outbound_rate.py [--writes 200] [--redis-url redis://127.0.0.1:6379/0]

Phase 1 sends N `add_tags` writes through ONE API key from several worker threads (each with
its own client and its own limiter handle, as separate Celery workers would have) and reports
the achieved rate against the configured one, the 429s the sandbox answered, and the busiest
one-second window. Phase 2 runs 5 keys in parallel and reports each key's share of its fair
rate. Send times come from a `requests` response hook (response time minus elapsed), so they
are what the sandbox saw, not what the limiter granted.
"""

from __future__ import annotations

import argparse
import json
import platform
import queue
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from integrations.lever.client import LeverClient
from integrations.lever.ratelimit import rate_limiter_for
from integrations.lever.sandbox import ALL_PERMISSIONS, DEMO_API_KEY, SandboxServer


@dataclass
class KeyRun:
    """What one API key's workers sent: (send time, status) per HTTP response."""

    label: str
    sends: list[tuple[float, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        sent_at = time.time() - response.elapsed.total_seconds()
        self.sends.append((sent_at, response.status_code))  # list.append is atomic

    @property
    def times(self) -> list[float]:
        return sorted(t for t, _ in self.sends)

    @property
    def too_many(self) -> int:
        return sum(1 for _, status in self.sends if status == 429)


def busiest_window(times: list[float], window: float = 1.0) -> int:
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def steady_rate(times: list[float], burst: int) -> float:
    """Requests per second after the burst allowance: (n - burst) / (last - first)."""
    if len(times) <= burst + 1:
        return float("nan")
    return (len(times) - burst) / (times[-1] - times[0])


def run_key(
    run: KeyRun,
    *,
    api_url: str,
    api_key: str,
    opportunity_ids: list[str],
    writes: int,
    workers: int,
    rate: float,
    burst: int,
    redis_url: str | None,
    local_dir: Path,
    limiter: bool = True,
) -> None:
    jobs: queue.Queue[int] = queue.Queue()
    for n in range(writes):
        jobs.put(n)

    def worker() -> None:
        session = requests.Session()
        session.hooks["response"].append(run.record)
        client = LeverClient(
            api_key=api_key,
            base_url=api_url,
            session=session,
            rate_limiter=rate_limiter_for(
                api_key, rate=rate, burst=burst, redis_url=redis_url, local_dir=local_dir
            )
            if limiter
            else None,
        )
        while True:
            try:
                n = jobs.get_nowait()
            except queue.Empty:
                return
            opportunity_id = opportunity_ids[n % len(opportunity_ids)]
            try:
                client.add_tags(opportunity_id, [f"bench:{run.label}:{n}"])
            except Exception as exc:
                run.errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200, help="phase 1 writes (one key)")
    parser.add_argument("--key-writes", type=int, default=80, help="phase 2 writes per key")
    parser.add_argument("--keys", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4, help="worker threads per key")
    parser.add_argument("--rate", type=float, default=8.0)
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--redis-url", default=None, help="use the Redis store (default: SQLite)")
    parser.add_argument(
        "--no-limiter", action="store_true", help="control run: no client limiter (expect 429s)"
    )
    args = parser.parse_args()

    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {_cpu_count()} cores, Python {platform.python_version()}",
        "store": "none" if args.no_limiter else "redis" if args.redis_url else "sqlite",
        "rate": args.rate,
        "burst": args.burst,
    }
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(port=0) as lever:
        # The sandbox's own limit is Lever's: 10/s, burst 20 per key, 429 + Retry-After.
        opportunity_ids = [o["id"] for o in lever.sandbox.opportunities()]
        common = {
            "api_url": lever.api_url,
            "opportunity_ids": opportunity_ids,
            "rate": args.rate,
            "burst": args.burst,
            "redis_url": args.redis_url,
            "local_dir": Path(tmp),
            "limiter": not args.no_limiter,
        }

        # Phase 1: one key, several workers.
        lever.reset_counters()
        before = lever.request_stats().get("429", 0)
        one = KeyRun("one")
        started = time.time()
        run_key(one, api_key=DEMO_API_KEY, writes=args.writes, workers=args.workers, **common)
        elapsed = time.time() - started
        times = one.times
        applied = lever.counters()["total"]["tags_added"]
        results["phase1"] = {
            "writes": args.writes,
            "workers": args.workers,
            "applied": applied,
            "errors": len(one.errors),
            "seconds": round(elapsed, 2),
            "overall_rate": round(len(times) / elapsed, 2),
            "steady_rate": round(steady_rate(times, args.burst), 2),
            "steady_ratio": round(steady_rate(times, args.burst) / args.rate, 3),
            "responses_429_client": one.too_many,
            "responses_429_sandbox": lever.request_stats().get("429", 0) - before,
            "max_in_1s_window": busiest_window(times),
        }

        # Phase 2: N keys at once; each has its own bucket, so each should get its own rate.
        keys = [
            lever.create_api_key(sorted(ALL_PERMISSIONS), f"bench {i}") for i in range(args.keys)
        ]
        runs = [KeyRun(f"k{i}") for i in range(args.keys)]
        before = lever.request_stats().get("429", 0)
        threads = [
            threading.Thread(
                target=run_key,
                args=(run,),
                kwargs={"api_key": key, "writes": args.key_writes, "workers": 2, **common},
            )
            for key, run in zip(keys, runs, strict=True)
        ]
        started = time.time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.time() - started
        shares = [round(steady_rate(r.times, args.burst) / args.rate, 3) for r in runs]
        results["phase2"] = {
            "keys": args.keys,
            "writes_per_key": args.key_writes,
            "seconds": round(elapsed, 2),
            "fair_share_per_key": shares,
            "min_fair_share": min(shares),
            "max_in_1s_window_per_key": [busiest_window(r.times) for r in runs],
            "errors": sum(len(r.errors) for r in runs),
            "responses_429_sandbox": lever.request_stats().get("429", 0) - before,
        }
        for run in [one, *runs]:
            for error in run.errors[:3]:
                print(f"  {run.label}: {error}", file=sys.stderr)

    p1, p2 = results["phase1"], results["phase2"]
    results["targets_met"] = {
        "steady_ratio>=0.95": p1["steady_ratio"] >= 0.95,
        "zero_429": p1["responses_429_sandbox"] == 0 and p2["responses_429_sandbox"] == 0,
        "no_1s_window_above_burst": p1["max_in_1s_window"] <= args.burst
        and max(p2["max_in_1s_window_per_key"]) <= args.burst,
        "each_key>=0.8_fair_share": p2["min_fair_share"] >= 0.8,
        "all_writes_applied": p1["applied"] == args.writes and p1["errors"] == 0,
    }
    print(json.dumps(results, indent=2))
    return 0 if all(results["targets_met"].values()) else 1


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    raise SystemExit(main())
