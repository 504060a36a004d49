"""A scheduled interview's optional length, time zone and join link (what a Lever panel shows):
kept on the candidacy and in the event, refused when wrong (changing nothing), cleared by a
redo; through the service and the progress-events API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from karatlever.accounts.models import Group, User
from karatlever.hiring import services
from karatlever.hiring.models import Candidacy, KaratStatus, Milestone
from tests.factories import RoleFactory

pytestmark = pytest.mark.django_db

JOIN = "https://karat.example/interview/abc"


@pytest.fixture
def candidacy(group: Group) -> Candidacy:
    return services.candidacy_create(
        role=RoleFactory(group=group), candidate_name="Ada", candidate_email="ada@example.com"
    )


def _soon() -> Any:
    return (timezone.now() + timedelta(hours=2)).replace(microsecond=0)


def test_the_details_are_kept_on_the_candidacy_and_in_the_event(candidacy: Candidacy) -> None:
    result = services.candidacy_milestone_record(
        candidacy=candidacy,
        milestone=Milestone.SCHEDULED,
        scheduled_at=_soon(),
        duration_minutes=45,
        timezone_name="Europe/Berlin",
        interview_url=JOIN,
    )

    candidacy.refresh_from_db()
    assert (
        candidacy.interview_duration_minutes,
        candidacy.interview_timezone,
        candidacy.interview_url,
    ) == (45, "Europe/Berlin", JOIN)
    detail = result.event.detail
    assert (detail["duration_minutes"], detail["timezone"], detail["interview_url"]) == (
        45,
        "Europe/Berlin",
        JOIN,
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 481}, "duration_minutes"),
        ({"timezone_name": "Mars/Olympus"}, "timezone"),
        ({"timezone_name": "../../etc/passwd"}, "timezone"),
        ({"interview_url": "javascript:alert(1)"}, "interview_url"),
    ],
)
def test_bad_details_are_refused_and_change_nothing(
    candidacy: Candidacy, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(services.MilestoneInvalid) as raised:
        services.candidacy_milestone_record(
            candidacy=candidacy, milestone=Milestone.SCHEDULED, scheduled_at=_soon(), **kwargs
        )

    assert raised.value.field == field
    candidacy.refresh_from_db()
    assert candidacy.karat_status == KaratStatus.INVITED
    assert candidacy.events.count() == 1  # "created" only


def test_the_details_go_with_scheduled_only(candidacy: Candidacy) -> None:
    with pytest.raises(services.MilestoneInvalid):
        services.candidacy_milestone_record(
            candidacy=candidacy, milestone=Milestone.CANCELLED, timezone_name="UTC"
        )


def test_a_redo_clears_them(candidacy: Candidacy) -> None:
    services.candidacy_milestone_record(
        candidacy=candidacy,
        milestone=Milestone.SCHEDULED,
        scheduled_at=timezone.now() - timedelta(minutes=1),
        duration_minutes=30,
        timezone_name="UTC",
        interview_url=JOIN,
    )
    services.candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    services.candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.REDO)

    candidacy.refresh_from_db()
    assert (candidacy.interview_duration_minutes, candidacy.interview_timezone) == (None, "")
    assert candidacy.interview_url == ""


def test_the_events_api_takes_them(
    candidacy: Candidacy, recruiter_user: User, token_client: Callable[[User], Client]
) -> None:
    body = {
        "type": "scheduled",
        "event_id": "evt-1",
        "scheduled_at": _soon().isoformat(),
        "duration_minutes": 50,
        "timezone": "America/New_York",
        "interview_url": JOIN,
    }

    response = token_client(recruiter_user).post(
        f"/api/v1/candidacies/{candidacy.code}/events/",
        data=json.dumps(body),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    candidacy.refresh_from_db()
    assert candidacy.interview_duration_minutes == 50
    assert candidacy.interview_timezone == "America/New_York"


@pytest.mark.parametrize(
    "extra",
    [
        {"duration_minutes": -5},
        {"duration_minutes": "long"},
        {"timezone": "Nowhere/City"},
        {"interview_url": "ftp://karat.example/x"},
    ],
)
def test_the_events_api_refuses_bad_details_with_400(
    candidacy: Candidacy,
    recruiter_user: User,
    token_client: Callable[[User], Client],
    extra: dict[str, Any],
) -> None:
    body = {"type": "scheduled", "event_id": "evt-2", "scheduled_at": _soon().isoformat(), **extra}

    response = token_client(recruiter_user).post(
        f"/api/v1/candidacies/{candidacy.code}/events/",
        data=json.dumps(body),
        content_type="application/json",
    )

    assert response.status_code == 400
    candidacy.refresh_from_db()
    assert candidacy.karat_status == KaratStatus.INVITED


def test_the_events_api_refuses_them_on_other_types(
    candidacy: Candidacy, recruiter_user: User, token_client: Callable[[User], Client]
) -> None:
    response = token_client(recruiter_user).post(
        f"/api/v1/candidacies/{candidacy.code}/events/",
        data=json.dumps({"type": "cancelled", "event_id": "evt-3", "timezone": "UTC"}),
        content_type="application/json",
    )

    assert response.status_code == 400
