"""Issue #14: the status snapshot. Each check of Invite by URL and Auto state updating in its
healthy and failing state against the Lever sandbox, refresh requests (deduplicated, after
saves, key-level errors and signature bursts), alerts once per transition, "Check again"
through htmx, the API, and query counts that don't grow with data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries, DjangoCaptureOnCommitCallbacks, Settings

from integrations import ats, tasks
from integrations import features as feature_table
from integrations.auto_invites import services as auto_invites
from integrations.connection.services import lifecycle
from integrations.connection.services import outcomes as health
from integrations.connection.views import INTEGRATIONS_PER_PAGE
from integrations.lever import signatures
from integrations.lever.adapter import WebhookEvent
from integrations.lever.sandbox import DEMO_API_KEY, KARAT_PERMISSIONS, SandboxServer, demo_data
from integrations.lever.sandbox.permissions import CONFIDENTIAL_ACCESS
from integrations.models import (
    AtsIntegration,
    AuditEntry,
    FeedbackSettings,
    IntegrationStatus,
    OutboundSettings,
)
from integrations.status import alerts, refresh
from integrations.status import selectors as status_selectors
from integrations.status import services as status
from karatlever.accounts.models import Group, Membership, User
from tests.factories import GroupFactory, IntegrationFactory, MembershipFactory
from tests.integrations.conftest import mark_valid, set_key
from tests.integrations.status.test_page import TOKENS, _delivery, _tokens_set
from webhooks.models import WebhookDelivery
from webhooks.selectors import webhook_url
from webhooks.services import intake, setup

pytestmark = pytest.mark.django_db
KeyStatus = AtsIntegration.KeyStatus
Action = AuditEntry.Action
AlertState = IntegrationStatus.AlertState


def _keyed(
    integration: AtsIntegration, admin_user: User, key: str, *, user_id: str = ""
) -> AtsIntegration:
    """The integration with ``key`` (and User ID), checked against the sandbox for real."""
    integration.ats_user_id = user_id
    set_key(integration, admin_user, key)
    tasks.api_key_validate(integration.pk)
    integration.refresh_from_db()
    return integration


def _compute(integration: AtsIntegration) -> IntegrationStatus:
    snapshot = status.integration_status_compute(integration_id=integration.pk)
    assert snapshot is not None
    return snapshot


def _feature(snapshot: IntegrationStatus, key: str) -> dict[str, Any]:
    return next(f for f in snapshot.features if f["key"] == key)


def _checks(snapshot: IntegrationStatus, key: str) -> dict[str, dict[str, Any]]:
    return {c["code"]: c for c in _feature(snapshot, key)["checks"]}


def _key(sandbox: SandboxServer, *, without: str = "", label: str = "test") -> str:
    permissions = [p for p in (*KARAT_PERMISSIONS, "webhooks:read:admin") if p != without]
    return sandbox.create_api_key(permissions, label=label)


def _users() -> tuple[dict[str, Any], dict[str, Any]]:
    users = demo_data().users
    active = next(u for u in users if u["deactivatedAt"] is None)
    deactivated = next(u for u in users if u["deactivatedAt"] is not None)
    return active, deactivated


INVITE = feature_table.INVITE_FROM_LEVER_URL
AUTO = feature_table.AUTO_STATE_UPDATING


def _health_replace(
    monkeypatch: pytest.MonkeyPatch, key: str, provider: feature_table.FeatureHealthProvider
) -> None:
    """Report feature ``key``'s health with ``provider``: replaces the function its row of the
    features table names, where it lives."""
    monkeypatch.setattr(feature_table.FEATURES_BY_KEY[key].health, provider)


# --- Invite candidates using Lever URL ----------------------------------------------------------


def test_a_working_key_passes_every_invite_check(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    integration = _keyed(integration, admin_user, DEMO_API_KEY)

    snapshot = _compute(integration)

    feature = _feature(snapshot, INVITE)
    assert (feature["level"], feature["label"]) == ("ok", "Working")
    checks = _checks(snapshot, INVITE)
    assert list(checks) == [
        "key_valid",
        "read_opportunities",
        "read_postings",
        "read_users",
        "links_region",
        "confidential",
    ]
    assert all(c["level"] == "ok" for c in checks.values())
    assert checks["confidential"]["message"].startswith("Yes")


def test_a_revoked_key_fails_key_valid_and_asks_lever_to_check_the_key_again(
    lever_sandbox: SandboxServer,
    integration: AtsIntegration,
    admin_user: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    key_id, key = lever_sandbox.sandbox.create_key(
        label="revoked later", permissions=[*KARAT_PERMISSIONS, "webhooks:read:admin"]
    )
    integration = _keyed(integration, admin_user, key)
    assert _feature(_compute(integration), INVITE)["level"] == "ok"
    lever_sandbox.sandbox.revoke_key(key_id)

    with django_capture_on_commit_callbacks() as callbacks:
        snapshot = _compute(integration)

    key_valid = _checks(snapshot, INVITE)["key_valid"]
    assert key_valid["level"] == "bad"
    assert "Lever rejected the API key" in key_valid["message"]
    assert key_valid["fix_url"] == reverse(
        "integrations:settings", kwargs={"public_id": integration.public_id}
    )
    assert (snapshot.level, snapshot.label) == ("bad", "Not working")
    assert "Invite candidates using Lever URL is not working" in snapshot.explanation
    # The stored key status catches up: a key check was asked for (and its task queued).
    integration.refresh_from_db()
    assert integration.key_status == KeyStatus.CHECKING
    assert callbacks


def test_a_key_without_a_read_permission_fails_that_check_with_a_fix_link(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    integration = _keyed(integration, admin_user, _key(lever_sandbox, without="users:read:admin"))

    snapshot = _compute(integration)

    checks = _checks(snapshot, INVITE)
    assert checks["read_users"]["level"] == "bad"
    assert "Missing" in checks["read_users"]["message"]
    assert checks["read_users"]["fix_url"].endswith("/settings/")
    assert checks["read_opportunities"]["level"] == "ok"
    assert checks["read_postings"]["level"] == "ok"
    assert _feature(snapshot, INVITE)["label"] == "Not working"
    assert snapshot.label == "Not working"


def test_a_key_without_confidential_access_says_so_and_what_it_means(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    integration = _keyed(integration, admin_user, _key(lever_sandbox, without=CONFIDENTIAL_ACCESS))

    snapshot = _compute(integration)

    confidential = _checks(snapshot, INVITE)["confidential"]
    # Not a failure: every other candidate can still be invited.
    assert confidential["level"] == "info"
    assert "without confidential access" in confidential["message"]
    assert "Allow access to confidential data" in confidential["message"]
    assert _feature(snapshot, INVITE)["level"] == "ok"


def test_without_a_key_every_invite_check_says_what_to_do(integration: AtsIntegration) -> None:
    snapshot = _compute(integration)

    checks = _checks(snapshot, INVITE)
    assert checks["key_valid"]["level"] == "bad"
    assert checks["key_valid"]["message"] == "No API key yet: add one."
    assert (snapshot.level, snapshot.label) == ("bad", "Not working")


# --- Basic information: the acting user ---------------------------------------------------------


def test_the_acting_user_is_shown_by_name_and_email(
    lever_sandbox: SandboxServer,
    admin_client: Client,
    integration: AtsIntegration,
    admin_user: User,
) -> None:
    active, _ = _users()
    integration = _keyed(integration, admin_user, DEMO_API_KEY, user_id=active["id"])

    snapshot = _compute(integration)

    acting = snapshot.basic["acting_user"]
    assert (acting["state"], acting["name"], acting["email"]) == (
        "ok",
        active["name"],
        active["email"],
    )
    page = admin_client.get(_url("status", integration)).content.decode()
    assert f"{active['name']} &lt;{active['email']}&gt;" in page


def test_a_deactivated_acting_user_is_invalid_with_a_link_to_fix_it(
    lever_sandbox: SandboxServer,
    admin_client: Client,
    integration: AtsIntegration,
    admin_user: User,
) -> None:
    active, deactivated = _users()
    integration = _keyed(integration, admin_user, DEMO_API_KEY, user_id=active["id"])
    # The key was checked while the user was active; since then Lever deactivated them (the
    # sandbox's deactivated demo user stands in for that user).
    AtsIntegration.objects.filter(pk=integration.pk).update(ats_user_id=deactivated["id"])
    integration.refresh_from_db()

    snapshot = _compute(integration)

    acting = snapshot.basic["acting_user"]
    assert acting["state"] == "invalid"
    assert "deactivated" in acting["message"]
    page = admin_client.get(_url("status", integration)).content.decode()
    assert '<span class="badge badge-bad">Invalid</span>' in page
    assert "Settings → User ID" in page


def test_no_acting_user_is_not_set(admin_client: Client, integration: AtsIntegration) -> None:
    snapshot = _compute(integration)

    assert snapshot.basic["acting_user"]["state"] == "not_set"
    page = admin_client.get(_url("status", integration)).content.decode()
    assert '<dt>User (perform as)</dt><dd class="acting-user"><span class="muted">Not set' in page


def test_every_page_names_the_lever_user_picked_to_post_updates_as(
    lever_sandbox: SandboxServer,
    admin_client: Client,
    integration: AtsIntegration,
    admin_user: User,
) -> None:
    # given: no User ID on the integration; "Post updates as" picks a Lever user by email
    active, _ = _users()
    integration = _keyed(integration, admin_user, DEMO_API_KEY)
    OutboundSettings.objects.create(
        integration=integration,
        perform_as=OutboundSettings.PerformAs.LEVER_USER,
        perform_as_user_id=active["id"],
        perform_as_email=active["email"],
        perform_as_name=active["name"],
    )
    FeedbackSettings.objects.create(integration=integration, enabled=True)

    snapshot = _compute(integration)

    # then: Basic information names the user the updates row says they are posted as
    acting = snapshot.basic["acting_user"]
    assert (acting["state"], acting["source"], acting["id"], acting["name"]) == (
        "ok",
        "lever_user",
        active["id"],
        active["name"],
    )
    posted_as = _checks(snapshot, feature_table.POST_CANDIDACY_UPDATES)["perform_as"]
    assert posted_as["message"] == f"Updates are posted as {active['name']}."
    status_page = admin_client.get(_url("status", integration)).content.decode()
    assert f"{active['name']} &lt;{active['email']}&gt;" in status_page
    assert "Not set" not in status_page.split('class="acting-user">')[1].split("</dd>")[0]
    overview = admin_client.get(_url("detail", integration)).content.decode()
    assert f'class="acting-user">{active["name"]} ({active["email"]})</dd>' in overview
    settings_page = admin_client.get(_url("settings", integration)).content.decode()
    assert f"forms are posted as {active['name']} ({active['email']})" in settings_page


def test_nobody_picked_to_post_as_is_not_set_even_with_a_user_id(
    lever_sandbox: SandboxServer,
    admin_client: Client,
    integration: AtsIntegration,
    admin_user: User,
) -> None:
    active, _ = _users()
    integration = _keyed(integration, admin_user, DEMO_API_KEY, user_id=active["id"])
    OutboundSettings.objects.create(
        integration=integration, perform_as=OutboundSettings.PerformAs.NONE
    )

    snapshot = _compute(integration)

    assert snapshot.basic["acting_user"]["state"] == "not_set"
    overview = admin_client.get(_url("detail", integration)).content.decode()
    assert '<dt>Updates posted as</dt><dd class="acting-user"><span class="muted">Nobody set' in (
        overview
    )


# --- Auto state updating --------------------------------------------------------------------------


def _register(integration: AtsIntegration, events: list[str], url: str = "") -> None:
    adapter = ats.adapter_for("lever")
    for event in events:
        adapter.webhook_create(
            ats.account_for(integration),
            url=url or webhook_url(integration=integration),
            event=event,
            profile=ats.INTERACTIVE,
        )


def test_webhooks_registered_in_lever_pass_and_a_missing_one_fails(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    integration = _keyed(integration, admin_user, DEMO_API_KEY)
    _tokens_set(integration)
    _register(
        integration, [WebhookEvent.CANDIDATE_STAGE_CHANGE, WebhookEvent.CANDIDATE_ARCHIVE_CHANGE]
    )

    snapshot = _compute(integration)

    checks = _checks(snapshot, AUTO)
    assert checks["candidateStageChange:registered"]["level"] == "ok"
    assert checks["candidateArchiveChange:registered"]["level"] == "ok"
    hired = checks["candidateHired:registered"]
    assert hired["level"] == "warn"
    assert "Lever has no Candidate Hired webhook" in hired["message"]
    assert hired["fix_url"].endswith("/settings/#webhooks")
    assert _feature(snapshot, AUTO)["label"] == "Needs attention"
    assert snapshot.label == "Needs attention"


def test_a_webhook_pointing_elsewhere_is_named(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    integration = _keyed(integration, admin_user, DEMO_API_KEY)
    _tokens_set(integration)
    _register(integration, [WebhookEvent.CANDIDATE_STAGE_CHANGE, WebhookEvent.CANDIDATE_HIRED])
    _register(integration, [WebhookEvent.CANDIDATE_ARCHIVE_CHANGE], url="https://old.example/hook")

    checks = _checks(_compute(integration), AUTO)

    archive = checks["candidateArchiveChange:registered"]
    assert archive["level"] == "warn"
    assert "points elsewhere (https://old.example/hook)" in archive["message"]


def test_without_permission_to_list_webhooks_registration_is_cant_tell(
    integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user)
    mark_valid(integration)  # a check that recorded no permission lines
    _tokens_set(integration)

    checks = _checks(_compute(integration), AUTO)

    for event in TOKENS:
        registered = checks[f"{event}:registered"]
        assert registered["level"] == "info"
        assert registered["message"].startswith("Can't tell")


def test_no_deliveries_yet_is_waiting_and_each_webhook_says_so(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    integration = _keyed(integration, admin_user, DEMO_API_KEY)
    _tokens_set(integration)
    _register(integration, list(TOKENS))

    snapshot = _compute(integration)

    feature = _feature(snapshot, AUTO)
    assert (feature["level"], feature["label"]) == ("info", "Waiting for the first delivery")
    checks = _checks(snapshot, AUTO)
    for event in TOKENS:
        assert checks[f"{event}:last_delivery"]["message"] == "No verified delivery yet."
        assert checks[f"{event}:registered"]["level"] == "ok"
    # Waiting is healthy: the integration is Active, never "Not working".
    assert (snapshot.level, snapshot.label) == ("ok", "Active")


def _badly_signed(integration: AtsIntegration, n: int) -> None:
    intake.verifiers_clear()
    for i in range(n):
        triggered_at = int(timezone.now().timestamp() * 1000)
        result = intake.delivery_record(
            integration_public_id=integration.public_id,
            body={
                "triggeredAt": triggered_at,
                "event": WebhookEvent.CANDIDATE_STAGE_CHANGE,
                "token": f"forged-{i}",
                "signature": signatures.sign(
                    signature_token="not-the-token", token=f"forged-{i}", triggered_at=triggered_at
                ),
                "data": {"opportunityId": "opp-1"},
            },
        )
        assert result.outcome is intake.Outcome.BAD_SIGNATURE


def test_signature_failures_without_any_verified_delivery_need_attention(
    connected_with_tokens: AtsIntegration,
) -> None:
    _badly_signed(connected_with_tokens, 3)

    snapshot = _compute(connected_with_tokens)

    signatures_check = _checks(snapshot, AUTO)["signatures"]
    assert signatures_check["level"] == "warn"
    assert signatures_check["message"].startswith("3 rejected and none verified")
    assert signatures_check["fix_url"].endswith("/settings/#webhooks")


def test_signature_failures_while_verified_deliveries_arrive_are_only_noted(
    integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user)
    mark_valid(integration)
    _tokens_set(integration, delivered=True)
    _badly_signed(integration, 5)

    snapshot = _compute(integration)

    signatures_check = _checks(snapshot, AUTO)["signatures"]
    assert signatures_check["level"] == "info"
    assert signatures_check["message"].startswith("5 rejected.")
    assert _feature(snapshot, AUTO)["level"] == "ok"


def test_no_signature_failures_is_ok(connected_with_tokens: AtsIntegration) -> None:
    assert _checks(_compute(connected_with_tokens), AUTO)["signatures"]["level"] == "ok"


def test_a_burst_of_signature_failures_asks_for_a_recompute_once(
    connected_with_tokens: AtsIntegration,
    settings: Settings,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    settings.STATUS_SIGNATURE_FAILURE_BURST = 3
    settings.STATUS_SIGNATURE_FAILURE_WINDOW_SECONDS = 3600
    from django.core.cache import cache

    cache.clear()
    _compute(connected_with_tokens)  # the request from saving the key has been served

    with django_capture_on_commit_callbacks() as callbacks:
        _badly_signed(connected_with_tokens, 2)
    assert not IntegrationStatus.objects.get(integration=connected_with_tokens).pending
    assert callbacks == []

    with django_capture_on_commit_callbacks() as callbacks:
        _badly_signed(connected_with_tokens, 5)

    snapshot = IntegrationStatus.objects.get(integration=connected_with_tokens)
    assert snapshot.requested_at is not None
    assert "bad signature" in snapshot.request_reason
    assert len(callbacks) == 1


@pytest.fixture
def connected_with_tokens(integration: AtsIntegration, admin_user: User) -> AtsIntegration:
    set_key(integration, admin_user)
    mark_valid(integration)
    _tokens_set(integration)
    return integration


# --- refresh requests ---------------------------------------------------------------------------


def test_refresh_requests_are_deduplicated_until_the_computation_ran(
    integration: AtsIntegration,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        refresh.status_refresh_request(integration_id=integration.pk, reason="first")
        refresh.status_refresh_request(integration_id=integration.pk, reason="second")
    assert len(callbacks) == 1
    snapshot = IntegrationStatus.objects.get(integration=integration)
    assert snapshot.pending
    assert snapshot.request_reason == "first"

    _compute(integration)
    with django_capture_on_commit_callbacks() as callbacks:
        refresh.status_refresh_request(integration_id=integration.pk, reason="third")

    assert len(callbacks) == 1


def test_saving_settings_asks_for_a_recompute(
    integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user)

    assert IntegrationStatus.objects.get(integration=integration).request_reason == (
        "Settings saved"
    )


def test_saving_the_automatic_invite_asks_for_a_recompute(integration: AtsIntegration) -> None:
    # The Automatic invites check said "off" until the periodic recompute.
    auto_invites.auto_invite_rule_update(
        integration=integration,
        actor=None,
        enabled=True,
        stage_id="stage-1",
        stage_name="Karat interview",
        posting_ids=[],
        origins=[],
        role=None,
    )

    snapshot = IntegrationStatus.objects.get(integration=integration)
    assert snapshot.pending
    assert snapshot.request_reason == "Automatic invite saved"


def test_a_key_level_error_asks_for_a_recompute_and_a_record_level_one_does_not(
    integration: AtsIntegration,
) -> None:
    health.integration_failure_record(
        integration_id=integration.pk,
        context="Processing a webhook",
        error=ats.AtsRecordForbidden("confidential", status_code=403),
    )
    assert not IntegrationStatus.objects.filter(integration=integration).exists()

    health.integration_failure_record(
        integration_id=integration.pk,
        context="Processing a webhook",
        error=ats.AtsKeyError("Lever rejected the API key", status_code=401),
    )

    snapshot = IntegrationStatus.objects.get(integration=integration)
    assert snapshot.pending
    assert snapshot.request_reason.startswith("Processing a webhook: Lever rejected")


def test_the_periodic_refresh_asks_for_every_enabled_integration(
    integration: AtsIntegration, second_group: Group
) -> None:
    disabled = IntegrationFactory(group=second_group, enabled=False)

    assert tasks.integration_statuses_refresh_all() == 1

    assert IntegrationStatus.objects.get(integration=integration).pending
    assert not IntegrationStatus.objects.filter(integration=disabled).exists()


def test_a_request_that_arrives_while_computing_is_computed_again(
    integration: AtsIntegration,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    _compute(integration)
    with django_capture_on_commit_callbacks() as first:
        refresh.status_refresh_request(integration_id=integration.pk, reason="first")
        # A second request while the first is pending is not enqueued, only remembered.
        refresh.status_refresh_request(integration_id=integration.pk, reason="second")
    assert len(first) == 1
    snapshot = IntegrationStatus.objects.get(integration=integration)
    assert snapshot.requested_again_at is not None

    # Before the second request: computing reads fresh data, nothing more to do.
    with django_capture_on_commit_callbacks() as callbacks:
        _compute(integration)
    assert callbacks == []

    # As if the second request landed after this computation had started reading.
    IntegrationStatus.objects.filter(integration=integration).update(
        requested_again_at=timezone.now() + timedelta(seconds=5)
    )
    with django_capture_on_commit_callbacks() as callbacks:
        _compute(integration)

    assert len(callbacks) == 1


def test_one_provider_failing_does_not_break_the_snapshot(
    integration: AtsIntegration, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(integration: AtsIntegration) -> feature_table.FeatureHealth:
        raise ats.AtsKeyError("Lever refused the key permission for this", status_code=403)

    def broken(integration: AtsIntegration) -> feature_table.FeatureHealth:
        raise RuntimeError("a bug")

    _health_replace(monkeypatch, feature_table.ROLE_MATCHING, refused)
    _health_replace(monkeypatch, feature_table.AUTOMATIC_INVITES, broken)

    snapshot = _compute(integration)

    roles = _feature(snapshot, feature_table.ROLE_MATCHING)
    assert (roles["level"], roles["label"]) == ("bad", "Not working")
    assert "refused the key permission" in roles["summary"]
    automatic = _feature(snapshot, feature_table.AUTOMATIC_INVITES)
    assert (automatic["level"], automatic["label"]) == ("warn", "Could not check")
    assert _feature(snapshot, INVITE)["checks"]  # the others were still computed


# --- alerts ---------------------------------------------------------------------------------------


@pytest.fixture
def healthy(integration: AtsIntegration, admin_user: User) -> AtsIntegration:
    set_key(integration, admin_user)
    mark_valid(integration)
    _tokens_set(integration, delivered=True)
    return integration


def _break(integration: AtsIntegration) -> None:
    AtsIntegration.objects.filter(pk=integration.pk).update(key_status=KeyStatus.INVALID)


def _repair(integration: AtsIntegration) -> None:
    AtsIntegration.objects.filter(pk=integration.pk).update(key_status=KeyStatus.VALID)


def test_going_from_healthy_to_failing_emails_the_admins_once_and_again_on_recovery(
    healthy: AtsIntegration, admin_user: User, recruiter_user: User, organization: Any
) -> None:
    limited_admin = MembershipFactory(
        organization=organization, role=Membership.Role.ADMIN, user__email="other@acme.test"
    )
    limited_admin.groups.add(GroupFactory(organization=organization, name="Sales"))
    assert _compute(healthy).alert_state == AlertState.HEALTHY
    assert mail.outbox == []

    _break(healthy)
    for _ in range(3):  # the beat computes every 5 minutes: one email, not three
        _compute(healthy)

    (failing,) = mail.outbox
    # Admins who can see the group; not recruiters, not an admin limited to another group.
    assert failing.to == [admin_user.email]
    assert "is not working" in failing.subject
    assert "Lever rejected the key or it lacks a permission" in failing.body
    assert f"/settings/ats-integrations/{healthy.public_id}/status/" in failing.body
    entry = AuditEntry.objects.get(action=Action.STATUS_FAILING)
    assert entry.integration_public_id == healthy.public_id
    assert entry.detail["emailed"] == 1

    _repair(healthy)
    _compute(healthy)
    _compute(healthy)

    assert len(mail.outbox) == 2
    assert "works again" in mail.outbox[1].subject
    assert AuditEntry.objects.filter(action=Action.STATUS_RECOVERED).count() == 1

    _break(healthy)
    _compute(healthy)
    assert len(mail.outbox) == 3  # a new failure is news again


def test_a_group_name_with_a_line_break_still_gets_its_alert_with_a_one_line_subject(
    healthy: AtsIntegration, admin_user: User
) -> None:
    Group.objects.filter(pk=healthy.group_id).update(name="Engineering\nBcc: audit@evil.example")
    healthy.refresh_from_db()
    _compute(healthy)

    _break(healthy)
    _compute(healthy)

    (failing,) = mail.outbox
    assert failing.to == [admin_user.email]
    assert "Bcc" not in failing.message()
    assert failing.subject == (
        "Karat: the Lever integration for Engineering Bcc: audit@evil.example is not working"
    )


def test_the_alert_names_what_failed_and_links_the_fix(
    healthy: AtsIntegration, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    _compute(healthy)

    def failing(integration: AtsIntegration) -> feature_table.FeatureHealth:
        return feature_table.FeatureHealth(
            key=feature_table.ROLE_MATCHING,
            name="Ensure Lever roles match Karat roles",
            description="",
            level="bad",
            label="Not working",
            summary="",
            checks=(
                feature_table.FeatureCheck(
                    code="sync",
                    name="Postings synced",
                    level="bad",
                    message="The last sync failed.",
                    fix_url="/roles/",
                    fix_text="Roles",
                ),
            ),
        )

    _health_replace(monkeypatch, feature_table.ROLE_MATCHING, failing)
    _compute(healthy)

    (alert,) = mail.outbox
    assert "- Ensure Lever roles match Karat roles: Postings synced: The last sync failed." in (
        alert.body
    )
    assert f"Fix it: {settings.PUBLIC_BASE_URL}/roles/" in alert.body
    entry = AuditEntry.objects.get(action=Action.STATUS_FAILING)
    assert entry.detail["failures"][0]["fix_url"] == "/roles/"


def test_a_new_integration_that_never_worked_sends_no_alert(integration: AtsIntegration) -> None:
    snapshot = _compute(integration)

    assert snapshot.label == "Not working"
    assert snapshot.alert_state == AlertState.NEVER_HEALTHY
    assert mail.outbox == []


def test_two_workers_computing_the_same_transition_send_one_alert(healthy: AtsIntegration) -> None:
    _compute(healthy)
    _break(healthy)
    stale = IntegrationStatus.objects.get(integration=healthy)  # both read "healthy"

    _compute(healthy)
    # The second worker's conditional UPDATE finds the row already "failing".
    alerts.alert_if_changed(
        AtsIntegration.objects.select_related("group").get(pk=healthy.pk),
        stale,
        status_selectors.OverallStatus("bad", "Not working", ""),
        [],
    )

    assert len(mail.outbox) == 1
    assert AuditEntry.objects.filter(action=Action.STATUS_FAILING).count() == 1


def test_alerts_show_on_the_audit_log(admin_client: Client, healthy: AtsIntegration) -> None:
    _compute(healthy)
    _break(healthy)
    _compute(healthy)

    page = admin_client.get(_url("detail", healthy)).content.decode()

    assert "Alert: not working" in page


# --- the page: Check again, live part, list ---------------------------------------------------------


def _url(name: str, integration: AtsIntegration) -> str:
    return reverse(f"integrations:{name}", kwargs={"public_id": integration.public_id})


def test_the_first_visit_computes_the_snapshot_and_shows_when(
    admin_client: Client, healthy: AtsIntegration
) -> None:
    page = admin_client.get(_url("status", healthy)).content.decode()

    snapshot = IntegrationStatus.objects.get(integration=healthy)
    assert snapshot.computed_at is not None
    assert "Checked <time datetime=" in page
    assert ">Check again</button>" in page
    assert 'hx-trigger="every 1s"' not in page


def test_check_again_recomputes_in_the_background_and_the_page_polls_until_done(
    admin_client: Client,
    healthy: AtsIntegration,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    _compute(healthy)

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(_url("status-refresh", healthy), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    live = response.content.decode()
    assert live.startswith('<div id="status-live"')
    assert 'hx-trigger="every 1s"' in live
    assert f'hx-get="{_url("status-live", healthy)}"' in live
    assert "Checking again…" in live
    assert len(callbacks) == 1
    polled = admin_client.get(_url("status-live", healthy)).content.decode()
    assert 'hx-trigger="every 1s"' in polled

    _compute(healthy)  # what the queued task does

    done = admin_client.get(_url("status-live", healthy)).content.decode()
    assert 'hx-trigger="every 1s"' not in done
    assert "Checking again…" not in done
    assert ">Check again</button>" in done


def test_check_again_without_htmx_redirects_back(
    admin_client: Client, healthy: AtsIntegration
) -> None:
    response = admin_client.post(_url("status-refresh", healthy))

    assert response.status_code == 302
    assert response["Location"] == _url("status", healthy)


@pytest.mark.parametrize("name", ["status", "status-live", "status-refresh"])
def test_another_organizations_status_is_a_404_and_recruiters_get_403(
    outsider_client: Client, recruiter_client: Client, healthy: AtsIntegration, name: str
) -> None:
    method = "post" if name == "status-refresh" else "get"

    assert getattr(outsider_client, method)(_url(name, healthy)).status_code == 404
    assert getattr(recruiter_client, method)(_url(name, healthy)).status_code == 403
    snapshot = IntegrationStatus.objects.get(integration=healthy)
    assert snapshot.computed_at is None  # nothing computed for them
    assert snapshot.request_reason == "Settings saved"  # and nothing asked for


def test_the_page_shows_basic_information(
    admin_client: Client, healthy: AtsIntegration, admin_user: User
) -> None:
    AtsIntegration.objects.filter(pk=healthy.pk).update(created_by=admin_user)
    healthy.refresh_from_db()

    page = admin_client.get(_url("status", healthy)).content.decode()

    for text in (
        f"<code>{healthy.public_id}</code>",
        "<dt>ATS</dt><dd>Lever</dd>",
        "<dt>Group</dt><dd>Engineering</dd>",
        "US (api.lever.co)",
        f"by {admin_user.display_name}",
        f"••••{healthy.api_key_last4}",
        webhook_url(integration=healthy),
    ):
        assert text in page, text


def _list_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("integrations:list")).status_code == 200
    return len(queries)


def _many(organization: Any, n: int) -> None:
    for i in range(n):
        integration = IntegrationFactory(
            group=GroupFactory(organization=organization, name=f"Team {i:03}")
        )
        _compute(integration)


def test_the_list_shows_each_overall_status_with_a_constant_number_of_queries(
    admin_client: Client,
    healthy: AtsIntegration,
    organization: Any,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    _compute(healthy)
    one = _list_queries(admin_client)

    _many(organization, 199)
    with django_assert_max_num_queries(one):
        page = admin_client.get(reverse("integrations:list")).content.decode()

    # 200 integrations, shown a page of INTEGRATIONS_PER_PAGE at a time, each with its status.
    not_working = page.count('<span class="badge badge-bad">Not working</span>')
    active = page.count('<span class="badge badge-ok">Active</span>')
    assert not_working + active == INTEGRATIONS_PER_PAGE
    assert not_working >= INTEGRATIONS_PER_PAGE - 1


def test_an_integration_without_a_snapshot_is_listed_as_not_checked_yet(
    admin_client: Client, integration: AtsIntegration
) -> None:
    page = admin_client.get(reverse("integrations:list")).content.decode()

    assert '<span class="badge badge-muted">Not checked yet</span>' in page


# --- the API ----------------------------------------------------------------------------------------


def _api_url(integration: AtsIntegration) -> str:
    return reverse("api-integration-status", kwargs={"public_id": integration.public_id})


def test_the_status_api_returns_the_snapshot(
    token_client: Callable[[User], Client], admin_user: User, healthy: AtsIntegration
) -> None:
    response = token_client(admin_user).get(_api_url(healthy))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"integration_id", "computed_at", "pending", "overall", "basic", "features"}
    assert body["integration_id"] == str(healthy.public_id)
    assert body["overall"]["label"] == "Active"
    assert body["basic"]["api_key_last4"] == healthy.api_key_last4
    assert body["basic"]["acting_user"]["state"] == "not_set"
    assert body["basic"]["webhook_url"] == webhook_url(integration=healthy)
    assert [f["key"] for f in body["features"]] == [
        feature.key for feature in feature_table.FEATURES
    ]
    invite = body["features"][0]
    assert set(invite["checks"][0]) == {
        "code",
        "name",
        "level",
        "message",
        "fix_url",
        "fix_text",
        "at",
    }
    assert "api_key" not in str(body).replace("api_key_last4", "")


def test_the_status_api_is_a_404_for_another_organization(
    token_client: Callable[[User], Client],
    outsider_user: User,
    recruiter_user: User,
    healthy: AtsIntegration,
) -> None:
    assert token_client(outsider_user).get(_api_url(healthy)).status_code == 404
    assert token_client(recruiter_user).get(_api_url(healthy)).status_code == 403
    assert not IntegrationStatus.objects.filter(computed_at__isnull=False).exists()


def test_the_number_of_deliveries_does_not_change_the_page_queries(
    admin_client: Client, healthy: AtsIntegration
) -> None:
    _compute(healthy)
    with CaptureQueriesContext(connection) as before:
        admin_client.get(_url("status", healthy))
    for _ in range(50):
        _delivery(healthy, WebhookDelivery.Status.FAILED)
    _compute(healthy)

    with CaptureQueriesContext(connection) as after:
        page = admin_client.get(_url("status", healthy)).content.decode()

    assert len(after) == len(before)
    assert "50 deliveries in the last 24 hours could not be processed" in page


def test_disabling_shows_disabled_at_once(admin_client: Client, healthy: AtsIntegration) -> None:
    _compute(healthy)

    lifecycle.integration_disable(integration=healthy, actor=None)

    page = admin_client.get(reverse("integrations:list")).content.decode()
    assert '<span class="badge badge-muted">Disabled</span>' in page


def test_a_check_again_no_worker_answered_stops_polling_and_says_so(
    admin_client: Client, healthy: AtsIntegration
) -> None:
    _compute(healthy)
    asked = timezone.now() - IntegrationStatus.PENDING_FOR - timedelta(seconds=1)
    IntegrationStatus.objects.filter(integration=healthy).update(
        computed_at=asked - timedelta(minutes=1), requested_at=asked
    )

    live = admin_client.get(_url("status-live", healthy)).content.decode()

    assert 'hx-trigger="every 1s"' not in live
    assert "The last check did not finish" in live
    assert ">Check again</button>" in live


def test_an_old_snapshot_says_the_background_worker_may_be_down(
    admin_client: Client, healthy: AtsIntegration, settings: Settings
) -> None:
    snapshot = _compute(healthy)
    old = timezone.now() - timedelta(seconds=3 * settings.STATUS_REFRESH_INTERVAL_SECONDS)
    IntegrationStatus.objects.filter(pk=snapshot.pk).update(computed_at=old, requested_at=old)

    page = admin_client.get(_url("status", healthy)).content.decode()

    assert "Karat's background worker may be down" in page


def test_a_feature_detail_that_is_not_json_is_dropped_not_the_snapshot(
    integration: AtsIntegration, monkeypatch: pytest.MonkeyPatch
) -> None:
    def odd(integration: AtsIntegration) -> feature_table.FeatureHealth:
        return feature_table.FeatureHealth(
            key=feature_table.ROLE_MATCHING,
            name="Ensure Lever roles match Karat roles",
            description="",
            level="ok",
            label="Working",
            summary="Synced.",
            detail={"integration": integration},  # a model instance: not JSON
        )

    _health_replace(monkeypatch, feature_table.ROLE_MATCHING, odd)

    roles = _feature(_compute(integration), feature_table.ROLE_MATCHING)

    assert (roles["label"], roles["summary"], roles["detail"]) == ("Working", "Synced.", {})


def test_registering_webhooks_in_lever_asks_for_a_recompute(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    integration = _keyed(integration, admin_user, DEMO_API_KEY)
    _compute(integration)

    setup.webhooks_register(integration=integration, actor=admin_user)

    snapshot = IntegrationStatus.objects.get(integration=integration)
    assert snapshot.pending
    assert snapshot.request_reason == "Webhooks registered"


def _settle(integration: AtsIntegration) -> None:
    """As if the requested computation had run."""
    IntegrationStatus.objects.filter(integration=integration).update(
        requested_at=None, request_reason=""
    )


def test_saving_webhook_tokens_and_switching_the_integration_ask_for_a_recompute(
    integration: AtsIntegration, admin_user: User
) -> None:
    setup.signature_tokens_set(
        integration=integration,
        tokens={WebhookEvent.CANDIDATE_HIRED: "t" * 32},
        actor=admin_user,
    )
    assert IntegrationStatus.objects.get(integration=integration).request_reason == (
        "Webhook tokens saved"
    )

    for switch, reason in (
        (lifecycle.integration_disable, "Disabled"),
        (lifecycle.integration_enable, "Enabled"),
    ):
        _settle(integration)
        assert switch(integration=integration, actor=admin_user)
        snapshot = IntegrationStatus.objects.get(integration=integration)
        assert (snapshot.pending, snapshot.request_reason) == (True, reason)


def test_a_finished_key_check_asks_for_a_recompute(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user, DEMO_API_KEY)
    _settle(integration)  # the "Settings saved" request was computed

    tasks.api_key_validate(integration.pk)

    snapshot = IntegrationStatus.objects.get(integration=integration)
    assert snapshot.pending
    assert snapshot.request_reason == "API key checked"


def test_a_computation_older_than_the_stored_one_changes_nothing(
    healthy: AtsIntegration,
) -> None:
    _compute(healthy)
    later = timezone.now() + timedelta(minutes=1)
    IntegrationStatus.objects.filter(integration=healthy).update(
        computed_at=later, label="From a later run"
    )
    _break(healthy)

    snapshot = _compute(healthy)  # started before the stored one: dropped, and no alert

    assert (snapshot.label, snapshot.computed_at) == ("From a later run", later)
    assert mail.outbox == []
