"""Deletions and anonymisation in the ATS honoured: the admin's policy, and what Karat does
with a candidacy whose candidate was deleted or anonymised (unlink, or unlink and erase).

Nothing here writes to the ATS. What each policy erases locally is in docs/deletions.md.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.models import LogEntry
from django.db import transaction
from django.db.models import F, Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from integrations import ats
from integrations.connection.services.audit import audit_entry_record
from integrations.models import (
    AtsIntegration,
    AuditEntry,
    AutoInviteRule,
    DeletionSettings,
    IntegrationStatus,
    InterviewPanel,
    InvitationEmail,
    InviteItem,
    OpportunityLink,
    OutboundUpdate,
)
from integrations.status.refresh import status_refresh_request
from karatlever.accounts.models import User
from karatlever.errors import ApplicationError
from karatlever.hiring.models import CandidacyEvent
from karatlever.hiring.services import candidacy_anonymise, candidacy_event_add, text_erase

logger = logging.getLogger(__name__)

Policy = DeletionSettings.Policy


class Cause:
    """Why the policy is applied (stored in timeline and audit details)."""

    DELETED = "deleted"
    ANONYMISED = "anonymised"


class DeletionPolicyError(ApplicationError):
    """A policy value that is not one of ``DeletionSettings.Policy``; safe to show."""

    default_code = "deletion_policy"


@dataclass(frozen=True)
class DeletionOutcome:
    """What applying the policy to one opportunity did. ``applied``: a linked candidacy was
    unlinked (and anonymised); ``personal``: the values erased (for the caller's own tables,
    never logged); ``cancelled``: outbound updates not sent."""

    applied: bool
    message: str
    policy: str
    cancelled: int = 0
    candidacy_code: str = ""
    personal: tuple[str, ...] = ()


def deletion_settings_get(*, integration: AtsIntegration) -> DeletionSettings:
    """The integration's deletion settings, made with defaults on first use."""
    found, _ = DeletionSettings.objects.get_or_create(integration=integration)
    return found


@transaction.atomic
def deletion_policy_set(
    *, integration: AtsIntegration, policy: str, actor: User | None
) -> DeletionSettings:
    """Choose what Karat does when a candidate is deleted or anonymised in the ATS. Raises
    DeletionPolicyError for an unknown value (nothing changes). Audited when it changes; applies
    to later deletions only (an unlinked candidacy is not anonymised afterwards)."""
    if policy not in Policy.values:
        raise DeletionPolicyError(
            f"Choose one of: {', '.join(Policy.values)}.", field="policy", code="invalid"
        )
    row = deletion_settings_get(integration=integration)
    row = DeletionSettings.objects.select_for_update().get(pk=row.pk)
    if row.policy != policy:
        before = row.policy
        row.policy, row.updated_by = policy, actor
        row.save(update_fields=["policy", "updated_by", "updated_at"])
        audit_entry_record(
            integration=integration,
            actor=actor,
            action=AuditEntry.Action.DELETION_POLICY_CHANGED,
            summary=f"Deleted candidates: {Policy(policy).label.split(':')[0].lower()}",
            detail={"from": before, "to": policy},
        )
        # The status page shows the policy: recompute it on commit.
        status_refresh_request(integration_id=integration.pk, reason="Deletion policy changed")
    return row


def json_erase(value: Any, personal: tuple[str, ...]) -> Any:
    """``value`` (JSON) with the personal values erased from every string in it."""
    if isinstance(value, dict):
        return {k: json_erase(v, personal) for k, v in value.items()}
    if isinstance(value, list):
        return [json_erase(v, personal) for v in value]
    if isinstance(value, str):
        return text_erase(value, personal)
    return value


def _needles(personal: tuple[str, ...]) -> list[str]:
    """What to look for in text and JSON columns: each value as typed and as JSON escapes it
    (SQLite stores non-ASCII JSON as \\u escapes)."""
    found: list[str] = []
    for value in personal:
        found += [value, json.dumps(value)[1:-1]]
    return list(dict.fromkeys(n for n in found if n))


def _personal_erase(
    integration: AtsIntegration, candidacy_id: int, personal: tuple[str, ...]
) -> None:
    """Erase ``personal`` from the rows around the candidacy that copied it: invitation
    emails (whole: they are nothing but the candidate's), invite previews, outbound payloads,
    the group's audit log, Django admin's history, the automatic invite's last action and
    status snapshots."""
    InvitationEmail.objects.filter(candidacy_id=candidacy_id).update(
        to="", subject="", body="", html_body="", last_error=""
    )
    OutboundUpdate.objects.filter(candidacy_id=candidacy_id).update(payload={}, last_error="")
    if not personal:
        return
    needles = _needles(personal)

    def matching(field: str) -> Q:
        q = Q()
        for needle in needles:
            q |= Q(**{f"{field}__icontains": needle})
        return q

    items = InviteItem.objects.filter(Q(candidacy_id=candidacy_id) | matching("message"))
    items = items.filter(batch__group_id=integration.group_id)
    for item in items.only("pk", "message"):
        InviteItem.objects.filter(pk=item.pk).update(
            preview={}, message=text_erase(item.message, personal)[:500]
        )
    audit = AuditEntry.objects.filter(group_id=integration.group_id).annotate(
        detail_text=Cast("detail", TextField())
    )
    for entry in audit.filter(matching("summary") | matching("detail_text")).only(
        "pk", "summary", "detail"
    ):
        AuditEntry.objects.filter(pk=entry.pk).update(
            summary=text_erase(entry.summary, personal)[:300],
            detail=json_erase(entry.detail, personal),
        )
    for rule in AutoInviteRule.objects.filter(integration=integration).filter(
        matching("last_action")
    ):
        AutoInviteRule.objects.filter(pk=rule.pk).update(
            last_action=text_erase(rule.last_action, personal)[:300]
        )
    # Django admin's history names the candidacy ("<name> — <role>") of every edit made there.
    for log in LogEntry.objects.filter(matching("object_repr") | matching("change_message")).only(
        "pk", "object_repr", "change_message"
    ):
        LogEntry.objects.filter(pk=log.pk).update(
            object_repr=text_erase(log.object_repr, personal)[:200],
            change_message=text_erase(log.change_message, personal),
        )
    snapshots = IntegrationStatus.objects.filter(
        integration__group_id=integration.group_id
    ).annotate(features_text=Cast("features", TextField()))
    for snapshot in snapshots.filter(matching("features_text")).only("pk", "features"):
        IntegrationStatus.objects.filter(pk=snapshot.pk).update(
            features=json_erase(snapshot.features, personal)
        )


@transaction.atomic
def opportunity_deletion_apply(
    *, integration: AtsIntegration, opportunity_id: str, cause: str, via: str
) -> DeletionOutcome:
    """Honour one opportunity's deletion (``cause`` Cause.DELETED) or anonymisation
    (Cause.ANONYMISED) in the ATS, per the integration's policy. The caller has confirmed it
    with the ATS. Idempotent: a second call finds no link and changes nothing more.

    Always: every unsent outbound update of the opportunity is cancelled with the reason (so
    nothing further is ever written to it). With a linked candidacy: the link (and with it
    the ATS ids) goes, the timeline says why, one audit entry records it; with the
    ``anonymise`` policy the candidate's name, email and free text are erased too
    (``candidacy_anonymise`` and ``_personal_erase``). ``via``: "webhook" or "reconcile".
    Writes nothing to the ATS.
    """
    label = ats.adapter_for(integration.ats, ats.AtsBase).label
    policy = (
        DeletionSettings.objects.filter(integration=integration)
        .values_list("policy", flat=True)
        .first()
        or Policy.UNLINK
    )
    happened = "deleted" if cause == Cause.DELETED else "anonymised"
    reason = f"Not sent: the candidate was {happened} in {label}."
    now = timezone.now()
    unsent = OutboundUpdate.objects.filter(
        integration=integration,
        opportunity_id=opportunity_id,
        status__in=OutboundUpdate.UNSENT,
    )
    # Read before the cancel: the audit entry of a deletion with no link left names them.
    unsent_of = sorted({str(code) for code in unsent.values_list("candidacy__code", flat=True)})
    cancelled = unsent.update(
        status=OutboundUpdate.Status.CANCELLED, last_error=reason, finished_at=now
    )
    # A panel on the opportunity's schedule went with it (a pending one's create was just
    # cancelled): the panel list must not say "On the schedule" for it.
    InterviewPanel.objects.filter(
        integration=integration,
        opportunity_id=opportunity_id,
        state__in=InterviewPanel.CURRENT,
    ).update(
        state=InterviewPanel.State.GONE,
        last_error=f"The candidate was {happened} in {label}.",
        updated_at=now,
    )
    link = (
        OpportunityLink.objects.select_for_update()
        .select_related("candidacy")
        .filter(integration=integration, opportunity_id=opportunity_id)
        .first()
    )
    if link is None:
        if cancelled:
            _updates_cancelled_record(
                integration,
                opportunity_id=opportunity_id,
                candidacy_codes=unsent_of,
                cancelled=cancelled,
                policy=policy,
                cause=cause,
                via=via,
            )
        return DeletionOutcome(
            applied=False,
            message=f"No linked Karat candidacy (candidate {happened} in {label})"
            + (f"; {cancelled} update(s) to {label} cancelled" if cancelled else ""),
            policy=policy,
            cancelled=cancelled,
        )
    candidacy = link.candidacy
    link.delete()
    origin = {"via": via, "event": ""} if via == "webhook" else {"via": via}
    candidacy_event_add(
        candidacy=candidacy,
        kind=CandidacyEvent.Kind.ATS_UNLINKED,
        source=CandidacyEvent.Source.ATS,
        # Names no ATS: the page shows its name (CandidacyEvent.THE_ATS).
        summary=f"The candidate was {happened} in {CandidacyEvent.THE_ATS}: the candidacy is no "
        f"longer linked, and Karat writes nothing more to {CandidacyEvent.THE_ATS} about it.",
        detail={"origin": origin, "cause": cause, "policy": policy},
    )
    personal: tuple[str, ...] = ()
    if policy == Policy.ANONYMISE:
        personal = candidacy_anonymise(candidacy=candidacy)
        _personal_erase(integration, candidacy.pk, personal)
        candidacy_event_add(
            candidacy=candidacy,
            kind=CandidacyEvent.Kind.ANONYMISED,
            source=CandidacyEvent.Source.KARAT,
            summary="Personal data erased: the candidate's name, email and free text. "
            "The interview record and its recommendation stay.",
            detail={"cause": cause, "policy": policy},
        )
    code = str(candidacy.code)
    audit_entry_record(
        integration=integration,
        actor=None,
        action=AuditEntry.Action.CANDIDATE_ANONYMISED
        if policy == Policy.ANONYMISE
        else AuditEntry.Action.CANDIDATE_UNLINKED,
        summary=f"Candidacy {code[:8]} "
        + ("unlinked and anonymised" if policy == Policy.ANONYMISE else "unlinked")
        + f": its candidate was {happened} in {label}",
        detail={
            "candidacy": code,
            "opportunity_id": opportunity_id,
            "cause": cause,
            "policy": policy,
            "via": via,
            "outbound_cancelled": cancelled,
        },
    )
    deletion_settings_get(integration=integration)
    DeletionSettings.objects.filter(integration=integration).update(
        honoured_count=F("honoured_count") + 1, honoured_at=now
    )
    # The status page's count of candidacies unlinked, now rather than at the next recompute.
    status_refresh_request(integration_id=integration.pk, reason="A deletion was honoured")
    logger.info(
        "deletion honoured candidacy=%s cause=%s policy=%s cancelled=%d",
        code,
        cause,
        policy,
        cancelled,
        extra={"integration_id": integration.public_id},
    )
    done = "unlinked and anonymised" if policy == Policy.ANONYMISE else "unlinked"
    return DeletionOutcome(
        applied=True,
        message=f"Candidate {happened} in {label}: candidacy {done}"
        + (f", {cancelled} update(s) to {label} cancelled" if cancelled else ""),
        policy=policy,
        cancelled=cancelled,
        candidacy_code=code,
        personal=personal,
    )


def _updates_cancelled_record(
    integration: AtsIntegration,
    *,
    opportunity_id: str,
    candidacy_codes: list[str],
    cancelled: int,
    policy: str,
    cause: str,
    via: str,
) -> None:
    """The audit entry of a deletion that found no link (detached earlier, or never linked)
    but cancelled updates still waiting for the opportunity: what it did to Karat's data must
    be on the audit log like an unlink. Under ``anonymise`` their stored texts are erased, as
    for a linked candidacy (the candidacy itself is no longer the deleted person's, so it
    stays). Reuses CANDIDATE_UNLINKED, the same family, because a new choice would need a
    migration; the summary says what happened."""
    label = ats.adapter_for(integration.ats, ats.AtsBase).label
    happened = "deleted" if cause == Cause.DELETED else "anonymised"
    if policy == Policy.ANONYMISE:
        OutboundUpdate.objects.filter(
            integration=integration,
            opportunity_id=opportunity_id,
            status=OutboundUpdate.Status.CANCELLED,
        ).update(payload={})
    audit_entry_record(
        integration=integration,
        actor=None,
        action=AuditEntry.Action.CANDIDATE_UNLINKED,
        summary=f"{cancelled} waiting update(s) to {label} cancelled: their candidate was "
        f"{happened} in {label} (no candidacy was linked to it any more)",
        detail={
            "candidacies": candidacy_codes,
            "opportunity_id": opportunity_id,
            "cause": cause,
            "policy": policy,
            "via": via,
            "outbound_cancelled": cancelled,
            "unlinked": False,
        },
    )


def deletion_poll_record(
    *, integration: AtsIntegration, cursor_ms: int | None = None, error: str = ""
) -> None:
    """Record the end of one poll of the ATS's deleted opportunities: the new cursor after a
    poll that worked (its error cleared), or the error of one that failed (cursor kept)."""
    deletion_settings_get(integration=integration)
    now = timezone.now()
    rows = DeletionSettings.objects.filter(integration=integration)
    if error:
        first = rows.filter(poll_error="").exists()
        rows.update(poll_error=error[:1000], poll_error_at=now)
        if first:
            # The status page's check of the poll now fails: recompute it on commit.
            status_refresh_request(
                integration_id=integration.pk, reason="The check of deleted candidates failed"
            )
    else:
        # The first poll that works, or the first after a failure, changes the status page's
        # check of the poll: recompute it on commit.
        changes_check = rows.filter(Q(polled_at__isnull=True) | ~Q(poll_error="")).exists()
        rows.update(deleted_cursor_ms=cursor_ms, polled_at=now, poll_error="", poll_error_at=None)
        if changes_check:
            status_refresh_request(
                integration_id=integration.pk, reason="The check of deleted candidates worked"
            )
