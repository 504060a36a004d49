"""Out-of-process steps for the fault suite: `python -m tests.reliability.driver <step> <json>`.

Runs against the PostgreSQL database and Redis its environment names (the suite's own), so
the gunicorn and Celery processes started with the same environment see the same rows.
Prints one JSON line. The outbound milestones step is the outbound live driver's own.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _setup(args: dict[str, Any]) -> dict[str, Any]:
    """Migrate; one organization, one integration (``api_key``, the webhook ``tokens``) and
    one linked candidacy per opportunity of ``opportunities``."""
    from django.core.management import call_command

    from integrations.models import AtsIntegration, OpportunityLink, WebhookSubscription
    from karatlever.accounts.models import Group, Organization
    from karatlever.hiring.models import Candidacy, Role

    call_command("migrate", verbosity=0, interactive=False)
    organization = Organization.objects.create(name="Reliability Org")
    group = Group.objects.create(organization=organization, name="Reliability Group")
    integration = AtsIntegration.objects.create(
        group=group,
        api_key=args["api_key"],
        api_key_last4=args["api_key"][-4:],
        rate_limit_per_second=8.0,
        rate_limit_burst=10,
    )
    for event, token in args["tokens"].items():
        WebhookSubscription.objects.create(
            integration=integration,
            event=event,
            signature_token=token,
            signature_token_last4=token[-4:],
        )
    role = Role.objects.create(group=group, title="Engineer")
    candidacies = []
    for opportunity_id in args["opportunities"]:
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
    return {
        "integration": str(integration.public_id),
        "integration_pk": integration.pk,
        "candidacies": candidacies,
    }


def _state(args: dict[str, Any]) -> dict[str, Any]:
    """Deliveries by status (and any delivery stored twice), outbound updates by status, and
    each linked candidacy's stage and ATS event kinds, keyed by opportunity id."""
    from django.db.models import Count

    from integrations.models import OpportunityLink, OutboundUpdate
    from webhooks.models import WebhookDelivery

    deliveries = WebhookDelivery.objects.values("status").annotate(n=Count("id"))
    twice = (
        WebhookDelivery.objects.values("payload__token")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    outbound = OutboundUpdate.objects.values("status").annotate(n=Count("id"))
    candidacies = {
        link.opportunity_id: {
            "stage": link.candidacy.ats_stage_id,
            "events": list(link.candidacy.events.order_by("pk").values_list("kind", flat=True)),
        }
        for link in OpportunityLink.objects.select_related("candidacy")
    }
    return {
        "deliveries": {r["status"]: r["n"] for r in deliveries},
        "deliveries_stored_twice": twice,
        "max_attempts": max(WebhookDelivery.objects.values_list("attempts", flat=True), default=0),
        "outbound": {r["status"]: r["n"] for r in outbound},
        "candidacies": candidacies,
    }


def _sweep(args: dict[str, Any]) -> dict[str, Any]:
    """What beat runs: the webhook sweeper and the outbound sweeper (a broker failure is
    reported, not raised, by both)."""
    from integrations.outbound.services import drain
    from webhooks.services import processing

    hooks = processing.delivery_sweep()
    out = drain.outbound_sweep()
    return {
        "requeued": len(hooks.requeued),
        "reclaimed": hooks.reclaimed + out.reclaimed,
        "published": len(out.published),
    }


def _reconcile(args: dict[str, Any]) -> dict[str, Any]:
    """One reconciliation cycle of every due integration, as the beat task runs it."""
    from webhooks.services import reconcile

    seen = changed = 0
    for integration_id in reconcile.reconcile_due_integration_ids():
        result = reconcile.integration_reconcile(integration_id=integration_id)
        if result is not None:
            seen, changed = seen + result.seen, changed + result.changed
    return {"seen": seen, "changed": changed}


def _milestones(args: dict[str, Any]) -> dict[str, Any]:
    from tests.integrations.outbound.live_driver import _milestones as milestones

    return milestones(args)


STEPS = {
    "setup": _setup,
    "state": _state,
    "sweep": _sweep,
    "reconcile": _reconcile,
    "milestones": _milestones,
}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "karatlever.settings")
    import django

    django.setup()
    step, payload = sys.argv[1], json.loads(sys.argv[2] if len(sys.argv) > 2 else "{}")
    sys.stdout.write(json.dumps(STEPS[step](payload), default=str) + "\n")


if __name__ == "__main__":
    main()
