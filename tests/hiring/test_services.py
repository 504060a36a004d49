"""Hiring services: transitions are validated, ATS state is applied once and never regresses."""

from __future__ import annotations

import pytest

from karatlever.hiring import services
from karatlever.hiring.models import CandidacyEvent, KaratStatus
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

    for status in (KaratStatus.SCHEDULED, KaratStatus.COMPLETED):
        candidacy = services.candidacy_status_change(candidacy=candidacy, status=status)
    candidacy = services.candidacy_status_change(
        candidacy=candidacy, status=KaratStatus.RESULTS_READY, recommendation="strong_yes"
    )

    assert candidacy.karat_status == KaratStatus.RESULTS_READY
    assert candidacy.recommendation == "strong_yes"
    assert candidacy.events.filter(kind=CandidacyEvent.Kind.STATUS_CHANGED).count() == 3


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (KaratStatus.INVITED, KaratStatus.COMPLETED),
        (KaratStatus.INVITED, KaratStatus.RESULTS_READY),
        (KaratStatus.RESULTS_READY, KaratStatus.INVITED),
        (KaratStatus.COMPLETED, KaratStatus.CANCELLED),
        (KaratStatus.INVITED, "bogus"),
    ],
)
def test_invalid_transition_is_refused_and_changes_nothing(start: str, target: str) -> None:
    candidacy = CandidacyFactory(karat_status=start)

    with pytest.raises(services.InvalidTransition):
        services.candidacy_status_change(candidacy=candidacy, status=target, recommendation="yes")

    candidacy.refresh_from_db()
    assert candidacy.karat_status == start
    assert not candidacy.events.exists()


def test_results_without_recommendation_are_refused() -> None:
    candidacy = CandidacyFactory(karat_status=KaratStatus.COMPLETED)

    with pytest.raises(services.InvalidTransition, match="recommendation"):
        services.candidacy_status_change(candidacy=candidacy, status=KaratStatus.RESULTS_READY)


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
