"""Milestones keep time: a transition whose times contradict each other is refused (409
``time_conflict``, with a message saying why) and changes nothing. The clock is frozen."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from karatlever.accounts.models import Group, User
from karatlever.hiring import services
from karatlever.hiring.models import Candidacy, CandidacyEvent, KaratStatus, Milestone
from tests.factories import RoleFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def candidacy(group: Group) -> Candidacy:
    return services.candidacy_create(
        role=RoleFactory(group=group), candidate_name="Ada", candidate_email="ada@example.com"
    )


def _scheduled(candidacy: Candidacy, at: datetime) -> Candidacy:
    return services.candidacy_milestone_record(
        candidacy=candidacy, milestone=Milestone.SCHEDULED, scheduled_at=at
    ).candidacy


def _record(candidacy: Candidacy, milestone: str, **fields: object) -> Candidacy:
    return services.candidacy_milestone_record(
        candidacy=candidacy,
        milestone=milestone,
        **fields,  # type: ignore[arg-type]
    ).candidacy


def _refused(candidacy: Candidacy, milestone: str, **fields: object) -> str:
    events = candidacy.events.count()
    status = Candidacy.objects.get(pk=candidacy.pk).karat_status

    with pytest.raises(services.TimeConflict) as raised:
        _record(candidacy, milestone, **fields)

    assert (raised.value.status_code, raised.value.code) == (409, "time_conflict")
    assert candidacy.events.count() == events
    assert Candidacy.objects.get(pk=candidacy.pk).karat_status == status
    return raised.value.message


def test_completed_is_refused_for_an_interview_still_ahead(candidacy: Candidacy) -> None:
    candidacy = _scheduled(candidacy, NOW + timedelta(hours=3))

    message = _refused(candidacy, Milestone.COMPLETED)

    assert "2030-03-04 13:00 UTC" in message
    assert "has not started" in message


def test_completed_is_accepted_once_the_interview_time_came(
    candidacy: Candidacy, frozen: time_machine.Traveller
) -> None:
    candidacy = _scheduled(candidacy, NOW + timedelta(hours=3))
    frozen.shift(timedelta(hours=4))

    assert _record(candidacy, Milestone.COMPLETED).karat_status == KaratStatus.COMPLETED


def test_completed_a_few_minutes_early_is_clock_skew_not_a_conflict(
    candidacy: Candidacy,
) -> None:
    candidacy = _scheduled(candidacy, NOW + timedelta(minutes=2))

    assert _record(candidacy, Milestone.COMPLETED).karat_status == KaratStatus.COMPLETED


def test_results_are_refused_for_an_interview_still_ahead(candidacy: Candidacy) -> None:
    # A row completed before this rule existed, with its interview still in the future.
    candidacy = _scheduled(candidacy, NOW + timedelta(days=1))
    Candidacy.objects.filter(pk=candidacy.pk).update(karat_status=KaratStatus.COMPLETED)
    candidacy.refresh_from_db()

    message = _refused(candidacy, Milestone.RESULTS_READY, recommendation="yes")

    assert "2030-03-05 10:00 UTC" in message


def test_expired_is_refused_while_the_booked_interview_is_ahead(
    candidacy: Candidacy, frozen: time_machine.Traveller
) -> None:
    candidacy = _scheduled(candidacy, NOW + timedelta(days=2))

    message = _refused(candidacy, Milestone.EXPIRED)
    frozen.shift(timedelta(days=3))

    assert "cancelled" in message
    assert _record(candidacy, Milestone.EXPIRED).karat_status == KaratStatus.EXPIRED


def test_cancelled_is_accepted_whenever_the_interview_is(candidacy: Candidacy) -> None:
    candidacy = _scheduled(candidacy, NOW + timedelta(days=2))

    assert _record(candidacy, Milestone.CANCELLED).karat_status == KaratStatus.CANCELLED


def test_an_interview_before_the_invitation_is_refused(candidacy: Candidacy) -> None:
    message = _refused(candidacy, Milestone.SCHEDULED, scheduled_at=NOW - timedelta(days=1))

    assert "2030-03-03 10:00 UTC" in message
    assert "invited" in message


def test_an_interview_in_the_past_after_the_invitation_is_accepted(
    candidacy: Candidacy, frozen: time_machine.Traveller
) -> None:
    """The platform may report a booking late: a past time is fine once the candidate was
    invited."""
    frozen.shift(timedelta(days=5))

    candidacy = _scheduled(candidacy, NOW + timedelta(days=1))

    assert candidacy.interview_scheduled_at == NOW + timedelta(days=1)


def test_after_a_redo_the_new_interview_follows_the_redo(
    candidacy: Candidacy, frozen: time_machine.Traveller
) -> None:
    candidacy = _scheduled(candidacy, NOW + timedelta(hours=1))
    frozen.shift(timedelta(hours=2))
    candidacy = _record(candidacy, Milestone.COMPLETED)
    frozen.shift(timedelta(days=1))
    candidacy = _record(candidacy, Milestone.REDO)

    message = _refused(candidacy, Milestone.SCHEDULED, scheduled_at=NOW + timedelta(hours=1))

    assert "redo" in message
    assert _scheduled(candidacy, NOW + timedelta(days=2)).karat_status == KaratStatus.SCHEDULED


def test_the_api_answers_a_time_conflict_with_409_and_its_message(
    candidacy: Candidacy, admin_user: User, token_client: Callable[[User], Client]
) -> None:
    _scheduled(candidacy, NOW + timedelta(hours=3))
    url = f"/api/v1/candidacies/{candidacy.code}/events/"

    response = token_client(admin_user).post(
        url,
        data=json.dumps({"type": "completed", "event_id": "c1"}),
        content_type="application/json",
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "time_conflict"
    assert "has not started" in error["message"]
    assert not candidacy.events.filter(external_id="c1").exists()


def test_the_console_form_shows_the_time_conflict_and_changes_nothing(
    candidacy: Candidacy, admin_client: Client
) -> None:
    _scheduled(candidacy, NOW + timedelta(hours=3))
    before = candidacy.events.count()

    response = admin_client.post(
        reverse("hiring:candidate-status-change", args=[candidacy.code]),
        {"milestone": "completed"},
    )

    assert response.status_code == 200
    assert "has not started" in response.content.decode()
    assert candidacy.events.count() == before
    assert not candidacy.events.filter(
        kind=CandidacyEvent.Kind.STATUS_CHANGED, milestone=Milestone.COMPLETED
    ).exists()
