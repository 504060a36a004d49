"""Post candidacy updates: milestones become outbox rows, drained to the Lever sandbox exactly
once and in order per opportunity, through 429 storms, 5xx, lost answers, hangs, refused keys
and hidden or deleted records."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import time_machine
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from integrations.lever.sandbox import ALL_PERMISSIONS, DEMO_API_KEY, SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity_ids
from integrations.models import (
    AtsIntegration,
    IntegrationStatus,
    OpportunityLink,
    OutboundSettings,
    OutboundUpdate,
)
from integrations.outbound.services import actions, enqueue
from integrations.outbound.services import drain as drain_service
from integrations.status.services import integration_status_compute
from karatlever.hiring.models import Candidacy, CandidacyEvent, Milestone
from karatlever.hiring.services import candidacy_create, candidacy_milestone_record
from tests.brokers import broker
from tests.factories import CandidacyFactory, RoleFactory
from tests.integrations.outbound.conftest import drain, make_due

pytestmark = pytest.mark.django_db

Status = OutboundUpdate.Status
Kind = OutboundUpdate.Kind
REPORT = "https://karat.example/reports/r-1"
# Every permission except Lever's "access to confidential data".
NOT_CONFIDENTIAL = sorted(p for p in ALL_PERMISSIONS if p != "confidential:access:admin")


@pytest.fixture(autouse=True)
def _memory_broker() -> Iterator[None]:
    # Drains are published on commit; keep them in-process (the tests drain by hand).
    with broker("memory://"):
        yield


def linked(integration: AtsIntegration, opportunity_id: str | None = None) -> Candidacy:
    candidacy = CandidacyFactory(role=RoleFactory(group=integration.group))
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id=opportunity_id or demo_opportunity_ids(1)[0],
    )
    return candidacy


def interview_time() -> datetime:
    """A minute before now, to the minute: after the invitation, over before it is completed."""
    return (timezone.now() - timedelta(minutes=1)).replace(second=0, microsecond=0)


def to_results(candidacy: Candidacy, recommendation: str = "strong_yes") -> None:
    candidacy_milestone_record(
        candidacy=candidacy, milestone=Milestone.SCHEDULED, scheduled_at=interview_time()
    )
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.COMPLETED)
    candidacy_milestone_record(
        candidacy=candidacy,
        milestone=Milestone.RESULTS_READY,
        recommendation=recommendation,
        summary="Solid fundamentals.",
        report_url=REPORT,
    )


def drain_all(integration: AtsIntegration, rounds: int = 10) -> None:
    for _ in range(rounds):
        make_due()
        drain(integration)
        if not OutboundUpdate.objects.filter(status__in=OutboundUpdate.UNSENT).exists():
            return
    raise AssertionError("updates left unsent")


def past_the_window(row: OutboundUpdate) -> time_machine.travel:
    """The clock after the row's lost attempt can no longer land (it ticks on from there)."""
    row.refresh_from_db()
    assert row.outcome_unknown_until is not None
    return time_machine.travel(row.outcome_unknown_until + timedelta(seconds=1), tick=True)


def note_values(lever: SandboxServer, opportunity_id: str) -> list[str]:
    return [n["fields"][0]["value"] for n in lever.notes(opportunity_id)]


# --- what is written ----------------------------------------------------------------------------


def test_each_milestone_is_posted_as_a_note_a_status_tag_and_the_report_link(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(lever_integration)
    opportunity_id = candidacy.opportunity_link.opportunity_id

    to_results(candidacy)
    interview = Candidacy.objects.get(pk=candidacy.pk).interview_scheduled_at
    rows = list(OutboundUpdate.objects.order_by("sequence"))
    result = drain(lever_integration)

    kinds = [(r.milestone, r.kind) for r in rows]
    assert kinds == [
        ("scheduled", Kind.NOTE),
        ("scheduled", Kind.TAG),
        ("completed", Kind.NOTE),
        ("completed", Kind.TAG),
        ("results_ready", Kind.NOTE),
        ("results_ready", Kind.TAG),
        ("results_ready", Kind.LINK),
    ]
    assert [r.sequence for r in rows] == list(range(1, 8))
    assert result.sent == 7
    assert set(OutboundUpdate.objects.values_list("status", flat=True)) == {Status.SENT}
    notes = note_values(lever, opportunity_id)
    assert len(notes) == 3
    assert interview is not None
    assert f"scheduled for {interview.astimezone(UTC):%Y-%m-%d %H:%M} UTC" in notes[0]
    assert "Strong yes" in notes[2]
    assert "Solid fundamentals." in notes[2]
    assert REPORT in notes[2]
    assert all("(Karat ref kl-" in n for n in notes)
    opportunity = lever.opportunity(opportunity_id)
    karat_tags = [t for t in opportunity["tags"] if t.startswith("Karat:")]
    assert karat_tags == ["Karat: Results ready"]
    assert REPORT in opportunity["links"]
    counters = lever.counters(opportunity_id)
    assert (counters["notes"], counters["links_added"]) == (3, 1)
    # Every milestone's updates are one timeline entry with their state.
    entries = candidacy.events.filter(kind=CandidacyEvent.Kind.ATS_UPDATE).order_by("id")
    assert [e.detail["status"] for e in entries] == ["sent", "sent", "sent"]
    assert [e.detail["milestone"] for e in entries] == ["scheduled", "completed", "results_ready"]


def test_score_secret_and_custom_template_and_prefix_are_used(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    OutboundSettings.objects.create(
        integration=lever_integration,
        score_enabled=True,
        secret_notes=True,
        tag_prefix="Interview",
        note_templates={"results_ready": "{{ candidate_name }}: {{ recommendation|upper }}"},
    )
    candidacy = linked(lever_integration)
    opportunity_id = candidacy.opportunity_link.opportunity_id

    to_results(candidacy, recommendation="no")
    drain(lever_integration)

    note = lever.notes(opportunity_id)[-1]
    assert note["fields"][0]["value"].startswith(f"{candidacy.candidate_name}: NO\n")
    assert note["fields"][0]["score"] == 2
    assert note["secret"] is True
    assert "Interview: Results ready" in lever.opportunity(opportunity_id)["tags"]


def test_the_perform_as_user_picked_by_email_makes_the_notes(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    user = next(u for u in lever.sandbox.users() if u["deactivatedAt"] is None)
    found = actions.perform_as_user_find(integration=lever_integration, email=user["email"])
    OutboundSettings.objects.create(
        integration=lever_integration,
        perform_as=OutboundSettings.PerformAs.LEVER_USER,
        perform_as_user_id=found.id,
        perform_as_email=user["email"],
    )
    candidacy = linked(lever_integration)

    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    drain(lever_integration)

    assert found.id == user["id"]
    assert lever.notes(candidacy.opportunity_link.opportunity_id)[-1]["user"] == user["id"]


def test_a_stage_move_is_made_only_when_turned_on_with_a_rule(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    first, second = linked(lever_integration), None
    to_results(first)
    OutboundSettings.objects.filter(integration=lever_integration).update(
        stage_moves_enabled=True,
        stage_rules={"strong_yes": {"stage_id": "offer", "stage_name": "Offer"}},
    )
    second = linked(lever_integration, demo_opportunity_ids(2)[1])
    to_results(second)

    drain(lever_integration)

    assert not OutboundUpdate.objects.filter(candidacy=first, kind=Kind.STAGE).exists()
    assert OutboundUpdate.objects.get(candidacy=second, kind=Kind.STAGE).status == Status.SENT
    assert lever.opportunity(second.opportunity_link.opportunity_id)["stage"] == "offer"
    assert lever.counters()["total"]["archives"] == 0


def test_lever_events_unlinked_candidacies_and_disabled_settings_write_nothing(
    lever_integration: AtsIntegration,
) -> None:
    unlinked = CandidacyFactory(role=RoleFactory(group=lever_integration.group))
    candidacy_milestone_record(candidacy=unlinked, milestone=Milestone.CANCELLED)
    candidacy = linked(lever_integration)
    enqueue.candidacy_changed_receive(
        None,
        candidacy=candidacy,
        event=CandidacyEvent.objects.create(
            candidacy=candidacy,
            kind=CandidacyEvent.Kind.STATUS_CHANGED,
            source=CandidacyEvent.Source.ATS,
            summary="from Lever",
            milestone=Milestone.CANCELLED,
            occurred_at=timezone.now(),
        ),
    )
    OutboundSettings.objects.create(integration=lever_integration, enabled=False)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)

    assert OutboundUpdate.objects.count() == 0


def test_the_invite_flow_enqueues_invited_once_the_link_exists(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    role = RoleFactory(group=lever_integration.group)
    candidacy = candidacy_create(role=role, candidate_name="Ada", candidate_email="ada@example.com")
    assert OutboundUpdate.objects.count() == 0  # the link did not exist yet
    OpportunityLink.objects.create(
        integration=lever_integration,
        candidacy=candidacy,
        opportunity_id=demo_opportunity_ids(1)[0],
    )
    invited = candidacy.events.get(milestone=Milestone.INVITED)

    rows = enqueue.outbound_milestone_enqueue(candidacy=candidacy, event=invited)
    again = enqueue.outbound_milestone_enqueue(candidacy=candidacy, event=invited)
    drain(lever_integration)

    assert [r.kind for r in rows] == [Kind.NOTE, Kind.TAG]
    assert [r.pk for r in again] == [r.pk for r in rows]
    assert lever.counters()["total"]["notes"] == 1
    assert "Karat: Invited" in lever.opportunity(demo_opportunity_ids(1)[0])["tags"]
    # The first status tag removes nothing: two requests for "invited".
    assert lever.counters()["total"]["tags_removed"] == 0


# --- delivery guarantees ---------------------------------------------------------------------


def test_a_429_storm_waits_exactly_the_retry_after_and_sends_each_note_once(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(lever_integration)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    lever.set_faults(fail_next=[429, 429, 429], retry_after=1)

    started = timezone.now()
    drain(lever_integration)
    row = OutboundUpdate.objects.get(kind=Kind.NOTE)

    assert row.status == Status.PENDING
    assert (row.last_status_code, row.deferred) == (429, 1)
    wait = (row.next_attempt_at - started).total_seconds()
    assert 0.9 <= wait <= 2.0
    assert drain(lever_integration).sent == 0  # not due yet: nothing is sent early
    for _ in range(3):  # the rest of the storm, each answer waited out
        time.sleep(1.05)
        drain(lever_integration)
    drain_all(lever_integration)
    note = OutboundUpdate.objects.get(kind=Kind.NOTE)
    assert note.status == Status.SENT
    assert note.attempts - note.deferred == 1  # 429s never count toward giving up
    assert lever.counters()["total"]["notes"] == 1


def test_5xx_backs_off_with_jitter_stops_the_drain_and_then_everything_goes_once(
    lever_integration: AtsIntegration, lever: SandboxServer, settings: Any
) -> None:
    settings.OUTBOUND_RETRY_BASE_SECONDS = 10
    candidacies = [linked(lever_integration, o) for o in demo_opportunity_ids(3)]
    for candidacy in candidacies:
        candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    lever.set_faults(error_rates={"503": 1.0})

    drain(lever_integration)
    tried = OutboundUpdate.objects.filter(attempts=1)

    # Lever is down: the rest keep their tries.
    assert tried.count() == drain_service.BREAKER_FAILURES
    for row in tried:
        assert row.last_status_code == 503
        wait = (row.next_attempt_at - timezone.now()).total_seconds()
        assert 4 <= wait <= 10.5
    lever.reset_faults()
    drain_all(lever_integration)
    assert lever.counters()["total"]["notes"] == 3
    assert lever.counters()["total"]["tags_added"] == 3


def test_a_lost_answer_is_looked_for_before_the_note_is_sent_again(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(lever_integration)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    lever.set_faults(drop_after_apply=1, paths=[f"/v1/opportunities/{opportunity_id}/notes"])

    drain(lever_integration)
    row = OutboundUpdate.objects.get(kind=Kind.NOTE)
    assert (row.status, row.outcome_unknown, row.last_status_code) == (Status.PENDING, True, None)
    make_due()
    drain(lever_integration)  # inside the window: neither looked for nor sent again
    assert [r["method"] for r in lever.api_log()] == ["POST"]
    with past_the_window(row):
        drain_all(lever_integration)

    row.refresh_from_db()
    assert row.status == Status.SENT
    assert row.remote_id
    assert lever.counters(opportunity_id)["notes"] == 1
    assert row.remote_id == lever.notes(opportunity_id)[0]["id"]


def test_a_hanging_lever_times_out_and_the_note_still_arrives_once(
    lever_integration: AtsIntegration, lever: SandboxServer, settings: Any
) -> None:
    settings.LEVER_READ_TIMEOUT = 0.5
    candidacy = linked(lever_integration)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    lever.set_faults(hang_seconds=2, methods=["POST"])

    drain(lever_integration)
    row = OutboundUpdate.objects.get(kind=Kind.NOTE)
    assert row.outcome_unknown is True
    time.sleep(2)  # the hung request is answered (and applied) after we gave up on it
    lever.reset_faults()
    with past_the_window(row):
        drain_all(lever_integration)

    assert lever.counters(opportunity_id)["notes"] == 1
    assert len(lever.notes(opportunity_id)) == 1


# --- a write that lands late (after the client gave up on it) -----------------------------------


@pytest.fixture
def late_landing(settings: Any) -> float:
    """Lever applies a hung write 2 s after it arrived; Karat waits 1 s for an answer and 3 s
    before it looks for (or sends again) a write whose answer it never got. Returns the hang."""
    settings.LEVER_READ_TIMEOUT = 1
    settings.OUTBOUND_UNKNOWN_OUTCOME_WAIT_SECONDS = 3
    settings.OUTBOUND_RETRY_BASE_SECONDS = 0.1
    settings.OUTBOUND_RETRY_MAX_SECONDS = 0.2
    return 2.0


def drain_until_done(integration: AtsIntegration, lever: SandboxServer) -> None:
    """Drain as the workers would (each row waits for its next_attempt_at) until nothing is
    left unsent, then let Lever finish what it is still handling (a hung write lands)."""
    deadline = time.monotonic() + 20
    while OutboundUpdate.objects.filter(status__in=OutboundUpdate.UNSENT).exists():
        assert time.monotonic() < deadline, "updates left unsent"
        drain(integration)
        time.sleep(0.05)
    assert lever.wait_idle()


def requests_to(lever: SandboxServer, path: str) -> list[dict[str, Any]]:
    """What Lever saw at ``path``, in the order each request ended (a write applied then)."""
    return [r for r in lever.api_log() if r["path"] == path]


@pytest.mark.parametrize("retry", ["by itself", "retry now"])
def test_a_note_that_lands_after_the_timeout_is_neither_looked_for_nor_sent_again_before_then(
    lever_integration: AtsIntegration, lever: SandboxServer, late_landing: float, retry: str
) -> None:
    # given: Lever applies the note 2 s after it arrived; Karat stops waiting after 1 s
    candidacy = linked(lever_integration)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    notes = f"/v1/opportunities/{opportunity_id}/notes"
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    lever.set_faults(hang_then_apply=1, hang_then_apply_seconds=late_landing, paths=[notes])

    # when: the drain times out, then retries (by itself, or an admin clicks "Retry now")
    drain(lever_integration)
    row = OutboundUpdate.objects.get(kind=Kind.NOTE)
    assert (row.status, row.outcome_unknown) == (Status.PENDING, True)
    if retry == "retry now":
        assert actions.outbound_update_retry(update=row, actor=None) is actions.RetryOutcome.RETRIED
    drain_until_done(lever_integration, lever)

    # then: one note; Lever saw the hung POST land, then one look-up, and no second POST
    row.refresh_from_db()
    assert lever.counters(opportunity_id)["notes"] == 1
    assert [n["id"] for n in lever.notes(opportunity_id)] == [row.remote_id]
    assert row.status == Status.SENT
    seen = requests_to(lever, notes)
    assert [r["method"] for r in seen] == ["POST", "GET"]
    assert seen[1]["at"] >= seen[0]["done"]  # looked only once the late write had landed
    assert lever.counters(opportunity_id)["tags_added"] == 1  # the next update went after it


def test_a_worker_killed_mid_send_is_an_unknown_outcome_with_the_same_wait(
    lever_integration: AtsIntegration, lever: SandboxServer, late_landing: float, settings: Any
) -> None:
    # given: a drain claimed the note, sent it, and was killed; Lever applies it 2 s later
    settings.OUTBOUND_CLAIM_TIMEOUT_SECONDS = 0
    candidacy = linked(lever_integration)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    notes = f"/v1/opportunities/{opportunity_id}/notes"
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    row = OutboundUpdate.objects.get(kind=Kind.NOTE)
    OutboundUpdate.objects.filter(pk=row.pk).update(
        status=Status.SENDING,
        claimed_by="killed-worker",
        claimed_at=timezone.now() - timedelta(seconds=1),
        attempts=1,
    )
    lever.set_faults(hang_then_apply=1, hang_then_apply_seconds=late_landing, paths=[notes])
    in_flight = threading.Thread(
        target=requests.post,
        args=(lever.api_url + notes.removeprefix("/v1"),),
        kwargs={"json": {"value": row.payload["text"]}, "auth": (DEMO_API_KEY, ""), "timeout": 10},
    )
    in_flight.start()

    # when: the sweeper frees the stale claim and drains run
    swept = drain_service.outbound_sweep()
    drain_until_done(lever_integration, lever)
    in_flight.join()

    # then: the killed worker's note is found, not sent again
    row.refresh_from_db()
    assert swept.reclaimed == 1
    assert lever.counters(opportunity_id)["notes"] == 1
    assert (row.status, row.remote_id) == (Status.SENT, lever.notes(opportunity_id)[0]["id"])
    seen = requests_to(lever, notes)
    assert [r["method"] for r in seen] == ["POST", "GET"]
    assert seen[1]["at"] >= seen[0]["done"]


def test_a_send_stopped_at_the_workers_time_limit_waits_like_any_unknown_outcome(
    lever_integration: AtsIntegration, lever: SandboxServer, late_landing: float, settings: Any
) -> None:
    # given: Lever applies the note 2 s after it arrived; the soft time limit strikes first
    settings.LEVER_READ_TIMEOUT = 10
    candidacy = linked(lever_integration)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    notes = f"/v1/opportunities/{opportunity_id}/notes"
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    lever.set_faults(hang_then_apply=1, hang_then_apply_seconds=late_landing, paths=[notes])

    def soft_time_limit(signum: int, frame: Any) -> None:
        raise SoftTimeLimitExceeded  # as Celery's worker does, from a signal

    previous = signal.signal(signal.SIGALRM, soft_time_limit)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with pytest.raises(SoftTimeLimitExceeded):
            drain(lever_integration)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    # when: drains go on
    drain_until_done(lever_integration, lever)

    # then
    assert lever.counters(opportunity_id)["notes"] == 1
    seen = requests_to(lever, notes)
    assert [r["method"] for r in seen] == ["POST", "GET"]
    assert seen[1]["at"] >= seen[0]["done"]


def test_a_tag_given_up_after_a_timeout_holds_back_the_next_tag_until_it_can_no_longer_land(
    lever_integration: AtsIntegration, lever: SandboxServer, late_landing: float, settings: Any
) -> None:
    # given: one attempt per update; the first status tag lands 2 s late
    settings.OUTBOUND_MAX_ATTEMPTS = 1
    candidacy = linked(lever_integration)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    add_tags = f"/v1/opportunities/{opportunity_id}/addTags"
    lever.set_faults(hang_then_apply=1, hang_then_apply_seconds=late_landing, paths=[add_tags])
    candidacy_milestone_record(
        candidacy=candidacy,
        milestone=Milestone.SCHEDULED,
        scheduled_at=timezone.now(),  # held just now: it can be completed at once
    )
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.COMPLETED)

    # when
    drain_until_done(lever_integration, lever)

    # then: the late "Scheduled" landed before "Completed" replaced it, so one Karat tag
    karat = [t for t in lever.opportunity(opportunity_id)["tags"] if t.startswith("Karat:")]
    assert karat == ["Karat: Interview completed"]
    first_tag = OutboundUpdate.objects.filter(kind=Kind.TAG).order_by("sequence").first()
    assert first_tag is not None
    assert (first_tag.status, first_tag.outcome_unknown) == (Status.DEAD, True)
    seen = [
        r for r in lever.api_log() if r["path"].startswith(f"/v1/opportunities/{opportunity_id}/")
    ]
    late = next(r for r in seen if r["path"] == add_tags)
    assert all(r["at"] >= late["done"] for r in seen[seen.index(late) + 1 :])


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_that_gave_up_on_lever_is_an_unknown_outcome_too(
    lever_integration: AtsIntegration, lever: SandboxServer, status: int
) -> None:
    candidacy = linked(lever_integration)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    notes = f"/v1/opportunities/{opportunity_id}/notes"
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    lever.set_faults(fail_next=[status], paths=[notes])

    drain(lever_integration)
    row = OutboundUpdate.objects.get(kind=Kind.NOTE)
    make_due()
    drain(lever_integration)
    inside_the_window = [r["method"] for r in lever.api_log()]
    with past_the_window(row):
        drain_all(lever_integration)

    row.refresh_from_db()
    assert inside_the_window == ["POST"]
    assert (row.status, row.last_status_code) == (Status.SENT, None)
    assert [r["method"] for r in requests_to(lever, notes)] == ["POST", "GET", "POST"]
    assert lever.counters(opportunity_id)["notes"] == 1


def test_updates_of_one_opportunity_go_out_in_order(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(lever_integration)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    lever.set_faults(fail_next=[503], paths=[f"/v1/opportunities/{opportunity_id}/notes"])

    to_results(candidacy)
    drain(lever_integration)
    # The first note failed: nothing after it went out, although it was due.
    assert lever.counters(opportunity_id)["notes"] == 0
    assert lever.counters(opportunity_id)["tags_added"] == 0
    drain_all(lever_integration)

    notes = note_values(lever, opportunity_id)
    assert ["scheduled" in notes[0], "completed" in notes[1], "Strong yes" in notes[2]] == [
        True,
        True,
        True,
    ]
    sent = list(OutboundUpdate.objects.order_by("sent_at", "id").values_list("sequence", flat=True))
    assert sent == sorted(sent)


def test_a_refused_key_pauses_the_queue_without_burning_attempts_until_the_key_is_fixed(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    no_notes = lever.create_api_key(
        [p for p in NOT_CONFIDENTIAL if p not in ("notes:write:admin", "notes:read:admin")]
    )
    lever_integration.api_key = no_notes
    lever_integration.save(update_fields=["api_key"])
    candidacy = linked(lever_integration)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)

    result = drain(lever_integration)
    lever_integration.refresh_from_db()
    paused = OutboundSettings.objects.get(integration=lever_integration)
    row = OutboundUpdate.objects.get(kind=Kind.NOTE)

    assert result.paused
    assert paused.paused_at is not None
    assert "write" in paused.paused_reason
    assert "Posting updates to Lever" in lever_integration.last_error
    assert (row.status, row.attempts - row.deferred, row.last_status_code) == (
        Status.PENDING,
        0,
        403,
    )
    make_due()
    assert drain(lever_integration).paused  # still paused: nothing tried
    assert lever.counters()["total"]["notes"] == 0

    # the admin pastes a working key and its check passes
    AtsIntegration.objects.filter(pk=lever_integration.pk).update(
        api_key=DEMO_API_KEY,
        key_status=AtsIntegration.KeyStatus.VALID,
        key_checked_at=timezone.now() + timedelta(seconds=1),
    )
    swept = drain_service.outbound_sweep(now=timezone.now() + timedelta(seconds=2))
    lever_integration.refresh_from_db()
    drain_all(lever_integration)

    assert swept.resumed == 1
    assert lever.counters()["total"]["notes"] == 1


def test_a_401_from_another_host_lever_redirected_a_write_to_never_pauses_for_the_key(
    lever_integration: AtsIntegration, lever: SandboxServer, other_host: SandboxServer
) -> None:
    AtsIntegration.objects.filter(pk=lever_integration.pk).update(
        key_status=AtsIntegration.KeyStatus.VALID
    )
    candidacy = linked(lever_integration)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    # Lever's host answers writes with 302 to another host, which answers 401 to anything.
    lever.set_faults(redirect_to=other_host.url, methods=["POST", "PUT"])

    result = drain(lever_integration)

    lever_integration.refresh_from_db()
    row = OutboundUpdate.objects.get(kind=Kind.NOTE)
    assert not result.paused
    assert OutboundSettings.objects.get(integration=lever_integration).paused_at is None
    assert lever_integration.key_status == AtsIntegration.KeyStatus.VALID
    assert "rejected the API key" not in lever_integration.last_error
    assert (row.status, row.last_status_code) == (Status.PENDING, 302)
    assert "127.0.0.2" in row.last_error
    assert other_host.api_log() == []  # not followed: the note never went elsewhere

    lever.reset_faults()
    drain_all(lever_integration)

    assert lever.counters()["total"]["notes"] == 1


def test_a_confidential_or_deleted_opportunity_ends_its_update_and_the_others_go_on(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    lever_integration.api_key = lever.create_api_key(NOT_CONFIDENTIAL)
    lever_integration.save(update_fields=["api_key"])
    hidden_id, ok_id = demo_opportunity_ids(2)
    lever.set_confidential(hidden_id)
    hidden, ok = linked(lever_integration, hidden_id), linked(lever_integration, ok_id)
    gone = linked(lever_integration, "00000000-0000-4000-8000-000000000000")
    for candidacy in (hidden, gone, ok):
        candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)

    drain_all(lever_integration)

    assert set(hidden.outbound_updates.values_list("status", flat=True)) == {Status.CANCELLED}
    assert "confidential" in hidden.outbound_updates.first().last_error  # type: ignore[union-attr]
    assert set(gone.outbound_updates.values_list("status", "last_status_code")) == {
        (Status.CANCELLED, 404)
    }
    assert set(ok.outbound_updates.values_list("status", flat=True)) == {Status.SENT}
    assert OutboundSettings.objects.get(integration=lever_integration).paused_at is None
    lever_integration.refresh_from_db()
    assert lever_integration.last_error == ""


def test_an_update_lever_keeps_failing_is_dead_lettered_with_its_reason(
    lever_integration: AtsIntegration, lever: SandboxServer, settings: Any
) -> None:
    settings.OUTBOUND_MAX_ATTEMPTS = 2
    candidacy = linked(lever_integration)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    lever.set_faults(error_rates={"500": 1.0})

    for _ in range(3):
        make_due()
        drain(lever_integration)

    rows = list(OutboundUpdate.objects.order_by("sequence"))
    assert [r.status for r in rows] == [Status.DEAD, Status.DEAD]
    assert rows[0].last_error.startswith("Gave up after 2 attempts")
    assert rows[0].last_status_code == 500
    entry = candidacy.events.get(kind=CandidacyEvent.Kind.ATS_UPDATE)
    assert entry.detail["status"] == "failed"


def test_a_stale_claim_of_a_killed_worker_is_freed_and_the_note_is_looked_for(
    lever_integration: AtsIntegration, lever: SandboxServer, settings: Any
) -> None:
    settings.OUTBOUND_CLAIM_TIMEOUT_SECONDS = 1
    candidacy = linked(lever_integration)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    # a worker claimed the note, got it to Lever, and died before recording it
    [row] = drain_service._claim_batch(lever_integration.pk, "dead-worker", 1)
    lever.sandbox.add_note(opportunity_id, {"value": row.payload["text"]})

    swept = drain_service.outbound_sweep(now=timezone.now() + timedelta(seconds=5))
    with past_the_window(row):
        drain_all(lever_integration)

    assert swept.reclaimed == 1
    assert lever.counters(opportunity_id)["notes"] == 1
    assert OutboundUpdate.objects.get(pk=row.pk).status == Status.SENT


def test_two_senders_never_hold_the_same_update(lever_integration: AtsIntegration) -> None:
    candidacy = linked(lever_integration)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)

    first = drain_service._claim_batch(lever_integration.pk, "a", 10)
    second = drain_service._claim_batch(lever_integration.pk, "b", 10)

    assert [row.kind for row in first] == [Kind.NOTE]
    assert second == []  # the tag waits for the note of the same opportunity


def test_one_drain_per_integration_runs_at_a_time_and_a_dead_drains_lease_runs_out(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(lever_integration)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    held = OutboundSettings.objects.filter(integration=lever_integration)
    held.update(drain_lease_until=timezone.now() + timedelta(seconds=60))

    busy = drain(lever_integration)
    held.update(drain_lease_until=timezone.now() - timedelta(seconds=1))  # its drain died
    free = drain(lever_integration)

    assert busy.sent == 0
    assert lever.counters()["total"]["notes"] == 1
    assert free.sent == 2
    assert held.get().drain_lease_until is None


def test_a_milestone_recorded_on_the_candidacy_page_reaches_lever_and_the_timeline(
    admin_client: Any,
    lever_integration: AtsIntegration,
    lever: SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.urls import reverse
    from kombu.transport.memory import Channel as MemoryChannel

    from integrations.tasks import outbound_drain as outbound_drain_task

    candidacy = linked(lever_integration)
    MemoryChannel.queues.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("hiring:candidate-status-change", kwargs={"code": candidacy.code}),
            {"milestone": "cancelled"},
        )
    published = MemoryChannel.queues["outbound"].qsize()
    outbound_drain_task(lever_integration.pk)  # what the worker runs for that message
    page = admin_client.get(reverse("hiring:candidate-detail", kwargs={"code": candidacy.code}))

    assert response.status_code == 302
    assert published == 1
    assert lever.counters(candidacy.opportunity_link.opportunity_id)["notes"] == 1
    assert "Cancelled: posted to Lever" in page.content.decode()


def test_the_stored_timeline_entry_names_no_ats_and_the_page_shows_lever_even_once_unlinked(
    admin_client: Any, lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    from django.urls import reverse

    candidacy = linked(lever_integration)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    drain_all(lever_integration)
    url = reverse("hiring:candidate-detail", kwargs={"code": candidacy.code})
    linked_page = admin_client.get(url).content.decode()
    OpportunityLink.objects.filter(candidacy=candidacy).delete()
    unlinked_page = admin_client.get(url).content.decode()

    entry = candidacy.events.get(kind=CandidacyEvent.Kind.ATS_UPDATE)
    assert entry.summary == "Cancelled: posted to the ATS"  # stored: no ATS's name
    for page in (linked_page, unlinked_page):  # the group's integration names it
        assert "<strong>Cancelled: posted to Lever</strong>" in page
        assert "Update posted to Lever" in page
        assert "posted to the ATS" not in page


def test_turning_updates_off_holds_waiting_ones_until_turned_back_on(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(lever_integration)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    OutboundSettings.objects.filter(integration=lever_integration).update(enabled=False)

    off = drain(lever_integration)
    swept = drain_service.outbound_sweep()
    OutboundSettings.objects.filter(integration=lever_integration).update(enabled=True)
    on = drain(lever_integration)

    assert (off.sent, swept.published) == (0, [])
    assert on.sent == 2
    assert lever.counters()["total"]["notes"] == 1


def test_a_burst_of_milestones_queues_one_drain_and_a_started_drain_allows_the_next(
    lever_integration: AtsIntegration, django_capture_on_commit_callbacks: Any
) -> None:
    from kombu.transport.memory import Channel as MemoryChannel

    candidacies = [linked(lever_integration, o) for o in demo_opportunity_ids(3)]
    MemoryChannel.queues.clear()

    for candidacy in candidacies:
        with django_capture_on_commit_callbacks(execute=True):
            candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    burst = MemoryChannel.queues["outbound"].qsize()
    drain(lever_integration)  # starts: the next milestone publishes again
    with django_capture_on_commit_callbacks(execute=True):
        candidacy_milestone_record(candidacy=candidacies[0], milestone=Milestone.REDO)

    assert burst == 1
    assert MemoryChannel.queues["outbound"].qsize() == 2


def test_the_sweeper_publishes_one_drain_per_integration_with_due_updates(
    lever_integration: AtsIntegration,
) -> None:
    for opportunity_id in demo_opportunity_ids(3):
        candidacy = linked(lever_integration, opportunity_id)
        candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)

    swept = drain_service.outbound_sweep()

    assert OutboundUpdate.objects.filter(status=Status.PENDING).count() == 6
    assert swept.published == [lever_integration.pk]


def test_the_first_updates_that_reach_lever_ask_for_a_status_recompute(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    # given: a status page that still waits for a first update
    integration_status_compute(integration_id=lever_integration.pk)
    snapshot = IntegrationStatus.objects.get(integration=lever_integration)
    feature = next(f for f in snapshot.features if f["key"] == "post_candidacy_updates")
    assert "info" in {feature["level"], *(c["level"] for c in feature["checks"])}
    candidacy_milestone_record(candidacy=linked(lever_integration), milestone=Milestone.CANCELLED)
    IntegrationStatus.objects.filter(pk=snapshot.pk).update(requested_at=None, request_reason="")

    # when
    assert drain(lever_integration).sent

    # then
    snapshot.refresh_from_db()
    assert snapshot.requested_at is not None
    assert snapshot.request_reason == "The first updates reached Lever"


def test_updates_reaching_lever_ask_for_nothing_once_the_status_saw_them(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(lever_integration)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    drain(lever_integration)
    integration_status_compute(integration_id=lever_integration.pk)
    IntegrationStatus.objects.filter(integration=lever_integration).update(
        requested_at=None, request_reason=""
    )
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.REDO)

    assert drain(lever_integration).sent

    assert IntegrationStatus.objects.get(integration=lever_integration).requested_at is None
