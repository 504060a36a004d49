"""Writes for the hiring domain. Every state change validates its transition and is timelined."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from karatlever.accounts.models import Group, User
from karatlever.hiring.models import (
    Candidacy,
    CandidacyEvent,
    KaratStatus,
    Recommendation,
    Role,
)
from karatlever.hiring.signals import candidacy_changed


class HiringError(Exception):
    """A hiring rule was broken; the message is safe to show to the user."""


class InvalidTransition(HiringError):
    pass


# Which Karat statuses may follow which. Cancelled and expired candidacies can be re-invited.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    KaratStatus.INVITED: frozenset(
        {KaratStatus.SCHEDULED, KaratStatus.CANCELLED, KaratStatus.EXPIRED}
    ),
    KaratStatus.SCHEDULED: frozenset(
        {KaratStatus.INVITED, KaratStatus.COMPLETED, KaratStatus.CANCELLED, KaratStatus.EXPIRED}
    ),
    KaratStatus.COMPLETED: frozenset({KaratStatus.RESULTS_READY}),
    KaratStatus.RESULTS_READY: frozenset(),
    KaratStatus.CANCELLED: frozenset({KaratStatus.INVITED}),
    KaratStatus.EXPIRED: frozenset({KaratStatus.INVITED}),
}


def _event_record(
    *,
    candidacy: Candidacy,
    kind: str,
    source: str,
    summary: str,
    detail: dict | None = None,
    actor: User | None = None,
    occurred_at: datetime | None = None,
) -> CandidacyEvent:
    event = CandidacyEvent.objects.create(
        candidacy=candidacy,
        kind=kind,
        source=source,
        summary=summary[:300],
        detail=detail or {},
        actor=actor,
        occurred_at=occurred_at or timezone.now(),
    )
    candidacy_changed.send(sender=Candidacy, candidacy=candidacy, event=event)
    return event


def role_create(
    *, group: Group, title: str, requisition_code: str = "", active: bool = True
) -> Role:
    return Role.objects.create(
        group=group, title=title.strip(), requisition_code=requisition_code.strip(), active=active
    )


def role_update(*, role: Role, title: str, requisition_code: str, active: bool) -> Role:
    role.title = title.strip()
    role.requisition_code = requisition_code.strip()
    role.active = active
    role.save(update_fields=["title", "requisition_code", "active", "updated_at"])
    return role


@transaction.atomic
def candidacy_create(
    *,
    role: Role,
    candidate_name: str,
    candidate_email: str,
    actor: User | None = None,
    source: str = CandidacyEvent.Source.PERSON,
) -> Candidacy:
    """Create an invited candidacy for an active role and timeline it."""
    if not role.active:
        raise HiringError(f"The role “{role.title}” is not active.")
    candidacy = Candidacy.objects.create(
        group=role.group,
        role=role,
        candidate_name=candidate_name.strip(),
        candidate_email=candidate_email.strip().lower(),
        karat_status=KaratStatus.INVITED,
    )
    _event_record(
        candidacy=candidacy,
        kind=CandidacyEvent.Kind.CREATED,
        source=source,
        summary=f"Invited to interview for {role.title}",
        actor=actor,
    )
    return candidacy


@transaction.atomic
def candidacy_status_change(
    *,
    candidacy: Candidacy,
    status: str,
    recommendation: str = "",
    actor: User | None = None,
    source: str = CandidacyEvent.Source.KARAT,
) -> Candidacy:
    """Move the Karat status along an allowed transition; results need a recommendation."""
    candidacy = Candidacy.objects.select_for_update().get(pk=candidacy.pk)
    if status not in KaratStatus.values:
        raise InvalidTransition(f"Unknown status “{status}”.")
    if status not in ALLOWED_TRANSITIONS[candidacy.karat_status]:
        raise InvalidTransition(
            f"A candidacy that is {candidacy.get_karat_status_display().lower()} "
            f"cannot become {KaratStatus(status).label.lower()}."
        )
    if status == KaratStatus.RESULTS_READY and recommendation not in Recommendation.values:
        raise InvalidTransition("Results need a recommendation.")
    previous = candidacy.karat_status
    candidacy.karat_status = status
    candidacy.recommendation = recommendation if status == KaratStatus.RESULTS_READY else ""
    candidacy.save(update_fields=["karat_status", "recommendation", "updated_at"])
    summary = f"Karat status: {KaratStatus(previous).label} → {KaratStatus(status).label}"
    if candidacy.recommendation:
        summary += f" ({Recommendation(candidacy.recommendation).label})"
    _event_record(
        candidacy=candidacy,
        kind=CandidacyEvent.Kind.STATUS_CHANGED,
        source=source,
        summary=summary,
        detail={"from": previous, "to": status, "recommendation": candidacy.recommendation},
        actor=actor,
    )
    return candidacy


@dataclass(frozen=True)
class AtsState:
    """The ATS's current view of a candidacy, as read from Lever."""

    stage_id: str
    stage_name: str
    archived: bool
    archive_reason_id: str = ""
    archive_reason_name: str = ""
    archive_reason_hired: bool = False
    hired: bool = False
    # Lever's opportunity `updatedAt` in ms: orders states so an older one never wins.
    version: int | None = None


@dataclass(frozen=True)
class AtsStateResult:
    candidacy: Candidacy
    events: list[CandidacyEvent]
    stale: bool


@transaction.atomic
def candidacy_ats_state_apply(
    *, candidacy: Candidacy, state: AtsState, origin: dict | None = None
) -> AtsStateResult:
    """Apply Lever's state to a candidacy; one timeline event per change; stale state is ignored.

    Idempotent: applying the same state twice records nothing the second time.
    """
    candidacy = Candidacy.objects.select_for_update().get(pk=candidacy.pk)
    current = candidacy.ats_state_version
    if state.version is not None and current is not None and state.version < current:
        return AtsStateResult(candidacy=candidacy, events=[], stale=True)

    detail = {"origin": origin or {}, "version": state.version}
    events: list[CandidacyEvent] = []
    changed: list[str] = []

    def record(kind: str, summary: str, extra: dict) -> None:
        events.append(
            _event_record(
                candidacy=candidacy,
                kind=kind,
                source=CandidacyEvent.Source.LEVER,
                summary=summary,
                detail={**detail, **extra},
            )
        )

    if state.stage_id and state.stage_id != candidacy.ats_stage_id:
        previous = candidacy.ats_stage_name or candidacy.ats_stage_id or "none"
        candidacy.ats_stage_id, candidacy.ats_stage_name = state.stage_id, state.stage_name
        changed += ["ats_stage_id", "ats_stage_name"]
        record(
            CandidacyEvent.Kind.ATS_STAGE_CHANGED,
            f"Lever stage: {previous} → {state.stage_name or state.stage_id}",
            {"from": previous, "to": state.stage_id},
        )
    if state.archived != candidacy.ats_archived or (
        state.archived and state.archive_reason_id != candidacy.ats_archive_reason_id
    ):
        candidacy.ats_archived = state.archived
        candidacy.ats_archive_reason_id = state.archive_reason_id if state.archived else ""
        candidacy.ats_archive_reason_name = state.archive_reason_name if state.archived else ""
        candidacy.ats_archive_reason_hired = state.archive_reason_hired if state.archived else False
        changed += [
            "ats_archived",
            "ats_archive_reason_id",
            "ats_archive_reason_name",
            "ats_archive_reason_hired",
        ]
        if state.archived:
            record(
                CandidacyEvent.Kind.ATS_ARCHIVED,
                f"Archived in Lever: {state.archive_reason_name or state.archive_reason_id}",
                {"reason": state.archive_reason_id, "hired_reason": state.archive_reason_hired},
            )
        else:
            record(CandidacyEvent.Kind.ATS_UNARCHIVED, "Unarchived in Lever", {})
    hired = state.hired or (state.archived and state.archive_reason_hired)
    if hired != candidacy.ats_hired:
        candidacy.ats_hired = hired
        changed.append("ats_hired")
        if hired:
            record(CandidacyEvent.Kind.ATS_HIRED, "Hired in Lever", {})

    if state.version is not None and state.version != current:
        candidacy.ats_state_version = state.version
        changed.append("ats_state_version")
    if changed:
        candidacy.ats_state_updated_at = timezone.now()
        candidacy.save(update_fields=[*changed, "ats_state_updated_at", "updated_at"])
    return AtsStateResult(candidacy=candidacy, events=events, stale=False)
