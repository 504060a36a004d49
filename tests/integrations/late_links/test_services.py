"""Attaching a Lever link to an existing candidacy, against the Lever sandbox: checked like an
invite, the milestones reached posted in order and once per opportunity, detaching cancels
what waits; every refusal changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from integrations.deletions.services import deletion_policy_set, opportunity_deletion_apply
from integrations.late_links.selectors import ANONYMISED_CANDIDACY, candidacy_link_panel
from integrations.late_links.services import (
    DETACHED_REASON,
    LateLinkConflict,
    LateLinkError,
    LateLinkUnavailable,
    late_link_settings_update,
    opportunity_link_attach,
    opportunity_link_detach,
    opportunity_link_preview,
)
from integrations.lever.sandbox import SandboxServer
from integrations.models import AtsIntegration, AuditEntry, OpportunityLink, OutboundUpdate
from integrations.outbound.services import drain as drain_service
from karatlever.accounts.models import User
from karatlever.hiring.models import Candidacy, CandidacyEvent, Milestone
from karatlever.hiring.services import candidacy_milestone_record
from tests.factories import CandidacyFactory, GroupFactory, OrganizationFactory, RoleFactory
from tests.integrations.conftest import sandbox_integration
from tests.integrations.late_links.conftest import unlinked_candidacy, url_of

pytestmark = pytest.mark.django_db

Status = OutboundUpdate.Status


def drain_all(integration: AtsIntegration) -> None:
    for _ in range(10):
        OutboundUpdate.objects.filter(status=Status.PENDING).update(next_attempt_at=timezone.now())
        drain_service.outbound_drain(integration_id=integration.pk, budget_seconds=30)
        if not OutboundUpdate.objects.filter(status__in=OutboundUpdate.UNSENT).exists():
            return
    raise AssertionError("updates left unsent")


def note_texts(lever: SandboxServer, opportunity_id: str) -> list[str]:
    return [n["fields"][0]["value"] for n in lever.notes(opportunity_id)]


def snapshot(candidacy: Candidacy) -> dict[str, Any]:
    """Everything an attach could change."""
    candidacy.refresh_from_db()
    return {
        "links": list(OpportunityLink.objects.values_list("candidacy_id", "opportunity_id")),
        "updates": OutboundUpdate.objects.count(),
        "events": CandidacyEvent.objects.filter(candidacy=candidacy).count(),
        "audit": AuditEntry.objects.exclude(action="late_link_settings_changed").count(),
        "stage": candidacy.ats_stage_id,
    }


# --- attach -------------------------------------------------------------------------------------


def test_attaching_posts_each_milestone_reached_to_lever_in_order_once(
    late_integration: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    candidacy = unlinked_candidacy(late_integration)
    assert not OutboundUpdate.objects.exists()

    result = opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)

    assert (result.queued, result.requeued, result.already_posted) == (4, 0, 0)
    milestones = list(
        OutboundUpdate.objects.filter(kind="note")
        .order_by("sequence")
        .values_list("milestone", flat=True)
    )
    assert milestones == ["invited", "scheduled", "completed", "results_ready"]
    drain_all(late_integration)
    texts = note_texts(lever, invitable[0])
    assert len(texts) == 4
    assert "invited" in texts[0].lower()
    assert "strong yes" in texts[-1].lower()
    candidacy.refresh_from_db()
    assert candidacy.opportunity_link.opportunity_id == invitable[0]
    assert candidacy.ats_stage_id  # the opportunity's state was copied
    kinds = list(CandidacyEvent.objects.filter(candidacy=candidacy).values_list("kind", flat=True))
    assert CandidacyEvent.Kind.ATS_LINKED in kinds
    assert AuditEntry.objects.filter(action=AuditEntry.Action.LINK_ATTACHED).count() == 1


def test_a_milestone_after_attaching_is_posted_like_any_other(
    late_integration: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    candidacy = unlinked_candidacy(late_integration, results=False)
    opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)
    drain_all(late_integration)

    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    drain_all(late_integration)

    assert len(note_texts(lever, invitable[0])) == 2


def test_attach_detach_attach_never_posts_a_milestone_twice(
    late_integration: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    candidacy = unlinked_candidacy(late_integration)
    opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)
    drain_all(late_integration)
    opportunity_link_detach(candidacy=candidacy, actor=None)

    again = opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)
    drain_all(late_integration)

    assert (again.queued, again.requeued, again.already_posted) == (0, 0, 4)
    assert len(note_texts(lever, invitable[0])) == 4


def test_updates_a_detach_cancelled_are_sent_once_when_the_same_opportunity_comes_back(
    late_integration: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    candidacy = unlinked_candidacy(late_integration)
    opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)
    detached = opportunity_link_detach(candidacy=candidacy, actor=None)
    assert detached.cancelled == OutboundUpdate.objects.count()
    assert lever.notes(invitable[0]) == []

    again = opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)
    drain_all(late_integration)

    assert (again.queued, again.requeued) == (0, 4)
    assert len(note_texts(lever, invitable[0])) == 4
    assert not OutboundUpdate.objects.exclude(status=Status.SENT).exists()


def test_another_opportunity_attached_after_a_detach_gets_every_milestone(
    late_integration: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    candidacy = unlinked_candidacy(late_integration)
    opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)
    drain_all(late_integration)
    opportunity_link_detach(candidacy=candidacy, actor=None)

    opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[1]), actor=None)
    drain_all(late_integration)

    assert len(note_texts(lever, invitable[0])) == 4
    assert len(note_texts(lever, invitable[1])) == 4
    # One timeline entry per opportunity a milestone went to.
    posted = CandidacyEvent.objects.filter(
        candidacy=candidacy, kind=CandidacyEvent.Kind.ATS_UPDATE, detail__status="sent"
    )
    assert posted.count() == 8


def test_attaching_with_lever_updates_off_links_but_queues_nothing(
    late_integration: AtsIntegration, invitable: list[str]
) -> None:
    from integrations.outbound.services.notes import outbound_settings_get

    outbound = outbound_settings_get(integration=late_integration)
    outbound.enabled = False
    outbound.save(update_fields=["enabled"])
    candidacy = unlinked_candidacy(late_integration)

    result = opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)

    assert result.queued == 0
    assert OpportunityLink.objects.filter(candidacy=candidacy).exists()
    assert not OutboundUpdate.objects.exists()


# --- refusals: a clear error, nothing changed ---------------------------------------------------


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://jobs.lever.co/acme/123", "job_posting"),
        ("https://example.com/candidates/abc", "not_lever"),
        ("", "empty"),
        ("https://hire.eu.lever.co/candidates/7f1c0e4c-1111-4a5b-9c3d-2e2f5a6b7c8d", None),
    ],
)
def test_a_bad_url_is_refused_with_its_reason(
    late_integration: AtsIntegration, url: str, code: str | None
) -> None:
    candidacy = unlinked_candidacy(late_integration, results=False)
    before = snapshot(candidacy)

    with pytest.raises(LateLinkError) as caught:
        opportunity_link_attach(candidacy=candidacy, url=url, actor=None)

    assert caught.value.field == "url"
    if code:
        assert caught.value.code == code
    assert caught.value.message
    assert snapshot(candidacy) == before


def test_an_opportunity_lever_does_not_know_is_refused(
    late_integration: AtsIntegration,
) -> None:
    candidacy = unlinked_candidacy(late_integration, results=False)
    before = snapshot(candidacy)

    with pytest.raises(LateLinkError) as caught:
        opportunity_link_attach(
            candidacy=candidacy,
            url=url_of("00000000-1111-4222-8333-444444444444"),
            actor=None,
        )

    assert caught.value.code == "unknown_opportunity"
    assert snapshot(candidacy) == before


def test_an_opportunity_anonymised_in_lever_is_refused(
    late_integration: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    """Karat never writes to an anonymised opportunity (docs/deletions.md): attaching one
    would post the candidacy's milestones, with the candidate's name, to it."""
    lever.anonymize(invitable[0])
    candidacy = unlinked_candidacy(late_integration)
    before = snapshot(candidacy)

    with pytest.raises(LateLinkError) as caught:
        opportunity_link_preview(candidacy=candidacy, url=url_of(invitable[0]))
    assert caught.value.code == "anonymised"
    with pytest.raises(LateLinkError):
        opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)

    assert caught.value.field == "url"
    assert snapshot(candidacy) == before
    assert lever.notes(invitable[0]) == []


def test_an_opportunity_linked_to_another_candidacy_is_refused(
    late_integration: AtsIntegration, invitable: list[str]
) -> None:
    first = unlinked_candidacy(late_integration, results=False)
    opportunity_link_attach(candidacy=first, url=url_of(invitable[0]), actor=None)
    second = unlinked_candidacy(late_integration)
    before = snapshot(second)

    with pytest.raises(LateLinkConflict) as caught:
        opportunity_link_attach(candidacy=second, url=url_of(invitable[0]), actor=None)

    assert caught.value.code == "opportunity_linked"
    assert first.candidate_name in caught.value.message
    assert snapshot(second) == before


def test_an_opportunity_linked_in_another_group_is_refused_without_naming_it(
    late_integration: AtsIntegration, data_integration: AtsIntegration, invitable: list[str]
) -> None:
    late_link_settings_update(integration=data_integration, actor=None, enabled=True)
    other = CandidacyFactory(role=RoleFactory(group=data_integration.group))
    OpportunityLink.objects.create(
        integration=data_integration, candidacy=other, opportunity_id=invitable[0]
    )
    candidacy = unlinked_candidacy(late_integration)

    with pytest.raises(LateLinkConflict) as caught:
        opportunity_link_preview(candidacy=candidacy, url=url_of(invitable[0]))

    assert caught.value.code == "opportunity_linked"
    assert other.candidate_name not in caught.value.message


def test_an_opportunity_linked_in_another_group_is_named_to_who_may_see_that_group(
    late_integration: AtsIntegration,
    data_integration: AtsIntegration,
    invitable: list[str],
    admin_user: User,
    recruiter_user: User,
) -> None:
    other = CandidacyFactory(role=RoleFactory(group=data_integration.group))
    OpportunityLink.objects.create(
        integration=data_integration, candidacy=other, opportunity_id=invitable[0]
    )
    candidacy = unlinked_candidacy(late_integration)
    # The recruiter's membership names Engineering only: Data is not theirs to see.
    recruiter_user.membership.groups.set([late_integration.group])

    with pytest.raises(LateLinkConflict) as for_admin:
        opportunity_link_preview(candidacy=candidacy, url=url_of(invitable[0]), viewer=admin_user)
    with pytest.raises(LateLinkConflict) as for_recruiter:
        opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=recruiter_user)

    assert f"{other.candidate_name}, Data" in for_admin.value.message
    assert for_admin.value.extra == {"candidacy": str(other.code)}
    assert other.candidate_name not in for_recruiter.value.message
    assert for_recruiter.value.extra == {}


def test_a_candidacy_anonymised_after_a_deletion_is_never_linked_to_anyone_again(
    late_integration: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    # given: a linked candidacy whose candidate was deleted in Lever, under the anonymise policy
    candidacy = unlinked_candidacy(late_integration)
    opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)
    deletion_policy_set(integration=late_integration, policy="anonymise", actor=None)
    lever.sandbox.delete_opportunity(invitable[0])
    opportunity_deletion_apply(
        integration=late_integration, opportunity_id=invitable[0], cause="deleted", via="webhook"
    )
    candidacy.refresh_from_db()
    before = snapshot(candidacy)
    notes_before = note_texts(lever, invitable[1])

    # when: someone attaches another candidate's link to it
    with pytest.raises(LateLinkError) as caught:
        opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[1]), actor=None)

    # then: refused; nothing is written to that other candidate in Lever
    assert caught.value.code == "candidacy_anonymised"
    assert snapshot(candidacy) == before
    assert not OpportunityLink.objects.filter(candidacy=candidacy).exists()
    assert note_texts(lever, invitable[1]) == notes_before
    panel = candidacy_link_panel(candidacy)["late_link"]
    assert (panel["linked"], panel["can_attach"]) == (False, False)
    assert panel["why_not"] == ANONYMISED_CANDIDACY


def test_a_candidacy_linked_already_is_refused(
    late_integration: AtsIntegration, invitable: list[str]
) -> None:
    candidacy = unlinked_candidacy(late_integration)
    opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)
    before = snapshot(candidacy)

    with pytest.raises(LateLinkConflict) as caught:
        opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[1]), actor=None)

    assert caught.value.code == "already_linked"
    assert snapshot(candidacy) == before


@pytest.mark.parametrize("status", [503, 500, 429])
def test_lever_down_or_busy_is_refused_and_nothing_changes(
    late_integration: AtsIntegration, lever: SandboxServer, invitable: list[str], status: int
) -> None:
    candidacy = unlinked_candidacy(late_integration)
    before = snapshot(candidacy)
    lever.set_faults(error_rates={str(status): 1.0})

    with pytest.raises(LateLinkUnavailable) as caught:
        opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)

    assert caught.value.code == "ats_unavailable"
    assert caught.value.status_code == 503
    assert snapshot(candidacy) == before


def test_a_key_without_permission_is_refused(
    late_integration: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    candidacy = unlinked_candidacy(late_integration)
    before = snapshot(candidacy)
    lever.set_faults(fail_next=[403, 403, 403])

    with pytest.raises(LateLinkError) as caught:
        opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)

    assert caught.value.code in ("key_permission", "confidential")
    assert snapshot(candidacy) == before


def test_attaching_is_refused_while_the_feature_is_off(
    lever_integration: AtsIntegration, invitable: list[str]
) -> None:
    candidacy = unlinked_candidacy(lever_integration)
    before = snapshot(candidacy)

    with pytest.raises(LateLinkError) as caught:
        opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)

    assert caught.value.code == "late_links_off"
    assert snapshot(candidacy) == before


def test_a_group_without_integration_is_refused(db: None) -> None:
    group = GroupFactory(organization=OrganizationFactory())
    candidacy = CandidacyFactory(role=RoleFactory(group=group))

    with pytest.raises(LateLinkError) as caught:
        opportunity_link_attach(candidacy=candidacy, url=url_of("x"), actor=None)

    assert caught.value.code == "no_integration"


# --- detach -------------------------------------------------------------------------------------


def test_detaching_cancels_waiting_updates_with_the_reason_and_is_audited(
    late_integration: AtsIntegration, lever: SandboxServer, invitable: list[str], admin_user: Any
) -> None:
    candidacy = unlinked_candidacy(late_integration)
    opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=admin_user)

    result = opportunity_link_detach(candidacy=candidacy, actor=admin_user)
    drain_all(late_integration)

    assert result.cancelled == OutboundUpdate.objects.count() > 0
    for row in OutboundUpdate.objects.all():
        assert row.status == Status.CANCELLED
        assert row.last_error.startswith(DETACHED_REASON)
    assert lever.notes(invitable[0]) == []
    assert not OpportunityLink.objects.exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.LINK_DETACHED)
    assert entry.actor == admin_user
    assert entry.detail["opportunity_id"] == invitable[0]
    unlinked = CandidacyEvent.objects.get(
        candidacy=candidacy, kind=CandidacyEvent.Kind.ATS_UNLINKED
    )
    assert unlinked.actor == admin_user
    # The cancelled milestones say so on the timeline.
    assert CandidacyEvent.objects.filter(
        candidacy=candidacy, kind=CandidacyEvent.Kind.ATS_UPDATE, detail__status="failed"
    ).exists()


def test_a_milestone_while_detached_is_posted_when_a_link_is_attached(
    late_integration: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    candidacy = unlinked_candidacy(late_integration, results=False)
    opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)
    drain_all(late_integration)
    opportunity_link_detach(candidacy=candidacy, actor=None)

    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    assert not OutboundUpdate.objects.filter(milestone="cancelled").exists()
    again = opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)
    drain_all(late_integration)

    assert (again.queued, again.already_posted) == (1, 1)
    assert len(note_texts(lever, invitable[0])) == 2


def test_a_milestone_lever_never_had_leaves_the_newer_status_tag_in_place(
    late_integration: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    candidacy = unlinked_candidacy(late_integration)  # invited … results ready
    opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)
    drain_all(late_integration)
    opportunity_link_detach(candidacy=candidacy, actor=None)
    # "Invited" never reached Lever (as when updates to Lever were off at invite time).
    OutboundUpdate.objects.filter(milestone="invited").delete()

    again = opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)
    drain_all(late_integration)

    assert again.queued == 1
    invited_tag = OutboundUpdate.objects.get(milestone="invited", kind="tag")
    assert invited_tag.status == Status.CANCELLED
    assert invited_tag.last_error.startswith("Not sent: the status tag of a later milestone")
    # Its note went; Lever's status tag is still the newer milestone's.
    assert OutboundUpdate.objects.get(milestone="invited", kind="note").status == Status.SENT
    newest = OutboundUpdate.objects.get(milestone="results_ready", kind="tag").payload
    karat = [t for t in lever.opportunity(invitable[0])["tags"] if t.startswith("Karat:")]
    assert len(karat) == 1
    assert karat[0] != "Karat: Invited"
    assert karat[0] in str(newest)


def test_detaching_an_unlinked_candidacy_is_refused(late_integration: AtsIntegration) -> None:
    candidacy = unlinked_candidacy(late_integration, results=False)

    with pytest.raises(LateLinkError) as caught:
        opportunity_link_detach(candidacy=candidacy, actor=None)

    assert caught.value.code == "not_linked"
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.LINK_DETACHED).exists()


def test_another_organizations_integration_does_not_count(
    late_integration: AtsIntegration, invitable: list[str]
) -> None:
    # Another organization may link the same opportunity id (ids are per Lever account).
    other_group = GroupFactory(organization=OrganizationFactory())
    other = sandbox_integration(other_group)
    late_link_settings_update(integration=other, actor=None, enabled=True)
    elsewhere = unlinked_candidacy(other, results=False)
    opportunity_link_attach(candidacy=elsewhere, url=url_of(invitable[0]), actor=None)
    candidacy = unlinked_candidacy(late_integration, results=False)

    opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)

    assert OpportunityLink.objects.filter(opportunity_id=invitable[0]).count() == 2


# --- detach while Lever may have the update already -----------------------------------------------


def test_an_update_being_sent_when_detaching_finishes_and_is_not_cancelled(
    late_integration: AtsIntegration, invitable: list[str]
) -> None:
    candidacy = unlinked_candidacy(late_integration, results=False)
    opportunity_link_attach(candidacy=candidacy, url=url_of(invitable[0]), actor=None)
    claimed = OutboundUpdate.objects.order_by("sequence").first()
    assert claimed is not None
    # As a drain's claim leaves it (integrations/outbound/services/drain.py _claim_batch).
    OutboundUpdate.objects.filter(pk=claimed.pk).update(
        status=Status.SENDING, claimed_by="worker-1", claimed_at=timezone.now(), attempts=1
    )

    result = opportunity_link_detach(candidacy=candidacy, actor=None)

    claimed.refresh_from_db()
    assert claimed.status == Status.SENDING
    assert result.in_flight == 1
    assert result.cancelled == OutboundUpdate.objects.count() - 1


def test_a_note_whose_answer_was_lost_before_a_detach_is_looked_for_not_sent_twice(
    late_integration: AtsIntegration, lever: SandboxServer, invitable: list[str]
) -> None:
    opportunity_id = invitable[0]
    candidacy = unlinked_candidacy(late_integration, results=False)
    opportunity_link_attach(candidacy=candidacy, url=url_of(opportunity_id), actor=None)
    lever.set_faults(drop_after_apply=1, paths=[f"/v1/opportunities/{opportunity_id}/notes"])
    drain_service.outbound_drain(integration_id=late_integration.pk, budget_seconds=30)
    row = OutboundUpdate.objects.get(kind="note")
    assert (row.status, row.outcome_unknown) == (Status.PENDING, True)
    assert lever.counters(opportunity_id)["notes"] == 1  # Lever has it; Karat doesn't know

    opportunity_link_detach(candidacy=candidacy, actor=None)
    again = opportunity_link_attach(candidacy=candidacy, url=url_of(opportunity_id), actor=None)
    row.refresh_from_db()
    assert again.requeued == 1
    assert row.outcome_unknown
    assert row.outcome_unknown_until is not None
    with time_machine.travel(row.outcome_unknown_until + timedelta(seconds=1), tick=True):
        drain_all(late_integration)

    row.refresh_from_db()
    assert row.status == Status.SENT
    assert lever.counters(opportunity_id)["notes"] == 1
    assert row.remote_id == lever.notes(opportunity_id)[0]["id"]
