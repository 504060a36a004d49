"""A candidacy's recruiter follows its Lever opportunity's owner (issue #21 §3), on webhook
processing and reconciliation against the Lever sandbox: off by default, matched by email,
a change on the timeline, an owner not in Karat leaves the recruiter and says so, and the
failure paths (expansion missing or malformed, Lever down, hostile emails)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from integrations.hiring_team import services
from integrations.hiring_team.health import recruiter_follows_owner_health
from integrations.lever.adapter import WebhookEvent
from integrations.lever.sandbox import SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity_ids
from integrations.models import AtsIntegration, HiringTeamSettings, OpportunityLink
from karatlever.accounts.models import User
from karatlever.hiring.models import Candidacy, CandidacyEvent
from tests.factories import CandidacyFactory, RoleFactory
from webhooks.models import WebhookDelivery
from webhooks.services import intake, processing, reconcile

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
