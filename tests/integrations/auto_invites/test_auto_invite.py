"""The automatic invite: off by default, on a stage (filtered by posting and origin), from
verified webhook deliveries and the reconciliation poll, never twice, dry run, status, UI."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from integrations import ats
from integrations import features as feature_table
from integrations.auto_invites import services as auto_invites
from integrations.auto_invites.views import posting_choices
from integrations.invites.services.create import invite_create
from integrations.invites.services.preview import InviteInputError, invite_preview
from integrations.lever.sandbox import SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity
from integrations.models import (
    AtsIntegration,
    AuditEntry,
    AutoInviteRule,
    IntegrationStatus,
    OpportunityLink,
)
from integrations.roles.selectors import PostingSummary
from integrations.status import services as status
from karatlever.hiring.models import Candidacy, CandidacyEvent, Role
from tests.factories import CandidacyFactory
from tests.integrations.conftest import posting_of
from webhooks.models import WebhookDelivery
from webhooks.services import processing, reconcile

pytestmark = pytest.mark.django_db

TECHNICAL = "44d09f3d-38c2-4ebb-95ba-b91cd20b52cf"
TECHNICAL_NAME = "Technical interview"


def rule_on(integration: AtsIntegration, **extra: Any) -> AutoInviteRule:
    fields: dict[str, Any] = {
        "enabled": True,
        "stage_id": TECHNICAL,
        "stage_name": TECHNICAL_NAME,
        "posting_ids": [],
        "origins": [],
        "role": None,
    }
    fields.update(extra)
    return auto_invites.auto_invite_rule_update(integration=integration, actor=None, **fields)


def delivery(integration: AtsIntegration, opportunity_id: str) -> str | None:
    """A verified stage-change delivery as the receiver stores it, processed."""
    row = WebhookDelivery.objects.create(
        integration=integration,
        event="candidateStageChange",
        token=secrets.token_hex(12),
        opportunity_id=opportunity_id,
        triggered_at_ms=int(time.time() * 1000),
        payload={},
    )
    return processing.delivery_process(delivery_id=row.pk)


def test_off_by_default_a_delivery_for_an_unlinked_candidate_is_ignored(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    lever.move_stage(invitable[0], TECHNICAL)

    status = delivery(lever_integration, invitable[0])

    assert status == WebhookDelivery.Status.IGNORED
    assert not Candidacy.objects.exists()


def test_a_candidate_entering_the_stage_is_invited_once_with_the_reason_on_the_timeline(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    rule_on(lever_integration)
    lever.move_stage(invitable[0], TECHNICAL)

    first = delivery(lever_integration, invitable[0])
    second = delivery(lever_integration, invitable[0])

    assert first == second == WebhookDelivery.Status.PROCESSED
    candidacy = Candidacy.objects.get()
    assert OpportunityLink.objects.get().opportunity_id == invitable[0]
    sent = candidacy.events.get(kind=CandidacyEvent.Kind.INVITE_SENT)
    assert "Automatic invite" in sent.summary
    assert TECHNICAL_NAME in sent.summary
    assert "(seen in a webhook);" in sent.summary
    assert sent.detail["via"] == "automatic"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.AUTO_INVITED)
    assert entry.detail["candidacy"] == str(candidacy.code)
    rule = AutoInviteRule.objects.get()
    assert rule.last_action.startswith("Invited")


def test_a_candidate_in_another_stage_is_not_invited(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    rule_on(lever_integration)
    lever.move_stage(invitable[0], "offer")

    status = delivery(lever_integration, invitable[0])

    assert status == WebhookDelivery.Status.IGNORED
    assert "Not in the stage" in WebhookDelivery.objects.get().outcome
    assert not Candidacy.objects.exists()


def test_posting_filter_limits_who_is_invited(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    other = next(o for o in invitable if posting_of(o)["id"] != posting_of(invitable[0])["id"])
    rule_on(lever_integration, posting_ids=[posting_of(invitable[0])["id"]])
    for opportunity_id in (invitable[0], other):
        lever.move_stage(opportunity_id, TECHNICAL)
        delivery(lever_integration, opportunity_id)

    assert list(OpportunityLink.objects.values_list("opportunity_id", flat=True)) == [invitable[0]]


def test_origin_filter_limits_who_is_invited(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    origin = demo_opportunity(invitable[0])["origin"]
    other = next(o for o in invitable if demo_opportunity(o)["origin"] != origin)
    rule_on(lever_integration, origins=[origin])
    for opportunity_id in (invitable[0], other):
        lever.move_stage(opportunity_id, TECHNICAL)
        delivery(lever_integration, opportunity_id)

    assert list(OpportunityLink.objects.values_list("opportunity_id", flat=True)) == [invitable[0]]


def test_six_month_rule_holds_for_automatic_invites(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    rule_on(lever_integration)
    preview = invite_preview(
        group=lever_integration.group,
        integration=lever_integration,
        url=f"https://hire.lever.co/candidates/{invitable[0]}",
    )
    CandidacyFactory(role=Role.objects.get(pk=preview.role_id or 0), candidate_email=preview.email)
    lever.move_stage(invitable[0], TECHNICAL)

    outcome = auto_invites.auto_invite_consider(
        integration=lever_integration, opportunity_id=invitable[0], via="webhook"
    )

    assert outcome is not None
    assert "6 months" in outcome.message
    assert Candidacy.objects.count() == 1
    assert not OpportunityLink.objects.exists()


def test_unmatched_posting_uses_the_rules_role_or_is_skipped(
    lever_integration: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    rule_on(lever_integration)
    lever.move_stage(invitable[0], TECHNICAL)
    skipped = auto_invites.auto_invite_consider(
        integration=lever_integration, opportunity_id=invitable[0], via="webhook"
    )
    role = Role.objects.create(group=lever_integration.group, title="Fallback")
    rule_on(lever_integration, role=role)

    invited = auto_invites.auto_invite_consider(
        integration=lever_integration, opportunity_id=invitable[0], via="webhook"
    )

    assert skipped is not None
    assert "No Karat role" in skipped.message
    assert invited is not None
    assert invited.invited
    assert Candidacy.objects.get().role == role


def test_the_reconciliation_poll_invites_unlinked_candidates_in_the_stage(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    rule_on(lever_integration)
    lever.move_stage(invitable[0], TECHNICAL)

    assert lever_integration.pk in reconcile.reconcile_due_integration_ids()
    reconcile.integration_reconcile(integration_id=lever_integration.pk)
    reconcile.integration_reconcile(integration_id=lever_integration.pk)

    candidacy = Candidacy.objects.get()
    assert OpportunityLink.objects.get(candidacy=candidacy).opportunity_id == invitable[0]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.AUTO_INVITED)
    assert entry.detail["via"] == "reconciliation"
    sent = candidacy.events.get(kind=CandidacyEvent.Kind.INVITE_SENT)
    assert "(found by the periodic sync);" in sent.summary


def test_dry_run_lists_who_would_be_invited_and_invites_nobody(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    rule_on(lever_integration)
    lever.move_stage(invitable[0], TECHNICAL)

    decisions = auto_invites.auto_invite_dry_run(integration=lever_integration)

    assert invitable[0] in {d.opportunity_id for d in decisions if d.invite}
    assert all(d.reason for d in decisions)
    assert not Candidacy.objects.exists()


@pytest.mark.parametrize("region", ["sandbox", "us"])
def test_dry_run_links_each_candidate_where_a_person_can_open_it(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
    settings: Any,
    region: str,
) -> None:
    # make run: hire.sandbox.lever.co doesn't resolve, the local sandbox serves the page;
    # Lever's own regions keep Lever's link.
    settings.LEVER_SANDBOX_SITE_URL = lever.url
    lever_integration.region = region
    lever_integration.save(update_fields=["region"])
    rule_on(lever_integration)
    lever.move_stage(invitable[0], TECHNICAL)

    decisions = auto_invites.auto_invite_dry_run(integration=lever_integration)

    urls = {d.opportunity_id: d.url for d in decisions}
    site = lever.url if region == "sandbox" else "https://hire.lever.co"
    assert urls[invitable[0]] == f"{site}/candidates/{invitable[0]}"
    assert all(url.startswith(f"{site}/candidates/") for url in urls.values())


@pytest.mark.parametrize(
    "email",
    [
        "jordan.example@",
        "mailto:jordan@example.org",
        "a@x.test; b@y.test",
        "Evil Corp <attacker@evil.test>",
        "jordan@example.org\r\nBcc: audit@evil.example",
    ],
)
def test_dry_run_refuses_an_address_the_invite_would_refuse(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
    email: str,
) -> None:
    rule_on(lever_integration)
    lever.move_stage(invitable[0], TECHNICAL)
    lever.set_emails(invitable[0], [email])

    decisions = auto_invites.auto_invite_dry_run(integration=lever_integration)

    decision = next(d for d in decisions if d.opportunity_id == invitable[0])
    assert not decision.invite
    assert decision.reason.startswith("The candidate's email address in the ATS can't be used")


def test_turning_it_on_needs_a_stage(lever_integration: AtsIntegration) -> None:
    with pytest.raises(InviteInputError):
        rule_on(lever_integration, stage_id="")

    assert not AutoInviteRule.objects.filter(enabled=True).exists()


def test_status_feature_is_off_then_on_with_its_last_action(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    def feature() -> feature_table.FeatureHealth:
        features = status.features_compute(integration=lever_integration)
        return next(f for f in features if f.key == feature_table.AUTOMATIC_INVITES)

    off = feature()
    rule_on(lever_integration)
    lever.move_stage(invitable[0], TECHNICAL)
    delivery(lever_integration, invitable[0])
    on = feature()

    assert (off.level, off.label) == ("muted", "Off")
    assert (on.level, on.label) == ("ok", "On")
    assert "Invited" in on.summary


def test_admin_configures_it_and_runs_a_dry_run_on_its_page(
    admin_client: Client,
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    url = reverse("auto-invite:edit", args=[lever_integration.public_id])
    lever.move_stage(invitable[0], TECHNICAL)

    page = admin_client.get(url)
    saved = admin_client.post(url, {"enabled": "on", "stage_id": TECHNICAL, "origins": []})
    dry = admin_client.get(url + "?dry_run=1")
    activity = admin_client.get(
        reverse("webhooks-console:activity", args=[lever_integration.public_id])
    )
    settings_page = admin_client.get(
        reverse("integrations:settings", args=[lever_integration.public_id])
    )

    assert page.status_code == 200
    assert TECHNICAL_NAME in page.content.decode()
    assert saved.status_code == 302
    rule = AutoInviteRule.objects.get()
    assert (rule.enabled, rule.stage_name) == (True, TECHNICAL_NAME)
    assert "Would be invited" in dry.content.decode()
    assert not Candidacy.objects.exists()
    assert activity.status_code == 200
    assert "Automatic invite" in settings_page.content.decode()


def test_recruiters_and_outsiders_cannot_open_it(
    recruiter_client: Client, outsider_client: Client, lever_integration: AtsIntegration
) -> None:
    url = reverse("auto-invite:edit", args=[lever_integration.public_id])

    assert recruiter_client.get(url).status_code == 403
    assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(url, {"enabled": "on", "stage_id": "x"}).status_code == 404
    assert not AutoInviteRule.objects.exists()


def test_activity_page_lists_automatic_invites(
    admin_client: Client,
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    rule_on(lever_integration)
    lever.move_stage(invitable[0], TECHNICAL)
    delivery(lever_integration, invitable[0])

    page = admin_client.get(
        reverse("webhooks-console:activity", args=[lever_integration.public_id])
    ).content.decode()

    assert "Automatic invites" in page
    assert str(Candidacy.objects.get().code) in page
    assert "(seen in a webhook)" in page
    assert "seen by" not in page


def test_lever_down_sends_the_delivery_back_to_retry_and_invites_nobody(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    rule_on(lever_integration)
    lever.move_stage(invitable[0], TECHNICAL)
    lever.set_faults(error_rates={"503": 1.0})

    status = delivery(lever_integration, invitable[0])

    assert status == WebhookDelivery.Status.RETRY
    assert not Candidacy.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.AUTO_INVITED).exists()


def test_an_automatic_invite_asks_for_a_status_recompute(
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
) -> None:
    # The status page's Automatic invites feature shows the last one.
    rule_on(lever_integration)
    lever.move_stage(invitable[0], TECHNICAL)
    IntegrationStatus.objects.filter(integration=lever_integration).update(
        requested_at=None, request_reason=""
    )

    assert delivery(lever_integration, invitable[0]) == WebhookDelivery.Status.PROCESSED

    snapshot = IntegrationStatus.objects.get(integration=lever_integration)
    assert snapshot.pending
    assert snapshot.request_reason == "Automatic invite sent"


# --- the page's form (first real users) --------------------------------------------------------


def test_postings_with_the_same_title_can_be_told_apart() -> None:
    listed: list[ats.PostingInfo | PostingSummary] = [
        PostingSummary("aaaaaaaa-1", "Backend Engineer", "published", "Platform", "Berlin"),
        PostingSummary("bbbbbbbb-2", "Backend Engineer", "published", "Payments", "Berlin"),
        PostingSummary("cccccccc-3", "Backend Engineer", "published"),
        PostingSummary("dddddddd-4", "Backend Engineer", "published"),
        ats.PostingInfo("eeeeeeee-5", "Designer", (), "closed"),
    ]

    labels = [label for _, label in posting_choices(listed)]

    assert len(set(labels)) == len(labels)
    assert labels[0] == "Backend Engineer — Platform · Berlin (published)"
    assert labels[2] == "Backend Engineer (published) · id cccccccc"
    assert labels[4] == "Designer (closed)"


def test_the_origins_are_a_fieldset_with_a_legend(
    admin_client: Client, lever_integration: AtsIntegration
) -> None:
    page = admin_client.get(
        reverse("auto-invite:edit", args=[lever_integration.public_id])
    ).content.decode()

    fieldset = page[page.index("<legend>Only for these origins") :]
    fieldset = fieldset[: fieldset.index("</fieldset>")]
    assert fieldset.count('<label class="check choice"') >= 3


# --- one candidacy per opportunity in the organization ----------------------------------------


def invited_in_engineering(integration: AtsIntegration, opportunity_id: str) -> Candidacy:
    preview = invite_preview(
        group=integration.group,
        integration=integration,
        url=f"https://hire.lever.co/candidates/{opportunity_id}",
    )
    outcome = invite_create(
        integration=integration,
        preview=preview,
        role=Role.objects.get(pk=preview.role_id or 0),
        actor=None,
    )
    assert outcome.candidacy is not None, outcome.message
    return outcome.candidacy


def test_a_candidate_invited_in_another_group_is_not_invited_again_automatically(
    lever_integration: AtsIntegration,
    roles: list[Role],
    data_integration: AtsIntegration,
    data_roles: list[Role],
    lever: SandboxServer,
    invitable: list[str],
) -> None:
    engineering = invited_in_engineering(lever_integration, invitable[0])
    rule_on(data_integration)
    lever.move_stage(invitable[0], TECHNICAL)

    status = delivery(data_integration, invitable[0])
    reconcile.integration_reconcile(integration_id=data_integration.pk)

    assert status == WebhookDelivery.Status.IGNORED
    outcome = WebhookDelivery.objects.get().outcome
    assert f"Already invited in Engineering: {engineering.candidate_name}" in outcome
    assert Candidacy.objects.get() == engineering
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.AUTO_INVITED).exists()


def test_the_dry_run_says_a_candidate_was_invited_in_another_group(
    lever_integration: AtsIntegration,
    roles: list[Role],
    data_integration: AtsIntegration,
    data_roles: list[Role],
    lever: SandboxServer,
    invitable: list[str],
) -> None:
    engineering = invited_in_engineering(lever_integration, invitable[0])
    rule_on(data_integration)
    lever.move_stage(invitable[0], TECHNICAL)

    decisions = auto_invites.auto_invite_dry_run(integration=data_integration)

    decision = next(d for d in decisions if d.opportunity_id == invitable[0])
    assert not decision.invite
    assert decision.reason == f"Already invited in Engineering: {engineering.candidate_name}"
