"""Out-of-process steps for the live outbound tests and the outbound bench:
`python -m tests.integrations.outbound.live_driver <step> <json>`.

Runs against the database and broker its environment names (a temp KARATLEVER_VAR_DIR, or
PostgreSQL + Redis when DATABASE_URL / CELERY_BROKER_URL are set), so a real Celery worker
started with the same environment sees the same rows. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _setup(args: dict[str, Any]) -> dict[str, Any]:
    """A fresh database: one organization, ``keys`` integrations (one per API key), and
    ``per_key`` linked candidacies per integration, on the given opportunities."""
    from django.conf import settings
    from django.core.management import call_command

    from integrations.models import AtsIntegration, OpportunityLink
    from karatlever.accounts.models import Group, Organization
    from karatlever.hiring.models import Candidacy, Role

    call_command("migrate", verbosity=0, interactive=False)
    call_command("flush", verbosity=0, interactive=False)
    from django.db import connection

    if connection.vendor == "postgresql":
        # The production case of issue #23: statistics taken while no update waits (steady
        # state), then a backlog lands below autovacuum's analyse threshold.
        from integrations.models import OutboundUpdate

        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {OutboundUpdate._meta.db_table}")
    for url in {settings.CELERY_BROKER_URL, settings.REDIS_URL}:
        if url.startswith("redis://"):
            import redis

            redis.Redis.from_url(url).flushdb()  # this run's own db numbers only
    out: dict[str, Any] = {"integrations": [], "candidacies": []}
    for i, key in enumerate(args["api_keys"]):
        # One organization per key: keys may share opportunities, and an organization links
        # each opportunity once (opportunity_link_one_per_organization).
        organization = Organization.objects.create(name=f"Live Org {i}")
        group = Group.objects.create(organization=organization, name=f"Live Group {i}")
        integration = AtsIntegration.objects.create(
            group=group,
            api_key=key,
            api_key_last4=key[-4:],
            rate_limit_per_second=args.get("rate", 8.0),
            rate_limit_burst=args.get("burst", 10),
        )
        role = Role.objects.create(group=group, title="Engineer")
        candidacies = []
        for opportunity_id in args["opportunities"][i]:
            candidacy = Candidacy.objects.create(
                group=group,
                role=role,
                candidate_name=f"Candidate {opportunity_id[:8]}",
                candidate_email=f"{opportunity_id[:8]}@example.com",
            )
            OpportunityLink.objects.create(
                integration=integration, candidacy=candidacy, opportunity_id=opportunity_id
            )
            candidacies.append(candidacy.pk)
        out["integrations"].append(integration.pk)
        out["candidacies"].append(candidacies)
    return out


def _milestones(args: dict[str, Any]) -> dict[str, Any]:
    """Record ``milestones`` (names, in order, ``rounds`` times) on each candidacy, one
    transaction per milestone, ``interval`` seconds apart. Returns, per milestone, the
    candidacy's opportunity and the time its transaction had committed (epoch seconds)."""
    import time

    from django.utils import timezone

    from karatlever.hiring.models import Candidacy
    from karatlever.hiring.services import candidacy_milestone_record

    stamps = []
    interval = float(args.get("interval", 0))
    candidacies = list(
        Candidacy.objects.filter(pk__in=args["candidacies"]).select_related("opportunity_link")
    )
    for _ in range(int(args.get("rounds", 1))):
        for candidacy in candidacies:
            for milestone in args["milestones"]:
                extra: dict[str, Any] = {}
                if milestone == "scheduled":
                    extra["scheduled_at"] = timezone.now()
                if milestone == "results_ready":
                    extra |= {
                        "recommendation": "yes",
                        "summary": "Good.",
                        "report_url": f"https://karat.example/r/{candidacy.pk}",
                    }
                candidacy_milestone_record(candidacy=candidacy, milestone=milestone, **extra)
                stamps.append([candidacy.opportunity_link.opportunity_id, milestone, time.time()])
                if interval:
                    time.sleep(interval)
    return {"recorded": stamps}


def _state(args: dict[str, Any]) -> dict[str, Any]:
    from django.db.models import Count

    from integrations.models import OutboundUpdate

    rows = OutboundUpdate.objects.values("status").annotate(n=Count("id"))
    detail = []
    if args.get("rows"):
        detail = list(
            OutboundUpdate.objects.order_by("pk").values(
                "pk",
                "opportunity_id",
                "sequence",
                "kind",
                "status",
                "attempts",
                "deferred",
                "last_status_code",
                "last_error",
                "sent_at",
                "created_at",
            )
        )
    return {"by_status": {r["status"]: r["n"] for r in rows}, "rows": detail}


def _sweep(args: dict[str, Any]) -> dict[str, Any]:
    from integrations.outbound.services import drain

    result = drain.outbound_sweep()
    return {"reclaimed": result.reclaimed, "resumed": result.resumed, "published": result.published}


STEPS = {"setup": _setup, "milestones": _milestones, "state": _state, "sweep": _sweep}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "karatlever.settings")
    import django

    django.setup()
    step, payload = sys.argv[1], json.loads(sys.argv[2] if len(sys.argv) > 2 else "{}")
    sys.stdout.write(json.dumps(STEPS[step](payload), default=str) + "\n")


if __name__ == "__main__":
    main()
