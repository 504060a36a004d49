"""Webhook reads under a bulk move: Lever reads per delivery, and what they cost the writes.

What it measures, on the embedded default with the workers ``make run`` starts (one per
queue: urgent concurrency 2, outbound 1, background 1), the Lever sandbox in-process (Lever's
own limit: 10/s, burst 20) and one integration at 8/s, burst 10:

1. A recruiter bulk-moves ``--candidates`` linked candidates in Lever: each is moved to a stage
   and archived, so Lever sends two deliveries per candidate. They are stored and published as
   the receiver does (``delivery_enqueue``), all within a fraction of a second.
2. Right after, ``--milestones`` Karat milestones are recorded on other linked candidacies
   (each an outbound note plus a tag).

Figures: Lever reads (``GET /opportunities/:id``) ÷ deliveries (before coalescing, every
delivery cost one read: 1.0), the time until every delivery is processed, and each milestone's
note latency (arrival in the sandbox - the milestone's commit; p50, p99, max) while the reads
queue up. It runs twice in one run: with webhook reads allowed the whole key
(``LEVER_WEBHOOK_READ_SHARE=1``, the baseline) and with the product's share (0.5).

Targets (at the product's share): reads ≤ candidates (one read per opportunity at most),
every delivery processed, zero 429s, and the notes' p99 no worse than the baseline's.

    .venv/bin/python bench/webhook_reads.py                      # about 3 minutes
    .venv/bin/python bench/webhook_reads.py --candidates 100 --milestones 15

Prints JSON; exit code 0 when every target is met.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from bench.embedded_latency import linked_candidacies, summary
from bench.postings_sync import django_setup
from bench.queue_isolation import integrations_create, workers_start, workers_stop
from integrations.lever.sandbox import SandboxServer

PRODUCT_SHARE = 0.5
_OPPORTUNITY_READ = re.compile(r"^/v1/opportunities/([^/?]+)$")


def bulk_move(
    lever: SandboxServer, integration: Any, opportunity_ids: list[str], reason: str
) -> list[int]:
    """Move and archive each opportunity in the sandbox; store and publish its two deliveries."""
    from webhooks.models import WebhookDelivery
    from webhooks.services.enqueue import delivery_enqueue

    ids = []
    for opportunity_id in opportunity_ids:
        lever.move_stage(opportunity_id, "offer")
        lever.archive(opportunity_id, reason)
        for event in ("candidateStageChange", "candidateArchiveChange"):
            delivery = WebhookDelivery.objects.create(
                integration=integration,
                event=event,
                token=secrets.token_hex(16),
                opportunity_id=opportunity_id,
                triggered_at_ms=int(time.time() * 1000),
                payload={"event": event, "data": {"opportunityId": opportunity_id}},
            )
            delivery_enqueue(delivery.pk)
            ids.append(delivery.pk)
    return ids


def run(
    lever: SandboxServer,
    integration: Any,
    share: float,
    inbound: list[str],
    outbound: list[str],
    log_dir: Path,
) -> dict[str, Any]:
    from django.db.models import Count
    from django.utils import timezone

    from karatlever.hiring.services import candidacy_milestone_record
    from webhooks.models import WebhookDelivery

    os.environ["LEVER_WEBHOOK_READ_SHARE"] = repr(share)
    linked_candidacies(integration, inbound)
    writers = linked_candidacies(integration, outbound)
    reason = next(
        r["id"]
        for r in lever.sandbox.archive_reasons()
        if r["type"] == "non-hired" and r["status"] == "active"
    )
    processes = workers_start("queues", log_dir)
    try:
        lever.app.reset_request_stats()
        started = time.time()
        ids = bulk_move(lever, integration, inbound, reason)
        committed: dict[str, float] = {}
        for candidacy in writers:
            candidacy_milestone_record(
                candidacy=candidacy, milestone="scheduled", scheduled_at=timezone.now()
            )
            committed[candidacy.opportunity_link.opportunity_id] = time.time()
        deadline = time.monotonic() + 300
        rows = WebhookDelivery.objects.filter(pk__in=ids)
        notes: dict[str, float] = {}
        while rows.filter(processed_at__isnull=True).exists() or len(notes) < len(committed):
            if time.monotonic() > deadline:
                raise SystemExit("not done within 300 s")
            for r in lever.api_log():
                if r["method"] == "POST" and r["path"].endswith("/notes"):
                    notes.setdefault(r["path"].split("/")[3], r["at"])
            time.sleep(0.2)
        last_processed = max(p for p in rows.values_list("processed_at", flat=True) if p)
    finally:
        workers_stop(processes)
    log = lever.api_log()
    reads = [
        r for r in log if r["method"] == "GET" and _OPPORTUNITY_READ.match(r["path"].split("?")[0])
    ]
    writes = sorted(r["at"] for r in log if r["method"] != "GET")
    statuses = {r["status"]: r["n"] for r in rows.values("status").annotate(n=Count("id"))}
    return {
        "webhook_read_share": share,
        "deliveries": len(ids),
        "deliveries_by_status": statuses,
        "lever_reads": len(reads),
        "reads_per_delivery": round(len(reads) / len(ids), 3),
        "all_processed_s": round(last_processed.timestamp() - started, 1),
        "notes": summary([notes[o] - at for o, at in committed.items()]),
        # Outbound requests (notes, tags) ÷ the seconds from the first to the last of them.
        "writes": len(writes),
        "writes_per_s": round((len(writes) - 1) / (writes[-1] - writes[0]), 2)
        if len(writes) > 1
        else None,
        "too_many_requests": sum(1 for r in log if r["status"] == 429),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=200, help="candidates bulk-moved")
    parser.add_argument("--milestones", type=int, default=20, help="Karat milestones meanwhile")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="karatlever-reads-"))
    per_run = args.candidates + args.milestones
    results = []
    with SandboxServer(port=0) as lever:
        django_setup(var_dir, lever.api_url.removesuffix("/v1"))
        for share in (1.0, PRODUCT_SHARE):
            # Each run starts from Lever's demo data, with its own integration on the same key.
            lever.reset_data()
            opportunities = [
                doc["id"]
                for doc in lever.sandbox.opportunities()
                if doc.get("confidentiality") != "confidential" and not doc["archived"]
            ]
            if per_run > len(opportunities):
                raise SystemExit(
                    f"only {len(opportunities)} sandbox opportunities, {per_run} asked"
                )
            results.append(
                run(
                    lever,
                    integrations_create(1, f"reads share {share}")[0],
                    share,
                    opportunities[: args.candidates],
                    opportunities[args.candidates : per_run],
                    var_dir,
                )
            )
    baseline, product = results
    met = (
        product["lever_reads"] <= args.candidates
        and product["deliveries_by_status"] == {"processed": product["deliveries"]}
        and all(r["too_many_requests"] == 0 for r in results)
        and product["notes"]["p99_s"] <= baseline["notes"]["p99_s"]
    )
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                f"Python {platform.python_version()}",
                "candidates": args.candidates,
                "milestones": args.milestones,
                "results": results,
                "target": "reads <= candidates, all processed, 0 x 429, notes p99 <= baseline's",
                "met": met,
            },
            indent=2,
        )
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
