"""A candidacy's recruiter follows its Lever opportunity's owner (issue #21 §3), on webhook
processing and reconciliation against the Lever sandbox: off by default, matched by email,
a change on the timeline, an owner not in Karat leaves the recruiter and says so, and the
failure paths (expansion missing or malformed, Lever down, hostile emails)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from integrations.features import RECRUITER_FOLLOWS_OWNER
from integrations.hiring_team import services
from integrations.hiring_team.health import recruiter_follows_owner_health
from integrations.lever.adapter import WebhookEvent
from integrations.lever.sandbox import KARAT_PERMISSIONS, SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity_ids
from integrations.models import (
    AtsIntegration,
    HiringTeamSettings,
    IntegrationStatus,
    OpportunityLink,
)
from integrations.status.services import integration_status_compute
from karatlever.accounts.models import User
from karatlever.hiring.models import Candidacy, CandidacyEvent
from tests.factories import CandidacyFactory, RoleFactory
from webhooks.models import WebhookDelivery
from webhooks.services import deletions, intake, processing, reconcile

from .conftest import make_delivery

pytestmark = pytest.mark.django_db

OPPORTUNITY_ID = demo_opportunity_ids(1)[0]
Status = WebhookDelivery.Status


@pytest.fixture
def candidacy(sandbox_integration: AtsIntegration, lever: SandboxServer) -> Candidacy:
    candidacy = CandidacyFactory(role=RoleFactory(group=sandbox_integration.group))
    OpportunityLink.objects.create(
        integration=sandbox_integration,
        candidacy=candidacy,
        opportunity_id=OPPORTUNITY_ID,
        contact_id=lever.opportunity(OPPORTUNITY_ID)["contact"],
    )
    return candidacy


def turn_on(integration: AtsIntegration) -> None:
    services.hiring_team_settings_update(
        integration=integration,
        actor=None,
        role_followers_enabled=False,
        recruiter_follows_owner=True,
    )


def owner_set(lever: SandboxServer, name: str, email: str) -> str:
    user_id = str(lever.sandbox.add_user(name=name, email=email)["id"])
    lever.sandbox.set_owner(OPPORTUNITY_ID, user_id)
    return user_id


def process(integration: AtsIntegration, **kwargs: Any) -> str | None:
    result = intake.delivery_record(
        integration_public_id=integration.public_id,
        body=make_delivery(WebhookEvent.CANDIDATE_STAGE_CHANGE, opportunity_id=OPPORTUNITY_ID),
    )
    assert result.delivery_id is not None
    return processing.delivery_process(delivery_id=result.delivery_id)


def recruiter_events(candidacy: Candidacy) -> list[CandidacyEvent]:
    return list(candidacy.events.filter(kind=CandidacyEvent.Kind.RECRUITER_CHANGED))


def test_off_by_default_a_delivery_leaves_the_recruiter_alone(
    sandbox_integration: AtsIntegration,
    lever: SandboxServer,
    candidacy: Candidacy,
    recruiter_user: User,
) -> None:
    owner_set(lever, "Rae", "rec@acme.test")

    assert process(sandbox_integration) == Status.PROCESSED

    candidacy.refresh_from_db()
    assert candidacy.recruiter is None
    assert recruiter_follows_owner_health(sandbox_integration).label == "Off"


def test_the_recruiter_follows_the_owner_by_email_once_on_the_timeline(
    sandbox_integration: AtsIntegration,
    lever: SandboxServer,
    candidacy: Candidacy,
    recruiter_user: User,
) -> None:
    turn_on(sandbox_integration)
    owner_set(lever, "Rae Recruiter", "REC@acme.test")

    process(sandbox_integration)
    process(sandbox_integration)  # the same owner again: nothing new

    candidacy.refresh_from_db()
    assert candidacy.recruiter == recruiter_user
    assert candidacy.ats_owner_not_in_karat is False
    (event,) = recruiter_events(candidacy)
    assert event.source == CandidacyEvent.Source.ATS
    assert event.detail["origin"]["via"] == "webhook"
    assert "rec@acme.test" in event.summary or recruiter_user.display_name in event.summary
    assert recruiter_follows_owner_health(sandbox_integration).label == "On"


def test_an_owner_not_in_karat_keeps_the_recruiter_and_the_candidacy_says_so(
    sandbox_integration: AtsIntegration,
    lever: SandboxServer,
    candidacy: Candidacy,
    recruiter_user: User,
    admin_client: Client,
) -> None:
    turn_on(sandbox_integration)
    owner_set(lever, "Rae", "rec@acme.test")
    process(sandbox_integration)
    owner_set(lever, "Nora Nobody", "nora@elsewhere.example")

    process(sandbox_integration)

    candidacy.refresh_from_db()
    assert candidacy.recruiter == recruiter_user
    assert candidacy.ats_owner_not_in_karat is True
    assert (candidacy.ats_owner_name, candidacy.ats_owner_email) == (
        "Nora Nobody",
        "nora@elsewhere.example",
    )
    assert len(recruiter_events(candidacy)) == 1
    assert not User.objects.filter(email__iexact="nora@elsewhere.example").exists()
    page = admin_client.get(reverse("hiring:candidate-detail", args=[candidacy.code]))
    assert b"owner-not-in-karat" in page.content
    assert b"Nora Nobody" in page.content
    health = recruiter_follows_owner_health(sandbox_integration)
    assert "1 candidacy" in next(c for c in health.checks if c.code == "owner_in_karat").message


@pytest.mark.parametrize("kind", ["ids", "malformed"])
def test_a_missing_or_malformed_owner_expansion_changes_nothing_and_the_status_says_so(
    sandbox_integration: AtsIntegration,
    lever: SandboxServer,
    candidacy: Candidacy,
    recruiter_user: User,
    kind: str,
) -> None:
    turn_on(sandbox_integration)
    owner_set(lever, "Rae", "rec@acme.test")
    lever.set_faults(bad_expand=kind, paths=["/v1/opportunities"])

    assert process(sandbox_integration) == Status.PROCESSED  # the stage still applies

    candidacy.refresh_from_db()
    assert candidacy.recruiter is None
    assert candidacy.ats_stage_id  # the state part of the read was used
    settings_row = HiringTeamSettings.objects.get(integration=sandbox_integration)
    assert settings_row.owner_unreadable_at is not None
    health = recruiter_follows_owner_health(sandbox_integration)
    assert health.level == "warn"


def test_lever_down_leaves_the_recruiter_and_retries_later(
    sandbox_integration: AtsIntegration,
    lever: SandboxServer,
    candidacy: Candidacy,
    recruiter_user: User,
) -> None:
    turn_on(sandbox_integration)
    owner_set(lever, "Rae", "rec@acme.test")
    lever.set_faults(fail_next=[503, 503, 503, 503])

    status = process(sandbox_integration)

    candidacy.refresh_from_db()
    assert status != Status.PROCESSED
    assert candidacy.recruiter is None
    assert recruiter_events(candidacy) == []


@pytest.mark.parametrize(
    "email", ["rec@acme.test\r\nBcc: x@example.org", "rec@acme.test>", "rec @acme.test"]
)
def test_a_hostile_owner_email_never_matches_and_is_not_stored(
    sandbox_integration: AtsIntegration,
    lever: SandboxServer,
    candidacy: Candidacy,
    recruiter_user: User,
    email: str,
) -> None:
    turn_on(sandbox_integration)
    owner_set(lever, "Eve", email)

    process(sandbox_integration)

    candidacy.refresh_from_db()
    assert candidacy.recruiter is None
    assert candidacy.ats_owner_email == ""
    assert candidacy.ats_owner_not_in_karat is True


def test_reconciliation_reads_the_owner_too(
    sandbox_integration: AtsIntegration,
    lever: SandboxServer,
    candidacy: Candidacy,
    recruiter_user: User,
) -> None:
    turn_on(sandbox_integration)
    reconcile.integration_reconcile(integration_id=sandbox_integration.pk)
    owner_set(lever, "Rae", "rec@acme.test")  # moves updatedAt; no webhook fires

    reconcile.integration_reconcile(integration_id=sandbox_integration.pk)

    candidacy.refresh_from_db()
    assert candidacy.recruiter == recruiter_user
    (event,) = recruiter_events(candidacy)
    assert event.detail["origin"] == {"via": "reconcile"}


def test_a_key_that_may_not_read_opportunities_keeps_the_recruiter_and_the_status_says_why(
    sandbox_integration: AtsIntegration,
    lever: SandboxServer,
    candidacy: Candidacy,
    recruiter_user: User,
) -> None:
    # given: the recruiter follows the owner, then the owner changes in Lever and the key in
    # use loses the permission to read opportunities
    turn_on(sandbox_integration)
    owner_set(lever, "Rae", "rec@acme.test")
    assert process(sandbox_integration) == Status.PROCESSED
    owner_set(lever, "Nora Nobody", "nora@elsewhere.example")
    key = lever.create_api_key(
        [p for p in KARAT_PERMISSIONS if not p.startswith("opportunities:")], label="no reads"
    )
    sandbox_integration.api_key, sandbox_integration.api_key_last4 = key, key[-4:]
    sandbox_integration.save(update_fields=["api_key", "api_key_last4"])

    status = process(sandbox_integration)

    # then: the delivery fails saying why, the recruiter stays, and the feature's row says
    # it is not working and why
    assert status == Status.FAILED
    delivery = WebhookDelivery.objects.order_by("-pk").first()
    assert delivery is not None
    assert "permission" in delivery.error
    candidacy.refresh_from_db()
    assert candidacy.recruiter == recruiter_user
    assert candidacy.ats_owner_not_in_karat is False
    assert len(recruiter_events(candidacy)) == 1
    sandbox_integration.refresh_from_db()
    integration_status_compute(integration_id=sandbox_integration.pk)
    row = next(
        f
        for f in IntegrationStatus.objects.get(integration=sandbox_integration).features
        if f["key"] == RECRUITER_FOLLOWS_OWNER
    )
    assert (row["level"], row["label"]) == ("bad", "Not working")
    owner_read = next(c for c in row["checks"] if c["code"] == "owner_read")
    assert owner_read["level"] == "bad"
    assert "permission" in owner_read["message"]
    assert owner_read["fix_url"]


def test_an_opportunity_deleted_before_the_read_keeps_the_recruiter_and_loses_nothing(
    sandbox_integration: AtsIntegration,
    lever: SandboxServer,
    candidacy: Candidacy,
    recruiter_user: User,
) -> None:
    # given: the recruiter follows the owner; a new owner is set, a delivery is received, and
    # the opportunity is deleted in Lever before Karat reads it
    turn_on(sandbox_integration)
    owner_set(lever, "Rae", "rec@acme.test")
    process(sandbox_integration)
    owner_set(lever, "Nora Nobody", "nora@elsewhere.example")
    result = intake.delivery_record(
        integration_public_id=sandbox_integration.public_id,
        body=make_delivery(WebhookEvent.CANDIDATE_STAGE_CHANGE, opportunity_id=OPPORTUNITY_ID),
    )
    assert result.delivery_id is not None
    lever.delete_candidate(OPPORTUNITY_ID)

    status = processing.delivery_process(delivery_id=result.delivery_id)

    # then: the delivery ends (no retry loop) saying why; recruiter and link are unchanged
    assert status == Status.IGNORED
    delivery = WebhookDelivery.objects.get(pk=result.delivery_id)
    assert "not found in Lever" in delivery.outcome
    candidacy.refresh_from_db()
    assert candidacy.recruiter == recruiter_user
    assert (candidacy.ats_owner_name, candidacy.ats_owner_not_in_karat) == ("Rae", False)
    assert len(recruiter_events(candidacy)) == 1
    assert OpportunityLink.objects.filter(candidacy=candidacy).exists()
    # ...and the deletion itself is not lost: the periodic check honours it
    assert deletions.deleted_opportunities_reconcile(integration_id=sandbox_integration.pk) == 1
    assert not OpportunityLink.objects.filter(candidacy=candidacy).exists()
    candidacy.refresh_from_db()
    assert candidacy.recruiter == recruiter_user
