"""Hiring services: transitions are validated, ATS state is applied once and never regresses."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from karatlever.errors import ApplicationError
from karatlever.hiring import services
from karatlever.hiring.models import CandidacyEvent, KaratStatus, Milestone
from tests.factories import CandidacyFactory, RoleFactory

pytestmark = pytest.mark.django_db


def test_creating_a_candidacy_records_an_invited_event() -> None:
    role = RoleFactory()

    candidacy = services.candidacy_create(
        role=role, candidate_name=" Priya Raman ", candidate_email="Priya@Example.com"
    )

    assert candidacy.karat_status == KaratStatus.INVITED
    assert candidacy.candidate_email == "priya@example.com"
    assert [e.kind for e in candidacy.events.all()] == [CandidacyEvent.Kind.CREATED]


def test_inactive_role_cannot_take_candidates() -> None:
    role = RoleFactory(active=False)

    with pytest.raises(services.HiringError):
        services.candidacy_create(role=role, candidate_name="A", candidate_email="a@example.com")


def test_allowed_transition_path_reaches_results_with_recommendation() -> None:
    candidacy = CandidacyFactory()

    candidacy = services.candidacy_milestone_record(
        candidacy=candidacy, milestone=Milestone.SCHEDULED, scheduled_at=timezone.now()
    ).candidacy
    candidacy = services.candidacy_milestone_record(
        candidacy=candidacy, milestone=Milestone.COMPLETED
    ).candidacy
    candidacy = services.candidacy_milestone_record(
        candidacy=candidacy,
        milestone=Milestone.RESULTS_READY,
        recommendation="strong_yes",
        summary="Solid fundamentals.",
        report_url="https://karat.example/reports/1",
    ).candidacy

    assert candidacy.karat_status == KaratStatus.RESULTS_READY
    assert candidacy.recommendation == "strong_yes"
    assert candidacy.report_url == "https://karat.example/reports/1"
    assert candidacy.events.filter(kind=CandidacyEvent.Kind.STATUS_CHANGED).count() == 3


def test_a_reschedule_says_the_status_stays_rather_than_scheduled_to_scheduled() -> None:
    candidacy = CandidacyFactory()
    for hours in (24, 48):  # scheduled, then rescheduled
        candidacy = services.candidacy_milestone_record(
            candidacy=candidacy,
            milestone=Milestone.SCHEDULED,
            scheduled_at=timezone.now() + timedelta(hours=hours),
        ).candidacy

    summaries = list(
        candidacy.events.filter(kind=CandidacyEvent.Kind.STATUS_CHANGED)
        .order_by("id")
        .values_list("summary", flat=True)
    )
    assert summaries == [
        "Interview scheduled (Karat status: Invited → Scheduled)",
        "Interview scheduled (Karat status stays Scheduled)",
    ]


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (KaratStatus.INVITED, Milestone.COMPLETED),
        (KaratStatus.INVITED, Milestone.RESULTS_READY),
        (KaratStatus.INVITED, Milestone.REDO),
        (KaratStatus.RESULTS_READY, Milestone.CANCELLED),
        (KaratStatus.COMPLETED, Milestone.CANCELLED),
        (KaratStatus.COMPLETED, Milestone.SCHEDULED),
    ],
)
def test_invalid_transition_is_refused_and_changes_nothing(start: str, target: str) -> None:
    candidacy = CandidacyFactory(karat_status=start)

    with pytest.raises(services.InvalidTransition):
        services.candidacy_milestone_record(
            candidacy=candidacy, milestone=target, recommendation="yes", scheduled_at=timezone.now()
        )

    candidacy.refresh_from_db()
    assert candidacy.karat_status == start
    assert not candidacy.events.exists()


def test_results_without_recommendation_are_refused() -> None:
    candidacy = CandidacyFactory(karat_status=KaratStatus.COMPLETED)

    with pytest.raises(services.MilestoneInvalid, match="recommendation"):
        services.candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.RESULTS_READY)


def test_ats_state_is_applied_once_with_one_event_per_change() -> None:
    candidacy = CandidacyFactory()
    state = services.AtsState(
        stage_id="phone-screen",
        stage_name="Phone screen",
        archived=True,
        archive_reason_id="r-hired",
        archive_reason_name="Hired",
        archive_reason_hired=True,
        version=1000,
    )

    first = services.candidacy_ats_state_apply(candidacy=candidacy, state=state)
    second = services.candidacy_ats_state_apply(candidacy=candidacy, state=state)

    assert {e.kind for e in first.events} == {
        CandidacyEvent.Kind.ATS_STAGE_CHANGED,
        CandidacyEvent.Kind.ATS_ARCHIVED,
        CandidacyEvent.Kind.ATS_HIRED,
    }
    assert second.events == []
    candidacy.refresh_from_db()
    assert candidacy.ats_hired
    assert candidacy.ats_state_version == 1000


def test_older_ats_state_never_overwrites_newer_state() -> None:
    candidacy = CandidacyFactory()
    newer = services.AtsState(stage_id="onsite", stage_name="Onsite", archived=False, version=2000)
    older = services.AtsState(
        stage_id="lead-new", stage_name="New lead", archived=False, version=1000
    )

    services.candidacy_ats_state_apply(candidacy=candidacy, state=newer)
    result = services.candidacy_ats_state_apply(candidacy=candidacy, state=older)

    assert result.stale
    candidacy.refresh_from_db()
    assert candidacy.ats_stage_id == "onsite"


@pytest.mark.parametrize(
    ("call", "error", "status", "code", "field"),
    [
        (
            {"milestone": Milestone.COMPLETED},
            services.InvalidTransition,
            409,
            "invalid_transition",
            None,
        ),
        ({"milestone": Milestone.SCHEDULED}, services.MilestoneInvalid, 400, "invalid", "scheduled_at"),
        (
            {"milestone": Milestone.SCHEDULED, "scheduled_at": datetime(2026, 12, 1, 15)},  # noqa: DTZ001
            services.MilestoneInvalid,
            400,
            "invalid",
            "scheduled_at",
        ),
        (
            {"milestone": Milestone.CANCELLED, "event_id": "e" * 101},
            services.MilestoneInvalid,
            400,
            "invalid",
            "event_id",
        ),
        ({"milestone": "bogus"}, services.MilestoneInvalid, 400, "invalid", "milestone"),
    ],
)  # fmt: skip
def test_hiring_errors_carry_the_api_status_code_and_field(
    call: dict[str, object], error: type[Exception], status: int, code: str, field: str | None
) -> None:
    """They are ApplicationErrors: the API's one handler and form_errors_from read these."""
    candidacy = CandidacyFactory()

    with pytest.raises(error) as raised:
        services.candidacy_milestone_record(candidacy=candidacy, **call)  # type: ignore[arg-type]

    exc = raised.value
    assert isinstance(exc, ApplicationError)
    assert (exc.status_code, exc.code, exc.field) == (status, code, field)


def test_an_event_id_reused_for_another_milestone_is_a_409_on_the_event_id() -> None:
    candidacy = CandidacyFactory()
    services.candidacy_milestone_record(
        candidacy=candidacy, milestone=Milestone.CANCELLED, event_id="x"
    )

    with pytest.raises(services.EventIdReused) as raised:
        services.candidacy_milestone_record(
            candidacy=candidacy, milestone=Milestone.REDO, event_id="x"
        )

    assert (raised.value.status_code, raised.value.code, raised.value.field) == (
        409,
        "event_id_reused",
        "event_id",
    )
