"""Webhook processing while full posting syncs run: one queue against a worker per queue.

What it measures: the time from a delivery being stored to its processing finishing
(``processed_at - received_at``, the receiver's own columns), for webhooks that arrive at a
steady rate, first with the workers idle, then while ``--syncs`` full posting syncs of
``--postings`` postings each run. Two worker shapes, each with real ``celery worker``
processes on the same broker and database:

* **queues**: what ``make run`` and docker compose start: ``-Q urgent`` (concurrency 2),
  ``-Q outbound`` (1) and ``-Q background`` (1).
* **one queue** (the control, as before queues existed): one worker consuming every queue,
  concurrency 2, so two syncs take both its processes.

Target: with queues, the p99 while syncs run is at most the idle p99 x 1.5 (the syncs still
share the machine's two cores with the webhooks; the queues keep webhooks from waiting behind
them, they do not add cores). The control shows the bench can fail.

    .venv/bin/python bench/queue_isolation.py                      # SQLite + file broker
    .venv/bin/python bench/queue_isolation.py --syncs 2 --postings 10000 --webhooks 200

Prints JSON; exit code 0 when the target is met. Runtime about 2 minutes with the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from bench.postings_sync import ROOT, django_setup, sandbox_fill, start_sandbox

TARGET_RATIO = 1.5
SHAPES: dict[str, list[list[str]]] = {
    "queues": [
        ["-Q", "urgent", "-n", "urgent@%h", "--concurrency", "2"],
        ["-Q", "outbound", "-n", "outbound@%h", "--concurrency", "1"],
        ["-Q", "background", "-n", "background@%h", "--concurrency", "1"],
    ],
    "one queue": [["-n", "all@%h", "--concurrency", "2"]],
}


def workers_start(shape: str, log_dir: Path) -> list[subprocess.Popen[bytes]]:
    processes = []
    for index, args in enumerate(SHAPES[shape]):
        log = (log_dir / f"worker-{shape.replace(' ', '-')}-{index}.log").open("wb")
        processes.append(
            subprocess.Popen(  # noqa: S603 - our own Celery app
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "karatlever",
                    "worker",
                    "-l",
                    "warning",
                    *args,
                ],
                cwd=ROOT,
                env=dict(os.environ),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    time.sleep(8)  # the workers import Django and connect before the first task is published
    return processes


def workers_stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def integrations_create(count: int, label: str) -> list[Any]:
    from integrations.lever.sandbox import DEMO_API_KEY
    from integrations.models import AtsIntegration, Region
    from karatlever.accounts.models import Group, Organization

    created = []
    for index in range(count):
        organization = Organization.objects.create(name=f"Queue Bench {label} {index}")
        group = Group.objects.create(organization=organization, name="Bench")
        integration = AtsIntegration(
            group=group,
            region=Region.SANDBOX,
            rate_limit_per_second=8,
            rate_limit_burst=10,
            key_status=AtsIntegration.KeyStatus.VALID,
        )
        integration.api_key = DEMO_API_KEY
        integration.api_key_last4 = DEMO_API_KEY[-4:]
        integration.save()
        created.append(integration)
    return created


def webhooks_send(integration: Any, count: int, per_second: float) -> list[int]:
    """Store and publish ``count`` stage-change deliveries as the receiver does, at a steady
    rate; their opportunities are linked to nothing, so processing costs no Lever read."""
    from webhooks.models import WebhookDelivery
    from webhooks.services.enqueue import delivery_enqueue, pending

    ids = []
    started = time.monotonic()
    for index in range(count):
        opportunity_id = f"bench-{secrets.token_hex(8)}"
        delivery = WebhookDelivery.objects.create(
            integration=integration,
            event="candidateStageChange",
            token=secrets.token_hex(16),
            opportunity_id=opportunity_id,
            triggered_at_ms=int(time.time() * 1000),
            payload={"event": "candidateStageChange", "data": {"opportunityId": opportunity_id}},
        )
        delivery_enqueue(delivery.pk)
        ids.append(delivery.pk)
        time.sleep(max(0.0, started + (index + 1) / per_second - time.monotonic()))
    pending.join()
    return ids


def latencies_ms(ids: list[int], timeout: float) -> list[float]:
    from webhooks.models import WebhookDelivery

    deadline = time.monotonic() + timeout
    rows = WebhookDelivery.objects.filter(pk__in=ids)
    while rows.filter(processed_at__isnull=True).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"deliveries not processed within {timeout:.0f} s")
        time.sleep(0.5)
    return [
        (processed - received).total_seconds() * 1000
        for received, processed in rows.values_list("received_at", "processed_at")
        if processed is not None  # none is left: the loop above waited for every one
    ]


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def run_shape(shape: str, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    from integrations.models import AtsPosting, PostingSyncRun
    from integrations.roles.services import sync

    webhook_integration, *sync_integrations = integrations_create(1 + args.syncs, shape)
    processes = workers_start(shape, log_dir)
    try:
        idle = summary(
            latencies_ms(webhooks_send(webhook_integration, args.webhooks, args.rate), 300)
        )
        runs = [
            sync.postings_sync_request(integration=item, kind=PostingSyncRun.Kind.FULL)
            for item in sync_integrations
        ]
        deadline = time.monotonic() + 60
        while PostingSyncRun.objects.filter(
            pk__in=[run.pk for run in runs], status=PostingSyncRun.Status.RUNNING
        ).count() < min(args.syncs, 1):
            if time.monotonic() > deadline:
                raise SystemExit("no posting sync started within 60 s")
            time.sleep(0.2)
        busy_ids = webhooks_send(webhook_integration, args.webhooks, args.rate)
        syncs_still_running = PostingSyncRun.objects.filter(
            pk__in=[run.pk for run in runs], status__in=PostingSyncRun.ACTIVE
        ).count()
        busy = summary(latencies_ms(busy_ids, 900))
        deadline = time.monotonic() + 900
        while PostingSyncRun.objects.filter(
            pk__in=[run.pk for run in runs], status__in=PostingSyncRun.ACTIVE
        ).exists():
            if time.monotonic() > deadline:
                raise SystemExit("posting syncs did not finish within 900 s")
            time.sleep(1)
    finally:
        workers_stop(processes)
    stored = AtsPosting.objects.filter(integration__in=sync_integrations).count()
    return {
        "shape": shape,
        "idle": idle,
        "during_syncs": busy,
        "p99_ratio": round(busy["p99_ms"] / idle["p99_ms"], 2),
        "syncs_active_when_last_webhook_sent": syncs_still_running,
        "postings_stored": stored,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--syncs", type=int, default=2, help="full posting syncs at once")
    parser.add_argument("--postings", type=int, default=10_000, help="postings in each sync")
    parser.add_argument("--webhooks", type=int, default=150, help="deliveries per phase")
    parser.add_argument("--rate", type=float, default=10.0, help="deliveries per second")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="karatlever-queues-"))
    sandbox, url = start_sandbox(var_dir)
    try:
        sandbox_fill(url, args.postings)
        django_setup(var_dir, url)
        os.environ["LOG_LEVEL"] = "WARNING"
        results = [run_shape(shape, args, var_dir) for shape in SHAPES]
        stats = requests.get(f"{url}/_control/requests", timeout=5).json()
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    queues = results[0]
    met = queues["p99_ratio"] <= TARGET_RATIO and queues["syncs_active_when_last_webhook_sent"] > 0
    print(
        json.dumps(
            {
                "syncs": args.syncs,
                "postings_per_sync": args.postings,
                "webhooks_per_phase": args.webhooks,
                "rate_per_second": args.rate,
                "results": results,
                "sandbox_429s": stats.get("429", 0),
                "target": f"queues: p99 during syncs <= idle p99 x {TARGET_RATIO}",
                "met": met,
            },
            indent=2,
        )
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
