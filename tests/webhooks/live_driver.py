"""Out-of-process steps for the live webhook tests: `python -m tests.webhooks.live_driver <step> <json>`.

Runs against the database and broker its environment names (a temp KARATLEVER_VAR_DIR), so a
real Celery worker started with the same environment sees the same rows. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _setup(args: dict[str, Any]) -> dict[str, Any]:
    from django.core.management import call_command

    from integrations.models import AtsIntegration, OpportunityLink, WebhookSubscription
    from karatlever.accounts.models import Group, Organization
    from karatlever.hiring.models import Candidacy, Role

    call_command("migrate", verbosity=0, interactive=False)
    organization = Organization.objects.create(name="Live Org")
    group = Group.objects.create(organization=organization, name="Live Group")
    integration = AtsIntegration.objects.create(
        group=group, api_key=args["api_key"], api_key_last4=args["api_key"][-4:]
    )
    for event, token in args["tokens"].items():
        WebhookSubscription.objects.create(
            integration=integration,
            event=event,
            signature_token=token,
            signature_token_last4=token[-4:],
        )
    role = Role.objects.create(group=group, title="Engineer")
    candidacy = Candidacy.objects.create(
        group=group, role=role, candidate_name="Live Candidate", candidate_email="live@example.com"
    )
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id=args["opportunity_id"],
        contact_id=args.get("contact_id", ""),
    )
    return {"integration": str(integration.public_id), "candidacy": candidacy.pk}


def _record(args: dict[str, Any]) -> dict[str, Any]:
    from webhooks.services import intake

    result = intake.delivery_record(integration_public_id=args["integration"], body=args["body"])
    return {"outcome": result.outcome.code, "delivery": result.delivery_id}


def _state(args: dict[str, Any]) -> dict[str, Any]:
    from karatlever.hiring.models import Candidacy
    from webhooks.models import WebhookDelivery

    deliveries = list(
        WebhookDelivery.objects.order_by("pk").values("pk", "status", "attempts", "error")
    )
    candidacy = Candidacy.objects.get(pk=args["candidacy"])
    return {
        "deliveries": deliveries,
        "stage": candidacy.ats_stage_id,
        "events": list(candidacy.events.order_by("pk").values_list("kind", flat=True)),
    }


def _sweep(args: dict[str, Any]) -> dict[str, Any]:
    from webhooks.services import processing

    result = processing.delivery_sweep()
    return {"requeued": result.requeued, "reclaimed": result.reclaimed, "dead": result.dead}


STEPS = {"setup": _setup, "record": _record, "state": _state, "sweep": _sweep}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "karatlever.settings")
    import django

    django.setup()
    step, payload = sys.argv[1], json.loads(sys.argv[2] if len(sys.argv) > 2 else "{}")
    sys.stdout.write(json.dumps(STEPS[step](payload), default=str) + "\n")


if __name__ == "__main__":
    main()
