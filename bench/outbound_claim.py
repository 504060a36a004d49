"""Outbound claim: the cost of one claim on PostgreSQL as the queue grows (issue #23 §2).

Usage: DATABASE_URL=postgres://…/karatlever_NAME .venv/bin/python bench/outbound_claim.py
       [--pending 450,2000,10000] [--repeat 5]

The production case: the table's statistics are taken while it holds no pending row (ANALYZE
in steady state), then an outage or a paused key queues the backlog, below autovacuum's
analyse threshold. For each size, on a fresh table: ANALYZE it empty, insert the backlog
(opportunities with 4 updates each, their history sent), then measure in one run

* ``before``: the claim as it was (one query: due rows with no earlier unsent row of their
  opportunity, an anti-join; ``select_for_update(skip_locked)``, oldest first, LIMIT 1):
  EXPLAIN ANALYZE execution time and plan;
* ``after``: the claim as it is (``integrations/outbound/services/drain.py``
  ``_claimable_heads``: a window of due rows, then the blocking rows of their opportunities):
  EXPLAIN ANALYZE of each query it runs, and the wall time of one claim of a batch of 20;

then the same after ANALYZE with the backlog in place. Prints one JSON document; exit code 0
when the claim's cost at the largest size stays within 3x (+1 ms) of the smallest. Without
PostgreSQL it prints {"skipped": …} and exits 0 (``make bench`` on the embedded default).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "karatlever.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Exists, OuterRef, Q  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from integrations.models import AtsIntegration, OutboundUpdate  # noqa: E402
from integrations.outbound.services import drain as drain_service  # noqa: E402
from karatlever.accounts.models import Group, Organization  # noqa: E402
from karatlever.hiring.models import Candidacy, Role  # noqa: E402

Status = OutboundUpdate.Status
TABLE = OutboundUpdate._meta.db_table
KINDS = ["note", "tag", "note", "tag"]
FULL_PLANS = False


def _old_claim_queryset(integration_id: int, now: Any) -> Any:
    """The claim before issue #23 (kept here to measure it beside the new one)."""
    landed = Q(outcome_unknown_until__isnull=True) | Q(outcome_unknown_until__lte=now)
    earlier_unsent = OutboundUpdate.objects.filter(
        Q(status__in=OutboundUpdate.UNSENT) | ~landed,
        integration_id=OuterRef("integration_id"),
        opportunity_id=OuterRef("opportunity_id"),
        sequence__lt=OuterRef("sequence"),
    )
    return (
        OutboundUpdate.objects.filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now) & landed,
            integration_id=integration_id,
        )
        .filter(~Exists(earlier_unsent))
        .select_for_update(skip_locked=True)
        .order_by("next_attempt_at", "id")
        .values("pk", "attempts")[:1]
    )


def _explain(sql: str, params: Any = None) -> tuple[float, str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT TEXT) " + sql, params)
        lines = [row[0] for row in cursor.fetchall()]
    ms = next(
        float(m.group(1)) for line in lines if (m := re.search(r"Execution Time: ([\d.]+)", line))
    )
    return ms, lines[0].strip() if not FULL_PLANS else "\n".join(lines)


def _fresh(pending: int) -> int:
    """An integration with ``pending`` due rows (4 per opportunity, 4 sent before each), on a
    table analysed while it held none."""
    OutboundUpdate.objects.all().delete()
    organization = Organization.objects.create(name=f"Bench {pending} {time.time_ns()}")
    group = Group.objects.create(organization=organization, name="Bench")
    integration = AtsIntegration.objects.create(group=group)
    role = Role.objects.create(group=group, title="Engineer")
    candidacy = Candidacy.objects.create(
        group=group, role=role, candidate_name="Bench", candidate_email="bench@example.com"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")  # the statistics of an empty queue
    now = timezone.now()
    rows = []
    opportunities = max(1, pending // 4)
    for o in range(opportunities):
        for s in range(8):
            sent = s < 4
            rows.append(
                OutboundUpdate(
                    integration=integration,
                    candidacy=candidacy,
                    opportunity_id=f"opp-{o:06d}",
                    milestone="completed",
                    kind=KINDS[s % 4],
                    sequence=s + 1,
                    status=Status.SENT if sent else Status.PENDING,
                    next_attempt_at=now,
                    sent_at=now if sent else None,
                )
            )
    OutboundUpdate.objects.bulk_create(rows, batch_size=2000)
    return integration.pk


def _measure(integration_id: int, repeat: int) -> dict[str, Any]:
    now = timezone.now()
    with transaction.atomic():
        sql, params = _old_claim_queryset(integration_id, now).query.sql_with_params()
        before = [_explain(sql, params) for _ in range(repeat)]
        transaction.set_rollback(True)
    with CaptureQueriesContext(connection) as captured:
        drain_service._claimable_heads(integration_id, now, drain_service.CLAIM_BATCH)
    after_queries = [_explain(q["sql"]) for q in captured.captured_queries]
    after = []
    for _ in range(repeat):
        after.append(sum(_explain(q["sql"])[0] for q in captured.captured_queries))
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        with transaction.atomic():
            drain_service._claim_batch(integration_id, "bench", drain_service.CLAIM_BATCH)
            transaction.set_rollback(True)
        walls.append((time.perf_counter() - started) * 1000)
    return {
        "before_ms": round(statistics.median(b[0] for b in before), 2),
        "before_plan": before[0][1],
        "after_ms": round(statistics.median(after), 2),
        "after_queries": [{"ms": round(ms, 2), "plan": plan} for ms, plan in after_queries],
        "after_claim_of_20_wall_ms": round(statistics.median(walls), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", default="450,2000,10000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--plans", action="store_true", help="print whole plans")
    args = parser.parse_args()
    global FULL_PLANS
    FULL_PLANS = args.plans
    if connection.vendor != "postgresql":
        # `make bench` runs every script on the embedded default: nothing to explain there.
        print(
            json.dumps({"skipped": "PostgreSQL only: set DATABASE_URL to a database of your own"})
        )
        return 0
    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    out: dict[str, Any] = {"postgresql": version, "sizes": []}
    for pending in [int(n) for n in args.pending.split(",")]:
        integration_id = _fresh(pending)
        stale = _measure(integration_id, args.repeat)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TABLE}")
        fresh = _measure(integration_id, args.repeat)
        out["sizes"].append(
            {
                "pending": OutboundUpdate.objects.filter(status=Status.PENDING).count(),
                "analysed_empty": stale,
                "analysed_with_backlog": fresh,
            }
        )
    # Target: the claim's cost does not grow with the queue, on either statistics (the largest
    # size within 3x the smallest, plus 1 ms of noise).
    failures = []
    for case in ("analysed_empty", "analysed_with_backlog"):
        small, large = out["sizes"][0][case]["after_ms"], out["sizes"][-1][case]["after_ms"]
        if large > 3 * small + 1:
            failures.append(f"{case}: {large} ms at the largest size vs {small} ms")
    out["failures"] = failures
    print(json.dumps(out, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
