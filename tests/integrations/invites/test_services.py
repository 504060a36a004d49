"""The invites service against the Lever sandbox: previews, every error, invites."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from integrations.invites.services.create import invite_create, invite_urls
from integrations.invites.services.preview import (
    InviteCode,
    InvitePreview,
    InviteWarning,
    invite_preview,
)
from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.models import AtsIntegration, InvitationEmail, OpportunityLink
from karatlever.accounts.models import User
from karatlever.hiring.models import Candidacy, CandidacyEvent, Role
from tests.factories import CandidacyFactory, RoleFactory
from tests.integrations.conftest import posting_of
from tests.integrations.invites.conftest import queued_emails_send, url_of

pytestmark = pytest.mark.django_db


def preview(integration: AtsIntegration, url: str) -> InvitePreview:
    return invite_preview(group=integration.group, integration=integration, url=url)


def matched_role(result: InvitePreview) -> Role:
    assert result.role_id is not None, result
    return Role.objects.get(pk=result.role_id)


def test_preview_shows_the_candidate_posting_role_and_stage(
    lever_integration: AtsIntegration, roles: list[Role], invitable: list[str]
) -> None:
    opportunity_id = invitable[0]

    result = preview(lever_integration, url_of(opportunity_id))

    assert result.ok, result.message
    assert result.opportunity_id == opportunity_id
    assert result.candidate_name
    assert "@" in result.email
    assert result.posting_title == posting_of(opportunity_id)["text"]
    assert result.role_title == result.posting_title
    assert result.stage_name
    assert result.warnings == ()


def test_role_matches_by_requisition_code_before_title(
    lever_integration: AtsIntegration, invitable: list[str]
) -> None:
    posting = next(posting_of(o) for o in invitable if any(posting_of(o)["requisitionCodes"] or []))
    by_title = RoleFactory(
        group=lever_integration.group, title=posting["text"], requisition_code=""
    )
    by_code = RoleFactory(
        group=lever_integration.group,
        title="Other",
        requisition_code=posting["requisitionCodes"][0],
    )
    opportunity_id = next(o for o in invitable if posting_of(o)["id"] == posting["id"])

    result = preview(lever_integration, url_of(opportunity_id))

    assert result.role_id == by_code.pk
    assert by_title.pk != by_code.pk


def test_unmatched_posting_leaves_the_role_to_pick(
    lever_integration: AtsIntegration, invitable: list[str]
) -> None:
    result = preview(lever_integration, url_of(invitable[0]))

    assert result.ok
    assert result.role_id is None


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://example.com/candidates/x", "not_lever"),
        ("https://jobs.lever.co/acme/8d3c3b4e-1f2a-4b5c-9d8e-7f6a5b4c3d2e", "job_posting"),
        ("https://hire.lever.co/search/application?q=x", "application_search"),
        (
            "https://hire.eu.lever.co/candidates/8d3c3b4e-1f2a-4b5c-9d8e-7f6a5b4c3d2e",
            "region_mismatch",
        ),
        (
            "https://hire.lever.co/candidates/8d3c3b4e-1f2a-4b5c-9d8e-7f6a5b4c3d2e",
            "unknown_opportunity",
        ),
    ],
)
def test_each_bad_url_gets_its_own_reason_and_invites_nothing(
    lever_integration: AtsIntegration, url: str, code: str
) -> None:
    result = preview(lever_integration, url)
    outcome = invite_create(integration=lever_integration, preview=result, role=None, actor=None)

    assert not result.ok
    assert result.code == code
    assert result.message
    assert outcome.code == code
    assert not Candidacy.objects.exists()


def test_no_integration_disabled_and_no_key_are_reasons_of_their_own(
    integration: AtsIntegration, invitable: list[str]
) -> None:
    url = url_of(invitable[0])

    missing = invite_preview(group=integration.group, integration=None, url=url)
    no_key = preview(integration, url)
    integration.enabled = False
    disabled = preview(integration, url)

    assert missing.code == InviteCode.NO_INTEGRATION
    assert no_key.code == InviteCode.NO_API_KEY
    assert disabled.code == InviteCode.INTEGRATION_DISABLED


def test_confidential_candidate_is_not_a_refused_key(
    lever_integration: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    limited = lever.create_api_key(
        ["opportunities:read:admin", "postings:read:admin", "stages:read:admin"]
    )
    lever.set_confidential(invitable[0], True)
    lever_integration.api_key = limited
    lever_integration.save(update_fields=["api_key"])

    result = preview(lever_integration, url_of(invitable[0]))

    assert result.code == InviteCode.CONFIDENTIAL
    assert "confidential" in result.message


def test_refused_key_and_missing_permission_are_told_apart(
    lever_integration: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    lever_integration.api_key = "not-a-key"
    lever_integration.save(update_fields=["api_key"])
    refused = preview(lever_integration, url_of(invitable[0]))
    lever_integration.api_key = lever.create_api_key(["postings:read:admin"])
    lever_integration.save(update_fields=["api_key"])
    lacking = preview(lever_integration, url_of(invitable[0]))

    assert refused.code == InviteCode.KEY_REFUSED
    assert lacking.code == InviteCode.KEY_PERMISSION


@pytest.mark.parametrize("status", [429, 503])
def test_lever_busy_or_down_creates_nothing(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
    status: int,
) -> None:
    lever.set_faults(fail_next=[status])

    result = preview(lever_integration, url_of(invitable[0]))

    assert result.code == InviteCode.ATS_UNAVAILABLE
    assert "try again" in result.message
    assert not Candidacy.objects.exists()


def test_invite_creates_candidacy_link_timeline_and_email(
    lever_integration: AtsIntegration, roles: list[Role], invitable: list[str], admin_user: User
) -> None:
    result = preview(lever_integration, url_of(invitable[0]))
    role = matched_role(result)

    outcome = invite_create(
        integration=lever_integration, preview=result, role=role, actor=admin_user
    )

    assert outcome.code == InviteCode.INVITED
    candidacy = outcome.candidacy
    assert candidacy is not None
    link = OpportunityLink.objects.get(candidacy=candidacy)
    assert link.opportunity_id == invitable[0]
    assert link.url == url_of(invitable[0])
    assert link.contact_id
    assert candidacy.ats_stage_name == result.stage_name
    kinds = set(candidacy.events.values_list("kind", flat=True))
    assert kinds == {CandidacyEvent.Kind.CREATED, CandidacyEvent.Kind.INVITE_SENT}
    assert mail.outbox == []  # sent by the worker after commit
    (message,) = queued_emails_send()
    assert message.to == [result.email]
    assert role.title in message.body
    assert str(candidacy.code) in message.body
    assert isinstance(message, mail.EmailMultiAlternatives)
    assert message.alternatives[0][1] == "text/html"


def test_same_opportunity_is_never_invited_twice(
    lever_integration: AtsIntegration, roles: list[Role], invitable: list[str]
) -> None:
    first = preview(lever_integration, url_of(invitable[0]))
    role = matched_role(first)
    invite_create(integration=lever_integration, preview=first, role=role, actor=None)

    again = preview(lever_integration, url_of(invitable[0]))
    outcome = invite_create(integration=lever_integration, preview=first, role=role, actor=None)

    assert InviteWarning.ALREADY_INVITED in again.warnings
    assert again.existing_candidacy
    assert outcome.code == InviteCode.ALREADY_INVITED
    assert outcome.candidacy is not None
    assert Candidacy.objects.count() == 1
    assert InvitationEmail.objects.count() == 1


def test_recent_interview_for_the_same_role_needs_a_confirmation(
    lever_integration: AtsIntegration, roles: list[Role], invitable: list[str]
) -> None:
    result = preview(lever_integration, url_of(invitable[0]))
    role = matched_role(result)
    CandidacyFactory(role=role, candidate_email=result.email)

    warned = preview(lever_integration, url_of(invitable[0]))
    refused = invite_create(integration=lever_integration, preview=warned, role=role, actor=None)
    confirmed = invite_create(
        integration=lever_integration, preview=warned, role=role, actor=None, confirm_recent=True
    )

    assert InviteWarning.RECENT_INTERVIEW in warned.warnings
    assert refused.code == InviteCode.RECENT_INTERVIEW
    assert confirmed.code == InviteCode.INVITED


def test_an_interview_over_six_months_ago_needs_no_confirmation(
    lever_integration: AtsIntegration, roles: list[Role], invitable: list[str]
) -> None:
    result = preview(lever_integration, url_of(invitable[0]))
    role = matched_role(result)
    with time_machine.travel(timezone.now() - timedelta(days=190)):
        CandidacyFactory(role=role, candidate_email=result.email)

    outcome = invite_create(integration=lever_integration, preview=result, role=role, actor=None)

    assert outcome.code == InviteCode.INVITED


def test_no_email_and_archived_are_warned(
    lever_integration: AtsIntegration, lever: SandboxServer, roles: list[Role]
) -> None:
    from integrations.lever.sandbox.demo import demo_data

    data = demo_data()
    no_email = next(o for o in data.opportunities if not o["emails"] and o["_application"])
    archived = next(o for o in data.opportunities if o["archived"] and o["emails"])

    no_email_preview = preview(lever_integration, url_of(no_email["id"]))
    archived_preview = preview(lever_integration, url_of(archived["id"]))
    outcome = invite_create(
        integration=lever_integration, preview=no_email_preview, role=roles[0], actor=None
    )

    assert InviteWarning.NO_EMAIL in no_email_preview.warnings
    assert outcome.code == InviteCode.NO_EMAIL
    assert InviteWarning.ARCHIVED in archived_preview.warnings
    assert archived_preview.archived


def test_one_lever_request_per_url_once_names_are_cached(
    lever_integration: AtsIntegration, lever: SandboxServer, roles: list[Role], invitable: list[str]
) -> None:
    preview(lever_integration, url_of(invitable[0]))  # warms the postings cache
    lever.reset_counters()
    before = sum(lever.request_stats().values())

    for opportunity_id in invitable[1:11]:
        assert preview(lever_integration, url_of(opportunity_id)).ok

    assert sum(lever.request_stats().values()) - before == 10


def test_the_local_demo_shape_sandbox_region_links_invite_end_to_end(
    integration: AtsIntegration, settings: object, invitable: list[str], admin_user: User
) -> None:
    """As in `make run`: the sandbox serves region "sandbox" (hire.sandbox.lever.co links)."""
    with SandboxServer(port=0, rate_per_second=None, region="sandbox") as lever:
        settings.LEVER_API_BASE_URL = lever.api_url  # type: ignore[attr-defined]
        integration.api_key, integration.api_key_last4 = DEMO_API_KEY, DEMO_API_KEY[-4:]
        integration.region = "sandbox"
        integration.save(update_fields=["api_key", "api_key_last4", "region"])
        role = RoleFactory(group=integration.group, title="Any role")
        url = f"https://hire.sandbox.lever.co/candidates/{invitable[0]}"

        outcomes = invite_urls(group=integration.group, urls=[url], role=role, actor=admin_user)

    assert outcomes[0].code == InviteCode.INVITED
    link = OpportunityLink.objects.get()
    assert link.url == url
    assert len(queued_emails_send()) == 1
