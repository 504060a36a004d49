"""Webhook burst: 2,000 signed deliveries sent as fast as possible, then every one accounted for.

One run, on PostgreSQL + Redis when reachable (else SQLite + the file broker):

1. migrate a fresh database, one integration with the three tokens and linked candidacies on
   the Lever sandbox's demo opportunities (the same setup as bench/webhook_ingest.py);
2. start gunicorn (``karatlever.wsgi``) and a Celery worker, but no beat: no sweeper, so
   every delivery must reach the worker through the receiver's own publish after commit;
3. send ``--deliveries`` distinct signed deliveries over ``--connections`` keep-alive
   connections at once (each sent once, no pause);
4. check that every answer was 200 "accepted", that every delivery is stored, and wait until
   the worker has finished every one (processed against the sandbox, or ignored);
5. again with ``--configured-deliveries`` (300) on a fresh database, the sandbox at Lever's
   10/s (burst 20) and the integration at the configured default rate: the Lever reads per
   second while the backlog drains, ÷ 10/s, and the 429s.

Prints one JSON document; exit code 0 when all were stored and finished.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import webhook_ingest as ingest

FINISHED = ("processed", "ignored", "failed", "dead")


def send_all(port: int, path: str, bodies: list[bytes], connections: int) -> dict[str, Any]:
    """POST every body once over ``connections`` threads; answers counted by status."""
    answers: Counter[str] = Counter()
    lock = threading.Lock()
    slices = [bodies[i::connections] for i in range(connections)]
    latencies: list[float] = []

    def worker(mine: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for body in mine:
            started = time.monotonic()
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            answer = json.loads(response.read() or b"{}").get("status", "")
            with lock:
                answers[f"{response.status} {answer}"] += 1
                latencies.append(time.monotonic() - started)
        conn.close()

    threads = [threading.Thread(target=worker, args=(s,)) for s in slices]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - started
    latencies.sort()
    return {
        "seconds": round(seconds, 2),
        "per_second": round(len(bodies) / seconds, 1),
        "answers": dict(answers),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
    }


def run(lever: Any, db: str, args: argparse.Namespace, *, limited: bool) -> dict[str, Any]:
    """One burst on a fresh database: Lever's limit off (the pipeline's own speed), or at
    Lever's 10/s with the integration at the configured default rate (what a real key gets)."""
    n = args.configured_deliveries if limited else args.deliveries
    var_dir = Path(tempfile.mkdtemp(prefix="karatlever-burst-"))
    report: dict[str, Any] = {"db": db, "deliveries": n}
    env = ingest.bench_env(var_dir, db, lever.api_url)
    report["broker"] = env.get("CELERY_BROKER_URL", "filesystem")
    if db == "postgres":
        ingest.postgres_recreate()
    setup = ingest.step(env, "setup", {"links": args.links})
    if limited:
        lever.set_rate_limit(ingest.LEVER_RATE, 20)
        report["integration_rate"] = ingest.step(env, "rate")
    else:
        lever.set_rate_limit(None)
    stats_before = lever.request_stats()
    linked = setup["linked"]
    bodies = [ingest.make_body(f"burst-{i}", linked[i % len(linked)]) for i in range(n)]
    port = ingest.free_port()
    gunicorn = ingest.start(
        [
            ingest.PY,
            "-m",
            "gunicorn",
            "karatlever.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-k",
            "gthread",
            "-w",
            "3",
            "--threads",
            "2",
            "--no-control-socket",
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        env,
        var_dir / "gunicorn.log",
    )
    worker = ingest.worker_start(env, var_dir)
    # At Lever's limit every delivery waits for its read: allow twice the time 10/s takes.
    timeout = max(args.timeout, 2 * n / ingest.LEVER_RATE) if limited else args.timeout
    try:
        ingest.wait_http(port)
        report["burst"] = send_all(
            port, f"/webhooks/lever/{setup['integration']}/", bodies, args.connections
        )
        report["stored_after_burst"] = sum(ingest.count_direct(env).values())
        started = time.monotonic()
        counts: dict[str, int] = {}
        while time.monotonic() - started < timeout:
            counts = ingest.count_direct(env)
            if sum(counts.get(s, 0) for s in FINISHED) >= n:
                break
            time.sleep(0.2)
        report["by_status"] = counts
        report["finish_seconds_after_burst"] = round(time.monotonic() - started, 1)
    finally:
        ingest.stop(worker, group=False)
        ingest.stop(gunicorn)
        if db == "postgres":
            ingest.postgres_recreate(drop_only=True)
        shutil.rmtree(var_dir, ignore_errors=True)
    stats = lever.request_stats()
    report["lever_requests"] = sum(stats.values()) - sum(stats_before.values())
    report["responses_429"] = stats.get("429", 0) - stats_before.get("429", 0)
    if limited:
        seconds = report["finish_seconds_after_burst"]
        report["lever_requests_per_second"] = round(report["lever_requests"] / seconds, 2)
        report["share_of_lever_rate"] = round(
            report["lever_requests"] / seconds / ingest.LEVER_RATE, 3
        )
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default=None)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument(
        "--configured-deliveries",
        type=int,
        default=300,
        help="the burst at Lever's limit and the configured rate (0: skip)",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--links", type=int, default=50, help="linked candidacies")
    parser.add_argument("--timeout", type=int, default=300, help="seconds to wait for the worker")
    args = parser.parse_args()
    db = args.db or ("postgres" if ingest.postgres_reachable() else "sqlite")

    from integrations.lever.sandbox import SandboxServer

    with SandboxServer(port=0, rate_per_second=None) as lever:
        report = run(lever, db, args, limited=False)
        if args.configured_deliveries:
            report["at_configured_rate"] = run(lever, db, args, limited=True)

    failures = []
    for label, r in (("", report), ("at configured rate: ", report.get("at_configured_rate"))):
        if r is None:
            continue
        n = r["deliveries"]
        if r["burst"]["answers"] != {"200 accepted": n}:
            failures.append(f"{label}answers other than 200 accepted: {r['burst']['answers']}")
        if r["stored_after_burst"] != n:
            failures.append(f"{label}{r['stored_after_burst']} stored of {n}")
        done = sum(r["by_status"].get(s, 0) for s in ("processed", "ignored"))
        if done != n:
            failures.append(f"{label}{done} finished of {n}: {r['by_status']}")
    report["failures"] = failures
    print(json.dumps(report, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
