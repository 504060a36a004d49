"""The Karat interview on Lever's schedule: scheduled → a panel, rescheduled → moved, cancelled
or expired → removed, completed → left; only Karat's own panels; through the outbox against the
Lever sandbox, with its failure paths (no permission, deleted in between, Lever down, a lost
answer, a panel a person removed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import responses
import time_machine

from integrations.lever.sandbox import ALL_PERMISSIONS, SandboxServer
from integrations.lever.sandbox import panels as sandbox_panels
from integrations.models import AtsIntegration, InterviewPanel, OutboundSettings, OutboundUpdate
from karatlever.hiring.models import Milestone
from karatlever.hiring.services import candidacy_milestone_record
from tests.integrations.panels.conftest import (
    active_user_id,
    drain,
    drain_all,
    interview_time,
    lever_panels,
    linked,
)

pytestmark = pytest.mark.django_db

Kind = OutboundUpdate.Kind
Status = OutboundUpdate.Status
State = InterviewPanel.State
JOIN = "https://karat.example/interview/abc"


def schedule(candidacy, *, minutes: int = -1, duration: int | None = 45, tz: str = "Europe/Berlin"):  # type: ignore[no-untyped-def]
    return candidacy_milestone_record(
        candidacy=candidacy,
        milestone=Milestone.SCHEDULED,
        scheduled_at=interview_time(minutes),
        duration_minutes=duration,
        timezone_name=tz,
        interview_url=JOIN,
    )


def test_panels_are_off_by_default_and_nothing_is_put_on_the_schedule(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(lever_integration)

    schedule(candidacy)
    drain_all(lever_integration)

    assert not OutboundUpdate.objects.filter(kind__startswith="panel").exists()
    assert not InterviewPanel.objects.exists()
    assert lever_panels(lever, candidacy.opportunity_link.opportunity_id) == []


def test_a_scheduled_interview_becomes_an_externally_managed_panel_with_its_details(
    panels_on: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(panels_on)
    opportunity_id = candidacy.opportunity_link.opportunity_id

    schedule(candidacy, duration=45, tz="Europe/Berlin")
    drain_all(panels_on)

    [panel] = lever_panels(lever, opportunity_id)
    [interview] = panel["interviews"]
    assert panel["externallyManaged"] is True
    assert panel["timezone"] == "Europe/Berlin"
    assert panel["externalUrl"] == JOIN
    assert panel["user"] == panels_on.ats_user_id
    assert interview["date"] == int(interview_time().timestamp() * 1000)
    assert interview["duration"] == 45
    assert interview["interviewers"][0]["id"] == panels_on.ats_user_id
    assert interview["subject"] == "Karat interview: Backend"
    assert JOIN in interview["note"]
    row = InterviewPanel.objects.get()
    assert (row.state, row.remote_id) == (State.ACTIVE, panel["id"])
    sent = OutboundUpdate.objects.get(kind=Kind.PANEL_CREATE)
    assert (sent.status, sent.remote_id) == (Status.SENT, panel["id"])


def test_without_a_length_or_time_zone_the_panel_lasts_an_hour_in_utc(
    panels_on: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(panels_on)

    schedule(candidacy, duration=None, tz="")
    drain_all(panels_on)

    [panel] = lever_panels(lever, candidacy.opportunity_link.opportunity_id)
    assert (panel["timezone"], panel["interviews"][0]["duration"]) == ("UTC", 60)


def test_a_reschedule_moves_the_same_panel(panels_on: AtsIntegration, lever: SandboxServer) -> None:
    candidacy = linked(panels_on)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    schedule(candidacy, minutes=-1)
    drain_all(panels_on)
    [before] = lever_panels(lever, opportunity_id)

    schedule(candidacy, minutes=120, duration=30, tz="America/New_York")
    drain_all(panels_on)

    [after] = lever_panels(lever, opportunity_id)
    assert after["id"] == before["id"]
    assert after["interviews"][0]["date"] == int(interview_time(120).timestamp() * 1000)
    assert (after["timezone"], after["interviews"][0]["duration"]) == ("America/New_York", 30)
    assert InterviewPanel.objects.get().duration_minutes == 30
    assert OutboundUpdate.objects.get(kind=Kind.PANEL_UPDATE).status == Status.SENT


@pytest.mark.parametrize("milestone", [Milestone.CANCELLED, Milestone.EXPIRED])
def test_cancellation_or_expiry_removes_the_panel(
    panels_on: AtsIntegration, lever: SandboxServer, milestone: str
) -> None:
    candidacy = linked(panels_on)
    schedule(candidacy)
    drain_all(panels_on)

    candidacy_milestone_record(candidacy=candidacy, milestone=milestone)
    drain_all(panels_on)

    assert lever_panels(lever, candidacy.opportunity_link.opportunity_id) == []
    assert InterviewPanel.objects.get().state == State.DELETED
    assert OutboundUpdate.objects.get(kind=Kind.PANEL_DELETE).status == Status.SENT


def test_a_completed_interview_leaves_the_panel_and_a_redo_books_a_new_one(
    panels_on: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(panels_on)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    schedule(candidacy)
    drain_all(panels_on)

    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.COMPLETED)
    candidacy_milestone_record(
        candidacy=candidacy, milestone=Milestone.RESULTS_READY, recommendation="yes"
    )
    drain_all(panels_on)

    assert len(lever_panels(lever, opportunity_id)) == 1
    assert InterviewPanel.objects.get().state == State.CLOSED
    assert not OutboundUpdate.objects.filter(kind=Kind.PANEL_DELETE).exists()

    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.REDO)
    schedule(candidacy, minutes=0)
    drain_all(panels_on)

    assert len(lever_panels(lever, opportunity_id)) == 2  # the first one was left as it was
    assert InterviewPanel.objects.count() == 2


def test_panels_a_person_made_in_lever_are_never_touched(
    panels_on: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(panels_on)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    theirs = sandbox_panels.create_panel(
        lever.sandbox,
        opportunity_id,
        {
            "timezone": "UTC",
            "interviews": [
                {
                    "interviewers": [{"id": active_user_id(lever)}],
                    "date": 1_000,
                    "duration": 30,
                    "subject": "Onsite",
                }
            ],
        },
        user_id=None,
        externally_managed=False,
    )

    schedule(candidacy)
    drain_all(panels_on)
    schedule(candidacy, minutes=30)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    drain_all(panels_on)

    [left] = lever_panels(lever, opportunity_id)
    assert left == sandbox_panels.public_panel(theirs)
    methods = {(r["method"], r["path"]) for r in lever.api_log() if "/panels/" in r["path"]}
    assert all(theirs["id"] not in path for _, path in methods)


def test_a_panel_a_person_deleted_in_lever_is_not_recreated(
    panels_on: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(panels_on)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    schedule(candidacy)
    drain_all(panels_on)
    [panel] = lever_panels(lever, opportunity_id)
    sandbox_panels.delete_panel(
        lever.sandbox, opportunity_id, panel["id"], user_id=None, by_api=False
    )

    schedule(candidacy, minutes=60)
    drain_all(panels_on)

    move = OutboundUpdate.objects.get(kind=Kind.PANEL_UPDATE)
    assert move.status == Status.CANCELLED
    assert "does not put it back" in move.last_error
    assert InterviewPanel.objects.get().state == State.GONE
    assert lever_panels(lever, opportunity_id) == []

    schedule(candidacy, minutes=90)  # another reschedule: still respected, nothing queued
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    drain_all(panels_on)

    assert OutboundUpdate.objects.filter(kind__startswith="panel").count() == 2
    assert lever_panels(lever, opportunity_id) == []
    assert InterviewPanel.objects.count() == 1


def test_a_key_without_the_panels_permission_ends_only_the_panel_write(
    panels_on: AtsIntegration, lever: SandboxServer
) -> None:
    key = lever.create_api_key(sorted(p for p in ALL_PERMISSIONS if not p.startswith("panels:")))
    panels_on.api_key = key
    panels_on.save(update_fields=["api_key"])
    candidacy = linked(panels_on)

    schedule(candidacy)
    drain_all(panels_on)

    panel_row = OutboundUpdate.objects.get(kind=Kind.PANEL_CREATE)
    assert (panel_row.status, panel_row.last_status_code) == (Status.DEAD, 403)
    assert "permission to write interview panels" in panel_row.last_error
    assert OutboundUpdate.objects.get(kind=Kind.NOTE).status == Status.SENT
    assert OutboundSettings.objects.get(integration=panels_on).paused_at is None
    assert InterviewPanel.objects.get().state == State.FAILED
    assert key not in panel_row.last_error

    # A later reschedule tries again (a new panel), instead of moving one that never was.
    schedule(candidacy, minutes=30)
    assert OutboundUpdate.objects.filter(kind=Kind.PANEL_CREATE).count() == 2


def test_an_opportunity_deleted_before_the_create_ends_the_write_and_nothing_else(
    panels_on: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(panels_on)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    schedule(candidacy)
    lever.sandbox.delete_opportunity(opportunity_id)

    drain_all(panels_on)

    row = OutboundUpdate.objects.get(kind=Kind.PANEL_CREATE)
    assert (row.status, row.last_status_code) == (Status.CANCELLED, 404)
    assert InterviewPanel.objects.get().state == State.FAILED


def test_an_opportunity_deleted_before_the_cancel_counts_as_removed(
    panels_on: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(panels_on)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    schedule(candidacy)
    drain_all(panels_on)
    lever.sandbox.delete_opportunity(opportunity_id)

    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    drain_all(panels_on)

    assert OutboundUpdate.objects.get(kind=Kind.PANEL_DELETE).status == Status.SENT
    panel = InterviewPanel.objects.get()
    assert panel.state == State.GONE
    assert "Already removed" in panel.last_error


def test_lever_down_retries_and_the_panel_is_created_once(
    panels_on: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(panels_on)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    schedule(candidacy)
    lever.set_faults(error_rates={"503": 1.0}, paths=[f"/v1/opportunities/{opportunity_id}/panels"])

    drain(panels_on)

    row = OutboundUpdate.objects.get(kind=Kind.PANEL_CREATE)
    assert (row.status, row.last_status_code) == (Status.PENDING, 503)
    lever.reset_faults()
    drain_all(panels_on)
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert len(lever_panels(lever, opportunity_id)) == 1


def test_a_create_whose_answer_was_lost_is_found_not_made_twice(
    panels_on: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(panels_on)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    schedule(candidacy)
    lever.set_faults(drop_after_apply=1, paths=[f"/v1/opportunities/{opportunity_id}/panels"])

    drain(panels_on)
    row = OutboundUpdate.objects.get(kind=Kind.PANEL_CREATE)
    assert (row.status, row.outcome_unknown) == (Status.PENDING, True)
    assert row.outcome_unknown_until is not None
    with time_machine.travel(row.outcome_unknown_until + timedelta(seconds=1), tick=True):
        drain_all(panels_on)

    [panel] = lever_panels(lever, opportunity_id)
    row.refresh_from_db()
    assert (row.status, row.remote_id) == (Status.SENT, panel["id"])
    assert InterviewPanel.objects.get().remote_id == panel["id"]


def test_without_a_lever_user_to_write_as_the_panel_write_says_so(
    panels_on: AtsIntegration, lever: SandboxServer
) -> None:
    panels_on.ats_user_id = ""
    panels_on.save(update_fields=["ats_user_id"])
    candidacy = linked(panels_on)

    schedule(candidacy)
    drain_all(panels_on)

    row = OutboundUpdate.objects.get(kind=Kind.PANEL_CREATE)
    assert row.status == Status.DEAD
    assert "only as one of its users" in row.last_error
    assert lever_panels(lever, candidacy.opportunity_link.opportunity_id) == []


def test_an_unusable_panel_id_from_lever_is_not_stored(
    panels_on: AtsIntegration, settings: Any
) -> None:
    settings.LEVER_API_BASE_URL = "https://api.lever.test/v1"
    OutboundSettings.objects.filter(integration=panels_on).update(
        notes_enabled=False, tags_enabled=False
    )
    candidacy = linked(panels_on)
    opportunity_id = candidacy.opportunity_link.opportunity_id
    schedule(candidacy)

    with responses.RequestsMock() as lever_api:
        lever_api.add(
            responses.POST,
            f"https://api.lever.test/v1/opportunities/{opportunity_id}/panels",
            json={"data": {"id": "../../users/x", "externallyManaged": True}},
            status=201,
        )
        drain_all(panels_on)

    row = OutboundUpdate.objects.get(kind=Kind.PANEL_CREATE)
    assert row.status == Status.DEAD
    panel = InterviewPanel.objects.get()
    assert (panel.state, panel.remote_id) == (State.FAILED, "")
