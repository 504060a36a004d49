"""Issue 20, items 2 and 3: a revoked key is found by the periodic recheck (one cheap probe per
key, under its rate bucket), the snapshot is recomputed at once and every feature that needs
the key says it is not working and why; and a key rotation sends exactly two alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from pytest_django import Settings

from integrations import features as feature_table
from integrations import tasks
from integrations.auto_invites import services as auto_invites
from integrations.connection.services import keys
from integrations.lever.sandbox import KARAT_PERMISSIONS, SandboxServer
from integrations.models import AtsIntegration, IntegrationStatus, OutboundSettings
from integrations.status import services as status
from karatlever.accounts.models import User
from tests.integrations.conftest import set_key
from tests.integrations.status.test_page import _tokens_set

pytestmark = pytest.mark.django_db
KeyStatus = AtsIntegration.KeyStatus

# Every feature that reads or writes Lever with the key (Automatic invites once turned on).
KEY_FEATURES = [
    feature_table.INVITE_FROM_LEVER_URL,
    feature_table.POST_CANDIDACY_UPDATES,
    feature_table.AUTO_STATE_UPDATING,
    feature_table.ROLE_MATCHING,
    feature_table.AUTOMATIC_INVITES,
]


@pytest.fixture(autouse=True)
def _mail(settings: Settings, tmp_path: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.LEVER_RATE_LIMIT_DIR = tmp_path / "ratelimit"
    settings.REDIS_URL = ""


def _key(lever: SandboxServer, label: str) -> tuple[str, str]:
    return lever.sandbox.create_key(
        label=label, permissions=[*KARAT_PERMISSIONS, "webhooks:read:admin"]
    )


def _keyed(integration: AtsIntegration, admin_user: User, key: str) -> AtsIntegration:
    set_key(integration, admin_user, key)
    tasks.api_key_validate(integration.pk)
    integration.refresh_from_db()
    return integration


def _compute(integration: AtsIntegration) -> IntegrationStatus:
    snapshot = status.integration_status_compute(integration_id=integration.pk)
    assert snapshot is not None
    return snapshot


def _features(snapshot: IntegrationStatus) -> dict[str, dict[str, Any]]:
    return {f["key"]: f for f in snapshot.features}


def _auto_invite_on(integration: AtsIntegration) -> None:
    auto_invites.auto_invite_rule_update(
        integration=integration,
        actor=None,
        enabled=True,
        stage_id="applicant-new",
        stage_name="New applicant",
        posting_ids=[],
        origins=[],
        role=None,
    )


def _assert_every_key_feature_not_working(snapshot: IntegrationStatus, last4: str) -> None:
    assert (snapshot.level, snapshot.label) == ("bad", "Not working")
    features = _features(snapshot)
    for key_feature in KEY_FEATURES:
        feature = features[key_feature]
        assert (feature["level"], feature["label"]) == ("bad", "Not working"), key_feature
        key_checks = [c for c in feature["checks"] if c["code"] == "key_valid"]
        assert key_checks, key_feature
        assert key_checks[0]["level"] == "bad"
        assert f"••••{last4}" in key_checks[0]["message"], key_feature
    auto_state = features[feature_table.AUTO_STATE_UPDATING]
    assert "webhooks are arriving" not in auto_state["summary"]


def test_once_the_key_check_finds_the_key_revoked_every_feature_that_needs_it_is_not_working(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    key_id, key = _key(lever_sandbox, "revoked later")
    integration = _keyed(integration, admin_user, key)
    _tokens_set(integration, delivered=True)
    _auto_invite_on(integration)
    assert _features(_compute(integration))[feature_table.AUTO_STATE_UPDATING]["label"] == (
        "Working"
    )
    lever_sandbox.sandbox.revoke_key(key_id)

    keys.api_key_check_request(integration=integration, actor=None)
    tasks.api_key_validate(integration.pk)

    integration.refresh_from_db()
    assert integration.key_status == KeyStatus.INVALID
    _assert_every_key_feature_not_working(_compute(integration), key[-4:])


def test_a_key_refused_by_the_computes_own_read_makes_no_feature_say_working_until_checked(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    key_id, key = _key(lever_sandbox, "revoked later")
    integration = _keyed(integration, admin_user, key)
    _tokens_set(integration, delivered=True)
    _auto_invite_on(integration)
    assert _features(_compute(integration))[feature_table.AUTO_STATE_UPDATING]["label"] == (
        "Working"
    )
    mail.outbox.clear()
    lever_sandbox.sandbox.revoke_key(key_id)

    # The stored key status still says valid: the compute's own read is refused first.
    between = _compute(integration)

    integration.refresh_from_db()
    assert integration.key_status == KeyStatus.CHECKING  # the compute asked for a key check
    features = _features(between)
    assert not [key for key in KEY_FEATURES if features[key]["level"] == "ok"]
    auto_state = features[feature_table.AUTO_STATE_UPDATING]
    assert (auto_state["level"], auto_state["label"]) == ("info", "Checking")
    key_checks = [c for c in auto_state["checks"] if c["code"] == "key_valid"]
    assert [c["message"] for c in key_checks] == [
        "Lever refused the key just now: Karat is checking it again."
    ]
    assert mail.outbox == []  # not settled: no alert yet

    tasks.api_key_validate(integration.pk)  # the worker runs the check it asked for
    _assert_every_key_feature_not_working(_compute(integration), key[-4:])
    assert len(mail.outbox) == 1


def test_a_revoked_key_is_found_by_the_periodic_recheck_and_the_status_recomputed_at_once(
    lever_sandbox: SandboxServer,
    integration: AtsIntegration,
    admin_user: User,
    settings: Settings,
) -> None:
    settings.API_KEY_RECHECK_MINUTES = 10
    key_id, key = _key(lever_sandbox, "revoked later")
    integration = _keyed(integration, admin_user, key)
    _tokens_set(integration, delivered=True)
    _auto_invite_on(integration)
    assert _compute(integration).label != "Not working"

    # given: someone revokes the key in Lever; nobody presses "Check again"
    lever_sandbox.sandbox.revoke_key(key_id)
    later = timezone.now() + timedelta(minutes=11)

    # when: the periodic recheck runs
    with time_machine.travel(later, tick=True):
        rechecked = keys.api_keys_recheck_due()

    # then: the key is invalid and a recompute was asked for at once …
    integration.refresh_from_db()
    assert rechecked == 1
    assert integration.key_status == KeyStatus.INVALID
    snapshot = IntegrationStatus.objects.get(integration=integration)
    assert snapshot.requested_at is not None
    assert snapshot.computed_at is not None
    assert snapshot.requested_at > snapshot.computed_at
    # … which, computed, says every key-dependent feature is not working, naming the key.
    with time_machine.travel(later, tick=True):
        _assert_every_key_feature_not_working(_compute(integration), key[-4:])


def test_the_recheck_probes_only_keys_not_checked_recently_with_one_request_each(
    lever_sandbox: SandboxServer,
    integration: AtsIntegration,
    admin_user: User,
    settings: Settings,
) -> None:
    settings.API_KEY_RECHECK_MINUTES = 10
    _key_id, key = _key(lever_sandbox, "fine")
    integration = _keyed(integration, admin_user, key)
    lever_sandbox.reset_counters()
    requests_before = sum(lever_sandbox.request_stats().values())

    assert keys.api_keys_recheck_due() == 0  # checked just now

    later = timezone.now() + timedelta(minutes=11)
    with time_machine.travel(later, tick=True):
        assert keys.api_keys_recheck_due() == 1
        assert keys.api_keys_recheck_due() == 0  # probed: not again before N minutes
    integration.refresh_from_db()
    assert integration.key_status == KeyStatus.VALID
    assert sum(lever_sandbox.request_stats().values()) - requests_before == 1


def test_key_rotation_sends_exactly_two_alerts(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    key_id, key = _key(lever_sandbox, "old")
    integration = _keyed(integration, admin_user, key)
    _tokens_set(integration, delivered=True)
    outbound = OutboundSettings.objects.get_or_create(integration=integration)[0]
    _compute(integration)  # healthy: from now on a failure is news
    mail.outbox.clear()

    # Revoke: the queue pauses on Lever's refusal, the key check says invalid.
    lever_sandbox.sandbox.revoke_key(key_id)
    OutboundSettings.objects.filter(pk=outbound.pk).update(
        paused_at=timezone.now(), paused_reason="Lever rejected the API key (401)."
    )
    keys.api_key_check_request(integration=integration, actor=None)
    tasks.api_key_validate(integration.pk)
    _compute(integration)
    assert len(mail.outbox) == 1

    # Paste a new key: recomputed while it is still being checked …
    _new_id, new_key = _key(lever_sandbox, "new")
    set_key(integration, admin_user, new_key)
    integration.refresh_from_db()
    assert integration.key_status == KeyStatus.CHECKING
    assert _compute(integration).label == "Checking"
    assert len(mail.outbox) == 1  # not settled: no "works again" while the key is checked
    # … then the check passes and the status is recomputed, before and after the queue resumes.
    tasks.api_key_validate(integration.pk)
    _compute(integration)
    tasks.outbound_sweep()
    _compute(integration)

    assert "works again: Active" in mail.outbox[1].body
    subjects = [m.subject for m in mail.outbox]
    assert len(subjects) == 2, subjects
    assert subjects[0].endswith("is not working")
    assert subjects[1].endswith("works again")
