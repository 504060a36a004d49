"""Deletions and anonymisation in Lever honoured: the candidateDeleted webhook, the poll of
deleted opportunities, anonymised opportunities, the two policies, and the failure paths."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
import requests
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations import ats
from integrations.deletions.services import deletion_policy_set
from integrations.invites.services.create import invite_urls
from integrations.invites.services.emails import invitation_email_send
from integrations.late_links.services import opportunity_link_detach
from integrations.lever.sandbox import DEMO_API_KEY, KARAT_PERMISSIONS, SandboxServer
from integrations.models import (
    AtsIntegration,
    AuditEntry,
    DeletionSettings,
    IntegrationStatus,
    InterviewPanel,
    InvitationEmail,
    OpportunityLink,
    OutboundUpdate,
)
from integrations.outbound.services.actions import RetryOutcome, outbound_update_retry
from integrations.outbound.services.drain import outbound_drain
from karatlever.accounts.models import User
from karatlever.hiring.models import Candidacy, CandidacyEvent, KaratStatus, Milestone, Role
from karatlever.hiring.services import (
    ERASED_NAME,
    AtsState,
    candidacy_ats_state_apply,
    candidacy_milestone_record,
)
from tests.factories import CandidacyFactory, RoleFactory
from webhooks.models import WebhookDelivery
from webhooks.services import deletions, processing, reconcile

from .conftest import DELETED, STAGE, record

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status


def _link(integration: AtsIntegration, lever: SandboxServer, opportunity_id: str) -> Candidacy:
    candidacy = CandidacyFactory(role=RoleFactory(group=integration.group))
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id=opportunity_id,
        contact_id=lever.opportunity(opportunity_id)["contact"],
    )
    return candidacy


def _pending_update(candidacy: Candidacy, integration: AtsIntegration, opportunity_id: str) -> int:
    row = OutboundUpdate.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id=opportunity_id,
        milestone=Milestone.SCHEDULED,
        kind=OutboundUpdate.Kind.NOTE,
        payload={"text": "Interview scheduled"},
        sequence=1,
    )
    return row.pk


def _writes(lever: SandboxServer) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in lever.api_log() if r["method"] != "GET"]


# --- the candidateDeleted webhook ----------------------------------------------------------


def test_a_deleted_candidate_is_unlinked_and_its_pending_updates_are_cancelled(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    opportunity_id = invitable[0]
    candidacy = _link(hooked, lever, opportunity_id)
    update_id = _pending_update(candidacy, hooked, opportunity_id)
    name = candidacy.candidate_name
    lever.delete_candidate(opportunity_id)
    delivery_id = record(hooked, DELETED, {"opportunityId": opportunity_id})

    status = processing.delivery_process(delivery_id=delivery_id)

    assert status == Status.PROCESSED
    candidacy.refresh_from_db()
    assert candidacy.candidate_name == name  # the unlink policy keeps the candidacy as it is
    assert not OpportunityLink.objects.filter(candidacy=candidacy).exists()
    update = OutboundUpdate.objects.get(pk=update_id)
    assert update.status == OutboundUpdate.Status.CANCELLED
    assert "deleted in Lever" in update.last_error
    event = candidacy.events.get(kind=CandidacyEvent.Kind.ATS_UNLINKED)
    assert "deleted in the ATS" in event.summary  # stored: the page shows the ATS's name
    assert "deleted in Lever" in event.summary_shown(ats_label="Lever")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CANDIDATE_UNLINKED)
    assert entry.detail["opportunity_id"] == opportunity_id
    assert entry.detail["policy"] == DeletionSettings.Policy.UNLINK
    assert name not in entry.summary
    assert _writes(lever) == []  # nothing is ever written to Lever about a deletion
    # The outbox has nothing left to send to the deleted opportunity, even on "Retry now".
    assert outbound_update_retry(update=update, actor=None) is RetryOutcome.UNLINKED
    outbound_drain(integration_id=hooked.pk)
    assert _writes(lever) == []
    assert OutboundUpdate.objects.get(pk=update_id).status == OutboundUpdate.Status.CANCELLED


def test_a_deletion_whose_data_names_a_candidate_still_in_lever_changes_nothing(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    """The signature does not cover ``data``: a replayed delivery with another id is checked."""
    candidacy = _link(hooked, lever, invitable[0])

    delivery_id = record(hooked, DELETED, {"opportunityId": invitable[0]})
    status = processing.delivery_process(delivery_id=delivery_id)

    assert status == Status.IGNORED
    assert "not deleted" in WebhookDelivery.objects.get(pk=delivery_id).outcome
    assert OpportunityLink.objects.filter(candidacy=candidacy).exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.CANDIDATE_UNLINKED).exists()


def test_a_payload_naming_only_the_contact_unlinks_that_contacts_deleted_opportunity(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    candidacy = _link(hooked, lever, invitable[0])
    contact = lever.opportunity(invitable[0])["contact"]
    lever.delete_candidate(invitable[0])

    delivery_id = record(hooked, DELETED, {"contactId": contact, "opportunityId": None})

    assert processing.delivery_process(delivery_id=delivery_id) == Status.PROCESSED
    assert not OpportunityLink.objects.filter(candidacy=candidacy).exists()


@pytest.mark.parametrize(
    "data",
    [{"opportunityId": 42}, {"opportunityId": "a/../b"}, {"somethingElse": True}],
    ids=["number", "path", "unknown-shape"],
)
def test_an_odd_deletion_payload_is_stored_and_ignored_never_refused(
    hooked: AtsIntegration, lever: SandboxServer, data: dict[str, object]
) -> None:
    delivery_id = record(hooked, DELETED, data)

    assert processing.delivery_process(delivery_id=delivery_id) == Status.IGNORED
    assert WebhookDelivery.objects.get(pk=delivery_id).outcome == "Names no opportunity Karat knows"


@pytest.mark.parametrize(
    ("body", "test"),
    [
        ({"data": {}}, True),
        ({"event": "candidateDeleted"}, True),
        ({"data": {"opportunityId": "opp-1"}}, False),
        ({"data": ["odd"]}, False),
    ],
    ids=["lever-test", "no-data", "names-one", "odd-data"],
)
def test_only_the_lever_adapter_reads_the_body_to_tell_a_test_delivery(
    body: dict[str, object], test: bool
) -> None:
    subject = ats.adapter_for("lever", ats.Deletions).deletion_subject(body)

    assert subject.test is test
    assert subject.opportunity_id == (
        "opp-1" if body.get("data") == {"opportunityId": "opp-1"} else ""
    )


def test_lever_down_while_confirming_a_deletion_retries_it_later(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    candidacy = _link(hooked, lever, invitable[0])
    lever.delete_candidate(invitable[0])
    delivery_id = record(hooked, DELETED, {"opportunityId": invitable[0]})
    lever.set_faults(fail_next=[503, 503, 503])

    status = processing.delivery_process(delivery_id=delivery_id)

    assert status == Status.RETRY
    assert OpportunityLink.objects.filter(candidacy=candidacy).exists()
    lever.reset_faults()
    WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())
    assert processing.delivery_process(delivery_id=delivery_id) == Status.PROCESSED
    assert not OpportunityLink.objects.filter(candidacy=candidacy).exists()


def test_a_candidacy_unlinked_in_between_makes_the_delivery_a_no_op(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    """Deleted twice (Lever's retry, or the poll first): the second time changes nothing."""
    candidacy = _link(hooked, lever, invitable[0])
    lever.delete_candidate(invitable[0])
    first = record(hooked, DELETED, {"opportunityId": invitable[0]})
    second = record(hooked, DELETED, {"opportunityId": invitable[0]})

    assert processing.delivery_process(delivery_id=first) == Status.PROCESSED
    assert processing.delivery_process(delivery_id=second) == Status.IGNORED

    assert AuditEntry.objects.filter(action=AuditEntry.Action.CANDIDATE_UNLINKED).count() == 1
    assert candidacy.events.filter(kind=CandidacyEvent.Kind.ATS_UNLINKED).count() == 1


@pytest.mark.parametrize("policy", ["unlink", "anonymise"])
def test_a_deletion_that_only_cancels_updates_left_after_a_detach_is_audited(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str], policy: str
) -> None:
    # given: an update being sent when the link was detached (the detach keeps it), then the
    # candidate is deleted in Lever
    opportunity_id = invitable[0]
    candidacy = _link(hooked, lever, opportunity_id)
    update_id = _pending_update(candidacy, hooked, opportunity_id)
    OutboundUpdate.objects.filter(pk=update_id).update(status=OutboundUpdate.Status.SENDING)
    opportunity_link_detach(candidacy=candidacy, actor=None)
    deletion_policy_set(integration=hooked, policy=policy, actor=None)
    lever.delete_candidate(opportunity_id)

    first = record(hooked, DELETED, {"opportunityId": opportunity_id})
    second = record(hooked, DELETED, {"opportunityId": opportunity_id})

    assert processing.delivery_process(delivery_id=first) == Status.IGNORED
    assert "1 update(s) to Lever cancelled" in WebhookDelivery.objects.get(pk=first).outcome
    update = OutboundUpdate.objects.get(pk=update_id)
    assert update.status == OutboundUpdate.Status.CANCELLED
    assert (update.payload == {}) is (policy == "anonymise")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CANDIDATE_UNLINKED)
    assert entry.summary.startswith("1 waiting update(s) to Lever cancelled")
    assert entry.detail["candidacies"] == [str(candidacy.code)]
    assert entry.detail["opportunity_id"] == opportunity_id
    assert (entry.detail["policy"], entry.detail["unlinked"]) == (policy, False)
    assert candidacy.candidate_name not in entry.summary
    # Lever's retry finds nothing left to cancel: no second entry.
    assert processing.delivery_process(delivery_id=second) == Status.IGNORED
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CANDIDATE_UNLINKED).count() == 1
    assert DeletionSettings.objects.get(integration=hooked).honoured_count == 0


# --- the candidacy page after a deletion -----------------------------------------------------


def _lever_card(client: Client, candidacy: Candidacy) -> str:
    page = client.get(reverse("hiring:candidate-detail", kwargs={"code": candidacy.code}))
    return page.content.decode().split('id="ats-h"')[1].split("</section>")[0]


@pytest.mark.parametrize("policy", ["unlink", "anonymise"])
def test_after_a_deletion_the_candidacy_page_shows_the_lever_state_as_the_last_known(
    hooked: AtsIntegration,
    lever: SandboxServer,
    invitable: list[str],
    admin_client: Client,
    policy: str,
) -> None:
    candidacy = _link(hooked, lever, invitable[0])
    candidacy_ats_state_apply(
        candidacy=candidacy,
        state=AtsState(stage_id="ref", stage_name="Reference check", archived=False, version=1),
    )
    linked = _lever_card(admin_client, candidacy)
    deletion_policy_set(integration=hooked, policy=policy, actor=None)
    lever.delete_candidate(invitable[0])
    delivery_id = record(hooked, DELETED, {"opportunityId": invitable[0]})
    assert processing.delivery_process(delivery_id=delivery_id) == Status.PROCESSED

    card = _lever_card(admin_client, candidacy)

    assert 'data-testid="ats-last-known"' not in linked
    unlinked = card.split('data-testid="ats-unlinked">')[1].split("</p>")[0]
    assert unlinked.startswith("The candidate was deleted in Lever: the candidacy is no longer")
    assert "Last known in Lever, before the link went" in card
    assert card.index("Last known in Lever") < card.index("Reference check")
    assert "No Lever link" in card


# --- the activity page after a deletion ------------------------------------------------------


def _activity(client: Client, integration: AtsIntegration) -> str:
    url = reverse("webhooks-console:activity", kwargs={"public_id": integration.public_id})
    return client.get(url).content.decode()


@pytest.mark.parametrize(
    ("policy", "why", "outcome"),
    [
        ("unlink", "the candidate was deleted in Lever", "candidacy unlinked"),
        (
            "anonymise",
            "the candidate was deleted in Lever and the candidacy anonymised",
            "candidacy unlinked and anonymised",
        ),
    ],
)
def test_the_activity_page_names_the_candidacy_a_deletion_delivery_unlinked(
    hooked: AtsIntegration,
    lever: SandboxServer,
    invitable: list[str],
    admin_client: Client,
    policy: str,
    why: str,
    outcome: str,
) -> None:
    candidacy = _link(hooked, lever, invitable[0])
    deletion_policy_set(integration=hooked, policy=policy, actor=None)
    lever.delete_candidate(invitable[0])
    delivery_id = record(hooked, DELETED, {"opportunityId": invitable[0]})
    assert processing.delivery_process(delivery_id=delivery_id) == Status.PROCESSED
    candidacy.refresh_from_db()
    candidate_url = reverse("hiring:candidate-detail", args=[candidacy.code])
    detail_url = reverse(
        "webhooks-console:delivery-detail",
        kwargs={"public_id": hooked.public_id, "delivery_id": delivery_id},
    )

    (row,) = [r for r in _activity(admin_client, hooked).split("<tr>") if detail_url in r]
    detail = admin_client.get(detail_url).content.decode()

    for page in (row, detail):
        assert f'<a href="{candidate_url}">{candidacy.candidate_name}</a>' in page
        assert f"No longer linked: {why}" in page
        assert f"Candidate deleted in Lever: {outcome}" in page
        assert "Not linked to a candidate" not in page


def test_the_activity_page_names_unlinked_candidacies_in_a_constant_number_of_queries(
    hooked: AtsIntegration,
    lever: SandboxServer,
    invitable: list[str],
    admin_client: Client,
) -> None:
    def unlink(opportunity_id: str) -> None:
        _link(hooked, lever, opportunity_id)
        lever.delete_candidate(opportunity_id)
        delivery_id = record(hooked, DELETED, {"opportunityId": opportunity_id})
        assert processing.delivery_process(delivery_id=delivery_id) == Status.PROCESSED

    unlink(invitable[0])
    _activity(admin_client, hooked)  # warm the session and caches
    with CaptureQueriesContext(connection) as one:
        _activity(admin_client, hooked)
    for opportunity_id in invitable[1:6]:
        unlink(opportunity_id)

    with CaptureQueriesContext(connection) as six:
        html = _activity(admin_client, hooked)

    assert html.count("No longer linked: the candidate was deleted in Lever") == 6
    assert len(six.captured_queries) <= len(one.captured_queries)


# --- the poll of deleted opportunities (missed webhooks) -------------------------------------


def test_a_deleted_candidates_panels_leave_the_schedule_and_the_status_is_recomputed(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    opportunity_id = invitable[0]
    candidacy = _link(hooked, lever, opportunity_id)
    panels = {
        state: InterviewPanel.objects.create(
            integration=hooked,
            candidacy=candidacy,
            opportunity_id=opportunity_id,
            remote_id=f"panel-{state}",
            state=state,
            scheduled_at=timezone.now() + timedelta(days=1),
            duration_minutes=60,
            time_zone="UTC",
        )
        for state in (
            InterviewPanel.State.ACTIVE,
            InterviewPanel.State.PENDING,
            InterviewPanel.State.CLOSED,
        )
    }
    lever.delete_candidate(opportunity_id)
    delivery_id = record(hooked, DELETED, {"opportunityId": opportunity_id})
    # No recompute pending (receiving the delivery asked for one): the deletion asks again.
    IntegrationStatus.objects.filter(integration=hooked).update(requested_at=None)

    status = processing.delivery_process(delivery_id=delivery_id)

    assert status == Status.PROCESSED
    states = {state: InterviewPanel.objects.get(pk=panel.pk) for state, panel in panels.items()}
    for was in (InterviewPanel.State.ACTIVE, InterviewPanel.State.PENDING):
        assert states[was].state == InterviewPanel.State.GONE
        assert states[was].last_error == "The candidate was deleted in Lever."
    assert states[InterviewPanel.State.CLOSED].state == InterviewPanel.State.CLOSED
    snapshot = IntegrationStatus.objects.get(integration=hooked)
    assert snapshot.requested_at is not None
    assert snapshot.request_reason == "A deletion was honoured"


def test_the_first_poll_that_works_after_a_failure_asks_for_the_status_at_once(
    hooked: AtsIntegration, lever: SandboxServer
) -> None:
    lever.set_faults(fail_next=[500] * 8, retry_after=0)
    assert deletions.deleted_opportunities_reconcile(integration_id=hooked.pk) is None
    lever.reset_faults()
    IntegrationStatus.objects.filter(integration=hooked).update(requested_at=None)

    assert deletions.deleted_opportunities_reconcile(integration_id=hooked.pk) == 0

    snapshot = IntegrationStatus.objects.get(integration=hooked)
    assert snapshot.request_reason == "The check of deleted candidates worked"
    IntegrationStatus.objects.filter(integration=hooked).update(requested_at=None)
    deletions.deleted_opportunities_reconcile(integration_id=hooked.pk)  # nothing changed
    assert IntegrationStatus.objects.get(integration=hooked).requested_at is None


def test_the_poll_unlinks_a_candidate_whose_deletion_webhook_was_missed(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    candidacy = _link(hooked, lever, invitable[0])
    other = _link(hooked, lever, invitable[1])
    lever.set_event_enabled(DELETED, False)  # the toggle is off in Lever: no delivery
    lever.delete_candidate(invitable[0])

    unlinked = deletions.deleted_opportunities_reconcile(integration_id=hooked.pk)

    assert unlinked == 1
    assert not OpportunityLink.objects.filter(candidacy=candidacy).exists()
    assert OpportunityLink.objects.filter(candidacy=other).exists()
    settings_row = DeletionSettings.objects.get(integration=hooked)
    assert settings_row.polled_at is not None
    assert settings_row.deleted_cursor_ms is not None
    assert settings_row.poll_error == ""
    event = candidacy.events.get(kind=CandidacyEvent.Kind.ATS_UNLINKED)
    assert event.detail["origin"] == {"via": "reconcile"}
    # The next poll starts from this one: nothing new, nothing done twice.
    assert deletions.deleted_opportunities_reconcile(integration_id=hooked.pk) == 0


@pytest.mark.parametrize("status", [500, 503, 429])
def test_lever_down_during_the_poll_keeps_the_cursor_and_says_so(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str], status: int
) -> None:
    candidacy = _link(hooked, lever, invitable[0])
    lever.delete_candidate(invitable[0])
    lever.set_faults(fail_next=[status] * 8, retry_after=0)

    assert deletions.deleted_opportunities_reconcile(integration_id=hooked.pk) is None

    row = DeletionSettings.objects.get(integration=hooked)
    assert row.poll_error
    assert row.deleted_cursor_ms is None
    assert OpportunityLink.objects.filter(candidacy=candidacy).exists()
    lever.reset_faults()
    assert deletions.deleted_opportunities_reconcile(integration_id=hooked.pk) == 1
    assert DeletionSettings.objects.get(integration=hooked).poll_error == ""


def test_the_sandbox_lists_deleted_opportunities_in_pages_and_by_range(
    lever: SandboxServer, invitable: list[str]
) -> None:
    at = [lever.delete_candidate(opportunity_id) for opportunity_id in invitable[:3]]
    url = lever.api_url + "/opportunities/deleted"
    auth = (DEMO_API_KEY, "")

    first = requests.get(url, params={"limit": 2}, auth=auth, timeout=5).json()
    rest = requests.get(
        url, params={"limit": 2, "offset": first["next"]}, auth=auth, timeout=5
    ).json()
    ranged = requests.get(
        url, params={"deleted_at_start": at[2], "deleted_at_end": at[2]}, auth=auth, timeout=5
    ).json()
    gone = requests.get(f"{lever.api_url}/opportunities/{invitable[0]}", auth=auth, timeout=5)

    ids = [d["id"] for d in first["data"] + rest["data"]]
    assert first["hasNext"] is True
    assert rest["hasNext"] is False
    assert sorted(ids) == sorted(invitable[:3])
    assert {d["id"] for d in ranged["data"]} >= {invitable[2]}
    assert all(d["deletedAt"] >= at[2] for d in ranged["data"])
    assert gone.status_code == 404


# --- anonymised in Lever ---------------------------------------------------------------------


def test_an_anonymised_opportunity_gets_the_policy_on_its_next_webhook(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    candidacy = _link(hooked, lever, invitable[0])
    deletion_policy_set(integration=hooked, policy="anonymise", actor=None)
    lever.anonymize(invitable[0])

    delivery_id = record(hooked, STAGE, {"opportunityId": invitable[0], "toStageId": "offer"})

    assert processing.delivery_process(delivery_id=delivery_id) == Status.PROCESSED
    candidacy.refresh_from_db()
    assert candidacy.candidate_name == ERASED_NAME
    assert candidacy.candidate_email == ""
    assert not OpportunityLink.objects.filter(candidacy=candidacy).exists()
    assert WebhookDelivery.objects.get(pk=delivery_id).payload is None
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CANDIDATE_ANONYMISED)
    assert entry.detail["cause"] == "anonymised"


def test_the_reconciliation_finds_an_anonymised_opportunity(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    candidacy = _link(hooked, lever, invitable[0])
    lever.anonymize(invitable[0])
    AtsIntegration.objects.filter(pk=hooked.pk).update(
        reconcile_cursor_ms=int((timezone.now() - timedelta(minutes=5)).timestamp() * 1000)
    )

    reconcile.integration_reconcile(integration_id=hooked.pk)

    assert not OpportunityLink.objects.filter(candidacy=candidacy).exists()
    assert candidacy.events.filter(kind=CandidacyEvent.Kind.ATS_UNLINKED).exists()


# --- the canary: a deleted candidate leaves no personal data in the database -----------------


def _database_text() -> str:
    """Every row of every table, as text (the canary search)."""
    parts: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            parts.append(repr(cursor.fetchall()))
    return "\n".join(parts).lower()


def _candidate_with_a_history(
    integration: AtsIntegration, lever: SandboxServer, opportunity_id: str, admin_user: User
) -> tuple[Candidacy, str, str]:
    """A candidate invited from Lever, emailed, interviewed, with results, notes posted, a
    webhook received, one more update waiting and an edit in Django's admin; returns the
    candidacy and the person's name and email (both asserted present in the database)."""
    person = lever.opportunity(opportunity_id)
    name, email = person["name"], person["emails"][0]
    url = f"https://hire.lever.co/candidates/{opportunity_id}"
    (outcome,) = invite_urls(group=integration.group, urls=[url], role=None, actor=admin_user)
    candidacy = Candidacy.objects.get(pk=outcome.candidacy.pk)  # type: ignore[union-attr]
    for email_id in InvitationEmail.objects.values_list("pk", flat=True):
        invitation_email_send(email_id=email_id)
    candidacy_milestone_record(
        candidacy=candidacy, milestone=Milestone.SCHEDULED, scheduled_at=timezone.now()
    )
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.COMPLETED)
    candidacy_milestone_record(
        candidacy=candidacy,
        milestone=Milestone.RESULTS_READY,
        recommendation="yes",
        summary=f"{name} did well; reach them at {email}.",
        report_url="https://karat.example/reports/1",
    )
    outbound_drain(integration_id=integration.pk)
    stage = record(integration, STAGE, {"opportunityId": opportunity_id, "toStageId": "offer"})
    processing.delivery_process(delivery_id=stage)
    candidacy.refresh_from_db()
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.REDO)
    assert OutboundUpdate.objects.filter(status=OutboundUpdate.Status.PENDING).exists()
    LogEntry.objects.create(  # an edit in Django's admin names the candidacy
        user=admin_user,
        content_type=ContentType.objects.get_for_model(Candidacy),
        object_id=str(candidacy.pk),
        object_repr=str(candidacy),
        action_flag=CHANGE,
        change_message=f"Changed the email to {email}",
    )
    before = _database_text()
    assert name.lower() in before
    assert email.lower() in before
    return candidacy, name, email


def _assert_no_personal_data_left(
    candidacy: Candidacy, opportunity_id: str, name: str, email: str, admin_client: Client
) -> None:
    # neither the name nor the email is anywhere in the database
    text = _database_text()
    assert name.lower() not in text
    assert email.lower() not in text
    assert opportunity_id not in str(
        list(WebhookDelivery.objects.values_list("payload", flat=True))
    )
    # ...while the interview record and its recommendation stay for calibration
    candidacy.refresh_from_db()
    assert candidacy.karat_status == KaratStatus.INVITED  # the redo, after results
    results = candidacy.events.get(milestone=Milestone.RESULTS_READY)
    assert results.detail["recommendation"] == "yes"
    assert candidacy.events.filter(kind=CandidacyEvent.Kind.ANONYMISED).exists()
    assert not OutboundUpdate.objects.filter(status__in=OutboundUpdate.UNSENT).exists()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CANDIDATE_ANONYMISED).count() == 1
    # ...and the candidacy's page says what happened, without a link to Lever
    page = admin_client.get(reverse("hiring:candidate-detail", kwargs={"code": candidacy.code}))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Unlinked from Lever" in html  # the entry names no ATS: the page does
    assert "no longer linked" in html
    assert "Personal data erased" in html
    assert f"candidates/{opportunity_id}" not in html


def test_an_anonymised_deleted_candidate_leaves_no_personal_data_anywhere(
    hooked: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
    admin_user: User,
    admin_client: Client,
) -> None:
    opportunity_id = invitable[0]
    candidacy, name, email = _candidate_with_a_history(hooked, lever, opportunity_id, admin_user)
    deletion_policy_set(integration=hooked, policy="anonymise", actor=admin_user)

    # when: the candidate is deleted in Lever and its webhook arrives
    lever.delete_candidate(opportunity_id)
    deleted = record(hooked, DELETED, {"opportunityId": opportunity_id})
    assert processing.delivery_process(delivery_id=deleted) == Status.PROCESSED

    _assert_no_personal_data_left(candidacy, opportunity_id, name, email, admin_client)


def test_a_candidate_anonymised_in_lever_and_found_by_the_reconciliation_leaves_no_personal_data(
    hooked: AtsIntegration,
    lever: SandboxServer,
    roles: list[Role],
    invitable: list[str],
    admin_user: User,
    admin_client: Client,
) -> None:
    opportunity_id = invitable[0]
    candidacy, name, email = _candidate_with_a_history(hooked, lever, opportunity_id, admin_user)
    deletion_policy_set(integration=hooked, policy="anonymise", actor=admin_user)
    AtsIntegration.objects.filter(pk=hooked.pk).update(
        reconcile_cursor_ms=int((timezone.now() - timedelta(minutes=5)).timestamp() * 1000)
    )

    # when: the candidate is anonymised in Lever (no webhook) and the reconciliation runs
    lever.anonymize(opportunity_id)
    reconcile.integration_reconcile(integration_id=hooked.pk)

    assert not OpportunityLink.objects.filter(candidacy=candidacy).exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CANDIDATE_ANONYMISED)
    assert (entry.detail["cause"], entry.detail["via"]) == ("anonymised", "reconcile")
    _assert_no_personal_data_left(candidacy, opportunity_id, name, email, admin_client)


def test_the_poll_erases_the_deliveries_of_a_deleted_candidate_karat_never_linked(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    # given: deliveries stored for a candidate Karat never linked (one processed, one not),
    # each carrying a canary, and the anonymise policy
    opportunity_id, other_id = invitable[0], invitable[1]
    canary = f"canary-{secrets.token_hex(8)}"
    processed = record(hooked, STAGE, {"opportunityId": opportunity_id, "note": canary})
    assert processing.delivery_process(delivery_id=processed) == Status.IGNORED
    record(hooked, STAGE, {"opportunityId": opportunity_id, "toStageId": canary})
    kept = record(hooked, STAGE, {"opportunityId": other_id, "toStageId": "offer"})
    assert canary in _database_text()
    deletion_policy_set(integration=hooked, policy="anonymise", actor=None)
    lever.set_event_enabled(DELETED, False)  # the webhook is off: only the poll finds it

    # when: the candidate is deleted in Lever and the poll runs
    lever.delete_candidate(opportunity_id)
    with CaptureQueriesContext(connection) as queries:
        assert deletions.deleted_opportunities_reconcile(integration_id=hooked.pk) == 0

    # then: the canary is nowhere, in one UPDATE; another candidate's delivery is kept
    assert canary not in _database_text()
    erasing = [q for q in queries if q["sql"].startswith('UPDATE "webhooks_webhookdelivery"')]
    assert len(erasing) == 1
    assert WebhookDelivery.objects.get(pk=kept).payload is not None
    assert _writes(lever) == []


def test_under_the_unlink_policy_the_poll_leaves_unlinked_deliveries_to_retention(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    stored = record(hooked, STAGE, {"opportunityId": invitable[0], "toStageId": "offer"})
    lever.delete_candidate(invitable[0])

    assert deletions.deleted_opportunities_reconcile(integration_id=hooked.pk) == 0

    assert WebhookDelivery.objects.get(pk=stored).payload is not None


# --- a key without the permission to read opportunities --------------------------------------


def _without_opportunity_reads(integration: AtsIntegration, lever: SandboxServer) -> None:
    key = lever.create_api_key(
        [p for p in KARAT_PERMISSIONS if not p.startswith("opportunities:")], label="no reads"
    )
    integration.api_key, integration.api_key_last4 = key, key[-4:]
    integration.save(update_fields=["api_key", "api_key_last4"])


def test_a_key_that_may_not_read_opportunities_fails_the_delivery_and_changes_nothing(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    candidacy = _link(hooked, lever, invitable[0])
    lever.delete_candidate(invitable[0])
    _without_opportunity_reads(hooked, lever)
    delivery_id = record(hooked, DELETED, {"opportunityId": invitable[0]})

    assert processing.delivery_process(delivery_id=delivery_id) == Status.FAILED

    assert "permission" in WebhookDelivery.objects.get(pk=delivery_id).error
    assert OpportunityLink.objects.filter(candidacy=candidacy).exists()
    hooked.refresh_from_db()
    assert hooked.last_error  # the integration needs an admin: shown on its pages


def test_a_key_that_may_not_read_opportunities_fails_the_poll_visibly(
    hooked: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    from integrations.deletions.health import deletions_honoured_health

    _link(hooked, lever, invitable[0])
    _without_opportunity_reads(hooked, lever)

    assert deletions.deleted_opportunities_reconcile(integration_id=hooked.pk) is None

    row = DeletionSettings.objects.get(integration=hooked)
    assert "permission" in row.poll_error
    health = deletions_honoured_health(hooked)
    assert health.level == "warn"
    assert health.label != "Working"
