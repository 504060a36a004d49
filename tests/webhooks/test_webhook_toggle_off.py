"""Issue 20, item 1: a Lever webhook toggle left OFF is seen from evidence. Lever's API does not
report the toggles, so a change the reconciliation finds that no delivery of its event
announced flags that event's webhook at once (with the fix), until a delivery of it arrives."""

from __future__ import annotations

from typing import Any

import pytest

from integrations import features as feature_table
from integrations.lever.adapter import WebhookEvent
from integrations.lever.sandbox import SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity_ids
from integrations.models import AtsIntegration, IntegrationStatus, OpportunityLink
from integrations.status import services as status
from tests.factories import CandidacyFactory, RoleFactory
from webhooks.services import intake, reconcile

from .conftest import make_delivery

pytestmark = pytest.mark.django_db

OPPORTUNITY_ID = demo_opportunity_ids(1)[0]
FIX = "turn on Candidate Stage Change in Lever: Settings → Integrations and API → Webhooks"


def _link(integration: AtsIntegration, lever: SandboxServer) -> None:
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=CandidacyFactory(role=RoleFactory(group=integration.group)),
        opportunity_id=OPPORTUNITY_ID,
        contact_id=lever.opportunity(OPPORTUNITY_ID)["contact"],
    )


def _auto_state(integration: AtsIntegration) -> dict[str, Any]:
    snapshot = status.integration_status_compute(integration_id=integration.pk)
    assert snapshot is not None
    return next(f for f in snapshot.features if f["key"] == feature_table.AUTO_STATE_UPDATING)


def _failing(feature: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in feature["checks"] if c["level"] in ("warn", "bad")]


def test_a_stage_change_no_webhook_announced_flags_that_webhook_at_once_until_one_arrives(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    _link(sandbox_integration, lever)
    reconcile.integration_reconcile(integration_id=sandbox_integration.pk)  # catch up
    assert _failing(_auto_state(sandbox_integration)) == []

    # given: the admin left Candidate Stage Change OFF in Lever, and a candidate moves
    lever.set_event_enabled(WebhookEvent.CANDIDATE_STAGE_CHANGE, False)
    lever.move_stage(OPPORTUNITY_ID, "offer")

    # when: one reconciliation runs
    result = reconcile.integration_reconcile(integration_id=sandbox_integration.pk)

    # then: the snapshot names that webhook and the fix, after this one cycle
    assert result is not None
    assert result.unannounced == 1
    feature = _auto_state(sandbox_integration)
    (check,) = _failing(feature)
    assert check["name"].startswith("Candidate Stage Change")
    assert FIX in check["message"]
    assert feature["level"] == "warn"
    assert feature["label"] != "Working"
    assert any(FIX in issue["text"] for issue in feature["issues"])
    # The other two webhooks are not blamed.
    assert "Archive" not in check["message"]
    assert "Hired" not in check["message"]

    # when: the admin turns it on, and a verified delivery of that event arrives
    lever.set_event_enabled(WebhookEvent.CANDIDATE_STAGE_CHANGE, True)
    outcome = intake.delivery_record(
        integration_public_id=sandbox_integration.public_id,
        body=make_delivery(opportunity_id=OPPORTUNITY_ID),
    )

    # then: cleared
    assert outcome.outcome is intake.Outcome.ACCEPTED
    assert _failing(_auto_state(sandbox_integration)) == []


def test_finding_an_unannounced_change_asks_for_a_status_recompute(
    sandbox_integration: AtsIntegration,
    lever: SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _link(sandbox_integration, lever)
    reconcile.integration_reconcile(integration_id=sandbox_integration.pk)
    status.integration_status_compute(integration_id=sandbox_integration.pk)
    lever.set_event_enabled(WebhookEvent.CANDIDATE_STAGE_CHANGE, False)
    lever.move_stage(OPPORTUNITY_ID, "offer")

    with django_capture_on_commit_callbacks():
        reconcile.integration_reconcile(integration_id=sandbox_integration.pk)

    snapshot = IntegrationStatus.objects.get(integration=sandbox_integration)
    assert snapshot.pending
    assert "Candidate Stage Change" in snapshot.request_reason


def test_an_archive_change_announced_only_by_a_stage_change_delivery_flags_the_archive_webhook(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    _link(sandbox_integration, lever)
    reconcile.integration_reconcile(integration_id=sandbox_integration.pk)
    reason = next(r["id"] for r in lever.sandbox.archive_reasons() if r["type"] != "hired")
    lever.set_event_enabled(WebhookEvent.CANDIDATE_ARCHIVE_CHANGE, False)
    lever.archive(OPPORTUNITY_ID, reason)
    # Some delivery for the same opportunity arrived, but not of the archive event.
    intake.delivery_record(
        integration_public_id=sandbox_integration.public_id,
        body=make_delivery(opportunity_id=OPPORTUNITY_ID),
    )

    reconcile.integration_reconcile(integration_id=sandbox_integration.pk)

    (check,) = _failing(_auto_state(sandbox_integration))
    assert check["name"].startswith("Candidate Archive State Change")
    assert "turn on Candidate Archive State Change in Lever" in check["message"]
