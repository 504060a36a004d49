"""Post candidacy updates in the console: the Settings section (save, bad input, preview), the
activity list with "retry now" / "give up", access rules, and the status page feature."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.models import (
    AtsIntegration,
    AuditEntry,
    OpportunityLink,
    OutboundSettings,
    OutboundUpdate,
)
from integrations.outbound.health import post_candidacy_updates_health
from integrations.outbound.services import notes
from karatlever.hiring.models import Candidacy, Milestone
from karatlever.hiring.services import candidacy_milestone_record
from tests.brokers import broker
from tests.factories import CandidacyFactory, IntegrationFactory, RoleFactory

pytestmark = pytest.mark.django_db

Status = OutboundUpdate.Status


@pytest.fixture(autouse=True)
def _memory_broker() -> Iterator[None]:
    with broker("memory://"):
        yield


def _url(name: str, integration: AtsIntegration) -> str:
    return reverse(f"outbound:{name}", kwargs={"public_id": integration.public_id})


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _form(**changes: Any) -> dict[str, Any]:
    """A valid settings form post (the defaults), with ``changes`` applied."""
    data: dict[str, Any] = {
        "enabled": "on",
        "notes_enabled": "on",
        "tags_enabled": "on",
        "tag_prefix": "Karat",
        "links_enabled": "on",
        "perform_as": "integration_user",
        "perform_as_email": "",
    }
    data |= changes
    return {f"outbound-{k}": v for k, v in data.items() if v is not None}


@pytest.fixture
def candidacy(integration: AtsIntegration) -> Candidacy:
    candidacy = CandidacyFactory(role=RoleFactory(group=integration.group, title="Backend"))
    OpportunityLink.objects.create(
        integration=integration, candidacy=candidacy, opportunity_id="opp-1"
    )
    return candidacy


@pytest.fixture
def updates(candidacy: Candidacy) -> list[OutboundUpdate]:
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    return list(OutboundUpdate.objects.order_by("sequence"))


# --- the settings section ----------------------------------------------------------------------


def test_the_settings_page_shows_what_is_posted_to_lever(
    admin_client: Client, integration: AtsIntegration, candidacy: Candidacy
) -> None:
    response = admin_client.get(
        reverse("integrations:settings", kwargs={"public_id": integration.public_id})
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "Updates posted to Lever" in body
    assert 'name="outbound-template_results_ready"' in body
    assert candidacy.candidate_name in body  # offered for the preview


def test_valid_settings_are_saved_and_audited(
    admin_client: Client, integration: AtsIntegration
) -> None:
    response = admin_client.post(
        _url("settings-save", integration),
        _form(
            tag_prefix="Interview",
            secret_notes="on",
            template_invited="Hello {{ candidate_name }}",
            template_scheduled=notes.DEFAULT_TEMPLATES["scheduled"],
        ),
    )

    saved = OutboundSettings.objects.get(integration=integration)
    assert response.status_code == 302
    assert (saved.tag_prefix, saved.secret_notes) == ("Interview", True)
    # A template equal to the default is stored as blank (later default changes apply).
    assert saved.note_templates == {"invited": "Hello {{ candidate_name }}"}
    entry = AuditEntry.objects.get(action=AuditEntry.Action.OUTBOUND_SETTINGS_CHANGED)
    assert "tag_prefix" in entry.detail["fields"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"template_invited": "{% if %}"}, "template_invited", "Template error"),
        ({"template_invited": "x" * 5001}, "template_invited", "at most 5000"),
        ({"tag_prefix": "Karat, Inc"}, "tag_prefix", "commas"),
        ({"perform_as": "lever_user"}, "perform_as_email", "Enter the email"),
        (
            {"perform_as": "lever_user", "perform_as_email": "a@b.example"},
            "perform_as_email",
            "API key first",
        ),
        ({"perform_as": "somebody"}, "perform_as", "valid choice"),
        ({"perform_as_email": "not an email"}, "perform_as_email", "valid email"),
        ({"stage_moves_enabled": "on"}, "stage_moves_enabled", "at least one"),
        ({"stage_strong_yes": "offer"}, None, "API key first"),
    ],
)
def test_bad_settings_get_a_clear_error_and_change_nothing(
    admin_client: Client,
    integration: AtsIntegration,
    changes: dict[str, Any],
    field: str | None,
    message: str,
) -> None:
    before = notes.outbound_settings_get(integration=integration)

    response = admin_client.post(_url("settings-save", integration), _form(**changes))

    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was saved" in body
    assert message in body
    if field:
        assert f'id="id_outbound-{field}_error"' in body
    after = OutboundSettings.objects.get(pk=before.pk)
    assert (after.tag_prefix, after.note_templates, after.perform_as) == (
        before.tag_prefix,
        before.note_templates,
        before.perform_as,
    )
    assert not AuditEntry.objects.filter(
        action=AuditEntry.Action.OUTBOUND_SETTINGS_CHANGED
    ).exists()


def test_the_preview_renders_the_template_being_edited_for_a_real_candidacy(
    admin_client: Client, integration: AtsIntegration, candidacy: Candidacy
) -> None:
    data = _form(template_cancelled="Bye {{ candidate_name }} from {{ role }}")
    data |= {"candidacy": str(candidacy.code), "milestone": "cancelled"}

    response = admin_client.post(_url("preview", integration), data, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert f"Bye {candidacy.candidate_name} from Backend" in response.content.decode()
    assert not OutboundSettings.objects.filter(note_templates__has_key="cancelled").exists()


def test_the_preview_never_renders_another_groups_candidacy_or_a_broken_template(
    admin_client: Client, integration: AtsIntegration, second_group: Any
) -> None:
    other = CandidacyFactory(role=RoleFactory(group=second_group))
    mine = CandidacyFactory(role=RoleFactory(group=integration.group))
    url = _url("preview", integration)

    foreign = admin_client.post(url, {"candidacy": str(other.code), "milestone": "invited"})
    junk = admin_client.post(url, {"candidacy": "not-a-uuid", "milestone": "nope"})
    broken = admin_client.post(
        url,
        {
            "candidacy": str(mine.code),
            "milestone": "invited",
            "outbound-template_invited": "{% if %}",
        },
    )

    assert foreign.status_code == 400
    assert "not in this integration" in foreign.content.decode()
    assert other.candidate_name not in foreign.content.decode()
    assert junk.status_code == 400
    assert broken.status_code == 400
    assert "Template error" in broken.content.decode()


# --- the activity page and its actions ---------------------------------------------------------


def test_the_activity_page_lists_updates_with_their_state(
    admin_client: Client, integration: AtsIntegration, updates: list[OutboundUpdate]
) -> None:
    OutboundUpdate.objects.filter(pk=updates[0].pk).update(
        status=Status.DEAD, attempts=8, last_status_code=503, last_error="Lever is down"
    )

    response = admin_client.get(
        reverse("webhooks-console:activity", kwargs={"public_id": integration.public_id})
    )

    body = response.content.decode()
    assert "Updates posted to Lever" in body
    assert "Gave up" in body
    assert "<code>503</code>" in body
    assert "Lever is down" in body
    assert body.count('name="update"') == 3  # retry (dead), retry + give up (waiting)


def _activity(client: Client, integration: AtsIntegration, **params: str) -> Any:
    return client.get(
        reverse("webhooks-console:activity", kwargs={"public_id": integration.public_id}),
        {f"updates_{k}": v for k, v in params.items()},
    )


def test_the_activity_page_shows_milestones_and_updates_in_words(
    admin_client: Client, integration: AtsIntegration, candidacy: Candidacy
) -> None:
    candidacy_milestone_record(
        candidacy=candidacy,
        milestone=Milestone.SCHEDULED,
        scheduled_at=timezone.now() + timedelta(days=3),
    )

    body = _activity(admin_client, integration).content.decode()

    assert '<td data-label="Milestone">Interview scheduled</td>' in body
    assert '<td data-label="Milestone">scheduled</td>' not in body
    assert '<option value="results_ready">Results ready</option>' in body
    assert '<option value="tag">Status tag</option>' in body


def test_the_activity_page_says_which_updates_are_listed_naming_every_kind(
    admin_client: Client, integration: AtsIntegration
) -> None:
    body = _activity(admin_client, integration).content.decode()

    # Panels and feedback forms are listed too: the header named only the first four kinds.
    assert (
        ": one per note, status tag, report link, stage move, interview panel created, "
        "interview panel rescheduled, interview panel removed, feedback form or feedback "
        "form removal. Each is sent"
    ) in " ".join(body.split())


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "dead"}, {("dead", "note")}),
        ({"kind": "tag"}, {("pending", "tag")}),
        ({"milestone": "cancelled"}, {("dead", "note"), ("pending", "tag")}),
        ({"milestone": "invited"}, set()),
        ({"status": "pending", "kind": "note"}, set()),
    ],
)
def test_the_activity_page_filters_updates_by_status_kind_and_milestone(
    admin_client: Client,
    integration: AtsIntegration,
    updates: list[OutboundUpdate],
    params: dict[str, str],
    expected: set[tuple[str, str]],
) -> None:
    OutboundUpdate.objects.filter(pk=updates[0].pk).update(status=Status.DEAD)
    assert [u.kind for u in updates] == ["note", "tag"]

    response = _activity(admin_client, integration, **params)

    assert response.status_code == 200
    shown = {(u.status, u.kind) for u in response.context["outbound_updates"]}
    assert shown == expected
    if not expected:
        assert "No updates match these filters" in response.content.decode()


def test_the_update_filters_survive_paging_and_the_delivery_filters(
    admin_client: Client, integration: AtsIntegration, updates: list[OutboundUpdate]
) -> None:
    body = _activity(admin_client, integration, kind="tag").content.decode()

    # The deliveries' filter form carries the updates' filter along (and the other way round).
    assert '<input type="hidden" name="updates_kind" value="tag">' in body


@pytest.mark.parametrize(
    "params",
    [{"status": "exploded"}, {"kind": "fax"}, {"milestone": "x" * 500}],
)
def test_a_bad_update_filter_gets_a_clear_error_not_a_500(
    admin_client: Client,
    integration: AtsIntegration,
    updates: list[OutboundUpdate],
    params: dict[str, str],
) -> None:
    response = _activity(admin_client, integration, **params)

    assert response.status_code == 400
    assert "Filters not applied" in response.content.decode()
    assert len(response.context["outbound_updates"]) == len(updates)


def test_retry_now_puts_a_dead_update_back_and_is_audited(
    admin_client: Client, integration: AtsIntegration, updates: list[OutboundUpdate]
) -> None:
    dead = updates[0]
    OutboundUpdate.objects.filter(pk=dead.pk).update(
        status=Status.DEAD, attempts=8, finished_at=timezone.now()
    )

    response = admin_client.post(_url("retry", integration), {"update": dead.pk})

    dead.refresh_from_db()
    assert response.status_code == 302
    assert (dead.status, dead.attempts) == (Status.PENDING, 0)
    assert "will be sent again" in _messages(response)[0]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.OUTBOUND_RETRIED)
    assert entry.summary.endswith("(Cancelled)")  # the milestone's label, not its code


def test_an_update_of_an_unlinked_opportunity_offers_no_retry_and_says_why(
    admin_client: Client, integration: AtsIntegration, updates: list[OutboundUpdate]
) -> None:
    cancelled = updates[0]
    OutboundUpdate.objects.filter(pk=cancelled.pk).update(
        status=Status.CANCELLED, finished_at=timezone.now()
    )
    # Deleted in Lever (or detached): the link is gone, nothing is ever written to it again.
    OpportunityLink.objects.filter(
        integration=integration, opportunity_id=cancelled.opportunity_id
    ).delete()

    page = _activity(admin_client, integration)
    response = admin_client.post(_url("retry", integration), {"update": cancelled.pk})

    row = next(u for u in page.context["outbound_updates"] if u.pk == cancelled.pk)
    assert row.linked is False
    cancelled.refresh_from_db()
    assert cancelled.status == Status.CANCELLED
    assert "no longer linked" in _messages(response)[0]


def test_give_up_cancels_a_waiting_update_and_is_audited(
    admin_client: Client, integration: AtsIntegration, updates: list[OutboundUpdate]
) -> None:
    response = admin_client.post(_url("give-up", integration), {"update": updates[1].pk})
    again = admin_client.post(_url("give-up", integration), {"update": updates[1].pk})

    updates[1].refresh_from_db()
    assert response.status_code == 302
    assert updates[1].status == Status.CANCELLED
    assert "Given up by" in updates[1].last_error
    assert "already ended" in _messages(again)[-1]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.OUTBOUND_GIVEN_UP)
    assert entry.summary.endswith("(Cancelled)")


def test_a_sending_update_can_be_neither_retried_nor_given_up(
    admin_client: Client, integration: AtsIntegration, updates: list[OutboundUpdate]
) -> None:
    OutboundUpdate.objects.filter(pk=updates[0].pk).update(status=Status.SENDING)

    admin_client.post(_url("retry", integration), {"update": updates[0].pk})
    admin_client.post(_url("give-up", integration), {"update": updates[0].pk})

    assert OutboundUpdate.objects.get(pk=updates[0].pk).status == Status.SENDING
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("name", ["retry", "give-up"])
def test_an_update_of_another_integration_or_a_junk_id_is_a_404(
    admin_client: Client,
    integration: AtsIntegration,
    second_group: Any,
    name: str,
) -> None:
    other = IntegrationFactory(group=second_group)
    candidacy = CandidacyFactory(role=RoleFactory(group=second_group))
    OpportunityLink.objects.create(integration=other, candidacy=candidacy, opportunity_id="o-2")
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    foreign = OutboundUpdate.objects.filter(integration=other).first()
    assert foreign is not None

    for value in (foreign.pk, "junk", "", "-1", "9" * 30):
        response = admin_client.post(_url(name, integration), {"update": value})
        assert response.status_code == 404, value
    assert OutboundUpdate.objects.get(pk=foreign.pk).status == Status.PENDING


@pytest.mark.parametrize("name", ["settings-save", "preview", "retry", "give-up"])
def test_new_routes_are_404_for_an_outsider_403_for_a_recruiter_and_post_only(
    outsider_client: Client,
    recruiter_client: Client,
    admin_client: Client,
    integration: AtsIntegration,
    updates: list[OutboundUpdate],
    name: str,
) -> None:
    url = _url(name, integration)
    data = {"update": updates[1].pk, **_form()}

    assert outsider_client.post(url, data).status_code == 404
    assert recruiter_client.post(url, data).status_code == 403
    assert admin_client.get(url).status_code == 405
    assert OutboundUpdate.objects.get(pk=updates[1].pk).status == Status.PENDING
    assert not AuditEntry.objects.exists()


def test_another_organizations_integration_is_a_404_for_an_admin(admin_client: Client) -> None:
    foreign = IntegrationFactory()  # a group of a new organization

    for name in ("settings-save", "preview", "retry", "give-up"):
        assert admin_client.post(_url(name, foreign), _form()).status_code == 404


# --- the status page ---------------------------------------------------------------------------


def test_the_feature_reports_named_checks_and_a_paused_queue(
    integration: AtsIntegration, updates: list[OutboundUpdate]
) -> None:
    waiting = post_candidacy_updates_health(integration)
    OutboundSettings.objects.filter(integration=integration).update(
        paused_at=timezone.now(), paused_reason="Lever rejected the API key (401)."
    )
    paused = post_candidacy_updates_health(integration)

    codes = [c.code for c in waiting.checks]
    assert codes == [
        "write_notes",
        "write_opportunities",
        "perform_as",
        "success_rate",
        "backlog",
        "dead_lettered",
        "queue",
    ]
    assert waiting.level in ("info", "ok")
    assert paused.level == "bad"
    queue = next(c for c in paused.checks if c.code == "queue")
    assert "Lever rejected the API key" in queue.message
    assert any("Queue" in issue.text for issue in paused.issues)


def test_dead_letters_make_the_feature_need_attention(
    integration: AtsIntegration, updates: list[OutboundUpdate]
) -> None:
    OutboundUpdate.objects.filter(pk=updates[0].pk).update(status=Status.DEAD)
    OutboundUpdate.objects.filter(pk=updates[1].pk).update(
        status=Status.SENT, sent_at=timezone.now()
    )

    health = post_candidacy_updates_health(integration)

    assert health.level == "warn"
    dead = next(c for c in health.checks if c.code == "dead_lettered")
    assert (dead.level, dead.message.split(":")[0]) == ("warn", "1 update")
    rate = next(c for c in health.checks if c.code == "success_rate")
    assert rate.message == "1 of 2 updates (50%)."
