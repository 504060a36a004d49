"""Checking an API key with Lever: against the local sandbox over HTTP, and error paths with
`responses`. Task bodies are called directly."""

from __future__ import annotations

import base64
import socket
from datetime import timedelta
from typing import Any

import pytest
import responses
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from integrations import ats, tasks
from integrations.connection import selectors
from integrations.connection.services import audit, keys, lifecycle
from integrations.lever.sandbox import DEMO_API_KEY, KARAT_PERMISSIONS, SandboxServer, demo_data
from integrations.models import AtsIntegration, AuditEntry, KeyCheck, Region
from karatlever.accounts.models import User
from tests.integrations.conftest import API_KEY, OTHER_KEY, latest_check, mark_valid, set_key

pytestmark = pytest.mark.django_db
KeyStatus = AtsIntegration.KeyStatus
Action = AuditEntry.Action


def _result(integration: AtsIntegration) -> KeyCheck:
    """The key in use's status: its latest finished check."""
    row = (
        KeyCheck.objects.filter(
            integration=integration,
            api_key_fingerprint=integration.api_key_fingerprint,
            finished_at__isnull=False,
        )
        .order_by("-id")
        .first()
    )
    assert row is not None
    return row


def _checks(integration: AtsIntegration) -> dict[str, dict[str, Any]]:
    return {c["code"]: c for c in _result(integration).checks}


def _validate(integration: AtsIntegration) -> AtsIntegration:
    tasks.api_key_validate(integration.pk)
    integration.refresh_from_db()
    return integration


def _users() -> tuple[str, str]:
    users = demo_data().users
    active = next(u["id"] for u in users if u["deactivatedAt"] is None)
    deactivated = next(u["id"] for u in users if u["deactivatedAt"] is not None)
    return active, deactivated


# --- against the sandbox ----------------------------------------------------------------------


def test_the_demo_key_is_valid_against_the_sandbox(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user, DEMO_API_KEY)

    integration = _validate(integration)

    assert integration.key_status == KeyStatus.VALID
    assert integration.key_checked_at is not None
    assert integration.last_success_at is not None
    checks = _checks(integration)
    for code in (
        "auth",
        "region",
        "read_users",
        "read_opportunities",
        "read_postings",
        "read_stages",
        "read_archive_reasons",
        "read_webhooks",
    ):
        assert checks[code]["ok"] is True, code
    for code in ("write_notes", "write_opportunities", "write_webhooks"):
        assert checks[code]["ok"] is None
        assert "Not checked until the first write" in checks[code]["message"]
    entry = AuditEntry.objects.filter(action=Action.API_KEY_VALIDATED).get()
    assert entry.actor is None
    assert entry.detail["api_key_last4"] == DEMO_API_KEY[-4:]


def test_a_key_without_a_needed_permission_is_invalid_and_names_it(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    key = lever_sandbox.create_api_key(
        [p for p in KARAT_PERMISSIONS if p != "postings:read:admin"], label="no postings"
    )
    set_key(integration, admin_user, key)

    integration = _validate(integration)

    assert integration.key_status == KeyStatus.INVALID
    checks = _checks(integration)
    assert checks["auth"]["ok"] is True
    assert checks["read_postings"]["ok"] is False
    assert "Missing" in checks["read_postings"]["message"]
    assert checks["read_opportunities"]["ok"] is True
    assert "Read postings" in _result(integration).summary
    rejected = AuditEntry.objects.get(action=Action.API_KEY_REJECTED)
    assert rejected.detail["checks"] == ["read_postings"]
    assert key not in integration.last_error


def test_a_key_lever_does_not_know_is_invalid_and_blames_key_or_region(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user, API_KEY)

    integration = _validate(integration)

    assert integration.key_status == KeyStatus.INVALID
    checks = _checks(integration)
    assert checks["auth"]["ok"] is False
    assert checks["region"]["ok"] is False
    assert "wrong region or bad key" in checks["region"]["message"]
    assert checks["read_postings"]["ok"] is None


def test_an_active_user_id_passes_and_a_deactivated_or_unknown_one_fails(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    active, deactivated = _users()
    outcomes = {}
    for user_id in (active, deactivated, "00000000-0000-4000-8000-000000000000"):
        lifecycle.integration_settings_update(
            integration=integration,
            actor=admin_user,
            api_key=DEMO_API_KEY,
            ats_user_id=user_id,
            region=Region.US,
        )
        integration = _validate(integration)
        outcomes[user_id] = (integration.key_status, _checks(integration)["user_id"])

    assert outcomes[active][0] == KeyStatus.VALID
    assert outcomes[active][1]["ok"] is True
    assert outcomes[deactivated][0] == KeyStatus.INVALID
    assert "deactivated" in outcomes[deactivated][1]["message"]
    assert outcomes["00000000-0000-4000-8000-000000000000"][1]["message"] == (
        "No Lever user has this User ID."
    )


def test_a_user_id_cannot_be_checked_without_the_users_permission(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    key = lever_sandbox.create_api_key(
        [p for p in KARAT_PERMISSIONS if p != "users:read:admin"], label="no users"
    )
    lifecycle.integration_settings_update(
        integration=integration,
        actor=admin_user,
        api_key=key,
        ats_user_id=_users()[0],
        region=Region.US,
    )

    integration = _validate(integration)

    checks = _checks(integration)
    assert checks["auth"]["ok"] is True  # a 403 still proves Lever knows the key
    assert checks["read_users"]["ok"] is False
    assert checks["user_id"]["ok"] is False
    assert "Read users" in checks["user_id"]["message"]


def test_lever_unreachable_is_reported_as_unreachable(
    settings: Any, integration: AtsIntegration, admin_user: User
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.LEVER_API_BASE_URL = f"http://127.0.0.1:{port}/v1"
    set_key(integration, admin_user, API_KEY)

    integration = _validate(integration)

    assert integration.key_status == KeyStatus.UNREACHABLE
    assert _checks(integration)["reachable"]["ok"] is False
    assert not AuditEntry.objects.filter(
        action__in=[Action.API_KEY_VALIDATED, Action.API_KEY_REJECTED]
    ).exists()


def test_a_401_from_another_host_lever_redirected_to_is_never_the_keys_fault(
    lever_sandbox: SandboxServer,
    other_host: SandboxServer,
    integration: AtsIntegration,
    admin_user: User,
) -> None:
    set_key(integration, admin_user, DEMO_API_KEY)
    assert _validate(integration).key_status == KeyStatus.VALID
    # Lever's host answers 302 to another host, which answers 401 to anything.
    lever_sandbox.set_faults(redirect_to=other_host.url)

    keys.api_key_check_request(integration=integration, actor=admin_user)  # "Check again"
    integration = _validate(integration)

    assert integration.key_status == KeyStatus.UNREACHABLE  # not a verdict on the key
    assert integration.api_key == DEMO_API_KEY
    reachable = _checks(integration)["reachable"]
    assert reachable["ok"] is False
    assert "127.0.0.2" in reachable["message"]
    assert "redirect" in reachable["message"]
    assert "auth" not in _checks(integration)
    assert "rejected" not in integration.last_error
    assert not AuditEntry.objects.filter(action=Action.API_KEY_REJECTED).exists()
    assert other_host.api_log() == []  # never followed: nothing (no key) went to the other host


def test_replacing_a_working_key_with_a_bad_one_keeps_the_old_key(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user, DEMO_API_KEY)
    integration = _validate(integration)
    assert integration.key_status == KeyStatus.VALID

    set_key(integration, admin_user, API_KEY)
    integration = _validate(integration)

    assert integration.api_key == DEMO_API_KEY
    assert integration.key_status == KeyStatus.VALID
    assert integration.pending_api_key == ""
    rejected_check = latest_check(integration, KeyCheck.Subject.PENDING)
    assert rejected_check.api_key_last4 == API_KEY[-4:]
    assert rejected_check.outcome == KeyCheck.Outcome.INVALID
    entry = AuditEntry.objects.get(action=Action.API_KEY_REJECTED)
    assert "still using ••••" + DEMO_API_KEY[-4:] in entry.summary
    assert API_KEY[-4:] in entry.summary


def test_replacing_a_working_key_with_a_good_one_swaps_them(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user, DEMO_API_KEY)
    _validate(integration)
    new_key = lever_sandbox.create_api_key(list(KARAT_PERMISSIONS), label="replacement")

    set_key(integration, admin_user, new_key)
    integration.refresh_from_db()
    assert integration.api_key == DEMO_API_KEY  # the old key works until the new one passes
    integration = _validate(integration)

    assert integration.api_key == new_key
    assert integration.api_key_last4 == new_key[-4:]
    assert integration.pending_api_key == ""
    assert integration.key_status == KeyStatus.VALID
    swap = AuditEntry.objects.filter(action=Action.API_KEY_VALIDATED).first()
    assert swap is not None
    assert f"••••{new_key[-4:]} replaced ••••{DEMO_API_KEY[-4:]}" in swap.summary


def test_a_pending_key_lever_cannot_be_asked_about_keeps_waiting(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user, DEMO_API_KEY)
    _validate(integration)
    set_key(integration, admin_user, API_KEY)
    lever_sandbox.set_faults(error_rates={"503": 1.0})

    integration = _validate(integration)

    assert integration.api_key == DEMO_API_KEY
    assert integration.pending_api_key == API_KEY
    assert latest_check(integration, "pending").outcome == KeyCheck.Outcome.UNREACHABLE


def test_a_stale_check_never_overwrites_a_newer_key(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user, API_KEY)
    integration.refresh_from_db()
    first = latest_check(integration)
    result = keys.api_key_check(integration=integration, api_key=API_KEY)
    # Meanwhile the admin pasted the demo key (which is what is stored now).
    set_key(integration, admin_user, DEMO_API_KEY)

    applied = keys.key_check_result_apply(check=first, result=result)

    assert applied == keys.KeyCheckApplied.STALE
    integration.refresh_from_db()
    assert integration.api_key == DEMO_API_KEY
    assert integration.key_status == KeyStatus.CHECKING
    first.refresh_from_db()
    assert first.finished_at is None  # its result never landed


def test_a_result_for_a_superseded_check_of_the_same_key_never_lands(
    integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user, API_KEY)
    first = latest_check(integration)
    keys.api_key_check_request(integration=integration, actor=admin_user)  # "Check again"
    passed = ats.KeyCheckResult(ats.KeyCheckStatus.VALID, (), ats_label="Lever")

    assert keys.key_check_result_apply(check=first, result=passed) == keys.KeyCheckApplied.STALE
    newer = latest_check(integration)
    assert keys.key_check_result_apply(check=newer, result=passed) == (
        keys.KeyCheckApplied.RECORDED
    )
    integration.refresh_from_db()
    assert integration.key_status == KeyStatus.VALID


def test_running_the_check_twice_is_harmless(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user, DEMO_API_KEY)
    _validate(integration)
    set_key(integration, admin_user, lever_sandbox.create_api_key(list(KARAT_PERMISSIONS)))

    _validate(integration)
    integration = _validate(integration)

    assert integration.key_status == KeyStatus.VALID
    assert AuditEntry.objects.filter(action=Action.API_KEY_VALIDATED).count() == 2


def test_the_task_tolerates_a_deleted_integration(integration: AtsIntegration) -> None:
    pk = integration.pk
    integration.delete()

    assert tasks.api_key_validate(pk) is None


def test_an_integration_without_a_key_is_left_alone(integration: AtsIntegration) -> None:
    assert tasks.api_key_validate(integration.pk) == KeyStatus.NOT_SET


# --- error paths with responses ----------------------------------------------------------------

BASE = "https://lever.test/v1"


@pytest.fixture
def fake_lever(settings: Any) -> Any:
    settings.LEVER_API_BASE_URL = BASE
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def _ok_everywhere(rsps: Any, **overrides: tuple[int, Any]) -> None:
    for path in ("users", "opportunities", "postings", "stages", "archive_reasons", "webhooks"):
        status, body = overrides.get(path, (200, {"data": [], "hasNext": False}))
        rsps.get(f"{BASE}/{path}", status=status, json=body)


def test_the_check_sends_the_key_as_basic_auth_and_only_reads(
    fake_lever: Any, integration: AtsIntegration, admin_user: User
) -> None:
    _ok_everywhere(fake_lever)
    set_key(integration, admin_user, API_KEY)

    integration = _validate(integration)

    assert integration.key_status == KeyStatus.VALID
    assert {call.request.method for call in fake_lever.calls} == {"GET"}
    expected = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
    assert all(call.request.headers["Authorization"] == expected for call in fake_lever.calls)


def test_a_lever_server_error_is_unreachable_not_invalid(
    fake_lever: Any, integration: AtsIntegration, admin_user: User
) -> None:
    _ok_everywhere(fake_lever, postings=(500, {"code": "InternalServerError", "message": "x"}))
    set_key(integration, admin_user, API_KEY)

    integration = _validate(integration)

    assert integration.key_status == KeyStatus.UNREACHABLE
    assert "Try again" in _checks(integration)["reachable"]["message"]


def test_a_forbidden_webhooks_list_is_a_missing_permission(
    fake_lever: Any, integration: AtsIntegration, admin_user: User
) -> None:
    _ok_everywhere(fake_lever, webhooks=(403, {"code": "ForbiddenError", "message": "nope"}))
    set_key(integration, admin_user, API_KEY)

    integration = _validate(integration)

    assert integration.key_status == KeyStatus.INVALID
    assert _checks(integration)["read_webhooks"]["ok"] is False


def test_a_host_that_is_not_lever_fails_the_region_check(
    fake_lever: Any, integration: AtsIntegration, admin_user: User
) -> None:
    _ok_everywhere(fake_lever, users=(404, {"message": "no such route"}))
    set_key(integration, admin_user, API_KEY)

    integration = _validate(integration)

    assert integration.key_status == KeyStatus.INVALID
    checks = _checks(integration)
    assert checks["region"]["ok"] is False
    assert checks["auth"]["ok"] is None


def test_an_echoed_key_in_a_lever_error_never_reaches_the_results(
    fake_lever: Any, integration: AtsIntegration, admin_user: User
) -> None:
    _ok_everywhere(
        fake_lever, users=(401, {"code": "UnauthorizedError", "message": f"bad key {API_KEY}"})
    )
    set_key(integration, admin_user, API_KEY)

    integration = _validate(integration)

    assert integration.key_status == KeyStatus.INVALID
    assert API_KEY not in str(list(KeyCheck.objects.values()))
    assert API_KEY not in integration.last_error


# --- a slow check racing a newer request --------------------------------------------------------

NEW_USER_ID = "8f3c2a4e-1b2c-4d5e-8f90-123456789abc"


def _change_user_id_during_first_call(
    rsps: Any, integration: AtsIntegration, admin_user: User
) -> None:
    """Lever answers /users normally, but while the first call is in flight the admin saves a
    new User ID (which queues a new check); that user does not exist in Lever."""
    calls = {"n": 0}

    def users(request: Any) -> tuple[int, dict[str, str], str]:
        calls["n"] += 1
        if calls["n"] == 1:
            lifecycle.integration_settings_update(
                integration=AtsIntegration.objects.get(pk=integration.pk),
                actor=admin_user,
                api_key=None,
                ats_user_id=NEW_USER_ID,
                region=Region.US,
            )
        return 200, {"Content-Type": "application/json"}, '{"data": [], "hasNext": false}'

    rsps.add_callback("GET", f"{BASE}/users", callback=users)
    rsps.get(f"{BASE}/users/{NEW_USER_ID}", status=404, json={"code": "NotFound"})
    for path in ("opportunities", "postings", "stages", "archive_reasons", "webhooks"):
        rsps.get(f"{BASE}/{path}", json={"data": [], "hasNext": False})


def test_a_check_overtaken_by_a_settings_change_writes_nothing_and_the_newer_check_decides(
    fake_lever: Any, integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user, API_KEY)
    _change_user_id_during_first_call(fake_lever, integration, admin_user)

    integration = _validate(integration)  # check A: started before the User ID change

    assert integration.ats_user_id == NEW_USER_ID
    assert integration.key_status == KeyStatus.CHECKING  # A's verdict was for the old User ID
    assert not AuditEntry.objects.filter(action=Action.API_KEY_VALIDATED).exists()

    integration = _validate(integration)  # check B: queued by the change, must not be skipped

    assert integration.key_status == KeyStatus.INVALID
    assert _checks(integration)["user_id"]["ok"] is False


def test_a_pending_key_check_overtaken_by_a_settings_change_does_not_promote_the_key(
    fake_lever: Any, integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user, API_KEY)
    mark_valid(integration)
    set_key(integration, admin_user, OTHER_KEY)
    _change_user_id_during_first_call(fake_lever, integration, admin_user)

    integration = _validate(integration)  # A checked the new key without the new User ID

    assert integration.api_key == API_KEY
    assert integration.pending_api_key == OTHER_KEY
    assert latest_check(integration, "pending").finished_at is None  # B's own check waits

    integration = _validate(integration)  # B checks with the User ID that is saved now

    assert integration.api_key == API_KEY
    assert integration.pending_api_key == ""
    rejected = latest_check(integration, "pending")
    assert (rejected.api_key_last4, rejected.outcome) == (OTHER_KEY[-4:], KeyCheck.Outcome.INVALID)


def test_every_check_request_adds_a_row_that_supersedes_the_last(
    keyed_integration: AtsIntegration, admin_user: User
) -> None:
    first = latest_check(keyed_integration)

    keys.api_key_check_request(integration=keyed_integration, actor=admin_user)

    newer = latest_check(keyed_integration)
    assert newer.pk > first.pk
    assert (newer.requested_by, newer.api_key_last4) == (admin_user, API_KEY[-4:])
    assert newer.api_key_fingerprint == audit.api_key_fingerprint(API_KEY)
    assert KeyCheck.objects.filter(integration=keyed_integration).count() == 2


# --- a check never stays "checking" forever ------------------------------------------------------


def test_hitting_the_soft_time_limit_records_unreachable_with_a_clear_message(
    fake_lever: Any, integration: AtsIntegration, admin_user: User
) -> None:
    # Celery raises SoftTimeLimitExceeded in the middle of whatever runs: here, an HTTP call.
    _ok_everywhere(fake_lever, postings=(200, None))
    fake_lever.replace("GET", f"{BASE}/postings", body=SoftTimeLimitExceeded())
    set_key(integration, admin_user, API_KEY)

    integration = _validate(integration)

    assert integration.key_status == KeyStatus.UNREACHABLE
    assert "took too long" in _checks(integration)["reachable"]["message"]
    assert "took too long" in integration.last_error


def test_a_check_over_its_time_budget_stops_and_says_it_took_too_long(
    fake_lever: Any,
    integration: AtsIntegration,
    admin_user: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _ok_everywhere(fake_lever)
    monkeypatch.setattr(keys, "KEY_CHECK_BUDGET_SECONDS", -1.0)
    set_key(integration, admin_user, API_KEY)

    integration = _validate(integration)

    assert integration.key_status == KeyStatus.UNREACHABLE
    assert "took too long" in _checks(integration)["reachable"]["message"]
    assert len(fake_lever.calls) == 0


def test_the_check_uses_short_timeouts_and_one_retry(
    fake_lever: Any, integration: AtsIntegration, admin_user: User, settings: Any
) -> None:
    settings.LEVER_READ_TIMEOUT = 30.0
    _ok_everywhere(fake_lever, postings=(503, {"code": "ServiceUnavailable"}))
    set_key(integration, admin_user, API_KEY)

    integration = _validate(integration)

    assert integration.key_status == KeyStatus.UNREACHABLE
    assert all(call.request.req_kwargs["timeout"][1] <= 10 for call in fake_lever.calls)
    assert sum("/postings" in call.request.url for call in fake_lever.calls) == 2


def _age(integration: AtsIntegration, minutes: int) -> None:
    KeyCheck.objects.filter(integration=integration).update(
        requested_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_a_check_stuck_in_checking_is_queued_again_then_given_up(
    keyed_integration: AtsIntegration,
    django_capture_on_commit_callbacks: Any,
    memory_broker: Any,
) -> None:
    assert keyed_integration.key_status == KeyStatus.CHECKING
    for attempt in range(1, keys.KEY_CHECK_MAX_RESUMES + 1):
        _age(keyed_integration, 11)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            assert tasks.api_key_checks_resume() == 1
        assert len(callbacks) == 1
        with memory_broker.connection_for_read() as connection:
            message = connection.SimpleQueue("urgent").get(timeout=2)
            message.ack()
        assert message.headers["task"] == "integrations.tasks.api_key_validate"
        keyed_integration.refresh_from_db()
        assert keyed_integration.key_status == KeyStatus.CHECKING
        resumed = latest_check(keyed_integration)
        assert (resumed.attempt, resumed.requested_by) == (attempt + 1, None)
        assert selectors.key_check_view(integration=keyed_integration)["in_progress"] is True

    _age(keyed_integration, 11)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert tasks.api_key_checks_resume() == 1

    assert callbacks == []
    keyed_integration.refresh_from_db()
    assert keyed_integration.key_status == KeyStatus.UNREACHABLE
    assert "did not finish" in _checks(keyed_integration)["reachable"]["message"]
    assert "did not finish" in keyed_integration.last_error
    assert tasks.api_key_checks_resume() == 0  # nothing left "checking"


def test_a_lost_check_shows_as_not_finished_until_it_is_resumed(
    keyed_integration: AtsIntegration,
) -> None:
    _age(keyed_integration, 11)

    view = selectors.key_check_view(integration=keyed_integration)

    assert (view["in_progress"], view["stuck"]) == (False, True)


def test_a_straggler_of_a_resumed_check_does_not_land(
    keyed_integration: AtsIntegration, django_capture_on_commit_callbacks: Any
) -> None:
    lost = latest_check(keyed_integration)
    _age(keyed_integration, 11)
    with django_capture_on_commit_callbacks():
        assert tasks.api_key_checks_resume() == 1
    failed = ats.KeyCheckResult(ats.KeyCheckStatus.INVALID, (), ats_label="Lever")

    assert keys.key_check_result_apply(check=lost, result=failed) == keys.KeyCheckApplied.STALE
    keyed_integration.refresh_from_db()
    assert keyed_integration.key_status == KeyStatus.CHECKING


def test_a_recent_or_finished_check_is_not_resumed(
    keyed_integration: AtsIntegration, integration: AtsIntegration
) -> None:
    _age(keyed_integration, 5)
    assert tasks.api_key_checks_resume() == 0

    mark_valid(keyed_integration)
    _age(keyed_integration, 60)
    assert tasks.api_key_checks_resume() == 0


def test_a_stuck_pending_key_check_is_queued_again(
    keyed_integration: AtsIntegration,
    admin_user: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    mark_valid(keyed_integration)
    set_key(keyed_integration, admin_user, OTHER_KEY)
    _age(keyed_integration, 11)

    with django_capture_on_commit_callbacks() as callbacks:
        assert tasks.api_key_checks_resume() == 1

    assert len(callbacks) == 1
    keyed_integration.refresh_from_db()
    assert keyed_integration.key_status == KeyStatus.VALID  # the working key is untouched
    assert latest_check(keyed_integration, "pending").attempt == 2


def test_the_resume_task_runs_every_five_minutes(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["integrations-key-checks-resume"]
    assert entry["task"] == tasks.api_key_checks_resume.name
    assert entry["schedule"] == 300.0


# --- the key works in another region (issue 10, item 14) --------------------------------------

US = "https://api.lever.co/v1"
EU = "https://api.eu.lever.co/v1"
SANDBOX = "https://api.sandbox.lever.co/v1"
REFUSED = (401, {"code": "UnauthorizedError", "message": "Invalid API key"})


@pytest.fixture
def real_hosts(settings: Any) -> Any:
    """Fakes of Lever's real hosts; no local-sandbox override (it serves every region)."""
    settings.LEVER_API_BASE_URL = ""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def _host(rsps: Any, base: str, status: int, body: Any) -> None:
    for path in ("users", "opportunities", "postings", "stages", "archive_reasons", "webhooks"):
        rsps.get(f"{base}/{path}", status=status, json=body)


def test_a_key_refused_in_us_but_accepted_in_eu_suggests_eu(
    real_hosts: Any, integration: AtsIntegration, admin_user: User
) -> None:
    _host(real_hosts, US, *REFUSED)
    _host(real_hosts, EU, 200, {"data": [], "hasNext": False})
    _host(real_hosts, SANDBOX, *REFUSED)
    set_key(integration, admin_user, API_KEY)

    integration = _validate(integration)

    assert integration.key_status == KeyStatus.INVALID  # it does not work where it is set up
    region = _checks(integration)["region"]
    assert region["ok"] is False
    assert region["suggested_region"] == "eu"
    assert "api.eu.lever.co (EU) does" in region["message"]
    assert "Switch the region to EU" in region["message"]
    # One cheap GET on the EU host, never a write, and never more than one per other host.
    eu_calls = [c for c in real_hosts.calls if c.request.url.startswith(EU)]
    assert [c.request.method for c in eu_calls] == ["GET"]
    assert len([c for c in real_hosts.calls if c.request.url.startswith(SANDBOX)]) <= 1


def test_a_key_known_but_short_of_a_permission_in_eu_still_suggests_eu(
    real_hosts: Any, integration: AtsIntegration, admin_user: User
) -> None:
    _host(real_hosts, US, *REFUSED)
    _host(real_hosts, EU, 403, {"code": "ForbiddenError", "message": "nope"})
    _host(real_hosts, SANDBOX, *REFUSED)
    set_key(integration, admin_user, API_KEY)

    integration = _validate(integration)

    assert _checks(integration)["region"]["suggested_region"] == "eu"


def test_a_key_refused_everywhere_suggests_no_region(
    real_hosts: Any, integration: AtsIntegration, admin_user: User
) -> None:
    for base in (US, EU, SANDBOX):
        _host(real_hosts, base, *REFUSED)
    set_key(integration, admin_user, API_KEY)

    integration = _validate(integration)

    region = _checks(integration)["region"]
    assert region["ok"] is False
    assert region["suggested_region"] == ""
    assert "wrong region or bad key" in region["message"]


def test_a_working_key_asks_no_other_region(
    real_hosts: Any, integration: AtsIntegration, admin_user: User
) -> None:
    _host(real_hosts, US, 200, {"data": [], "hasNext": False})
    set_key(integration, admin_user, API_KEY)

    integration = _validate(integration)

    assert integration.key_status == KeyStatus.VALID
    assert all(c.request.url.startswith(US) for c in real_hosts.calls)
    assert _checks(integration)["region"]["suggested_region"] == ""


def test_with_one_host_for_every_region_no_other_region_is_asked(
    fake_lever: Any, integration: AtsIntegration, admin_user: User
) -> None:
    # The local sandbox (LEVER_API_BASE_URL) answers for every region: asking again is useless.
    _ok_everywhere(fake_lever, users=REFUSED)
    set_key(integration, admin_user, API_KEY)

    integration = _validate(integration)

    assert _checks(integration)["region"]["suggested_region"] == ""
    assert len([c for c in fake_lever.calls if c.request.url.endswith("/users")]) == 1


def test_a_rejected_key_leaves_no_trace_once_a_valid_key_replaced_it_and_was_checked_again(
    lever_sandbox: SandboxServer, integration: AtsIntegration, admin_user: User
) -> None:
    # Issue #10: key A (rejected by the sandbox), then key B (valid), then "Check again".
    set_key(integration, admin_user, DEMO_API_KEY)
    _validate(integration)
    set_key(integration, admin_user, API_KEY)
    integration = _validate(integration)
    assert selectors.key_check_view(integration=integration)["rejected"]["last4"] == API_KEY[-4:]
    key_b = lever_sandbox.create_api_key(list(KARAT_PERMISSIONS), label="B")

    set_key(integration, admin_user, key_b)
    integration = _validate(integration)
    keys.api_key_check_request(integration=integration, actor=admin_user)
    integration = _validate(integration)

    view = selectors.key_check_view(integration=integration)
    assert integration.api_key == key_b
    assert integration.key_status == KeyStatus.VALID
    assert view["rejected"] is None
    assert view["pending"] is None
    assert view["current"]["last4"] == key_b[-4:]
    assert view["current"]["status"] == KeyStatus.VALID
