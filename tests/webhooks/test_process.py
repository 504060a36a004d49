"""Processing: claim, re-fetch from the Lever sandbox, apply; retries, dead letters, sweeper, prune."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import requests
import time_machine
from django.db import DatabaseError, connection
from django.utils import timezone

from integrations.lever.adapter import WebhookEvent
from integrations.lever.sandbox import SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity_ids
from integrations.models import AtsIntegration, IntegrationStatus, OpportunityLink
from karatlever.hiring.models import Candidacy, CandidacyEvent
from karatlever.hiring.services import AtsState, candidacy_ats_state_apply
from tests.factories import CandidacyFactory, RoleFactory
from webhooks.models import WebhookDelivery
from webhooks.services import intake, processing

from .conftest import make_delivery

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status
OPPORTUNITY_ID = demo_opportunity_ids(1)[0]
HIRED_REASON_TEXT = "Hired"


def _link(integration: AtsIntegration, lever: SandboxServer, opportunity_id: str) -> Candidacy:
    candidacy = CandidacyFactory(role=RoleFactory(group=integration.group))
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id=opportunity_id,
        contact_id=lever.opportunity(opportunity_id)["contact"],
    )
    return candidacy


@pytest.fixture
def candidacy(sandbox_integration: AtsIntegration, lever: SandboxServer) -> Candidacy:
    return _link(sandbox_integration, lever, OPPORTUNITY_ID)


def record(
    integration: AtsIntegration,
    event: str = WebhookEvent.CANDIDATE_STAGE_CHANGE,
    opportunity_id: str = OPPORTUNITY_ID,
    **kwargs: Any,
) -> int:
    result = intake.delivery_record(
        integration_public_id=integration.public_id,
        body=make_delivery(event, opportunity_id=opportunity_id, **kwargs),
    )
    assert result.outcome == intake.Outcome.ACCEPTED
    assert result.delivery_id is not None
    return result.delivery_id


def _reason_id(lever: SandboxServer, *, hired: bool) -> str:
    wanted = "hired" if hired else "non-hired"
    return next(
        r["id"]
        for r in lever.sandbox.archive_reasons()
        if r["type"] == wanted and r["status"] == "active"
    )


def _kinds(candidacy: Candidacy) -> list[str]:
    return list(candidacy.events.order_by("id").values_list("kind", flat=True))


# --- applying Lever's state -----------------------------------------------------------------


def test_stage_change_applies_lever_stage_id_and_name(
    sandbox_integration: AtsIntegration, lever: SandboxServer, candidacy: Candidacy
) -> None:
    lever.move_stage(OPPORTUNITY_ID, "offer")
    delivery_id = record(sandbox_integration)

    status = processing.delivery_process(delivery_id=delivery_id)

    candidacy.refresh_from_db()
    assert status == Status.PROCESSED
    assert (candidacy.ats_stage_id, candidacy.ats_stage_name) == ("offer", "Offer")
    assert candidacy.ats_state_version == lever.opportunity(OPPORTUNITY_ID)["updatedAt"]
    assert _kinds(candidacy) == [CandidacyEvent.Kind.ATS_STAGE_CHANGED]
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.attempts == 1
    assert "Offer" in delivery.outcome
    assert delivery.processed_at is not None
    event = candidacy.events.get()
    assert event.source == CandidacyEvent.Source.ATS
    assert event.detail["origin"] == {
        "via": "webhook",
        "event": "candidateStageChange",
        "delivery_id": delivery_id,
    }


def test_archive_change_applies_reason_and_its_type(
    sandbox_integration: AtsIntegration, lever: SandboxServer, candidacy: Candidacy
) -> None:
    reason = _reason_id(lever, hired=False)
    lever.archive(OPPORTUNITY_ID, reason)
    delivery_id = record(sandbox_integration, WebhookEvent.CANDIDATE_ARCHIVE_CHANGE)

    processing.delivery_process(delivery_id=delivery_id)

    candidacy.refresh_from_db()
    assert candidacy.ats_archived is True
    assert candidacy.ats_archive_reason_id == reason
    archive_reason = lever.sandbox.store.doc("archive_reasons", reason)
    assert archive_reason is not None
    assert candidacy.ats_archive_reason_name == archive_reason["text"]
    assert candidacy.ats_archive_reason_hired is False
    assert candidacy.ats_hired is False
    assert CandidacyEvent.Kind.ATS_ARCHIVED in _kinds(candidacy)


def test_hired_delivery_marks_the_candidacy_hired(
    sandbox_integration: AtsIntegration, lever: SandboxServer, candidacy: Candidacy
) -> None:
    lever.hire(OPPORTUNITY_ID)
    delivery_id = record(sandbox_integration, WebhookEvent.CANDIDATE_HIRED)

    processing.delivery_process(delivery_id=delivery_id)

    candidacy.refresh_from_db()
    assert candidacy.ats_hired is True
    assert candidacy.ats_archive_reason_hired is True
    assert candidacy.ats_archive_reason_name == HIRED_REASON_TEXT
    assert _kinds(candidacy)[-2:] == [
        CandidacyEvent.Kind.ATS_ARCHIVED,
        CandidacyEvent.Kind.ATS_HIRED,
    ]


def test_unarchive_clears_the_archived_state(
    sandbox_integration: AtsIntegration, lever: SandboxServer, candidacy: Candidacy
) -> None:
    lever.archive(OPPORTUNITY_ID, _reason_id(lever, hired=False))
    processing.delivery_process(
        delivery_id=record(sandbox_integration, WebhookEvent.CANDIDATE_ARCHIVE_CHANGE)
    )
    lever.unarchive(OPPORTUNITY_ID)

    processing.delivery_process(
        delivery_id=record(sandbox_integration, WebhookEvent.CANDIDATE_ARCHIVE_CHANGE)
    )

    candidacy.refresh_from_db()
    assert candidacy.ats_archived is False
    assert candidacy.ats_archive_reason_id == ""
    assert _kinds(candidacy)[-1] == CandidacyEvent.Kind.ATS_UNARCHIVED


def test_processing_twice_has_one_effect(
    sandbox_integration: AtsIntegration, lever: SandboxServer, candidacy: Candidacy
) -> None:
    lever.move_stage(OPPORTUNITY_ID, "offer")
    delivery_id = record(sandbox_integration)

    first = processing.delivery_process(delivery_id=delivery_id)
    second = processing.delivery_process(delivery_id=delivery_id)

    assert (first, second) == (Status.PROCESSED, None)
    assert candidacy.events.count() == 1
    assert WebhookDelivery.objects.get(pk=delivery_id).attempts == 1


def test_deliveries_processed_out_of_order_end_in_lever_state(
    sandbox_integration: AtsIntegration, lever: SandboxServer, candidacy: Candidacy
) -> None:
    ids = []
    for stage in ("applicant-new", "offer"):
        lever.move_stage(OPPORTUNITY_ID, stage)
        ids.append(record(sandbox_integration))
    reason = _reason_id(lever, hired=False)
    lever.archive(OPPORTUNITY_ID, reason)
    ids.append(record(sandbox_integration, WebhookEvent.CANDIDATE_ARCHIVE_CHANGE))

    for delivery_id in reversed(ids):
        processing.delivery_process(delivery_id=delivery_id)

    candidacy.refresh_from_db()
    lever_now = lever.opportunity(OPPORTUNITY_ID)
    assert candidacy.ats_stage_id == lever_now["stage"] == "offer"
    assert candidacy.ats_archived is True
    assert candidacy.ats_archive_reason_id == lever_now["archived"]["reason"]
    # Lever's final state was applied once; the older deliveries changed nothing.
    assert sorted(_kinds(candidacy)) == sorted(
        [CandidacyEvent.Kind.ATS_STAGE_CHANGED, CandidacyEvent.Kind.ATS_ARCHIVED]
    )
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {Status.PROCESSED}


def test_older_lever_state_never_overwrites_newer_state(
    sandbox_integration: AtsIntegration, lever: SandboxServer, candidacy: Candidacy
) -> None:
    lever.move_stage(OPPORTUNITY_ID, "offer")
    newer = lever.opportunity(OPPORTUNITY_ID)["updatedAt"] + 60_000
    candidacy_ats_state_apply(
        candidacy=candidacy,
        state=AtsState(stage_id="lead-new", stage_name="New lead", archived=False, version=newer),
    )
    delivery_id = record(sandbox_integration)

    processing.delivery_process(delivery_id=delivery_id)

    candidacy.refresh_from_db()
    assert candidacy.ats_stage_id == "lead-new"
    assert candidacy.ats_state_version == newer
    assert WebhookDelivery.objects.get(pk=delivery_id).outcome.startswith("Skipped")


# --- ignored --------------------------------------------------------------------------------


def test_delivery_for_an_opportunity_without_a_candidacy_is_ignored_without_calling_lever(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    delivery_id = record(sandbox_integration, opportunity_id="not-linked-anywhere")
    before = sum(lever.request_stats().values())

    status = processing.delivery_process(delivery_id=delivery_id)

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert status == Status.IGNORED
    assert delivery.outcome == "No linked Karat candidacy"
    assert sum(lever.request_stats().values()) == before


def test_linked_opportunity_deleted_in_lever_is_ignored(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = _link(sandbox_integration, lever, demo_opportunity_ids(2)[1])
    OpportunityLink.objects.filter(candidacy=candidacy).update(
        opportunity_id="00000000-0000-4000-8000-000000000000"
    )
    delivery_id = record(sandbox_integration, opportunity_id="00000000-0000-4000-8000-000000000000")

    assert processing.delivery_process(delivery_id=delivery_id) == Status.IGNORED
    assert "not found" in WebhookDelivery.objects.get(pk=delivery_id).outcome
    assert candidacy.events.count() == 0


def test_deleted_delivery_is_a_no_op(sandbox_integration: AtsIntegration) -> None:
    assert processing.delivery_process(delivery_id=987654) is None


# --- errors and retries ---------------------------------------------------------------------


def test_transient_lever_error_schedules_a_retry_then_succeeds(
    sandbox_integration: AtsIntegration, lever: SandboxServer, candidacy: Candidacy
) -> None:
    lever.move_stage(OPPORTUNITY_ID, "offer")
    delivery_id = record(sandbox_integration)
    lever.set_faults(fail_next=[503, 503, 503, 503])

    status = processing.delivery_process(delivery_id=delivery_id)

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert status == Status.RETRY
    assert delivery.status == Status.RETRY
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at > timezone.now()
    assert "503" in delivery.error
    assert processing.delivery_process(delivery_id=delivery_id) is None  # not due yet
    lever.reset_faults()

    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1)):
        status = processing.delivery_process(delivery_id=delivery_id)

    delivery.refresh_from_db()
    assert status == Status.PROCESSED
    assert delivery.attempts == 2
    assert candidacy.events.count() == 1


def test_a_429_with_a_two_minute_retry_after_waits_in_the_row_not_in_a_worker(
    sandbox_integration: AtsIntegration,
    lever: SandboxServer,
    candidacy: Candidacy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue #9: Retry-After was cut to 60 s, so the next attempt landed inside Lever's penalty.
    delivery_id = record(sandbox_integration)
    lever.set_faults(fail_next=[429], retry_after=120)
    sleeps: list[float] = []
    monkeypatch.setattr("integrations.lever.client.time.sleep", sleeps.append)
    before = timezone.now()
    started = time.monotonic()

    status = processing.delivery_process(delivery_id=delivery_id)

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert status == Status.RETRY
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at >= before + timedelta(seconds=120)
    assert "slow down" in delivery.error
    assert sleeps == []
    assert time.monotonic() - started < 5
    with time_machine.travel(before + timedelta(seconds=119)):
        assert processing.delivery_process(delivery_id=delivery_id) is None  # not due yet
    assert candidacy.events.count() == 0


def _status_settled(integration: AtsIntegration) -> None:
    """As if the status snapshot had been computed since the last request."""
    IntegrationStatus.objects.filter(integration=integration).update(
        requested_at=None, request_reason=""
    )


def _status_reason(integration: AtsIntegration) -> str | None:
    snapshot = IntegrationStatus.objects.filter(integration=integration).first()
    return snapshot.request_reason if snapshot and snapshot.pending else None


FAILED_REASON = "A webhook delivery could not be processed"


def test_delivery_is_dead_after_max_attempts(
    sandbox_integration: AtsIntegration, lever: SandboxServer, candidacy: Candidacy, settings: Any
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    delivery_id = record(sandbox_integration)
    lever.set_faults(error_rates={"500": 1.0})
    _status_settled(sandbox_integration)

    first = processing.delivery_process(delivery_id=delivery_id)
    assert _status_reason(sandbox_integration) is None  # a retry changes no check
    due = WebhookDelivery.objects.get(pk=delivery_id).next_attempt_at
    assert due is not None
    with time_machine.travel(due + timedelta(seconds=1)):
        second = processing.delivery_process(delivery_id=delivery_id)

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (first, second) == (Status.RETRY, Status.DEAD)
    assert delivery.status == Status.DEAD
    assert delivery.attempts == 2
    assert candidacy.events.count() == 0
    # The status page's "Processing (last 24 hours)" check counts dead deliveries.
    assert _status_reason(sandbox_integration) == FAILED_REASON


def test_rejected_api_key_fails_the_delivery_and_records_the_integration_error(
    sandbox_integration: AtsIntegration, lever: SandboxServer, candidacy: Candidacy
) -> None:
    delivery_id = record(sandbox_integration)
    lever.set_faults(fail_next=[401])

    status = processing.delivery_process(delivery_id=delivery_id)

    sandbox_integration.refresh_from_db()
    assert status == Status.FAILED
    assert "401" in WebhookDelivery.objects.get(pk=delivery_id).error
    assert "API key" in sandbox_integration.last_error
    assert sandbox_integration.last_error_at is not None
    assert sandbox_integration.api_key not in sandbox_integration.last_error


def test_disabled_integration_is_not_processed(
    sandbox_integration: AtsIntegration, lever: SandboxServer, candidacy: Candidacy
) -> None:
    delivery_id = record(sandbox_integration)
    AtsIntegration.objects.filter(pk=sandbox_integration.pk).update(enabled=False)

    assert processing.delivery_process(delivery_id=delivery_id) == Status.IGNORED
    assert candidacy.events.count() == 0


# --- sweeper, replay, prune -----------------------------------------------------------------


def test_sweeper_frees_a_killed_workers_claim_and_the_delivery_is_processed_once(
    sandbox_integration: AtsIntegration, lever: SandboxServer, candidacy: Candidacy
) -> None:
    lever.move_stage(OPPORTUNITY_ID, "offer")
    delivery_id = record(sandbox_integration)
    # A worker claimed it, then died.
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=Status.PROCESSING, attempts=1, claimed_at=timezone.now() - timedelta(minutes=10)
    )

    assert processing.delivery_process(delivery_id=delivery_id) is None  # still claimed
    result = processing.delivery_sweep()
    status = processing.delivery_process(delivery_id=delivery_id)

    assert result.reclaimed == 1
    assert delivery_id in result.requeued
    assert status == Status.PROCESSED
    assert candidacy.events.count() == 1
    assert WebhookDelivery.objects.get(pk=delivery_id).attempts == 2


def test_a_claim_older_than_twice_the_hard_time_limit_is_taken_back_a_younger_one_is_not(
    sandbox_integration: AtsIntegration, settings: Any
) -> None:
    # Issue #9: a SIGKILLed worker's claims waited 300 s; no live task holds one past the
    # hard time limit, so the default is twice that limit (90 s -> 180 s).
    assert settings.WEBHOOK_CLAIM_TIMEOUT_SECONDS == 2 * settings.CELERY_TASK_TIME_LIMIT
    timeout = timedelta(seconds=settings.WEBHOOK_CLAIM_TIMEOUT_SECONDS)
    now = timezone.now()
    stale = record(sandbox_integration)
    young = record(sandbox_integration)
    for delivery_id, claimed_at in (
        (stale, now - timeout - timedelta(seconds=1)),
        (young, now - timeout + timedelta(seconds=1)),  # past the hard limit, not the timeout
    ):
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=Status.PROCESSING, attempts=1, claimed_at=claimed_at
        )

    result = processing.delivery_sweep(now=now)

    assert result.reclaimed == 1
    assert WebhookDelivery.objects.get(pk=stale).status == Status.RETRY
    assert WebhookDelivery.objects.get(pk=young).status == Status.PROCESSING
    assert stale in result.requeued
    assert young not in result.requeued


def test_sweeper_dead_letters_a_claim_that_used_all_attempts(
    sandbox_integration: AtsIntegration, settings: Any
) -> None:
    delivery_id = record(sandbox_integration)
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=Status.PROCESSING,
        attempts=settings.WEBHOOK_MAX_ATTEMPTS,
        claimed_at=timezone.now() - timedelta(hours=1),
    )
    _status_settled(sandbox_integration)

    result = processing.delivery_sweep()

    assert result.dead == 1
    assert WebhookDelivery.objects.get(pk=delivery_id).status == Status.DEAD
    assert _status_reason(sandbox_integration) == FAILED_REASON


def test_sweeper_leaves_fresh_deliveries_to_the_normal_enqueue(
    sandbox_integration: AtsIntegration,
) -> None:
    record(sandbox_integration)

    assert processing.delivery_sweep().requeued == []


def test_replay_processes_a_finished_delivery_again(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    delivery_id = record(sandbox_integration)
    assert processing.delivery_process(delivery_id=delivery_id) == Status.IGNORED
    # The opportunity gets linked afterwards (e.g. invited from its Lever URL).
    candidacy = _link(sandbox_integration, lever, OPPORTUNITY_ID)
    lever.move_stage(OPPORTUNITY_ID, "offer")
    delivery = WebhookDelivery.objects.get(pk=delivery_id)

    assert processing.delivery_replay(delivery=delivery) is True
    status = processing.delivery_process(delivery_id=delivery_id)

    delivery.refresh_from_db()
    assert status == Status.PROCESSED
    assert delivery.attempts == 1
    candidacy.refresh_from_db()
    assert candidacy.ats_stage_id == "offer"
    assert candidacy.events.count() == 1


def test_replay_refuses_a_delivery_being_processed(sandbox_integration: AtsIntegration) -> None:
    delivery_id = record(sandbox_integration)
    WebhookDelivery.objects.filter(pk=delivery_id).update(status=Status.PROCESSING)

    assert processing.delivery_replay(delivery=WebhookDelivery.objects.get(pk=delivery_id)) is False


def test_prune_clears_old_payloads_but_keeps_the_dedupe_key(
    sandbox_integration: AtsIntegration,
) -> None:
    body = make_delivery(opportunity_id="opp-old")
    old = intake.delivery_record(integration_public_id=sandbox_integration.public_id, body=body)
    assert old.delivery_id is not None
    fresh_id = record(sandbox_integration, opportunity_id="opp-new")
    WebhookDelivery.objects.filter(pk__in=[old.delivery_id, fresh_id]).update(
        status=Status.PROCESSED
    )
    WebhookDelivery.objects.filter(pk=old.delivery_id).update(
        received_at=timezone.now() - timedelta(days=31)
    )

    cleared, deleted = processing.delivery_prune()

    assert (cleared, deleted) == (1, 0)
    pruned = WebhookDelivery.objects.get(pk=old.delivery_id)
    assert pruned.payload is None
    assert pruned.payload_pruned_at is not None
    assert WebhookDelivery.objects.get(pk=fresh_id).payload is not None
    again = intake.delivery_record(integration_public_id=sandbox_integration.public_id, body=body)
    assert again.outcome == intake.Outcome.DUPLICATE


def test_prune_deletes_dedupe_keys_after_their_retention_but_not_unfinished_rows(
    sandbox_integration: AtsIntegration,
) -> None:
    done = record(sandbox_integration, opportunity_id="a")
    pending = record(sandbox_integration, opportunity_id="b")
    WebhookDelivery.objects.filter(pk=done).update(status=Status.IGNORED)
    WebhookDelivery.objects.update(received_at=timezone.now() - timedelta(days=61))

    processing.delivery_prune()

    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [pending]


# --- concurrency ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_processing_the_same_delivery_apply_it_once(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = _link(sandbox_integration, lever, OPPORTUNITY_ID)
    lever.move_stage(OPPORTUNITY_ID, "offer")
    delivery_id = record(sandbox_integration)
    lever.set_faults(latency_ms=200)
    barrier = threading.Barrier(2)
    results: list[str | None] = []

    def work() -> None:
        barrier.wait()
        try:
            results.append(processing.delivery_process(delivery_id=delivery_id))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(results, key=str) == sorted([Status.PROCESSED, None], key=str)
    assert candidacy.events.count() == 1


def test_unexpected_error_stores_only_its_class_never_its_message(
    sandbox_integration: AtsIntegration,
    candidacy: Candidacy,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    delivery_id = record(sandbox_integration)
    leaked = "SELECT * FROM accounts_user WHERE email = 'secret@example.com'"

    def broken_send(*args: Any, **kwargs: Any) -> None:
        raise DatabaseError(leaked)

    monkeypatch.setattr(requests.Session, "send", broken_send)

    status = processing.delivery_process(delivery_id=delivery_id)

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert status == Status.RETRY
    assert "DatabaseError" in delivery.error
    assert "secret@example.com" not in delivery.error
    assert "SELECT" not in delivery.error
    # the detail is still in the worker log for whoever debugs it
    assert any("failed unexpectedly" in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_403_on_one_opportunity_fails_that_delivery_without_blaming_the_key(
    sandbox_integration: AtsIntegration, lever: SandboxServer, candidacy: Candidacy
) -> None:
    # Lever answers 403 for one confidential opportunity; the list endpoint still answers.
    delivery_id = record(sandbox_integration)
    lever.set_faults(fail_next=[403])
    _status_settled(sandbox_integration)

    status = processing.delivery_process(delivery_id=delivery_id)

    sandbox_integration.refresh_from_db()
    assert status == Status.FAILED
    assert "confidential" in WebhookDelivery.objects.get(pk=delivery_id).error
    assert sandbox_integration.last_error == ""
    assert _status_reason(sandbox_integration) == FAILED_REASON


def test_a_403_on_the_whole_endpoint_is_the_keys_problem(
    sandbox_integration: AtsIntegration, lever: SandboxServer, candidacy: Candidacy
) -> None:
    # The record read and the endpoint probe are both refused: the key lacks the permission.
    delivery_id = record(sandbox_integration)
    lever.set_faults(fail_next=[403, 403])

    status = processing.delivery_process(delivery_id=delivery_id)

    sandbox_integration.refresh_from_db()
    assert status == Status.FAILED
    assert sandbox_integration.last_error.startswith("Processing a webhook: ")
    assert "permission" in sandbox_integration.last_error


def test_a_deleted_opportunity_is_ignored_without_blaming_the_key(
    sandbox_integration: AtsIntegration, lever: SandboxServer, candidacy: Candidacy
) -> None:
    delivery_id = record(sandbox_integration)
    lever.set_faults(fail_next=[404])

    status = processing.delivery_process(delivery_id=delivery_id)

    sandbox_integration.refresh_from_db()
    assert status == Status.IGNORED
    assert "not found" in WebhookDelivery.objects.get(pk=delivery_id).outcome
    assert sandbox_integration.last_error == ""
