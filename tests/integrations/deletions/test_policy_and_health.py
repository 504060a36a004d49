"""The deletion policy on the Settings page (who may change it, bad input) and the feature's
row on the status page (never "Working" when it is not)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import Settings

from integrations.deletions.health import deletions_honoured_health
from integrations.lever.sandbox import SandboxServer
from integrations.models import (
    AtsIntegration,
    AuditEntry,
    DeletionSettings,
    KeyCheck,
    OpportunityLink,
    WebhookSubscription,
)
from tests.factories import CandidacyFactory, RoleFactory
from webhooks.models import WebhookDelivery
from webhooks.services import deletions, processing

from .conftest import DELETED, record

pytestmark = pytest.mark.django_db


def _policy_url(integration: AtsIntegration) -> str:
    return reverse("deletions:policy", kwargs={"public_id": integration.public_id})


def _settings_url(integration: AtsIntegration) -> str:
    return reverse("integrations:settings", kwargs={"public_id": integration.public_id})


def test_the_settings_page_offers_the_policy_with_unlink_chosen(
    admin_client: Client, integration: AtsIntegration
) -> None:
    html = admin_client.get(_settings_url(integration)).content.decode()

    assert 'id="deletions"' in html
    assert _policy_url(integration) in html
    unlink = html.split('value="unlink"')[1].split(">")[0]
    assert "checked" in unlink


def test_an_admin_chooses_anonymise_and_it_is_audited(
    admin_client: Client, integration: AtsIntegration
) -> None:
    response = admin_client.post(_policy_url(integration), {"policy": "anonymise"})

    assert response.status_code == 302
    assert response["Location"].endswith("#deletions")
    assert DeletionSettings.objects.get(integration=integration).policy == "anonymise"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.DELETION_POLICY_CHANGED)
    assert entry.detail == {"from": "unlink", "to": "anonymise"}


def test_a_bad_policy_changes_nothing_and_is_no_500(
    admin_client: Client, integration: AtsIntegration
) -> None:
    response = admin_client.post(_policy_url(integration), {"policy": "shred"}, follow=True)

    assert response.status_code == 200
    assert "Choose what Karat does with deleted candidates." in response.content.decode()
    assert not DeletionSettings.objects.filter(integration=integration, policy="shred").exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.DELETION_POLICY_CHANGED).exists()


def test_a_recruiter_may_not_change_the_policy(
    recruiter_client: Client, integration: AtsIntegration
) -> None:
    response = recruiter_client.post(_policy_url(integration), {"policy": "anonymise"})

    assert response.status_code == 403
    assert not DeletionSettings.objects.filter(integration=integration).exists()


def test_another_organizations_integration_is_a_404(
    outsider_client: Client, integration: AtsIntegration
) -> None:
    response = outsider_client.post(_policy_url(integration), {"policy": "anonymise"})

    assert response.status_code == 404
    assert not DeletionSettings.objects.filter(integration=integration).exists()


def test_get_is_not_allowed(admin_client: Client, integration: AtsIntegration) -> None:
    assert admin_client.get(_policy_url(integration)).status_code == 405


# --- the status page -------------------------------------------------------------------------


def test_before_the_first_poll_the_feature_is_waiting_not_working(
    integration: AtsIntegration,
) -> None:
    health = deletions_honoured_health(integration)

    assert (health.level, health.label) == ("info", "Waiting")
    checks = {c.code: c for c in health.checks}
    assert checks["webhook"].level == "info"
    assert "Not set up" in checks["webhook"].message
    assert checks["poll"].level == "info"


def test_after_a_poll_that_worked_with_the_webhook_set_up_it_is_working(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    WebhookSubscription.objects.create(
        integration=lever_integration,
        event="candidateDeleted",
        signature_token="t" * 48,
        signature_token_last4="tttt",
    )
    OpportunityLink.objects.create(
        integration=lever_integration,
        candidacy=CandidacyFactory(role=RoleFactory(group=lever_integration.group)),
        opportunity_id="not-deleted",
    )

    assert deletions.deleted_opportunities_reconcile(integration_id=lever_integration.pk) == 0
    health = deletions_honoured_health(lever_integration)

    assert (health.level, health.label) == ("ok", "Working")
    assert {c.code: c.level for c in health.checks} == {
        "policy": "ok",
        "webhook": "ok",
        "poll": "ok",
    }


def _link(integration: AtsIntegration, opportunity_id: str) -> None:
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=CandidacyFactory(role=RoleFactory(group=integration.group)),
        opportunity_id=opportunity_id,
    )


def test_a_deletion_honoured_through_the_webhook_before_any_poll_is_working(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str], settings: Settings
) -> None:
    settings.RECONCILE_INTERVAL_SECONDS = 600
    _link(hooked, invitable[0])
    _link(hooked, invitable[1])  # still linked: the reconciliation polls the integration
    lever.delete_candidate(invitable[0])
    delivery_id = record(hooked, DELETED, {"opportunityId": invitable[0]})
    assert processing.delivery_process(delivery_id=delivery_id) == WebhookDelivery.Status.PROCESSED

    health = deletions_honoured_health(hooked)

    assert (health.level, health.label) == ("ok", "Working")
    assert health.summary == "1 candidacy unlinked so far."
    poll = {c.code: c for c in health.checks}["poll"]
    assert poll.level == "info"
    assert poll.message == "Not run yet: it runs with the reconciliation, every 10 minutes."


def test_before_the_first_poll_it_says_when_the_poll_will_run(
    lever_integration: AtsIntegration, settings: Settings
) -> None:
    settings.RECONCILE_INTERVAL_SECONDS = 600

    def poll_message() -> str:
        return {c.code: c for c in deletions_honoured_health(lever_integration).checks}[
            "poll"
        ].message

    unlinked = poll_message()
    _link(lever_integration, "linked-opportunity")
    linked = poll_message()

    assert unlinked == "Not run yet: it runs with the reconciliation once a candidacy is linked."
    assert linked == "Not run yet: it runs with the reconciliation, every 10 minutes."


def test_without_the_deletion_webhook_the_delay_is_the_reconciliation_interval(
    integration: AtsIntegration, settings: Settings
) -> None:
    settings.RECONCILE_INTERVAL_SECONDS = 600

    webhook = {c.code: c for c in deletions_honoured_health(integration).checks}["webhook"]

    assert "up to 10 minutes later" in webhook.message


def test_a_failed_poll_needs_attention(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    lever.set_faults(fail_next=[503] * 8)

    assert deletions.deleted_opportunities_reconcile(integration_id=lever_integration.pk) is None
    health = deletions_honoured_health(lever_integration)

    assert (health.level, health.label) == ("warn", "Needs attention")
    assert "last check failed" in {c.code: c for c in health.checks}["poll"].message


def test_a_refused_key_is_not_working(integration: AtsIntegration) -> None:
    # As the key check leaves it when Lever answers 401.
    AtsIntegration.objects.filter(pk=integration.pk).update(
        key_status=AtsIntegration.KeyStatus.INVALID, api_key_last4="abcd", api_key_fingerprint="fp"
    )
    KeyCheck.objects.create(
        integration=integration,
        subject=KeyCheck.Subject.CURRENT,
        api_key_last4="abcd",
        api_key_fingerprint="fp",
        finished_at=timezone.now(),
        outcome=KeyCheck.Outcome.INVALID,
        checks=[{"code": "auth", "name": "Key accepted", "ok": False, "message": "401"}],
    )
    integration.refresh_from_db()

    health = deletions_honoured_health(integration)

    assert health.level == "bad"
    assert health.label == "Not working"


def test_a_disabled_integration_is_off(integration: AtsIntegration) -> None:
    AtsIntegration.objects.filter(pk=integration.pk).update(enabled=False)
    integration.refresh_from_db()

    assert deletions_honoured_health(integration).label == "Off"


# --- the REST API -----------------------------------------------------------------------------


def _api_url(integration: AtsIntegration) -> str:
    return f"/api/v1/integrations/{integration.public_id}/deletion-policy/"


def test_the_api_reads_and_sets_the_policy(
    token_client: Any, admin_user: Any, integration: AtsIntegration
) -> None:
    client = token_client(admin_user)

    before = client.get(_api_url(integration))
    after = client.put(
        _api_url(integration), {"policy": "anonymise"}, content_type="application/json"
    )

    assert before.status_code == 200
    assert before.json()["policy"] == "unlink"
    assert before.json()["polled_at"] is None
    assert after.status_code == 200
    assert after.json()["policy"] == "anonymise"
    assert DeletionSettings.objects.get(integration=integration).policy == "anonymise"


def test_the_api_refuses_a_bad_policy_with_a_clear_error_and_changes_nothing(
    token_client: Any, admin_user: Any, integration: AtsIntegration
) -> None:
    response = token_client(admin_user).put(
        _api_url(integration), {"policy": "shred"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "policy" in response.json()["error"]["fields"]
    assert not DeletionSettings.objects.filter(integration=integration).exists()


def test_the_api_is_for_admins_of_the_organization_only(
    token_client: Any, recruiter_user: Any, outsider_user: Any, integration: AtsIntegration
) -> None:
    body = {"policy": "anonymise"}

    recruiter = token_client(recruiter_user).put(
        _api_url(integration), body, content_type="application/json"
    )
    outsider = token_client(outsider_user).put(
        _api_url(integration), body, content_type="application/json"
    )

    assert recruiter.status_code == 403
    assert outsider.status_code == 404
    assert not DeletionSettings.objects.filter(integration=integration).exists()
