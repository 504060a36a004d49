"""Roles and candidates pages: access matrix, filters, forms, bad input and the timeline."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta
from typing import TYPE_CHECKING

import pytest
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries, Settings

from karatlever.accounts.models import Group, User
from karatlever.hiring import services
from karatlever.hiring.models import Candidacy, CandidacyEvent, KaratStatus, Milestone, Role
from tests.factories import CandidacyFactory, RoleFactory

if TYPE_CHECKING:
    # Only in django-stubs: the test client's response type.
    from django.test.client import _MonkeyPatchedWSGIResponse

pytestmark = pytest.mark.django_db


@pytest.fixture
def role(group: Group) -> Role:
    return RoleFactory(group=group, title="Backend Engineer", requisition_code="ENG-1")


@pytest.fixture
def candidacy(role: Role) -> Candidacy:
    return services.candidacy_create(
        role=role, candidate_name="Ada Lovelace", candidate_email="ada@example.com"
    )


def _pages(role: Role, candidacy: Candidacy) -> dict[str, str]:
    return {
        "roles": reverse("hiring:role-list"),
        "role-new": f"{reverse('hiring:role-create')}?group={role.group.code}",
        "role-edit": reverse("hiring:role-edit", args=[role.code]),
        "candidates": reverse("hiring:candidate-list"),
        "candidate": reverse("hiring:candidate-detail", args=[candidacy.code]),
    }


# --- Access matrix ---------------------------------------------------------------------------

ADMIN_EXPECTED = {
    "roles": 200,
    "role-new": 200,
    "role-edit": 200,
    "candidates": 200,
    "candidate": 200,
}
RECRUITER_EXPECTED = {
    "roles": 200,
    "role-new": 403,
    "role-edit": 403,
    "candidates": 200,
    "candidate": 200,
}
# Another organization's admin: lists are empty pages of their own org, objects are 404.
OUTSIDER_EXPECTED = {
    "roles": 200,
    "role-new": 404,
    "role-edit": 404,
    "candidates": 200,
    "candidate": 404,
}


@pytest.mark.parametrize(
    ("client_fixture", "expected"),
    [
        ("admin_client", ADMIN_EXPECTED),
        ("recruiter_client", RECRUITER_EXPECTED),
        ("outsider_client", OUTSIDER_EXPECTED),
    ],
)
def test_every_hiring_page_answers_each_cast_member_as_expected(
    request: pytest.FixtureRequest,
    client_fixture: str,
    expected: dict[str, int],
    role: Role,
    candidacy: Candidacy,
) -> None:
    client: Client = request.getfixturevalue(client_fixture)

    got = {name: client.get(url).status_code for name, url in _pages(role, candidacy).items()}

    assert got == expected


def test_anonymous_visitor_is_sent_to_login_from_every_hiring_page(
    role: Role, candidacy: Candidacy
) -> None:
    client = Client()

    for url in _pages(role, candidacy).values():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login")), url


def test_outsider_does_not_see_acmes_roles_or_candidates(
    outsider_client: Client, role: Role, candidacy: Candidacy
) -> None:
    roles = outsider_client.get(reverse("hiring:role-list"))
    candidates = outsider_client.get(reverse("hiring:candidate-list"))

    assert b"Backend Engineer" not in roles.content
    assert b"Ada Lovelace" not in candidates.content


def test_outsider_cannot_pick_acmes_group_on_the_roles_page(
    outsider_client: Client, group: Group
) -> None:
    response = outsider_client.get(reverse("hiring:role-list"), {"group": str(group.code)})

    assert response.status_code == 404


def test_recruiter_cannot_post_role_changes(
    recruiter_client: Client, role: Role, group: Group
) -> None:
    edit = recruiter_client.post(
        reverse("hiring:role-edit", args=[role.code]),
        {"title": "Hijacked", "requisition_code": "X", "active": "on"},
    )
    create = recruiter_client.post(
        f"{reverse('hiring:role-create')}?group={group.code}", {"title": "New"}
    )
    toggle = recruiter_client.post(
        reverse("hiring:role-set-active", args=[role.code]), {"active": "0"}
    )

    role.refresh_from_db()
    assert (edit.status_code, create.status_code, toggle.status_code) == (403, 403, 403)
    assert b"Only organization admins can edit roles." in edit.content
    assert (role.title, role.active) == ("Backend Engineer", True)
    assert Role.objects.count() == 1


def test_recruiter_sees_roles_without_edit_buttons(recruiter_client: Client, role: Role) -> None:
    response = recruiter_client.get(reverse("hiring:role-list"))

    assert b"Backend Engineer" in response.content
    assert b"New role" not in response.content
    assert reverse("hiring:role-edit", args=[role.code]).encode() not in response.content


def test_main_navigation_links_candidates_and_roles(admin_client: Client) -> None:
    response = admin_client.get(reverse("hiring:role-list"))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{reverse("hiring:candidate-list")}"' in html
    assert f'href="{reverse("hiring:role-list")}" aria-current="page"' in html


# --- Roles -----------------------------------------------------------------------------------


def test_roles_page_lists_title_code_status_and_candidacy_count(
    admin_client: Client, role: Role, candidacy: Candidacy
) -> None:
    RoleFactory(group=role.group, title="Retired Role", requisition_code="", active=False)

    response = admin_client.get(reverse("hiring:role-list"))

    roles = {r.title: r for r in response.context["roles"]}
    assert roles["Backend Engineer"].candidacy_count == 1
    assert roles["Retired Role"].candidacy_count == 0
    html = response.content.decode()
    assert "ENG-1" in html
    assert "Inactive" in html


def test_group_drop_down_appears_only_with_several_groups(
    admin_client: Client, group: Group, request: pytest.FixtureRequest
) -> None:
    one = admin_client.get(reverse("hiring:role-list"))
    second_group: Group = request.getfixturevalue("second_group")
    RoleFactory(group=second_group, title="Data Scientist")

    several = admin_client.get(reverse("hiring:role-list"), {"group": str(second_group.code)})

    assert b'name="group"' not in one.content
    assert b'name="group"' in several.content
    assert several.context["group"] == second_group
    assert b"Data Scientist" in several.content


@pytest.mark.parametrize("bogus", ["not-a-uuid", str(uuid.uuid4()), "'; DROP TABLE x;--"])
def test_bogus_group_code_on_roles_pages_is_a_404(
    admin_client: Client, group: Group, bogus: str
) -> None:
    assert admin_client.get(reverse("hiring:role-list"), {"group": bogus}).status_code == 404
    assert admin_client.get(reverse("hiring:role-create"), {"group": bogus}).status_code == 404


def test_admin_creates_a_role_through_the_form(admin_client: Client, group: Group) -> None:
    response = admin_client.post(
        f"{reverse('hiring:role-create')}?group={group.code}",
        {"title": "  Site Reliability Engineer ", "requisition_code": " SRE-7 ", "active": "on"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('hiring:role-list')}?group={group.code}"
    role = Role.objects.get(group=group)
    assert (role.title, role.requisition_code, role.active) == (
        "Site Reliability Engineer",
        "SRE-7",
        True,
    )


def test_admin_edits_a_role_and_can_deactivate_it(admin_client: Client, role: Role) -> None:
    response = admin_client.post(
        reverse("hiring:role-edit", args=[role.code]),
        {"title": "Staff Backend Engineer", "requisition_code": "ENG-2"},  # unchecked = inactive
    )

    role.refresh_from_db()
    assert response.status_code == 302
    assert (role.title, role.requisition_code, role.active) == (
        "Staff Backend Engineer",
        "ENG-2",
        False,
    )


def test_deactivate_and_reactivate_buttons_flip_only_active(
    admin_client: Client, role: Role
) -> None:
    url = reverse("hiring:role-set-active", args=[role.code])

    admin_client.post(url, {"active": "0"})
    role.refresh_from_db()
    assert role.active is False
    admin_client.post(url, {"active": "1"})
    role.refresh_from_db()
    assert (role.active, role.title, role.requisition_code) == (True, "Backend Engineer", "ENG-1")


def test_set_active_refuses_get(admin_client: Client, role: Role) -> None:
    assert admin_client.get(reverse("hiring:role-set-active", args=[role.code])).status_code == 405


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": ""}, "title", "This field is required."),
        ({"title": "   "}, "title", "This field is required."),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
        (
            {"title": "Ok", "requisition_code": "R" * 101},
            "requisition_code",
            "at most 100 characters",
        ),
        (
            {"title": "Ok", "requisition_code": "ENG-1"},
            "requisition_code",
            "already uses this requisition code",
        ),
    ],
)
def test_invalid_role_input_is_a_form_error_and_saves_nothing(
    admin_client: Client, role: Role, data: dict[str, str], field: str, message: str
) -> None:
    response = admin_client.post(f"{reverse('hiring:role-create')}?group={role.group.code}", data)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert Role.objects.count() == 1


def test_duplicate_requisition_code_on_edit_is_a_form_error(
    admin_client: Client, role: Role
) -> None:
    other = RoleFactory(group=role.group, title="Frontend", requisition_code="FE-1")

    response = admin_client.post(
        reverse("hiring:role-edit", args=[other.code]),
        {"title": "Frontend", "requisition_code": "ENG-1", "active": "on"},
    )

    other.refresh_from_db()
    assert response.status_code == 200
    assert b"already uses this requisition code" in response.content
    assert other.requisition_code == "FE-1"


def test_same_requisition_code_is_fine_in_another_group(
    admin_client: Client, role: Role, second_group: Group
) -> None:
    response = admin_client.post(
        f"{reverse('hiring:role-create')}?group={second_group.code}",
        {"title": "Backend Engineer", "requisition_code": "ENG-1", "active": "on"},
    )

    assert response.status_code == 302
    assert Role.objects.filter(requisition_code="ENG-1").count() == 2


def test_role_edit_with_unknown_code_is_a_404(admin_client: Client) -> None:
    assert admin_client.get(f"/roles/{uuid.uuid4()}/edit/").status_code == 404
    assert admin_client.get("/roles/not-a-uuid/edit/").status_code == 404


# --- Candidates list -------------------------------------------------------------------------


@pytest.fixture
def cast(group: Group, second_group: Group) -> dict[str, Candidacy]:
    eng, data = RoleFactory(group=group), RoleFactory(group=second_group)
    return {
        "ada": CandidacyFactory(
            role=eng, candidate_name="Ada Lovelace", candidate_email="ada@x.test"
        ),
        "grace": CandidacyFactory(
            role=eng, candidate_name="Grace Hopper", karat_status=KaratStatus.SCHEDULED
        ),
        "alan": CandidacyFactory(
            role=data, candidate_name="Alan Turing", candidate_email="alan@y.test"
        ),
    }


def _names(response: _MonkeyPatchedWSGIResponse) -> set[str]:
    return {c.candidate_name for c in response.context["candidacies"]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"Ada Lovelace", "Grace Hopper", "Alan Turing"}),
        ({"status": "scheduled"}, {"Grace Hopper"}),
        ({"q": "turing"}, {"Alan Turing"}),
        ({"q": "ADA@X"}, {"Ada Lovelace"}),
        ({"group": "second", "status": "invited"}, {"Alan Turing"}),
    ],
)
def test_candidate_filters_narrow_the_list(
    admin_client: Client,
    cast: dict[str, Candidacy],
    second_group: Group,
    params: dict[str, str],
    expected: set[str],
) -> None:
    if params.get("group") == "second":
        params = {**params, "group": str(second_group.code)}

    response = admin_client.get(reverse("hiring:candidate-list"), params)

    assert response.status_code == 200
    assert _names(response) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"group": "not-a-uuid"},
        {"group": str(uuid.uuid4())},
        {"q": "x" * 5000},
        {"page": "abc"},
        {"page": "-1"},
        {"page": "999999"},
        {"status": ["invited", "scheduled"]},
    ],
)
def test_bad_filter_values_are_ignored_without_an_error(
    admin_client: Client, cast: dict[str, Candidacy], params: dict[str, str]
) -> None:
    response = admin_client.get(reverse("hiring:candidate-list"), params)

    assert response.status_code == 200
    # Invalid filters fall away; at most the last (valid) status filter applies.
    assert _names(response) <= {"Ada Lovelace", "Grace Hopper", "Alan Turing"}
    assert _names(response)


def test_outsider_cannot_filter_by_acmes_group(
    outsider_client: Client, cast: dict[str, Candidacy], group: Group
) -> None:
    response = outsider_client.get(reverse("hiring:candidate-list"), {"group": str(group.code)})

    assert response.status_code == 200
    assert _names(response) == set()


def test_candidates_are_paginated_fifty_per_page_and_keep_filters(
    admin_client: Client, group: Group
) -> None:
    role = RoleFactory(group=group)
    CandidacyFactory.create_batch(51, role=role, karat_status=KaratStatus.SCHEDULED)

    first = admin_client.get(reverse("hiring:candidate-list"), {"status": "scheduled"})
    second = admin_client.get(
        reverse("hiring:candidate-list"), {"status": "scheduled", "page": "2"}
    )

    assert len(first.context["candidacies"]) == 50
    assert len(second.context["candidacies"]) == 1
    assert "status=scheduled&amp;page=2" in first.content.decode()


def test_empty_states_differ_for_no_candidates_and_no_matches(
    admin_client: Client, cast: dict[str, Candidacy]
) -> None:
    none_match = admin_client.get(reverse("hiring:candidate-list"), {"q": "nobody-by-this-name"})
    Candidacy.objects.all().delete()
    none_at_all = admin_client.get(reverse("hiring:candidate-list"))

    assert b"No candidates match these filters." in none_match.content
    assert b"No candidates yet." in none_at_all.content


def test_group_filter_is_shown_only_with_several_groups(
    admin_client: Client, group: Group, request: pytest.FixtureRequest
) -> None:
    one = admin_client.get(reverse("hiring:candidate-list"))
    request.getfixturevalue("second_group")
    several = admin_client.get(reverse("hiring:candidate-list"))

    assert b'name="group"' not in one.content
    assert b'name="group"' in several.content


def test_candidate_list_query_count_does_not_grow_with_rows(
    admin_client: Client,
    group: Group,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    CandidacyFactory.create_batch(30, role=RoleFactory(group=group))

    with django_assert_max_num_queries(12):
        admin_client.get(reverse("hiring:candidate-list"))


# --- Candidate detail and status change ------------------------------------------------------


def test_candidate_detail_shows_karat_and_lever_sides(
    recruiter_client: Client, candidacy: Candidacy
) -> None:
    services.candidacy_ats_state_apply(
        candidacy=candidacy,
        state=services.AtsState(
            stage_id="s1",
            stage_name="Phone screen",
            archived=True,
            archive_reason_id="r1",
            archive_reason_name="Withdrew",
            version=1,
        ),
    )

    response = recruiter_client.get(reverse("hiring:candidate-detail", args=[candidacy.code]))

    html = response.content.decode()
    assert "Invited" in html
    assert "Phone screen" in html
    assert "Yes — Withdrew" in html
    # Recruiters see the page but not the admin-only status form.
    assert "Record a milestone" not in html


def test_a_candidacy_never_linked_shows_no_lever_state_and_one_not_linked_any_more_labels_it(
    recruiter_client: Client, candidacy: Candidacy
) -> None:
    url = reverse("hiring:candidate-detail", args=[candidacy.code])
    never_read = recruiter_client.get(url).content.decode()
    services.candidacy_ats_state_apply(
        candidacy=candidacy,
        state=services.AtsState(stage_id="s1", stage_name="Phone screen", archived=False),
    )

    last_read = recruiter_client.get(url).content.decode()

    # Not linked: "Archived No, Hired No" would read as Lever's current answer.
    assert "Lever stage" not in never_read
    assert "Hired</dt>" not in never_read
    assert "Last known in Lever; no longer kept up to date:" in last_read
    assert last_read.index("Last known in Lever") < last_read.index("Phone screen")


def test_timeline_lists_events_newest_first_with_source_and_actor(
    admin_client: Client, admin_user: User, candidacy: Candidacy
) -> None:
    services.candidacy_milestone_record(
        candidacy=candidacy,
        milestone=Milestone.CANCELLED,
        actor=admin_user,
        source=CandidacyEvent.Source.PERSON,
    )
    services.candidacy_ats_state_apply(
        candidacy=candidacy,
        state=services.AtsState(stage_id="s2", stage_name="On-site", archived=False, version=5),
    )

    response = admin_client.get(reverse("hiring:candidate-detail", args=[candidacy.code]))

    events = list(response.context["events"])
    assert [e.kind for e in events] == [
        CandidacyEvent.Kind.ATS_STAGE_CHANGED,
        CandidacyEvent.Kind.STATUS_CHANGED,
        CandidacyEvent.Kind.CREATED,
    ]
    html = response.content.decode()
    assert html.index("Stage: none → On-site") < html.index(
        "Cancelled (Karat status: Invited → Cancelled)"
    )
    assert html.index("Cancelled (Karat status: Invited → Cancelled)") < html.index(
        "Invited to interview for"
    )
    assert f"by {admin_user.display_name}" in html
    assert "A person" not in html


def test_timeline_credits_what_karat_did_by_itself_to_karat_and_dates_every_event(
    admin_client: Client, admin_user: User, role: Role
) -> None:
    candidacy = services.candidacy_create(
        role=role,
        candidate_name="Seeded Person",
        candidate_email="seeded@example.com",
        actor=None,
        source=CandidacyEvent.Source.KARAT,
    )
    event = candidacy.events.get()

    html = admin_client.get(reverse("hiring:candidate-detail", args=[candidacy.code])).content
    timeline = html.decode().split('id="timeline-h"')[1]

    assert "Karat, automatically" in timeline
    assert "Karat (automatic)" not in timeline
    assert "A person" not in timeline
    assert f"by {admin_user.display_name}" not in timeline
    iso = event.occurred_at.astimezone(UTC).isoformat(timespec="milliseconds")
    assert f'<time datetime="{iso.replace("+00:00", "Z")}" class="when">' in timeline


def test_admin_status_change_through_the_form_creates_one_event(
    admin_client: Client, admin_user: User, candidacy: Candidacy
) -> None:
    before = candidacy.events.count()

    tomorrow = (timezone.now() + timedelta(days=1)).astimezone(UTC)
    response = admin_client.post(
        reverse("hiring:candidate-status-change", args=[candidacy.code]),
        {"milestone": "scheduled", "scheduled_at": f"{tomorrow:%Y-%m-%dT%H:%M}"},
    )

    candidacy.refresh_from_db()
    assert response.status_code == 302
    assert candidacy.karat_status == KaratStatus.SCHEDULED
    assert candidacy.events.count() == before + 1
    event = candidacy.events.first()
    assert event is not None
    assert (event.kind, event.source, event.actor) == (
        CandidacyEvent.Kind.STATUS_CHANGED,
        CandidacyEvent.Source.PERSON,
        admin_user,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"milestone": "results_ready", "recommendation": "yes"}, "cannot be marked"),
        ({"milestone": "bogus"}, "Select a valid choice"),
        ({}, "This field is required"),
        ({"milestone": "results_ready", "recommendation": "maybe"}, "Select a valid choice"),
        ({"milestone": "scheduled"}, "needs its time"),
        (
            {"milestone": "results_ready", "recommendation": "yes", "report_url": "javascript:x"},
            "Enter a valid URL",
        ),
        (
            {"milestone": "results_ready", "recommendation": "yes", "report_url": "ftp://k.test/r"},
            "not a valid http(s) URL",
        ),
    ],
)
def test_invalid_status_change_shows_an_error_and_changes_nothing(
    admin_client: Client, candidacy: Candidacy, data: dict[str, str], message: str
) -> None:
    before = candidacy.events.count()

    response = admin_client.post(
        reverse("hiring:candidate-status-change", args=[candidacy.code]), data
    )

    candidacy.refresh_from_db()
    assert response.status_code == 200
    assert message in response.content.decode()
    assert candidacy.karat_status == KaratStatus.INVITED
    assert candidacy.events.count() == before


def test_results_need_a_recommendation_from_the_form(
    admin_client: Client, candidacy: Candidacy
) -> None:
    Candidacy.objects.filter(pk=candidacy.pk).update(karat_status=KaratStatus.COMPLETED)
    url = reverse("hiring:candidate-status-change", args=[candidacy.code])

    refused = admin_client.post(url, {"milestone": "results_ready"})
    accepted = admin_client.post(
        url, {"milestone": "results_ready", "recommendation": "strong_yes"}
    )

    candidacy.refresh_from_db()
    assert refused.status_code == 200
    assert (
        "Results need a recommendation." in refused.context["status_form"].errors["recommendation"]
    )
    assert accepted.status_code == 302
    assert (candidacy.karat_status, candidacy.recommendation) == ("results_ready", "strong_yes")


def test_status_form_offers_only_allowed_next_statuses(
    admin_client: Client, candidacy: Candidacy
) -> None:
    response = admin_client.get(reverse("hiring:candidate-detail", args=[candidacy.code]))

    html = response.content.decode()
    assert '<option value="scheduled"' in html
    assert '<option value="results_ready"' not in html


def test_recruiter_and_outsider_cannot_change_status(
    recruiter_client: Client, outsider_client: Client, candidacy: Candidacy
) -> None:
    url = reverse("hiring:candidate-status-change", args=[candidacy.code])

    assert recruiter_client.post(url, {"status": "scheduled"}).status_code == 403
    assert outsider_client.post(url, {"status": "scheduled"}).status_code == 404
    assert Client().post(url, {"status": "scheduled"}).status_code == 302
    candidacy.refresh_from_db()
    assert candidacy.karat_status == KaratStatus.INVITED


def test_invite_url_is_not_taken_by_the_detail_route() -> None:
    # /candidates/invite/ is reserved for the invite page of a later issue.
    try:
        match = resolve("/candidates/invite/")
    except Resolver404:
        return
    assert match.view_name != "hiring:candidate-detail"


def test_candidate_list_links_the_next_and_previous_page(admin_client: Client, role: Role) -> None:
    from karatlever.hiring.views import CANDIDATES_PER_PAGE

    CandidacyFactory.create_batch(CANDIDATES_PER_PAGE + 1, role=role)
    url = reverse("hiring:candidate-list")

    first = admin_client.get(url).content.decode()
    second = admin_client.get(url, {"page": 2}).content.decode()

    assert "Page 1 of 2" in first
    assert 'href="?page=2" rel="next">Next →' in first
    assert 'rel="prev"' not in first
    assert 'href="?page=1" rel="prev">← Previous' in second
    assert 'rel="next"' not in second


# --- the candidate's Lever profile (issue 10, item 11) ------------------------------------------


@pytest.mark.parametrize(("region", "host"), [("us", "hire.lever.co"), ("eu", "hire.eu.lever.co")])
def test_a_linked_candidacy_links_the_lever_profile_on_its_region_host(
    admin_client: Client,
    recruiter_client: Client,
    role: Role,
    region: str,
    host: str,
    settings: Settings,
) -> None:
    # Through the integrations side: hiring itself never imports integrations.
    from integrations.models import OpportunityLink
    from tests.factories import IntegrationFactory

    # A local sandbox's address moves the Sandbox region's pages only, never Lever's own.
    settings.LEVER_SANDBOX_SITE_URL = "http://127.0.0.1:8001"
    integration = IntegrationFactory(group=role.group, region=region)
    candidacy = CandidacyFactory(role=role)
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id="0A1B2C3D-0000-4000-8000-00000000ABCD",
    )
    url = reverse("hiring:candidate-detail", kwargs={"code": candidacy.code})

    for client in (admin_client, recruiter_client):
        page = client.get(url).content.decode()

        assert f'href="https://{host}/candidates/0a1b2c3d-0000-4000-8000-00000000abcd"' in page
        assert "Open profile in Lever" in page
        assert 'rel="noopener noreferrer"' in page


@pytest.mark.parametrize(
    ("site", "expected"),
    [
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001/candidates/"),
        ("http://127.0.0.1:8001/", "http://127.0.0.1:8001/candidates/"),
        ("", "https://hire.sandbox.lever.co/candidates/"),
    ],
)
def test_a_sandbox_candidacy_opens_the_profile_where_the_sandbox_serves_it(
    admin_client: Client, role: Role, settings: Settings, site: str, expected: str
) -> None:
    # make run: hire.sandbox.lever.co doesn't resolve, the local sandbox serves the page.
    from integrations.models import OpportunityLink
    from tests.factories import IntegrationFactory

    settings.LEVER_SANDBOX_SITE_URL = site
    candidacy = CandidacyFactory(role=role)
    OpportunityLink.objects.create(
        integration=IntegrationFactory(group=role.group, region="sandbox"),
        candidacy=candidacy,
        opportunity_id="0a1b2c3d-0000-4000-8000-00000000abcd",
    )

    page = admin_client.get(
        reverse("hiring:candidate-detail", kwargs={"code": candidacy.code})
    ).content.decode()

    assert f'href="{expected}0a1b2c3d-0000-4000-8000-00000000abcd"' in page
    assert "Open profile in Lever" in page


def test_an_unlinked_candidacy_has_no_lever_profile_link(admin_client: Client, role: Role) -> None:
    candidacy = CandidacyFactory(role=role)

    page = admin_client.get(
        reverse("hiring:candidate-detail", kwargs={"code": candidacy.code})
    ).content.decode()

    assert "Open profile in" not in page
    assert "lever.co/candidates" not in page


def test_a_link_with_a_damaged_opportunity_id_shows_no_profile_link(
    admin_client: Client, role: Role
) -> None:
    from integrations.models import OpportunityLink
    from tests.factories import IntegrationFactory

    candidacy = CandidacyFactory(role=role)
    OpportunityLink.objects.create(
        integration=IntegrationFactory(group=role.group), candidacy=candidacy, opportunity_id="x"
    )

    response = admin_client.get(reverse("hiring:candidate-detail", kwargs={"code": candidacy.code}))

    assert response.status_code == 200
    assert "Open profile in" not in response.content.decode()
