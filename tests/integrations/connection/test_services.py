"""Integration services: create, settings and the API key, enable/disable, delete, audit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from integrations.connection.services import audit, keys, lifecycle
from integrations.models import Ats, AtsIntegration, AuditEntry, KeyCheck, Region
from karatlever.accounts.models import Group, User
from tests.integrations.conftest import API_KEY, OTHER_KEY, latest_check, mark_valid, set_key

pytestmark = pytest.mark.django_db
KeyStatus = AtsIntegration.KeyStatus
Action = AuditEntry.Action


def _update(integration: AtsIntegration, actor: User | None, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "api_key": None,
        "ats_user_id": integration.ats_user_id,
        "region": integration.region,
        **changes,
    }
    return lifecycle.integration_settings_update(integration=integration, actor=actor, **values)


# --- create ----------------------------------------------------------------------------------


def test_create_makes_an_integration_and_records_who_created_it(
    group: Group, admin_user: User
) -> None:
    integration = lifecycle.integration_create(group=group, ats=Ats.LEVER, actor=admin_user)

    assert integration.group == group
    assert integration.ats == Ats.LEVER
    assert integration.enabled is True
    assert integration.key_status == KeyStatus.NOT_SET
    assert integration.created_by == admin_user
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.integration) == (
        Action.CREATED,
        admin_user,
        integration,
    )
    assert entry.integration_public_id == integration.public_id
    assert entry.group == group


def test_a_second_integration_for_the_same_group_and_ats_is_refused_clearly(
    integration: AtsIntegration, admin_user: User
) -> None:
    with pytest.raises(lifecycle.IntegrationAlreadyExists, match="already has a Lever integration"):
        lifecycle.integration_create(group=integration.group, ats=Ats.LEVER, actor=admin_user)

    assert AtsIntegration.objects.count() == 1
    assert AuditEntry.objects.count() == 0


def test_another_group_may_have_its_own_lever_integration(
    integration: AtsIntegration, second_group: Group, admin_user: User
) -> None:
    lifecycle.integration_create(group=second_group, ats=Ats.LEVER, actor=admin_user)

    assert AtsIntegration.objects.count() == 2


@pytest.mark.parametrize("ats", ["greenhouse", "", "LEVER", "lever "])
def test_an_unknown_ats_is_refused(group: Group, admin_user: User, ats: str) -> None:
    with pytest.raises(lifecycle.IntegrationError, match="Choose an ATS"):
        lifecycle.integration_create(group=group, ats=ats, actor=admin_user)

    assert not AtsIntegration.objects.exists()


# --- the API key ----------------------------------------------------------------------------


def test_a_first_key_is_stored_encrypted_and_checked_in_the_background(
    integration: AtsIntegration, admin_user: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        outcome = _update(integration, admin_user, api_key=API_KEY)

    integration.refresh_from_db()
    assert (outcome.key_set, outcome.key_pending, outcome.check_enqueued) == (True, False, True)
    assert integration.api_key == API_KEY
    assert integration.api_key_last4 == API_KEY[-4:]
    assert integration.api_key_fingerprint == audit.api_key_fingerprint(API_KEY)
    assert integration.api_key_set_at is not None
    assert integration.key_status == KeyStatus.CHECKING
    assert integration.masked_api_key == "••••" + API_KEY[-4:]
    # The key check and the status page's recompute are each enqueued once, after commit.
    assert [c.__qualname__.split(".")[0] for c in callbacks] == [
        "_enqueue_key_check",
        "status_compute_enqueue",
    ]


def test_setting_a_key_records_only_its_last_four_and_fingerprint(
    integration: AtsIntegration, admin_user: User
) -> None:
    _update(integration, admin_user, api_key=API_KEY)

    entry = AuditEntry.objects.get(action=Action.API_KEY_SET)
    assert entry.actor == admin_user
    assert entry.detail["api_key_last4"] == API_KEY[-4:]
    assert entry.detail["api_key_fingerprint"] == audit.api_key_fingerprint(API_KEY)
    assert API_KEY not in json.dumps(entry.detail) + entry.summary
    assert API_KEY[:-4] not in json.dumps(entry.detail) + entry.summary


def test_surrounding_whitespace_of_a_pasted_key_is_stripped(
    integration: AtsIntegration, admin_user: User
) -> None:
    _update(integration, admin_user, api_key=f"  {API_KEY}\r\n")

    integration.refresh_from_db()
    assert integration.api_key == API_KEY


@pytest.mark.parametrize("blank", [None, "", "   ", "\n"])
def test_a_blank_key_keeps_the_current_one(
    keyed_integration: AtsIntegration, admin_user: User, blank: str | None
) -> None:
    before = AuditEntry.objects.count()

    _update(keyed_integration, admin_user, api_key=blank)

    keyed_integration.refresh_from_db()
    assert keyed_integration.api_key == API_KEY
    assert AuditEntry.objects.filter(action=Action.API_KEY_SET).count() == 1
    assert AuditEntry.objects.count() == before


def test_a_key_replacing_a_working_one_waits_until_it_validates(
    keyed_integration: AtsIntegration, admin_user: User
) -> None:
    mark_valid(keyed_integration)

    outcome = _update(keyed_integration, admin_user, api_key=OTHER_KEY)

    keyed_integration.refresh_from_db()
    assert (outcome.key_set, outcome.key_pending, outcome.check_enqueued) == (False, True, True)
    assert keyed_integration.api_key == API_KEY  # still in use
    assert keyed_integration.key_status == KeyStatus.VALID
    assert keyed_integration.pending_api_key == OTHER_KEY
    assert keyed_integration.pending_api_key_last4 == OTHER_KEY[-4:]
    pending = latest_check(keyed_integration, KeyCheck.Subject.PENDING)
    assert (pending.api_key_last4, pending.finished_at) == (OTHER_KEY[-4:], None)
    assert pending.requested_by == admin_user
    entry = AuditEntry.objects.filter(action=Action.API_KEY_SET).first()
    assert entry is not None
    assert entry.detail["pending"] is True


def test_a_key_replacing_one_that_never_worked_is_used_at_once(
    keyed_integration: AtsIntegration, admin_user: User
) -> None:
    AtsIntegration.objects.filter(pk=keyed_integration.pk).update(key_status=KeyStatus.INVALID)
    keyed_integration.refresh_from_db()

    _update(keyed_integration, admin_user, api_key=OTHER_KEY)

    keyed_integration.refresh_from_db()
    assert keyed_integration.api_key == OTHER_KEY
    assert keyed_integration.pending_api_key == ""
    assert keyed_integration.key_status == KeyStatus.CHECKING


def test_saving_the_same_key_again_changes_nothing_and_records_nothing(
    keyed_integration: AtsIntegration, admin_user: User, django_capture_on_commit_callbacks: Any
) -> None:
    mark_valid(keyed_integration)
    before = AuditEntry.objects.count()

    with django_capture_on_commit_callbacks() as callbacks:
        outcome = _update(keyed_integration, admin_user, api_key=API_KEY)

    keyed_integration.refresh_from_db()
    assert (outcome.key_set, outcome.key_pending, outcome.check_enqueued) == (False, False, False)
    assert keyed_integration.key_status == KeyStatus.VALID
    assert AuditEntry.objects.count() == before
    assert callbacks == []


def test_changing_region_and_user_id_is_audited_and_rechecks_the_key(
    keyed_integration: AtsIntegration, admin_user: User
) -> None:
    mark_valid(keyed_integration)
    user_id = "F5057FEE-4C3E-4459-82DD-21250B729601"

    outcome = _update(keyed_integration, admin_user, region=Region.EU, ats_user_id=user_id)

    keyed_integration.refresh_from_db()
    assert set(outcome.changed) == {"region", "ats_user_id"}
    assert keyed_integration.region == Region.EU
    assert keyed_integration.ats_user_id == user_id.lower()
    assert keyed_integration.key_status == KeyStatus.CHECKING
    entry = AuditEntry.objects.get(action=Action.SETTINGS_CHANGED)
    assert entry.actor == admin_user
    assert entry.detail["changes"]["region"] == [Region.US, Region.EU]


def test_settings_without_a_key_save_but_check_nothing(
    integration: AtsIntegration, admin_user: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        outcome = _update(integration, admin_user, region=Region.SANDBOX)

    integration.refresh_from_db()
    assert integration.region == Region.SANDBOX
    assert integration.key_status == KeyStatus.NOT_SET
    assert not outcome.check_enqueued
    # No key check; only the status page's recompute (the region changed).
    assert [c.__qualname__.split(".")[0] for c in callbacks] == ["status_compute_enqueue"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"api_key": "x" * 513}, "api_key"),
        ({"api_key": "y" * 5000}, "api_key"),
        ({"api_key": "lvr_TEST_abcdef\nghijklmnop"}, "api_key"),
        ({"api_key": "lvr_TEST_abcdef ghijklmnop"}, "api_key"),
        ({"api_key": "lvr_TEST_abcdef\tghijklmnop"}, "api_key"),
        ({"api_key": "lvr_TEST_abcdéfghijklmnop"}, "api_key"),
        ({"api_key": "lvr_TEST_abc\x00defghijklmnop"}, "api_key"),
        ({"api_key": "short"}, "api_key"),
        ({"region": "apac"}, "region"),
        ({"region": "US"}, "region"),  # "" is "detect from the key"
        ({"ats_user_id": "not-a-uuid"}, "ats_user_id"),
        ({"ats_user_id": "{f5057fee-4c3e-4459-82dd-21250b729601}"}, "ats_user_id"),
        ({"ats_user_id": "f5057fee4c3e445982dd21250b729601"}, "ats_user_id"),
        ({"ats_user_id": "../users"}, "ats_user_id"),
    ],
)
def test_bad_settings_input_is_refused_and_changes_nothing(
    keyed_integration: AtsIntegration, admin_user: User, changes: dict[str, Any], field: str
) -> None:
    before = AuditEntry.objects.count()

    with pytest.raises(ValidationError) as excinfo:
        _update(keyed_integration, admin_user, **{"region": Region.EU, **changes})

    assert field in excinfo.value.message_dict
    # The error never repeats the key it refused.
    assert "ghijklmnop" not in str(excinfo.value.message_dict)
    keyed_integration.refresh_from_db()
    assert keyed_integration.api_key == API_KEY
    assert keyed_integration.region == Region.US
    assert AuditEntry.objects.count() == before


def test_a_key_of_exactly_the_maximum_length_is_accepted(
    integration: AtsIntegration, admin_user: User
) -> None:
    key = "k" * lifecycle.API_KEY_MAX_LENGTH

    _update(integration, admin_user, api_key=key)

    integration.refresh_from_db()
    assert integration.api_key == key


def test_asking_for_a_new_check_marks_the_key_checking(
    keyed_integration: AtsIntegration, admin_user: User, django_capture_on_commit_callbacks: Any
) -> None:
    AtsIntegration.objects.filter(pk=keyed_integration.pk).update(key_status=KeyStatus.UNREACHABLE)

    with django_capture_on_commit_callbacks() as callbacks:
        asked = keys.api_key_check_request(integration=keyed_integration, actor=admin_user)

    keyed_integration.refresh_from_db()
    assert asked is True
    assert keyed_integration.key_status == KeyStatus.CHECKING
    assert len(callbacks) == 1


def test_asking_for_a_check_without_a_key_does_nothing(
    integration: AtsIntegration, admin_user: User
) -> None:
    assert keys.api_key_check_request(integration=integration, actor=admin_user) is False
    integration.refresh_from_db()
    assert integration.key_status == KeyStatus.NOT_SET


def test_the_check_is_published_to_the_broker_after_commit(
    integration: AtsIntegration,
    admin_user: User,
    django_capture_on_commit_callbacks: Any,
    memory_broker: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        set_key(integration, admin_user)

    assert len(callbacks) == 2  # the key check, then the status page's recompute
    with memory_broker.connection_for_read() as connection:
        queue = connection.SimpleQueue("urgent")  # both tasks: someone waits on them
        message, status_message = queue.get(timeout=2), queue.get(timeout=2)
        message.ack()
        status_message.ack()
    assert status_message.headers["task"] == "integrations.tasks.integration_status_compute"
    assert message.headers["task"] == "integrations.tasks.api_key_validate"
    assert message.payload[0] == [integration.pk]  # ids only, never the key
    assert API_KEY not in json.dumps(message.payload)


# --- enable, disable, delete ----------------------------------------------------------------


def test_disable_and_enable_are_audited_once_each(
    integration: AtsIntegration, admin_user: User
) -> None:
    assert lifecycle.integration_disable(integration=integration, actor=admin_user) is True
    assert lifecycle.integration_disable(integration=integration, actor=admin_user) is False
    integration.refresh_from_db()
    assert integration.enabled is False

    assert lifecycle.integration_enable(integration=integration, actor=admin_user) is True
    assert lifecycle.integration_enable(integration=integration, actor=admin_user) is False
    integration.refresh_from_db()
    assert integration.enabled is True

    actions = list(AuditEntry.objects.order_by("id").values_list("action", "actor"))
    assert actions == [(Action.DISABLED, admin_user.pk), (Action.ENABLED, admin_user.pk)]


def test_delete_removes_the_integration_but_keeps_its_audit_log(
    keyed_integration: AtsIntegration, admin_user: User
) -> None:
    public_id, group = keyed_integration.public_id, keyed_integration.group

    lifecycle.integration_delete(integration=keyed_integration, actor=admin_user)

    assert not AtsIntegration.objects.exists()
    entries = AuditEntry.objects.filter(integration_public_id=public_id)
    assert {e.action for e in entries} == {Action.API_KEY_SET, Action.DELETED}
    assert all(e.integration is None and e.group == group for e in entries)
    deleted = entries.get(action=Action.DELETED)
    assert deleted.actor == admin_user
    assert deleted.detail == {
        "api_key_last4": API_KEY[-4:],
        "api_key_fingerprint": audit.api_key_fingerprint(API_KEY),
    }


# --- create: rate limit from settings, optional key and settings --------------------------------


def test_a_new_integration_gets_the_configured_lever_rate_limit(
    group: Group, admin_user: User, settings: Any
) -> None:
    settings.LEVER_RATE_LIMIT_PER_SECOND = 3.5
    settings.LEVER_RATE_LIMIT_BURST = 4

    integration = lifecycle.integration_create(group=group, ats=Ats.LEVER, actor=admin_user)

    integration.refresh_from_db()
    assert integration.rate_limit_per_second == 3.5
    assert integration.rate_limit_burst == 4


def test_create_with_a_key_and_settings_saves_them_in_one_go(
    group: Group, admin_user: User
) -> None:
    integration = lifecycle.integration_create(
        group=group,
        ats=Ats.LEVER,
        actor=admin_user,
        api_key=API_KEY,
        ats_user_id="8F3C2A4E-1B2C-4D5E-8F90-123456789ABC",
        region=Region.EU,
    )

    integration.refresh_from_db()
    assert integration.api_key == API_KEY
    assert integration.region == Region.EU
    assert integration.ats_user_id == "8f3c2a4e-1b2c-4d5e-8f90-123456789abc"
    assert integration.key_status == AtsIntegration.KeyStatus.CHECKING
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {AuditEntry.Action.CREATED, AuditEntry.Action.API_KEY_SET} <= actions


def test_create_with_bad_settings_creates_nothing(group: Group, admin_user: User) -> None:
    with pytest.raises(ValidationError) as caught:
        lifecycle.integration_create(
            group=group, ats=Ats.LEVER, actor=admin_user, api_key="short", region="mars"
        )

    assert set(caught.value.message_dict) == {"api_key", "region"}
    assert not AtsIntegration.objects.exists()
    assert not AuditEntry.objects.exists()
