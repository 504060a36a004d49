"""The candidates page's filters and the candidacy page: timeline entries of every kind and the
admin's milestone form (the chosen milestone's fields only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from integrations.models import OpportunityLink
from karatlever.accounts.models import Group, User
from karatlever.hiring import services
from karatlever.hiring.models import Candidacy, CandidacyEvent, KaratStatus, Milestone, Role
from tests.factories import CandidacyFactory, IntegrationFactory, RoleFactory, UserFactory

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse

pytestmark = pytest.mark.django_db

LIST = "/candidates/"


# --- Filters ---------------------------------------------------------------------------------


@pytest.fixture
def cast(group: Group, second_group: Group) -> dict[str, Candidacy]:
    backend = RoleFactory(group=group, title="Backend")
    frontend = RoleFactory(group=group, title="Frontend")
    data = RoleFactory(group=second_group, title="Data")
    return {
        "ada": CandidacyFactory(
            role=backend, candidate_name="Ada Lovelace", ats_stage_name="Phone screen"
        ),
        "grace": CandidacyFactory(
            role=frontend,
            candidate_name="Grace Hopper",
            karat_status=KaratStatus.SCHEDULED,
            ats_stage_name="On-site",
            ats_archived=True,
            ats_archive_reason_name="Withdrew",
        ),
        "alan": CandidacyFactory(
            role=data,
            candidate_name="Alan Turing",
            ats_stage_name="Offer",
            ats_archived=True,
            ats_hired=True,
        ),
        "edsger": CandidacyFactory(role=data, candidate_name="Edsger Dijkstra"),
    }


def _names(response: _MonkeyPatchedWSGIResponse) -> set[str]:
    assert response.status_code == 200
    return {c.candidate_name for c in response.context["candidacies"]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"role": "frontend"}, {"Grace Hopper"}),
        ({"stage": "Offer"}, {"Alan Turing"}),
        ({"stage": "Phone screen"}, {"Ada Lovelace"}),
        ({"archived": "yes"}, {"Grace Hopper", "Alan Turing"}),
        ({"archived": "no"}, {"Ada Lovelace", "Edsger Dijkstra"}),
        ({"hired": "yes"}, {"Alan Turing"}),
        ({"hired": "no"}, {"Ada Lovelace", "Grace Hopper", "Edsger Dijkstra"}),
        ({"archived": "yes", "hired": "no"}, {"Grace Hopper"}),
        ({"archived": "yes", "status": "invited"}, {"Alan Turing"}),
        ({"q": "dijk", "archived": "no"}, {"Edsger Dijkstra"}),
    ],
)
def test_role_stage_archived_and_hired_filters_narrow_the_list(
    recruiter_client: Client,
    cast: dict[str, Candidacy],
    params: dict[str, str],
    expected: set[str],
) -> None:
    if params.get("role") == "frontend":
        params = {"role": str(cast["grace"].role.code)}

    response = recruiter_client.get(LIST, params)

    assert _names(response) == expected
    assert response.context["filtered"] is True
    assert "the filters" in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"stage": "A stage nobody is in"},
        {"stage": "s" * 5000},
        {"role": "not-a-uuid"},
        {"role": "00000000-0000-4000-8000-000000000000"},
        {"archived": "maybe"},
        {"hired": "1"},
        {"archived": ["yes", "no", "x"]},
    ],
)
def test_invalid_filter_values_fall_away(
    admin_client: Client, cast: dict[str, Candidacy], params: dict[str, str]
) -> None:
    response = admin_client.get(LIST, params)

    assert _names(response) == {"Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra"}


def test_another_organizations_role_cannot_be_used_as_a_filter(
    outsider_client: Client, cast: dict[str, Candidacy]
) -> None:
    response = outsider_client.get(LIST, {"role": str(cast["ada"].role.code)})

    assert _names(response) == set()
    assert "Backend" not in response.content.decode()


def test_the_stage_filter_offers_the_stage_names_present_on_the_users_candidacies(
    admin_client: Client, outsider_user: User, cast: dict[str, Candidacy]
) -> None:
    # Another organization's stage never shows up in Acme's options.
    CandidacyFactory(
        role=RoleFactory(group=outsider_user.membership.organization.groups.get()),
        ats_stage_name="Globex secret stage",
    )

    response = admin_client.get(LIST)

    stage_choices = list(response.context["form"].fields["stage"].choices)
    assert stage_choices == [
        ("", "Any stage"),
        ("Offer", "Offer"),
        ("On-site", "On-site"),
        ("Phone screen", "Phone screen"),
    ]
    assert "Globex secret stage" not in response.content.decode()


def test_the_role_filter_names_each_roles_group_when_there_are_several(
    admin_client: Client, cast: dict[str, Candidacy]
) -> None:
    response = admin_client.get(LIST)

    labels = [label for _, label in response.context["form"].fields["role"].choices]
    assert labels == ["All roles", "Backend (Engineering)", "Data (Data)", "Frontend (Engineering)"]


def test_the_role_filter_shows_titles_alone_with_one_group(
    admin_client: Client, group: Group
) -> None:
    RoleFactory(group=group, title="Backend")

    labels = [label for _, label in admin_client.get(LIST).context["form"].fields["role"].choices]

    assert labels == ["All roles", "Backend"]


def test_every_filter_is_labelled_on_the_page(
    admin_client: Client, cast: dict[str, Candidacy]
) -> None:
    html = admin_client.get(LIST).content.decode()

    for name, label in [
        ("q", "Search"),
        ("group", "Group"),
        ("role", "Role"),
        ("status", "Karat status"),
        ("stage", "Lever stage"),
        ("archived", "Archived"),
        ("hired", "Hired"),
    ]:
        assert f'<label for="id_{name}">{label}</label>' in html
        assert f'name="{name}"' in html


def test_page_links_keep_the_new_filters(admin_client: Client, group: Group) -> None:
    CandidacyFactory.create_batch(51, role=RoleFactory(group=group), ats_archived=True)

    html = admin_client.get(LIST, {"archived": "yes", "hired": "no"}).content.decode()

    assert "archived=yes&amp;hired=no&amp;page=2" in html


def test_the_list_query_count_does_not_grow_with_rows(
    admin_client: Client,
    group: Group,
    second_group: Group,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    CandidacyFactory(role=RoleFactory(group=group), ats_stage_name="Stage 0")
    with django_assert_max_num_queries(15) as one_row:
        admin_client.get(LIST)
    for n in range(1, 25):  # many roles, groups and stages: filter options must not multiply
        CandidacyFactory(
            role=RoleFactory(group=group if n % 2 else second_group),
            ats_stage_name=f"Stage {n}",
            ats_archived=bool(n % 3),
        )
    CandidacyFactory.create_batch(40, role=RoleFactory(group=group))

    with django_assert_max_num_queries(len(one_row.captured_queries)):
        response = admin_client.get(LIST)

    assert len(response.context["candidacies"]) == 50


# --- The timeline ----------------------------------------------------------------------------


@pytest.fixture
def role(group: Group) -> Role:
    return RoleFactory(group=group, title="Backend Engineer", requisition_code="ENG-1")


@pytest.fixture
def candidacy(role: Role) -> Candidacy:
    return services.candidacy_create(
        role=role, candidate_name="Ada Lovelace", candidate_email="ada@example.com"
    )


def _page(client: Client, candidacy: Candidacy, **params: str) -> str:
    response = client.get(reverse("hiring:candidate-detail", args=[candidacy.code]), params)
    assert response.status_code == 200
    return response.content.decode()


def _timeline(client: Client, candidacy: Candidacy) -> list[str]:
    """The timeline's entries as HTML, newest first."""
    html = _page(client, candidacy).split('id="timeline-h"')[1]
    return [item.split("</li>")[0] for item in html.split('<li class="timeline-item')[1:]]


def test_milestone_entries_show_their_time_recommendation_summary_and_report(
    recruiter_client: Client, candidacy: Candidacy
) -> None:
    interview = (timezone.now() + timedelta(hours=1)).replace(second=0, microsecond=0)
    steps: list[tuple[str, dict[str, Any]]] = [
        (Milestone.SCHEDULED, {"scheduled_at": interview}),
        (Milestone.COMPLETED, {}),
        (
            Milestone.RESULTS_READY,
            {
                "recommendation": "strong_yes",
                "summary": "Careful <b>and</b> clear.",
                "report_url": "https://karat.example/reports/7",
            },
        ),
    ]
    for milestone, fields in steps:
        # Completed and its results come once the interview is over.
        later = timedelta(hours=0 if milestone == Milestone.SCHEDULED else 2)
        with time_machine.travel(timezone.now() + later):
            services.candidacy_milestone_record(
                candidacy=candidacy, milestone=milestone, event_id=f"evt-{milestone}", **fields
            )

    results, completed, scheduled, created = _timeline(recruiter_client, candidacy)

    assert "Results ready: Strong yes" in results
    assert "<dt>Recommendation</dt><dd>Strong yes</dd>" in results
    assert "Careful &lt;b&gt;and&lt;/b&gt; clear." in results
    assert 'href="https://karat.example/reports/7" rel="noopener noreferrer"' in results
    assert "event id <code>evt-results_ready</code>" in results
    assert "Interview completed (Karat status: Scheduled → Interview completed)" in completed
    assert "<dl" not in completed  # nothing to detail
    iso = interview.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f'<dt>Interview</dt><dd><time datetime="{iso}"' in scheduled
    assert "Karat, automatically" in scheduled
    assert "Karat (automatic)" not in scheduled
    assert "Invited to interview for Backend Engineer" in created


def test_lever_entries_say_whether_a_webhook_or_the_poll_brought_them(
    recruiter_client: Client, candidacy: Candidacy
) -> None:
    # Stored entries name no ATS: the page names the candidacy's, from its link.
    OpportunityLink.objects.create(
        integration=IntegrationFactory(group=candidacy.role.group),
        candidacy=candidacy,
        opportunity_id="opp-1",
    )
    services.candidacy_ats_state_apply(
        candidacy=candidacy,
        state=services.AtsState(
            stage_id="s1", stage_name="Phone screen", archived=False, version=1
        ),
        origin={"via": "webhook", "event": "candidateStageChange", "delivery_id": 9},
    )
    services.candidacy_ats_state_apply(
        candidacy=candidacy,
        state=services.AtsState(
            stage_id="s1",
            stage_name="Phone screen",
            archived=True,
            archive_reason_id="r",
            archive_reason_name="Hired",
            archive_reason_hired=True,
            version=2,
        ),
        origin={"via": "reconcile"},
    )
    services.candidacy_ats_state_apply(
        candidacy=candidacy,
        state=services.AtsState(
            stage_id="s1", stage_name="Phone screen", archived=False, version=3
        ),
        origin={"via": "webhook", "event": "candidateArchiveChange"},
    )

    unarchived, hired, archived, stage, _created = _timeline(recruiter_client, candidacy)

    assert "Stage: none → Phone screen" in stage
    assert "Lever (webhook: Candidate Stage Change)" in stage
    assert "Archived: Hired" in archived
    assert "Lever (periodic sync)" in archived
    assert "<strong>Hired</strong>" in hired
    assert "<strong>Unarchived</strong>" in unarchived
    assert "Lever (webhook: Candidate Archive State Change)" in unarchived
    for entry in (unarchived, hired, archived, stage):
        assert "candidateStageChange" not in entry
        assert "candidateArchiveChange" not in entry
        assert "by " not in entry.split("timeline-meta")[1]


def test_each_entry_says_in_words_who_or_what_it_came_from(
    recruiter_client: Client, candidacy: Candidacy, admin_user: User
) -> None:
    # given: a milestone reported through the API (the token's user), one recorded by a person
    # whose account is gone since, one Karat did by itself, and a webhook of an unlinked ATS
    services.candidacy_milestone_record(
        candidacy=candidacy,
        milestone=Milestone.SCHEDULED,
        actor=admin_user,
        scheduled_at=timezone.now() + timedelta(days=1),
    )
    gone = UserFactory(full_name="Gone Person")
    services.candidacy_event_add(
        candidacy=candidacy,
        kind=CandidacyEvent.Kind.INVITE_SENT,
        source=CandidacyEvent.Source.PERSON,
        summary="Invitation emailed",
        actor=gone,
    )
    gone.delete()
    services.candidacy_event_add(
        candidacy=candidacy,
        kind=CandidacyEvent.Kind.INVITE_SENT,
        source=CandidacyEvent.Source.KARAT,
        summary="Reminder emailed",
    )
    services.candidacy_ats_state_apply(
        candidacy=candidacy,
        state=services.AtsState(stage_id="s1", stage_name="Offer", archived=False, version=1),
        origin={"via": "webhook", "event": "candidateStageChange"},
    )

    stage, reminder, emailed, scheduled, _created = _timeline(recruiter_client, candidacy)

    def credit(entry: str) -> str:
        return entry.split('class="timeline-source">')[1].split("</span>")[0]

    assert credit(scheduled) == f"Karat, reported by {admin_user.display_name}"
    assert credit(emailed) == "by a removed user"
    assert credit(reminder) == "Karat, automatically"
    # Not linked any more: the ATS is unnamed, but its event still reads as a label.
    assert credit(stage) == "ATS (webhook: Candidate Stage Change)"


@pytest.mark.parametrize(
    ("kind", "status", "badge"),
    [
        (CandidacyEvent.Kind.INVITE_SENT, "sent", '<span class="badge badge-sent">Sent</span>'),
        (CandidacyEvent.Kind.ATS_UPDATE, "sent", '<span class="badge badge-sent">Sent</span>'),
        (
            CandidacyEvent.Kind.ATS_UPDATE,
            "failed",
            '<span class="badge badge-failed">Failed</span>',
        ),
        (CandidacyEvent.Kind.ATS_UPDATE, "dead", '<span class="badge badge-dead">Dead</span>'),
        (
            CandidacyEvent.Kind.ATS_UPDATE,
            "Pending",
            '<span class="badge badge-pending">Pending</span>',
        ),
    ],
)
def test_entries_from_other_apps_show_their_status_badge(
    recruiter_client: Client, candidacy: Candidacy, kind: str, status: str, badge: str
) -> None:
    services.candidacy_event_add(
        candidacy=candidacy,
        kind=kind,
        source=CandidacyEvent.Source.KARAT,
        summary="Note posted to Lever: interview scheduled",
        detail={"status": status},
    )

    newest = _timeline(recruiter_client, candidacy)[0]

    assert "Note posted to Lever: interview scheduled" in newest
    assert CandidacyEvent.Kind(kind).label in newest
    assert badge in newest


@pytest.mark.parametrize(
    "detail",
    [
        {},
        {"status": ""},
        {"status": None},
        {"status": 3},
        {"status": ["sent"]},
        {"status": '"><script>alert(1)</script>'},
        {"scheduled_at": "not a time", "recommendation": "maybe", "origin": "x"},
        {"report_url": "javascript:alert(1)", "summary": "<script>alert(1)</script>"},
        {"report_url": " JavaScript:alert(1)"},
        ["not", "a", "dict"],
    ],
)
def test_odd_details_never_break_the_page_or_inject_markup(
    admin_client: Client, candidacy: Candidacy, detail: object
) -> None:
    CandidacyEvent.objects.create(
        candidacy=candidacy,
        kind=CandidacyEvent.Kind.ATS_UPDATE,
        source=CandidacyEvent.Source.KARAT,
        summary="Odd",
        detail=detail,
        milestone=Milestone.SCHEDULED,  # so the milestone details are read as well
        occurred_at=datetime(2030, 1, 1, tzinfo=UTC),
    )

    newest = _timeline(admin_client, candidacy)[0]

    assert "<script>" not in newest
    assert "javascript:" not in newest.lower()
    assert "Odd" in newest


def test_an_entry_without_a_status_has_no_badge(
    recruiter_client: Client, candidacy: Candidacy
) -> None:
    services.candidacy_event_add(
        candidacy=candidacy,
        kind=CandidacyEvent.Kind.INVITE_SENT,
        source=CandidacyEvent.Source.KARAT,
        summary="Invitation emailed",
    )

    newest = _timeline(recruiter_client, candidacy)[0]

    assert '<span class="badge badge-' not in newest.split("timeline-meta")[0]


# --- The milestone form ----------------------------------------------------------------------


def _form_html(html: str) -> str:
    return html.split('id="status-h"')[1].split("</form>")[0]


def test_before_a_milestone_is_chosen_the_form_asks_for_one_only(
    admin_client: Client, candidacy: Candidacy
) -> None:
    form = _form_html(_page(admin_client, candidacy))

    assert 'name="milestone"' in form
    assert 'name="scheduled_at"' not in form
    assert 'name="recommendation"' not in form
    assert "Choose a milestone: the fields it needs appear here" in form


def test_choosing_a_milestone_asks_the_page_for_its_fields_through_htmx(
    admin_client: Client, candidacy: Candidacy
) -> None:
    url = reverse("hiring:candidate-detail", args=[candidacy.code])

    form = _form_html(_page(admin_client, candidacy))

    assert f'hx-get="{url}"' in form
    assert 'hx-target="#milestone-fields"' in form
    assert 'hx-select="#milestone-fields"' in form
    assert 'hx-swap="outerHTML"' in form
    assert 'id="milestone-fields"' in form
    assert "<script" not in form


@pytest.mark.parametrize(
    ("milestone", "shown", "required"),
    [
        ("scheduled", {"scheduled_at"}, {"scheduled_at"}),
        ("results_ready", {"recommendation", "summary", "report_url"}, {"recommendation"}),
        ("completed", set(), set()),
        ("cancelled", set(), set()),
        ("redo", set(), set()),
        ("bogus", set(), set()),
    ],
)
def test_a_chosen_milestone_shows_its_own_fields(
    admin_client: Client,
    candidacy: Candidacy,
    milestone: str,
    shown: set[str],
    required: set[str],
) -> None:
    # The request htmx sends: the select's value, with the HX-Request header.
    response = admin_client.get(
        reverse("hiring:candidate-detail", args=[candidacy.code]),
        {"milestone": milestone},
        headers={"HX-Request": "true"},
    )

    form = response.context["status_form"]
    assert {f.name for f in form.detail_fields} == shown
    assert {f.name for f in form.detail_fields if f.field.required} == required
    fields = (
        response.content.decode().split('id="milestone-fields"')[1].split("</div>\n    <button")[0]
    )
    for name in ("scheduled_at", "recommendation", "summary", "report_url"):
        assert (f'name="{name}"' in fields) == (name in shown)


def test_the_chosen_milestone_stays_selected_and_says_what_it_does(
    admin_client: Client, candidacy: Candidacy
) -> None:
    form = _form_html(_page(admin_client, candidacy, milestone="scheduled"))

    assert '<option value="scheduled" selected>' in form
    assert "Sets (or moves) the interview time." in form
    assert "Interview time (UTC)" in form


def test_recruiters_never_get_the_form_even_when_asking_for_fields(
    recruiter_client: Client, candidacy: Candidacy
) -> None:
    html = _page(recruiter_client, candidacy, milestone="scheduled")

    assert "Record a milestone" not in html
    assert 'name="scheduled_at"' not in html


def test_a_missing_time_is_an_error_on_the_time_field(
    admin_client: Client, candidacy: Candidacy
) -> None:
    response = admin_client.post(
        reverse("hiring:candidate-status-change", args=[candidacy.code]), {"milestone": "scheduled"}
    )

    assert response.status_code == 200
    assert response.context["status_form"].errors == {
        "scheduled_at": ["A scheduled interview needs its time."]
    }
    html = _form_html(response.content.decode())
    assert 'id="id_scheduled_at_error" role="alert">A scheduled interview needs its time.' in html
    candidacy.refresh_from_db()
    assert candidacy.karat_status == KaratStatus.INVITED


def test_fields_of_another_milestone_are_not_recorded(
    admin_client: Client, candidacy: Candidacy
) -> None:
    candidacy = services.candidacy_milestone_record(
        candidacy=candidacy, milestone=Milestone.SCHEDULED, scheduled_at=datetime.now(UTC)
    ).candidacy

    response = admin_client.post(
        reverse("hiring:candidate-status-change", args=[candidacy.code]),
        {"milestone": "completed", "summary": "stray", "recommendation": "no"},
    )

    assert response.status_code == 302
    candidacy.refresh_from_db()
    assert candidacy.karat_status == KaratStatus.COMPLETED
    assert (candidacy.results_summary, candidacy.recommendation) == ("", "")


def test_results_from_the_form_are_recorded_and_shown(
    admin_client: Client, admin_user: User, candidacy: Candidacy
) -> None:
    Candidacy.objects.filter(pk=candidacy.pk).update(karat_status=KaratStatus.COMPLETED)

    response = admin_client.post(
        reverse("hiring:candidate-status-change", args=[candidacy.code]),
        {
            "milestone": "results_ready",
            "recommendation": "no",
            "summary": "Struggled with the second problem.",
            "report_url": "https://karat.example/r/1",
        },
        follow=True,
    )

    candidacy.refresh_from_db()
    assert (candidacy.recommendation, candidacy.report_url) == ("no", "https://karat.example/r/1")
    karat_card = response.content.decode().split('id="karat-h"')[1].split("</section>")[0]
    assert "Struggled with the second problem." in karat_card
    assert 'href="https://karat.example/r/1"' in karat_card
    newest = _timeline(admin_client, candidacy)[0]
    assert f"by {admin_user.display_name}" in newest
    assert "<dt>Recommendation</dt><dd>No</dd>" in newest


def test_the_interview_time_is_read_as_utc(admin_client: Client, candidacy: Candidacy) -> None:
    tomorrow = (timezone.now() + timedelta(days=1)).astimezone(UTC)
    admin_client.post(
        reverse("hiring:candidate-status-change", args=[candidacy.code]),
        {"milestone": "scheduled", "scheduled_at": f"{tomorrow:%Y-%m-%dT%H:%M}"},
    )

    candidacy.refresh_from_db()
    assert candidacy.interview_scheduled_at == tomorrow.replace(second=0, microsecond=0)


def test_an_anonymised_candidacys_header_has_no_leading_separator(
    recruiter_client: Client, candidacy: Candidacy
) -> None:
    services.candidacy_anonymise(candidacy=candidacy)

    html = _page(recruiter_client, candidacy)

    header = html.split('<p class="muted small">')[1].split("</p>")[0]
    assert header == f"{candidacy.role.title} · {candidacy.group.name}"
