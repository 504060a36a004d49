"""Candidacies API: the list and its filters, one candidacy with its timeline, and the interview
platform's progress events (every type, idempotency, transitions, bad fields, tenancy)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from karatlever.accounts.models import Group, Membership, Organization, User
from karatlever.hiring import services
from karatlever.hiring.models import Candidacy, CandidacyEvent, KaratStatus, Milestone, Role
from tests.factories import CandidacyFactory, MembershipFactory, RoleFactory, UserFactory

pytestmark = pytest.mark.django_db

TokenClient = Callable[[User], Client]
LIST = "/api/v1/candidacies/"


def _detail(candidacy: Candidacy) -> str:
    return f"/api/v1/candidacies/{candidacy.code}/"


def _events(candidacy: Candidacy) -> str:
    return f"/api/v1/candidacies/{candidacy.code}/events/"


def _post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


# The clock: candidates are invited on 20 November and the tests' interview (LATER, 1 December
# 13:00 UTC) is over by now, so scheduling it and then completing it keep time.
INVITED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOW):
        yield


@pytest.fixture
def role(group: Group) -> Role:
    return RoleFactory(group=group, title="Backend Engineer", requisition_code="ENG-1")


@pytest.fixture
def candidacy(role: Role) -> Candidacy:
    with time_machine.travel(INVITED_AT):
        return services.candidacy_create(
            role=role, candidate_name="Ada Lovelace", candidate_email="ada@example.com"
        )


@pytest.fixture
def recruiter_api(recruiter_user: User, token_client: TokenClient) -> Client:
    return token_client(recruiter_user)


@pytest.fixture
def admin_api(admin_user: User, token_client: TokenClient) -> Client:
    return token_client(admin_user)


def _status(candidacy: Candidacy, status: str) -> Candidacy:
    Candidacy.objects.filter(pk=candidacy.pk).update(karat_status=status)
    candidacy.refresh_from_db()
    return candidacy


def test_the_routes_are_where_the_docs_say(candidacy: Candidacy) -> None:
    assert reverse("api-candidacy-list") == LIST
    assert reverse("api-candidacy-detail", kwargs={"code": candidacy.code}) == _detail(candidacy)
    assert reverse("api-candidacy-event-create", kwargs={"code": candidacy.code}) == _events(
        candidacy
    )


# --- Who may call ----------------------------------------------------------------------------


@pytest.mark.parametrize("user_fixture", ["admin_user", "recruiter_user"])
def test_admins_and_recruiters_may_read_and_post_events(
    request: pytest.FixtureRequest,
    token_client: TokenClient,
    candidacy: Candidacy,
    user_fixture: str,
) -> None:
    user: User = request.getfixturevalue(user_fixture)
    client = token_client(user)

    listed = client.get(LIST)
    read = client.get(_detail(candidacy))
    posted = _post(client, _events(candidacy), {"type": "cancelled", "event_id": "e-1"})

    assert (listed.status_code, read.status_code, posted.status_code) == (200, 200, 201)
    event = candidacy.events.get(milestone=Milestone.CANCELLED)
    # A token acts as its user; what the platform reports is Karat's own doing.
    assert (event.actor, event.source) == (user, CandidacyEvent.Source.KARAT)


def test_a_console_session_works_too(admin_client: Client, candidacy: Candidacy) -> None:
    response = _post(admin_client, _events(candidacy), {"type": "expired", "event_id": "e-1"})

    assert response.status_code == 201


def test_anonymous_and_bad_token_requests_are_refused_and_change_nothing(
    candidacy: Candidacy,
) -> None:
    for client in (Client(), Client(HTTP_AUTHORIZATION="Token kl_not-a-real-token")):
        for response in (
            client.get(LIST),
            client.get(_detail(candidacy)),
            _post(client, _events(candidacy), {"type": "cancelled", "event_id": "e-1"}),
        ):
            # 401 with the scheme to use (403 is for a signed-in user who may not do it).
            assert response.status_code == 401
            assert response["WWW-Authenticate"] == "Token"
            assert response.json()["error"]["code"] in (
                "not_authenticated",
                "authentication_failed",
            )
    candidacy.refresh_from_db()
    assert candidacy.karat_status == KaratStatus.INVITED


def test_a_user_without_an_organization_gets_403(
    token_client: TokenClient, candidacy: Candidacy
) -> None:
    client = token_client(UserFactory())

    assert client.get(LIST).status_code == 403
    posted = _post(client, _events(candidacy), {"type": "cancelled", "event_id": "e-1"})
    assert posted.status_code == 403
    assert posted.json()["error"]["message"] == "Your account is not a member of any organization."


def test_another_organizations_candidacy_is_a_404_on_every_route(
    outsider_user: User, token_client: TokenClient, candidacy: Candidacy
) -> None:
    client = token_client(outsider_user)

    read = client.get(_detail(candidacy))
    posted = _post(client, _events(candidacy), {"type": "cancelled", "event_id": "e-1"})
    listed = client.get(LIST)

    assert (read.status_code, posted.status_code) == (404, 404)
    assert read.json() == {"error": {"code": "not_found", "message": "Not found."}}
    assert listed.json()["results"] == []
    candidacy.refresh_from_db()
    assert candidacy.karat_status == KaratStatus.INVITED
    assert candidacy.events.count() == 1


def test_a_recruiter_limited_to_another_group_gets_404(
    organization: Organization,
    second_group: Group,
    token_client: TokenClient,
    candidacy: Candidacy,
) -> None:
    membership = MembershipFactory(organization=organization, role=Membership.Role.RECRUITER)
    membership.groups.add(second_group)
    client = token_client(membership.user)

    assert client.get(_detail(candidacy)).status_code == 404
    posted = _post(client, _events(candidacy), {"type": "cancelled", "event_id": "e-1"})
    assert posted.status_code == 404
    assert client.get(LIST).json()["results"] == []


def test_an_unknown_candidacy_is_a_404(admin_api: Client) -> None:
    missing = f"/api/v1/candidacies/{uuid.uuid4()}/"

    assert admin_api.get(missing).status_code == 404
    posted = _post(admin_api, f"{missing}events/", {"type": "cancelled", "event_id": "e"})
    assert posted.status_code == 404


def test_unsupported_methods_are_refused(admin_api: Client, candidacy: Candidacy) -> None:
    assert admin_api.delete(_detail(candidacy)).status_code == 405
    assert admin_api.get(_events(candidacy)).status_code == 405
    assert _post(admin_api, LIST, {}).status_code == 405


# --- Progress events: every type -------------------------------------------------------------

LATER = "2026-12-01T15:00:00+02:00"
RESULTS = {
    "recommendation": "strong_yes",
    "summary": "Clear and careful.",
    "report_url": "https://karat.example/reports/7",
}


@pytest.mark.parametrize(
    ("start", "body", "status"),
    [
        (KaratStatus.INVITED, {"type": "scheduled", "scheduled_at": LATER}, KaratStatus.SCHEDULED),
        (
            KaratStatus.SCHEDULED,
            {"type": "scheduled", "scheduled_at": "2026-12-02T09:30:00Z"},
            KaratStatus.SCHEDULED,
        ),
        (KaratStatus.SCHEDULED, {"type": "completed"}, KaratStatus.COMPLETED),
        (
            KaratStatus.COMPLETED,
            {"type": "results_ready", **RESULTS},
            KaratStatus.RESULTS_READY,
        ),
        (KaratStatus.COMPLETED, {"type": "results_ready", "recommendation": "no"}, "results_ready"),
        (KaratStatus.INVITED, {"type": "cancelled"}, KaratStatus.CANCELLED),
        (KaratStatus.SCHEDULED, {"type": "cancelled"}, KaratStatus.CANCELLED),
        (KaratStatus.INVITED, {"type": "expired"}, KaratStatus.EXPIRED),
        (KaratStatus.SCHEDULED, {"type": "expired"}, KaratStatus.EXPIRED),
        (KaratStatus.RESULTS_READY, {"type": "redo"}, KaratStatus.INVITED),
        (KaratStatus.CANCELLED, {"type": "redo"}, KaratStatus.INVITED),
        (KaratStatus.EXPIRED, {"type": "redo"}, KaratStatus.INVITED),
        (KaratStatus.COMPLETED, {"type": "redo"}, KaratStatus.INVITED),
    ],
)
def test_every_event_type_moves_the_karat_status_and_is_timelined(
    recruiter_api: Client, candidacy: Candidacy, start: str, body: dict[str, str], status: str
) -> None:
    candidacy = _status(candidacy, start)

    response = _post(recruiter_api, _events(candidacy), {**body, "event_id": "evt-1"})

    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["created"] is True
    assert answer["candidacy"]["karat_status"] == status
    assert answer["event"]["event_id"] == "evt-1"
    assert answer["event"]["milestone"] == body["type"]
    assert answer["event"]["detail"]["from"] == start
    assert answer["event"]["detail"]["to"] == status
    candidacy.refresh_from_db()
    assert candidacy.karat_status == status
    event = candidacy.events.get(external_id="evt-1")
    assert (event.kind, event.milestone) == (CandidacyEvent.Kind.STATUS_CHANGED, body["type"])


def test_scheduled_stores_the_time_in_utc(admin_api: Client, candidacy: Candidacy) -> None:
    response = _post(
        admin_api, _events(candidacy), {"type": "scheduled", "event_id": "s", "scheduled_at": LATER}
    )

    candidacy.refresh_from_db()
    assert candidacy.interview_scheduled_at == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    assert response.json()["candidacy"]["interview_scheduled_at"] == "2026-12-01T13:00:00Z"
    assert response.json()["event"]["detail"]["scheduled_at"] == "2026-12-01T13:00:00+00:00"


def test_results_store_recommendation_summary_and_report_link(
    admin_api: Client, candidacy: Candidacy
) -> None:
    candidacy = _status(candidacy, KaratStatus.COMPLETED)

    response = _post(
        admin_api, _events(candidacy), {"type": "results_ready", "event_id": "r", **RESULTS}
    )

    assert response.status_code == 201
    candidacy.refresh_from_db()
    assert (candidacy.recommendation, candidacy.results_summary, candidacy.report_url) == (
        "strong_yes",
        "Clear and careful.",
        "https://karat.example/reports/7",
    )
    assert response.json()["event"]["summary"] == "Results ready: Strong yes"


def test_redo_clears_the_previous_interview(admin_api: Client, candidacy: Candidacy) -> None:
    for n, body in enumerate(
        [
            {"type": "scheduled", "scheduled_at": LATER},
            {"type": "completed"},
            {"type": "results_ready", **RESULTS},
            {"type": "redo"},
        ]
    ):
        assert (
            _post(admin_api, _events(candidacy), {**body, "event_id": f"e{n}"}).status_code == 201
        )

    candidacy.refresh_from_db()
    assert candidacy.karat_status == KaratStatus.INVITED
    assert candidacy.interview_scheduled_at is None
    assert (candidacy.recommendation, candidacy.results_summary, candidacy.report_url) == (
        "",
        "",
        "",
    )


# --- Idempotency -----------------------------------------------------------------------------


def test_the_same_event_id_twice_records_one_event_and_answers_200_with_it(
    admin_api: Client, candidacy: Candidacy
) -> None:
    body = {"type": "scheduled", "event_id": "evt-42", "scheduled_at": LATER}

    first = _post(admin_api, _events(candidacy), body)
    again = _post(admin_api, _events(candidacy), body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False
    assert again.json()["event"] == first.json()["event"]
    assert candidacy.events.filter(external_id="evt-42").count() == 1
    assert candidacy.events.filter(milestone=Milestone.SCHEDULED).count() == 1


def test_a_replay_with_other_values_changes_nothing(
    admin_api: Client, candidacy: Candidacy
) -> None:
    _post(
        admin_api, _events(candidacy), {"type": "scheduled", "event_id": "s", "scheduled_at": LATER}
    )

    again = _post(
        admin_api,
        _events(candidacy),
        {"type": "scheduled", "event_id": "s", "scheduled_at": "2027-01-01T00:00:00Z"},
    )

    candidacy.refresh_from_db()
    assert again.status_code == 200
    assert candidacy.interview_scheduled_at == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def test_a_replay_is_answered_even_after_the_status_moved_on(
    admin_api: Client, candidacy: Candidacy
) -> None:
    """A platform retrying an old event must not get a 409 because later events happened."""
    scheduled = {"type": "scheduled", "event_id": "s", "scheduled_at": LATER}
    _post(admin_api, _events(candidacy), scheduled)
    _post(admin_api, _events(candidacy), {"type": "completed", "event_id": "c"})

    again = _post(admin_api, _events(candidacy), scheduled)

    assert again.status_code == 200
    candidacy.refresh_from_db()
    assert candidacy.karat_status == KaratStatus.COMPLETED


def test_an_event_id_reused_for_another_type_is_a_409(
    admin_api: Client, candidacy: Candidacy
) -> None:
    _post(
        admin_api, _events(candidacy), {"type": "scheduled", "event_id": "x", "scheduled_at": LATER}
    )

    response = _post(admin_api, _events(candidacy), {"type": "cancelled", "event_id": "x"})

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "event_id_reused"
    assert error["message"] == "The event id “x” was already used for “Interview scheduled”."
    candidacy.refresh_from_db()
    assert candidacy.karat_status == KaratStatus.SCHEDULED


def test_event_ids_are_per_candidacy(admin_api: Client, candidacy: Candidacy, role: Role) -> None:
    other = CandidacyFactory(role=role)

    first = _post(admin_api, _events(candidacy), {"type": "cancelled", "event_id": "same"})
    second = _post(admin_api, _events(other), {"type": "cancelled", "event_id": "same"})

    assert (first.status_code, second.status_code) == (201, 201)


@contextmanager
def _first_lookup_misses(event_id: str) -> Iterator[None]:
    """The race the API's retry is for: the service's look-up of an earlier event with this id
    misses a row another request committed (as with no row locks), so its insert then hits the
    unique constraint. Done at the database boundary, once."""
    hidden = [False]

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if (
            not hidden[0]
            and sql.lstrip().upper().startswith("SELECT")
            and '"hiring_candidacyevent"."external_id" =' in sql
            and params
            and event_id in params
        ):
            hidden[0] = True
            params = tuple("-no-such-event-" if p == event_id else p for p in params)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield
    assert hidden[0], "the look-up was not seen: the test no longer exercises the race"


def test_losing_the_insert_race_is_answered_as_a_replay(
    admin_api: Client, candidacy: Candidacy
) -> None:
    body = {"type": "scheduled", "event_id": "raced", "scheduled_at": LATER}
    first = _post(admin_api, _events(candidacy), body)

    with _first_lookup_misses("raced"):
        second = _post(admin_api, _events(candidacy), body)

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["event"] == first.json()["event"]
    assert candidacy.events.filter(external_id="raced").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_event_sent_concurrently_is_recorded_once(
    admin_user: User, token_for: Callable[[User], str], role: Role
) -> None:
    with time_machine.travel(INVITED_AT):
        candidacy = CandidacyFactory(role=role)
    token = token_for(admin_user)
    body = json.dumps({"type": "scheduled", "event_id": "burst", "scheduled_at": LATER})
    barrier = threading.Barrier(4)
    answers: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        barrier.wait()
        try:
            client = Client(HTTP_AUTHORIZATION=f"Token {token}")
            response = client.post(_events(candidacy), data=body, content_type="application/json")
            with lock:
                answers.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(answers) == [200, 200, 200, 201]
    assert candidacy.events.filter(external_id="burst").count() == 1


# --- Invalid transitions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "body", "message"),
    [
        (
            KaratStatus.INVITED,
            {"type": "completed"},
            "A candidacy that is invited cannot be marked “interview completed”.",
        ),
        (
            KaratStatus.INVITED,
            {"type": "results_ready", "recommendation": "yes"},
            "A candidacy that is invited cannot be marked “results ready”.",
        ),
        (
            KaratStatus.INVITED,
            {"type": "redo"},
            "A candidacy that is invited cannot be marked “redo”.",
        ),
        (
            KaratStatus.COMPLETED,
            {"type": "scheduled", "scheduled_at": LATER},
            "A candidacy that is interview completed cannot be marked “interview scheduled”.",
        ),
        (
            KaratStatus.RESULTS_READY,
            {"type": "cancelled"},
            "A candidacy that is results ready cannot be marked “cancelled”.",
        ),
        (
            KaratStatus.CANCELLED,
            {"type": "expired"},
            "A candidacy that is cancelled cannot be marked “expired”.",
        ),
        (
            KaratStatus.EXPIRED,
            {"type": "completed"},
            "A candidacy that is expired cannot be marked “interview completed”.",
        ),
    ],
)
def test_an_invalid_transition_is_a_409_with_a_message_and_changes_nothing(
    admin_api: Client, candidacy: Candidacy, start: str, body: dict[str, str], message: str
) -> None:
    candidacy = _status(candidacy, start)

    response = _post(admin_api, _events(candidacy), {**body, "event_id": "e-1"})

    assert response.status_code == 409
    assert response.json() == {"error": {"code": "invalid_transition", "message": message}}
    candidacy.refresh_from_db()
    assert candidacy.karat_status == start
    assert not candidacy.events.filter(external_id="e-1").exists()


# --- Bad fields ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"type": "bogus", "event_id": "e"}, "type", '"bogus" is not a valid choice.'),
        ({"type": "invited", "event_id": "e"}, "type", '"invited" is not a valid choice.'),
        ({"event_id": "e"}, "type", "This field is required."),
        ({"type": "cancelled"}, "event_id", "This field is required."),
        ({"type": "cancelled", "event_id": ""}, "event_id", "This field may not be blank."),
        ({"type": "cancelled", "event_id": "   "}, "event_id", "This field may not be blank."),
        (
            {"type": "cancelled", "event_id": "e" * 101},
            "event_id",
            "Ensure this field has no more than 100 characters.",
        ),
        ({"type": "cancelled", "event_id": None}, "event_id", "This field may not be null."),
        ({"type": "scheduled", "event_id": "e"}, "scheduled_at", "Required for type scheduled."),
        (
            {"type": "scheduled", "event_id": "e", "scheduled_at": "2026-12-01T15:00:00"},
            "scheduled_at",
            "Give the time with its offset",
        ),
        (
            {"type": "scheduled", "event_id": "e", "scheduled_at": "2026-12-01"},
            "scheduled_at",
            "Give the time with its offset",
        ),
        (
            {"type": "scheduled", "event_id": "e", "scheduled_at": "next tuesday"},
            "scheduled_at",
            "Datetime has wrong format.",
        ),
        (
            {"type": "scheduled", "event_id": "e", "scheduled_at": 1764600000},
            "scheduled_at",
            "Datetime has wrong format.",
        ),
        (
            {"type": "results_ready", "event_id": "e"},
            "recommendation",
            "Required for type results_ready.",
        ),
        (
            {"type": "results_ready", "event_id": "e", "recommendation": "maybe"},
            "recommendation",
            '"maybe" is not a valid choice.',
        ),
        (
            {"type": "results_ready", "event_id": "e", "recommendation": "yes", "summary": "s" * 5001},
            "summary",
            "Ensure this field has no more than 5000 characters.",
        ),
        (
            {"type": "results_ready", "event_id": "e", "recommendation": "yes", "report_url": "ftp://k.test/r"},
            "report_url",
            "Use an http(s) link.",
        ),
        (
            {"type": "results_ready", "event_id": "e", "recommendation": "yes", "report_url": "javascript:alert(1)"},
            "report_url",
            "Enter a valid URL.",
        ),
        (
            {"type": "results_ready", "event_id": "e", "recommendation": "yes", "report_url": "https://k.test/" + "r" * 500},
            "report_url",
            "Ensure this field has no more than 500 characters.",
        ),
        (
            {"type": "scheduled", "event_id": "e", "scheduled_at": LATER, "recommendation": "yes"},
            "recommendation",
            "Only for type results_ready, not scheduled.",
        ),
        (
            {"type": "cancelled", "event_id": "e", "scheduled_at": LATER},
            "scheduled_at",
            "Only for type scheduled, not cancelled.",
        ),
        (
            {"type": "completed", "event_id": "e", "summary": "Went well"},
            "summary",
            "Only for type results_ready, not completed.",
        ),
    ],
)  # fmt: skip
def test_bad_fields_are_a_400_naming_the_field_and_change_nothing(
    admin_api: Client,
    candidacy: Candidacy,
    body: dict[str, Any],
    field: str,
    message: str,
) -> None:
    # From completed, results_ready would be allowed: only the fields can be at fault.
    start = KaratStatus.COMPLETED if body.get("type") == "results_ready" else KaratStatus.INVITED
    candidacy = _status(candidacy, start)

    response = _post(admin_api, _events(candidacy), body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("invalid", "The request is not valid.")
    assert any(message in text for text in error["fields"][field]), error["fields"]
    candidacy.refresh_from_db()
    assert candidacy.karat_status == start
    assert candidacy.events.count() == 1  # only its creation


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        ("{not json", "application/json", 400, "parse_error"),
        (b"\xff\xfe", "application/json", 400, "parse_error"),
        ("", "application/json", 400, "invalid"),
        ('["scheduled"]', "application/json", 400, "invalid"),
        ('"cancelled"', "application/json", 400, "invalid"),
        ("type=cancelled&event_id=e", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ],
)  # fmt: skip
def test_a_body_that_is_not_a_json_object_is_refused(
    admin_api: Client, candidacy: Candidacy, data: Any, content_type: str, status: int, code: str
) -> None:
    response = admin_api.post(_events(candidacy), data=data, content_type=content_type)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    candidacy.refresh_from_db()
    assert candidacy.karat_status == KaratStatus.INVITED


# --- Reading ---------------------------------------------------------------------------------


@pytest.fixture
def cast(group: Group, second_group: Group) -> dict[str, Candidacy]:
    eng = RoleFactory(group=group, title="Backend")
    data = RoleFactory(group=second_group, title="Data")
    ada = CandidacyFactory(role=eng, candidate_name="Ada Lovelace", candidate_email="ada@x.test")
    grace = CandidacyFactory(
        role=eng,
        candidate_name="Grace Hopper",
        karat_status=KaratStatus.SCHEDULED,
        ats_stage_name="Phone screen",
    )
    alan = CandidacyFactory(
        role=data,
        candidate_name="Alan Turing",
        candidate_email="alan@y.test",
        ats_stage_name="Offer",
        ats_archived=True,
        ats_hired=True,
    )
    return {"ada": ada, "grace": grace, "alan": alan}


def _listed(client: Client, params: dict[str, str]) -> set[str]:
    response = client.get(LIST, params)
    assert response.status_code == 200, response.json()
    return {row["candidate_name"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"Ada Lovelace", "Grace Hopper", "Alan Turing"}),
        ({"status": "scheduled"}, {"Grace Hopper"}),
        ({"stage": "Offer"}, {"Alan Turing"}),
        ({"archived": "true"}, {"Alan Turing"}),
        ({"archived": "false"}, {"Ada Lovelace", "Grace Hopper"}),
        ({"hired": "true"}, {"Alan Turing"}),
        ({"hired": "false", "status": "invited"}, {"Ada Lovelace"}),
        ({"q": "ADA@X"}, {"Ada Lovelace"}),
        ({"q": "hopper"}, {"Grace Hopper"}),
        ({"group": "second"}, {"Alan Turing"}),
        ({"role": "backend"}, {"Ada Lovelace", "Grace Hopper"}),
    ],
)
def test_the_list_takes_the_pages_filters(
    recruiter_api: Client,
    cast: dict[str, Candidacy],
    params: dict[str, str],
    expected: set[str],
) -> None:
    if params.get("group") == "second":
        params = {"group": str(cast["alan"].group.code)}
    if params.get("role") == "backend":
        params = {"role": str(cast["ada"].role.code)}

    assert _listed(recruiter_api, params) == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"group": "not-a-uuid"}, "group"),
        ({"group": "00000000-0000-4000-8000-000000000000"}, "group"),
        ({"role": "not-a-uuid"}, "role"),
        ({"role": "00000000-0000-4000-8000-000000000000"}, "role"),
        ({"archived": "perhaps"}, "archived"),
        ({"hired": "2"}, "hired"),
        ({"hired": ""}, "hired"),  # schemathesis: an empty boolean was read as "either"
        ({"archived": "null"}, "archived"),
        ({"q": "x" * 201}, "q"),
        ({"stage": "s" * 201}, "stage"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(
    admin_api: Client, cast: dict[str, Candidacy], params: dict[str, str], field: str
) -> None:
    response = admin_api.get(LIST, params)

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {field}


def test_another_organizations_group_and_role_cannot_be_used_as_filters(
    outsider_user: User, token_client: TokenClient, cast: dict[str, Candidacy]
) -> None:
    client = token_client(outsider_user)

    by_group = client.get(LIST, {"group": str(cast["ada"].group.code)})
    by_role = client.get(LIST, {"role": str(cast["ada"].role.code)})

    assert by_group.status_code == by_role.status_code == 400
    assert by_group.json()["error"]["fields"] == {
        "group": ["No group with this code in your organization."]
    }
    assert "Ada" not in by_role.content.decode()


def test_the_list_is_paged_by_cursor_newest_first(admin_api: Client, role: Role) -> None:
    older = CandidacyFactory.create_batch(5, role=role)
    newest = CandidacyFactory(role=role, candidate_name="Zed Newest")

    first = admin_api.get(LIST, {"page_size": 2}).json()
    # A candidacy added while a client pages shifts nothing: pages are keyed, not offset.
    CandidacyFactory(role=role, candidate_name="Added Meanwhile")
    pages, url = [first], first["next"]
    while url:
        pages.append(admin_api.get(url).json())
        url = pages[-1]["next"]
    names = [row["candidate_name"] for page in pages for row in page["results"]]

    assert set(first) == {"next", "previous", "results"}
    assert first["previous"] is None
    assert "cursor=" in first["next"]
    assert [len(page["results"]) for page in pages] == [2, 2, 2]
    assert names[0] == newest.candidate_name
    assert sorted(names[1:]) == sorted(c.candidate_name for c in older)
    assert "Added Meanwhile" not in names
    assert pages[-1]["previous"] is not None
    assert len(admin_api.get(LIST).json()["results"]) == 7  # 50 a page by default


def test_a_cursor_that_is_not_ours_is_a_400_naming_it(
    admin_api: Client, candidacy: Candidacy
) -> None:
    response = admin_api.get(LIST, {"cursor": "bm90LW91cnM"})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["cursor"]


def test_a_list_row_has_the_candidacy_and_its_ats_side(
    admin_api: Client, cast: dict[str, Candidacy]
) -> None:
    alan = cast["alan"]

    row = admin_api.get(LIST, {"q": "turing"}).json()["results"][0]

    assert row["id"] == str(alan.code)
    # The group and the role are named by code, as in the integrations and invitations APIs.
    assert row["group"] == {"code": str(alan.group.code), "name": alan.group.name}
    assert row["role"]["code"] == str(alan.role.code)
    assert row["role"]["title"] == "Data"
    assert row["ats"]["stage_name"] == "Offer"
    assert (row["ats"]["archived"], row["ats"]["hired"]) == (True, True)
    assert "timeline" not in row


def test_the_list_query_count_does_not_grow_with_the_page(
    admin_api: Client,
    role: Role,
    second_group: Group,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    CandidacyFactory.create_batch(3, role=role)
    with django_assert_max_num_queries(20) as few:
        admin_api.get(LIST, {"page_size": 200})
    CandidacyFactory.create_batch(60, role=role)
    CandidacyFactory.create_batch(60, role=RoleFactory(group=second_group))

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_api.get(LIST, {"page_size": 200})

    assert len(response.json()["results"]) == 123


def test_one_candidacy_has_its_whole_timeline_newest_first(
    admin_api: Client, admin_user: User, candidacy: Candidacy
) -> None:
    services.candidacy_milestone_record(
        candidacy=candidacy,
        milestone=Milestone.SCHEDULED,
        scheduled_at=datetime(2026, 12, 1, 13, 0, tzinfo=UTC),
        event_id="evt-1",
        actor=admin_user,
    )
    services.candidacy_ats_state_apply(
        candidacy=candidacy,
        state=services.AtsState(stage_id="s2", stage_name="On-site", archived=False, version=5),
        origin={"via": "webhook", "event": "candidateStageChange"},
    )
    services.candidacy_event_add(
        candidacy=candidacy,
        kind=CandidacyEvent.Kind.ATS_UPDATE,
        source=CandidacyEvent.Source.KARAT,
        summary="Note posted to Lever: interview scheduled",
        detail={"status": "sent"},
    )

    body = admin_api.get(_detail(candidacy)).json()

    assert body["id"] == str(candidacy.code)
    assert body["karat_status"] == "scheduled"
    assert body["ats_profile"] is None
    kinds = [e["kind"] for e in body["timeline"]]
    assert kinds == ["ats_update", "ats_stage_changed", "status_changed", "created"]
    update, stage, scheduled, created = body["timeline"]
    assert update["detail"] == {"status": "sent"}
    assert stage["source"] == "ats"
    assert stage["detail"]["origin"]["event"] == "candidateStageChange"
    assert scheduled["event_id"] == "evt-1"
    assert scheduled["actor"] == admin_user.email
    assert scheduled["detail"]["scheduled_at"] == "2026-12-01T13:00:00+00:00"
    assert (created["milestone"], created["event_id"], created["actor"]) == ("invited", "", None)


def test_one_candidacy_links_its_lever_profile(admin_api: Client, candidacy: Candidacy) -> None:
    # Registered by integrations (hiring never imports it): the same hook as the page's.
    from integrations.models import OpportunityLink
    from tests.factories import IntegrationFactory

    OpportunityLink.objects.create(
        integration=IntegrationFactory(group=candidacy.group, region="eu"),
        candidacy=candidacy,
        opportunity_id="0A1B2C3D-0000-4000-8000-00000000ABCD",
    )

    body = admin_api.get(_detail(candidacy)).json()

    assert body["ats_profile"] == {
        "ats": "Lever",
        "url": "https://hire.eu.lever.co/candidates/0a1b2c3d-0000-4000-8000-00000000abcd",
    }


def test_the_openapi_schema_documents_the_candidacy_routes(admin_client: Client) -> None:
    schema = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    paths = schema["paths"]
    assert set(paths["/api/v1/candidacies/"]) == {"get"}
    assert set(paths["/api/v1/candidacies/{code}/"]) == {"get"}
    events = paths["/api/v1/candidacies/{code}/events/"]["post"]
    assert {"200", "201", "400", "404", "409"} <= set(events["responses"])
    listed = paths["/api/v1/candidacies/"]["get"]
    assert {p["name"] for p in listed["parameters"]} >= {
        "group", "role", "status", "stage", "archived", "hired", "q", "cursor", "page_size"
    }  # fmt: skip
    request = schema["components"]["schemas"]["CandidacyEventInputRequest"]
    assert set(request["required"]) == {"type", "event_id"}


@pytest.mark.parametrize("days", [-5, 400])
def test_interview_times_in_the_future_and_past_are_both_accepted(
    admin_api: Client, candidacy: Candidacy, days: int
) -> None:
    """The platform reports what happened: a time in the past is fine once the candidate was
    invited (a time before that is refused: tests/hiring/test_milestone_times.py)."""
    at = (NOW + timedelta(days=days)).isoformat()

    response = _post(
        admin_api, _events(candidacy), {"type": "scheduled", "event_id": "p", "scheduled_at": at}
    )

    assert response.status_code == 201


def test_the_route_walks_cover_the_candidacy_api() -> None:
    """tests/test_no_server_errors.py and tests/test_security.py walk every route with a
    candidacy's code for ``<code>``: the new routes must be among them."""
    from tests.routes import all_routes

    assert {
        "api/v1/candidacies/",
        "api/v1/candidacies/<uuid:code>/",
        "api/v1/candidacies/<uuid:code>/events/",
    } <= set(all_routes())


# --- the ATS link: which Lever opportunity a candidacy is -------------------------------------


def test_the_list_and_the_detail_name_the_lever_opportunity(
    admin_api: Client, role: Role, candidacy: Candidacy
) -> None:
    # Registered by integrations (hiring never imports it): the same hooks as the page's.
    from integrations.models import OpportunityLink
    from tests.factories import IntegrationFactory

    integration = IntegrationFactory(group=candidacy.group, region="us")
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id="0A1B2C3D-0000-4000-8000-00000000ABCD",
    )
    unlinked = CandidacyFactory(role=role)
    expected = {
        "ats": "lever",
        "integration": str(integration.public_id),
        "opportunity_id": "0A1B2C3D-0000-4000-8000-00000000ABCD",
        "url": "https://hire.lever.co/candidates/0a1b2c3d-0000-4000-8000-00000000abcd",
    }

    rows = {r["id"]: r for r in admin_api.get(LIST).json()["results"]}
    detail = admin_api.get(_detail(candidacy)).json()

    assert rows[str(candidacy.code)]["ats_link"] == expected
    assert rows[str(unlinked.code)]["ats_link"] is None
    assert detail["ats_link"] == expected
    assert admin_api.get(_detail(unlinked)).json()["ats_link"] is None


def test_the_list_query_count_does_not_grow_with_linked_candidacies(
    admin_api: Client,
    role: Role,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    from integrations.models import OpportunityLink
    from tests.factories import IntegrationFactory

    integration = IntegrationFactory(group=role.group)

    def linked(n: int) -> None:
        for candidacy in CandidacyFactory.create_batch(n, role=role):
            OpportunityLink.objects.create(
                integration=integration, candidacy=candidacy, opportunity_id=str(uuid.uuid4())
            )

    linked(2)
    with django_assert_max_num_queries(20) as few:
        admin_api.get(LIST, {"page_size": 200})
    linked(40)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_api.get(LIST, {"page_size": 200})

    assert all(r["ats_link"] for r in response.json()["results"])
