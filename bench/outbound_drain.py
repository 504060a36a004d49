"""Outbound drain: Karat milestones posted to the Lever sandbox by a real Celery worker.

Usage: .venv/bin/python bench/outbound_drain.py [--phases one_key,latency,five_keys,backlog]
       [--updates 2000] [--key-updates 1000] [--backlog 10000] [--latency-milestones 200]
       (PostgreSQL + Redis: set DATABASE_URL, CELERY_BROKER_URL and REDIS_URL for the run)

Every phase starts from a fresh database (tests/integrations/outbound/live_driver.py), records
milestones on linked candidacies (each milestone writes its OutboundUpdate rows in its own
transaction, as the product does), and lets a real worker (``celery -A karatlever worker``)
drain them into the sandbox (``integrations/lever/sandbox``, Lever's own limit of 10/s,
burst 20 per key, on unless a phase says otherwise). Request times are the sandbox's arrival
times (``SandboxServer.api_log``), i.e. what Lever would see.

1. ``one_key``: ``--updates`` updates queued with no worker running, then one worker
   (concurrency 2) drains them through one key configured at 8/s, burst 10. Steady rate =
   (requests - burst) ÷ (last - first); target ≥ 0.95 x 8/s and zero 429s.
2. ``latency``: an idle worker; ``--latency-milestones`` milestones 0.5 s apart; latency =
   the note's arrival in the sandbox - the milestone's commit (p50, p99; target p99 ≤ 2 s),
   and Lever requests per milestone.
3. ``five_keys``: 5 keys x ``--key-updates`` queued, then a worker with concurrency 5 (one slot
   per busy key); each key's steady rate ÷ its configured 8/s (target ≥ 0.8).
4. ``backlog``: Lever answers 503 to every write while ``--backlog`` updates are recorded on 5
   keys (the worker runs and backs off), then Lever recovers; every row must end sent, and the
   sandbox's write counters must equal the rows: 0 lost, 0 duplicates. The sandbox's and our
   rate limits are raised here (this phase measures recovery, not the rate).

Prints one JSON document; exit code 0 when every target is met.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere

from cryptography.fernet import Fernet  # noqa: E402

from integrations.lever.sandbox import ALL_PERMISSIONS, DEMO_API_KEY, SandboxServer  # noqa: E402
from integrations.lever.sandbox.server import key_id_for  # noqa: E402

PY = sys.executable
# One run's own secrets (a fresh var dir has none).
SECRET_KEY = secrets.token_urlsafe(50)
ENCRYPTION_KEY = Fernet.generate_key().decode()
RATE, BURST = 8.0, 10
CYCLE = ["scheduled", "completed", "results_ready", "redo"]
UPDATES_PER_CYCLE = 2 + 2 + 3 + 2  # note + tag each; results add the report link


def env_for(var_dir: Path, api_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        for name in ("CELERY_BROKER_URL", "REDIS_URL"):
            env.pop(name, None)
    env |= {
        "KARATLEVER_VAR_DIR": str(var_dir),
        "LEVER_API_BASE_URL": api_url,
        "DJANGO_SETTINGS_MODULE": "karatlever.settings",
        "DJANGO_DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        **extra,
    }
    return env


def drive(env: dict[str, str], step: str, payload: dict[str, Any] | None = None) -> Any:
    done = subprocess.run(  # noqa: S603 - fixed argv
        [PY, "-m", "tests.integrations.outbound.live_driver", step, json.dumps(payload or {})],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


class Worker:
    def __init__(self, env: dict[str, str], log: Path, concurrency: int) -> None:
        pool = ["--pool=solo"] if concurrency == 1 else ["--pool=prefork", f"-c{concurrency}"]
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            [PY, "-m", "celery", "-A", "karatlever", "worker", *pool, "-l", "warning",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def wait_sent(env: dict[str, str], total: int, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    by_status: dict[str, int] = {}
    last_sweep = 0.0
    while time.monotonic() < deadline:
        by_status = drive(env, "state")["by_status"]
        if (
            by_status.get("sent", 0) >= total
            or sum(by_status.values()) - by_status.get("pending", 0) - by_status.get("sending", 0)
            >= total
        ):
            return by_status
        if time.monotonic() - last_sweep > 15:  # what beat would do
            drive(env, "sweep")
            last_sweep = time.monotonic()
        time.sleep(1)
    return by_status


def steady(times: list[float], burst: int) -> float:
    if len(times) <= burst + 1:
        return float("nan")
    return (len(times) - burst) / (times[-1] - times[0])


def busiest_window(times: list[float]) -> int:
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def writable_opportunities(lever: SandboxServer) -> list[str]:
    return [
        doc["id"]
        for doc in lever.sandbox.opportunities()
        if doc.get("confidentiality") != "confidential"
    ]


def setup(
    env: dict[str, str], keys: list[str], per_key: int, opportunities: list[str], **rates: Any
) -> dict[str, Any]:
    if per_key > len(opportunities):
        raise SystemExit(f"only {len(opportunities)} sandbox opportunities, {per_key} asked")
    return drive(
        env,
        "setup",
        {"api_keys": keys, "opportunities": [opportunities[:per_key]] * len(keys), **rates},
    )


def record(env: dict[str, str], candidacies: list[int], rounds: int = 1, **kw: Any) -> Any:
    return drive(
        env, "milestones", {"candidacies": candidacies, "milestones": CYCLE, "rounds": rounds, **kw}
    )


def wait_requests(lever: SandboxServer, count: int, timeout: float) -> None:
    """Until the sandbox has seen ``count`` requests (or ``timeout`` seconds passed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(lever.api_log()) < count:
        time.sleep(1)


def phase_one_key(
    lever: SandboxServer, var_dir: Path, updates: int, window: int = 0
) -> dict[str, Any]:
    """``window`` > 0: measure the first ``window`` requests only, then stop the worker with the
    rest of the queue still waiting (the rate *at* that depth, in minutes instead of the
    half hour a 10,000-update queue takes to drain at 8/s)."""
    env = env_for(var_dir, lever.api_url)
    opportunities = writable_opportunities(lever)
    cycles = -(-updates // UPDATES_PER_CYCLE)
    rounds = -(-cycles // len(opportunities))
    per_key = -(-cycles // rounds)
    ids = setup(env, [DEMO_API_KEY], per_key, opportunities, rate=RATE, burst=BURST)
    record(env, ids["candidacies"][0], rounds=rounds)
    total = sum(drive(env, "state")["by_status"].values())
    lever.app.reset_request_stats()
    started = time.monotonic()
    worker = Worker(env, var_dir / "worker-one-key.log", concurrency=2)
    try:
        if window:
            wait_requests(lever, window, timeout=window / RATE * 3 + 120)
        else:
            by_status = wait_sent(env, total, timeout=total / RATE * 3 + 120)
    finally:
        worker.stop()
    if window:
        by_status = drive(env, "state")["by_status"]
    log = lever.api_log()[:window] if window else lever.api_log()
    times = sorted(r["at"] for r in log)
    rate = steady(times, BURST)
    milestones = per_key * rounds * len(CYCLE)
    return {
        "updates": total,
        "measured_requests": len(log),
        "unsent_at_the_end": sum(by_status.get(k, 0) for k in ("pending", "sending")),
        "milestones": milestones,
        "by_status": by_status,
        "lever_requests": len(log),
        # Over a window, the milestones recorded are not the ones the requests were for.
        "requests_per_milestone": None if window else round(len(log) / milestones, 2),
        "requests_by_status": dict(Counter(str(r["status"]) for r in log)),
        "steady_rate": round(rate, 2),
        "achieved_over_configured": round(rate / RATE, 3),
        "busiest_1s_window": busiest_window(times),
        "too_many_requests": sum(1 for r in log if r["status"] == 429),
        "seconds": round(time.monotonic() - started, 1),
    }


def phase_latency(lever: SandboxServer, var_dir: Path, milestones: int) -> dict[str, Any]:
    env = env_for(var_dir, lever.api_url)
    opportunities = writable_opportunities(lever)
    per_key = min(len(opportunities), max(1, milestones // 2))
    ids = setup(env, [DEMO_API_KEY], per_key, opportunities, rate=RATE, burst=BURST)
    worker = Worker(env, var_dir / "worker-latency.log", concurrency=2)
    try:
        time.sleep(5)  # the worker is up and idle
        lever.app.reset_request_stats()
        recorded = drive(
            env,
            "milestones",
            {
                "candidacies": ids["candidacies"][0],
                "milestones": ["scheduled", "completed"],
                "interval": 0.5,
            },
        )["recorded"][:milestones]
        wait_sent(env, len(recorded) * 2, timeout=120)
    finally:
        worker.stop()
    log = lever.api_log()
    notes: dict[str, list[float]] = defaultdict(list)
    for r in log:
        if r["method"] == "POST" and r["path"].endswith("/notes"):
            notes[r["path"].split("/")[3]].append(r["at"])
    seen: dict[str, int] = defaultdict(int)
    latencies = []
    for opportunity_id, _milestone, committed in recorded:
        arrivals = sorted(notes[opportunity_id])
        index = seen[opportunity_id]
        seen[opportunity_id] += 1
        if index < len(arrivals):
            latencies.append(arrivals[index] - committed)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    return {
        "milestones": len(recorded),
        "measured": len(latencies),
        "p50_s": round(q[49], 3),
        "p99_s": round(q[98], 3),
        "max_s": round(latencies[-1], 3) if latencies else None,
        "lever_requests": len(log),
        # The first milestone of an opportunity adds its status tag only (note + addTags);
        # later ones also remove the previous tag (note + removeTags + addTags).
        "requests_per_milestone": round(len(log) / max(len(recorded), 1), 2),
        "requests_by_kind": dict(
            Counter(f"{r['method']} {r['path'].rsplit('/', 1)[-1]}" for r in log)
        ),
    }


def _keys(lever: SandboxServer, n: int) -> list[str]:
    return [DEMO_API_KEY] + [
        lever.create_api_key(sorted(ALL_PERMISSIONS), label=f"bench {i}") for i in range(1, n)
    ]


def phase_five_keys(lever: SandboxServer, var_dir: Path, key_updates: int) -> dict[str, Any]:
    env = env_for(var_dir, lever.api_url)
    keys = _keys(lever, 5)
    opportunities = writable_opportunities(lever)
    per_key = min(len(opportunities), -(-key_updates // UPDATES_PER_CYCLE))
    ids = setup(env, keys, per_key, opportunities, rate=RATE, burst=BURST)
    for candidacies in ids["candidacies"]:
        record(env, candidacies)
    total = sum(drive(env, "state")["by_status"].values())
    lever.app.reset_request_stats()
    worker = Worker(env, var_dir / "worker-five-keys.log", concurrency=5)
    try:
        by_status = wait_sent(env, total, timeout=total / (5 * RATE) * 3 + 120)
    finally:
        worker.stop()
    log = lever.api_log()
    per_key_rates = {}
    for i, key in enumerate(keys):
        times = sorted(r["at"] for r in log if r["key"] == key_id_for(key))
        per_key_rates[f"key{i + 1}"] = {
            "requests": len(times),
            "steady_rate": round(steady(times, BURST), 2),
            "fair_share": round(steady(times, BURST) / RATE, 3),
            "busiest_1s_window": busiest_window(times),
        }
    return {
        "updates": total,
        "by_status": by_status,
        "keys": per_key_rates,
        "min_fair_share": min(k["fair_share"] for k in per_key_rates.values()),
        "too_many_requests": sum(1 for r in log if r["status"] == 429),
    }


def phase_backlog(lever: SandboxServer, var_dir: Path, backlog: int) -> dict[str, Any]:
    env = env_for(
        var_dir,
        lever.api_url,
        OUTBOUND_RETRY_BASE_SECONDS="1",
        OUTBOUND_RETRY_MAX_SECONDS="5",
        OUTBOUND_MAX_ATTEMPTS="100",
    )
    lever.set_rate_limit(None)
    keys = _keys(lever, 5)
    opportunities = writable_opportunities(lever)
    cycles_per_key = -(-backlog // (5 * UPDATES_PER_CYCLE))
    rounds = -(-cycles_per_key // len(opportunities))
    per_key = -(-cycles_per_key // rounds)
    ids = setup(env, keys, per_key, opportunities, rate=200.0, burst=50)
    lever.reset_counters()
    lever.set_faults(error_rates={"503": 1.0}, methods=["POST", "PUT"])
    worker = Worker(env, var_dir / "worker-backlog.log", concurrency=5)
    try:
        for candidacies in ids["candidacies"]:
            record(env, candidacies, rounds=rounds)
        total = sum(drive(env, "state")["by_status"].values())
        outage_rows = drive(env, "state")["by_status"]
        lever.reset_faults()  # Lever is back
        started = time.monotonic()
        by_status = wait_sent(env, total, timeout=1800)
        seconds = time.monotonic() - started
        rows = drive(env, "state", {"rows": True})["rows"]
    finally:
        worker.stop()
        lever.set_rate_limit(10.0, 20)
    expected: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        expected[r["opportunity_id"]][r["kind"]] += 1
    lost = duplicates = 0
    for opportunity_id, kinds in expected.items():
        counters = lever.counters(opportunity_id)
        for kind, counter in (("note", "notes"), ("tag", "tags_added"), ("link", "links_added")):
            diff = counters[counter] - kinds[kind]
            duplicates += max(diff, 0)
            lost += max(-diff, 0)
    return {
        "updates": total,
        "during_outage": outage_rows,
        "by_status": by_status,
        "drain_seconds_after_recovery": round(seconds, 1),
        "updates_per_second": round(total / seconds, 1),
        "lost": lost + total - by_status.get("sent", 0),
        "duplicates": duplicates,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default="one_key,latency,five_keys,backlog")
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument(
        "--window",
        type=int,
        default=0,
        help="one_key: measure only the first N Lever requests, then stop (0: drain all)",
    )
    parser.add_argument("--key-updates", type=int, default=1000)
    parser.add_argument("--backlog", type=int, default=10000)
    parser.add_argument("--latency-milestones", type=int, default=200)
    args = parser.parse_args()
    report: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "database": "postgres" if os.environ.get("DATABASE_URL") else "sqlite",
        "broker": "redis" if os.environ.get("DATABASE_URL") and os.environ.get("CELERY_BROKER_URL") else "filesystem",
    }  # fmt: skip
    failures = []
    with SandboxServer(port=0) as lever:  # Lever's own limit: 10/s, burst 20 per key
        for phase in args.phases.split(","):
            var_dir = Path(tempfile.mkdtemp(prefix=f"karatlever-outbound-{phase}-"))
            lever.reset_data()
            lever.set_rate_limit(10.0, 20)
            started = time.monotonic()
            if phase == "one_key":
                result = phase_one_key(lever, var_dir, args.updates, args.window)
                if result["achieved_over_configured"] < 0.95:
                    failures.append("one key: under 0.95 of the configured rate")
                if result["too_many_requests"]:
                    failures.append("one key: 429s")
            elif phase == "latency":
                result = phase_latency(lever, var_dir, args.latency_milestones)
                if not result["p99_s"] <= 2.0:
                    failures.append("latency: p99 over 2 s")
            elif phase == "five_keys":
                result = phase_five_keys(lever, var_dir, args.key_updates)
                if result["min_fair_share"] < 0.8:
                    failures.append("five keys: a key under 0.8 of its fair share")
                if result["too_many_requests"]:
                    failures.append("five keys: 429s")
            elif phase == "backlog":
                result = phase_backlog(lever, var_dir, args.backlog)
                if result["lost"] or result["duplicates"]:
                    failures.append("backlog: lost or duplicated updates")
            else:
                raise SystemExit(f"unknown phase {phase!r}")
            result["phase_seconds"] = round(time.monotonic() - started, 1)
            report[phase] = result
            print(json.dumps({phase: result}), file=sys.stderr, flush=True)
    report["failures"] = failures
    print(json.dumps(report, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
