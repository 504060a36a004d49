"""Admin actions on outbound updates and settings (retry, give up, save; audited), and the
settings form's lookups in the ATS."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from integrations import ats
from integrations.connection.services.audit import audit_entry_record
from integrations.models import (
    AtsIntegration,
    AuditEntry,
    OpportunityLink,
    OutboundSettings,
    OutboundUpdate,
)
from integrations.outbound.services.drain import timeline_record
from integrations.outbound.services.enqueue import drain_publish
from integrations.outbound.services.notes import OutboundError, outbound_settings_get
from karatlever.hiring.models import Milestone

if TYPE_CHECKING:
    from karatlever.accounts.models import User

Status = OutboundUpdate.Status


def _milestone_label(milestone: str) -> str:
    """ "Results ready" for ``results_ready`` (the code itself if it is none we know)."""
    return str(dict(Milestone.choices).get(milestone, milestone))


# --- admin actions ----------------------------------------------------------------------------


class RetryOutcome(enum.Enum):
    """What "Retry now" did to an update."""

    RETRIED = "retried"
    #: Its opportunity is no longer linked (deleted, anonymised or detached in the ATS): it is
    #: never written to again (integrations/deletions/).
    UNLINKED = "unlinked"
    #: Being sent, or already sent.
    BUSY = "busy"


def _opportunity_linked() -> Exists:
    """The update's opportunity is still linked (an expression over OutboundUpdate rows)."""
    return Exists(
        OpportunityLink.objects.filter(
            integration_id=OuterRef("integration_id"), opportunity_id=OuterRef("opportunity_id")
        )
    )


def outbound_update_retry(*, update: OutboundUpdate, actor: User | None) -> RetryOutcome:
    """ "Retry now": send the update again as soon as possible, attempts reset. Works on a
    waiting, given-up or not-sent update whose opportunity is still linked; otherwise nothing
    changes and the outcome says why (UNLINKED, or BUSY while it is being sent or once sent).
    An attempt that got no answer and may still land is waited for all the same (the drain
    never claims a row before its ``outcome_unknown_until``)."""
    now = timezone.now()
    with transaction.atomic():
        updated = (
            OutboundUpdate.objects.filter(pk=update.pk)
            .filter(status__in=(Status.PENDING, Status.DEAD, Status.CANCELLED))
            .filter(_opportunity_linked())
            .update(
                status=Status.PENDING,
                attempts=0,
                deferred=0,
                # Shown as the next try on the activity page.
                next_attempt_at=max(now, update.outcome_unknown_until or now),
                finished_at=None,
                timeline_recorded=False,
                last_error="",
            )
        )
        if updated:
            audit_entry_record(
                integration=update.integration,
                actor=actor,
                action=AuditEntry.Action.OUTBOUND_RETRIED,
                summary=f"Retried the {update.get_kind_display().lower()} for "
                f"{update.candidacy.candidate_name} ({_milestone_label(update.milestone)})",
                detail={"update_id": update.pk, "previous_status": update.status},
            )
            transaction.on_commit(partial(drain_publish, update.integration_id))
            return RetryOutcome.RETRIED
    if not OutboundUpdate.objects.filter(pk=update.pk).filter(_opportunity_linked()).exists():
        return RetryOutcome.UNLINKED
    return RetryOutcome.BUSY


def outbound_update_give_up(*, update: OutboundUpdate, actor: User | None) -> bool:
    """ "Give up": a waiting update is not sent. False when it is being sent or already ended.
    Later updates of the same opportunity go ahead without it."""
    who = (actor.full_name or actor.email) if actor is not None else "the system"
    with transaction.atomic():
        updated = OutboundUpdate.objects.filter(pk=update.pk, status=Status.PENDING).update(
            status=Status.CANCELLED,
            last_error=f"Given up by {who or 'an admin'}.",
            finished_at=timezone.now(),
        )
        if updated:
            update.refresh_from_db()
            timeline_record(update)
            audit_entry_record(
                integration=update.integration,
                actor=actor,
                action=AuditEntry.Action.OUTBOUND_GIVEN_UP,
                summary=f"Gave up the {update.get_kind_display().lower()} for "
                f"{update.candidacy.candidate_name} ({_milestone_label(update.milestone)})",
                detail={"update_id": update.pk},
            )
            transaction.on_commit(partial(drain_publish, update.integration_id))
    return bool(updated)


def outbound_settings_save(
    *, integration: AtsIntegration, actor: User | None, values: dict[str, Any]
) -> OutboundSettings:
    """Save validated settings (the form's cleaned data) and audit which fields changed."""
    outbound = outbound_settings_get(integration=integration)
    changed = []
    for name, value in values.items():
        if getattr(outbound, name) != value:
            setattr(outbound, name, value)
            changed.append(name)
    if changed:
        outbound.updated_by = actor
        outbound.save(update_fields=[*changed, "updated_by", "updated_at"])
        audit_entry_record(
            integration=integration,
            actor=actor,
            action=AuditEntry.Action.OUTBOUND_SETTINGS_CHANGED,
            summary="Changed what Karat posts to Lever: " + ", ".join(sorted(changed)),
            detail={"fields": sorted(changed)},
        )
    return outbound


# --- lookups for the settings form (one short ATS call each) -----------------------------------


def perform_as_user_find(*, integration: AtsIntegration, email: str) -> ats.AtsUser:
    """The active ATS user with this email, to make updates as. Raises OutboundError (none,
    or the ATS could not be asked)."""
    if not integration.has_api_key:
        raise OutboundError("Set the API key first: Karat looks the user up in Lever with it.")
    adapter = ats.adapter_for(integration.ats)
    try:
        users = adapter.users_find(
            ats.account_for(integration), email=email, profile=ats.INTERACTIVE
        )
    except ats.AtsError as exc:
        raise OutboundError(
            f"Could not look the user up in {adapter.label}: {exc.message}"
        ) from None
    active = [u for u in users if u.active]
    if not active:
        raise OutboundError(f"No active {adapter.label} user has the email {email}.")
    return active[0]


# A stage id or name longer than this is not offered (values from the ATS are untrusted).
STAGE_ID_MAX_LENGTH = 100
STAGE_NAME_MAX_LENGTH = 100


@dataclass(frozen=True)
class StageOptions:
    """The stages a stage move can pick, as (id, name) in the ATS's order; when the ATS could
    not be asked, none and ``unavailable`` says why."""

    stages: list[tuple[str, str]]
    unavailable: str = ""


def stage_options(*, integration: AtsIntegration) -> StageOptions:
    """The ATS's stages for the settings form's stage moves (``stages_get``, read through the
    adapter's short lookup cache). Asks the ATS only with a key that passed its check; never
    raises: an ATS that can't be asked gives no stages and the reason."""
    label = ats.adapter_for(integration.ats, ats.AtsBase).label
    if integration.has_api_key and integration.key_status != AtsIntegration.KeyStatus.VALID:
        return StageOptions(
            [], f"Karat reads the stages from {label} once the API key has passed its check."
        )
    try:
        stages = stages_get(integration=integration)
    except OutboundError as exc:
        return StageOptions([], str(exc))
    seen: set[str] = set()
    offered: list[tuple[str, str]] = []
    for stage in stages:
        stage_id = stage.stage_id.strip()
        if not stage_id or len(stage_id) > STAGE_ID_MAX_LENGTH or stage_id in seen:
            continue
        seen.add(stage_id)
        offered.append((stage_id, (stage.name.strip() or stage_id)[:STAGE_NAME_MAX_LENGTH]))
    return StageOptions(offered)


def stages_get(*, integration: AtsIntegration) -> list[ats.StageInfo]:
    """The ATS's stages, for stage-move rules. Raises OutboundError when it can't be asked."""
    if not integration.has_api_key:
        raise OutboundError("Set the API key first: Karat reads the stages from Lever with it.")
    adapter = ats.adapter_for(integration.ats)
    try:
        return adapter.stages_list(ats.account_for(integration), profile=ats.INTERACTIVE)
    except ats.AtsError as exc:
        raise OutboundError(
            f"Could not read the stages from {adapter.label}: {exc.message}"
        ) from None
