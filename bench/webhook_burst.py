"""Webhook burst: 2,000 signed deliveries sent as fast as possible, then every one accounted for.

One run, on PostgreSQL + Redis when reachable (else SQLite + the file broker):

1. migrate a fresh database, one integration with the three tokens and linked candidacies on
   the Lever sandbox's demo opportunities (the same setup as bench/webhook_ingest.py);
2. start gunicorn (``karatlever.wsgi``) and a Celery worker, but no beat: no sweeper, so
   every delivery must reach the worker through the receiver's own publish after commit;
3. send ``--deliveries`` distinct signed deliveries over ``--connections`` keep-alive
   connections at once (each sent once, no pause);
4. check that every answer was 200 "accepted", that every delivery is stored, and wait until
   the worker has finished every one (processed against the sandbox, or ignored).

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default=None)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--links", type=int, default=50, help="linked candidacies")
    parser.add_argument("--timeout", type=int, default=300, help="seconds to wait for the worker")
    args = parser.parse_args()
    db = args.db or ("postgres" if ingest.postgres_reachable() else "sqlite")

    from integrations.lever.sandbox import SandboxServer

    var_dir = Path(tempfile.mkdtemp(prefix="karatlever-burst-"))
    report: dict[str, Any] = {"db": db, "deliveries": args.deliveries}
    with SandboxServer(port=0, rate_per_second=None) as lever:
        env = ingest.bench_env(var_dir, db, lever.api_url)
        report["broker"] = env.get("CELERY_BROKER_URL", "filesystem")
        if db == "postgres":
            ingest.postgres_recreate()
        setup = ingest.step(env, "setup", {"links": args.links})
        linked = setup["linked"]
        bodies = [
            ingest.make_body(f"burst-{i}", linked[i % len(linked)]) for i in range(args.deliveries)
        ]
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
        try:
            ingest.wait_http(port)
            report["burst"] = send_all(
                port, f"/webhooks/lever/{setup['integration']}/", bodies, args.connections
            )
            report["stored_after_burst"] = sum(ingest.count_direct(env).values())
            started = time.monotonic()
            counts: dict[str, int] = {}
            while time.monotonic() - started < args.timeout:
                counts = ingest.count_direct(env)
                if sum(counts.get(s, 0) for s in FINISHED) >= args.deliveries:
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

    failures = []
    if report["burst"]["answers"] != {"200 accepted": args.deliveries}:
        failures.append(f"answers other than 200 accepted: {report['burst']['answers']}")
    if report["stored_after_burst"] != args.deliveries:
        failures.append(f"{report['stored_after_burst']} stored of {args.deliveries}")
    done = sum(report["by_status"].get(s, 0) for s in ("processed", "ignored"))
    if done != args.deliveries:
        failures.append(f"{done} finished of {args.deliveries}: {report['by_status']}")
    report["failures"] = failures
    print(json.dumps(report, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
