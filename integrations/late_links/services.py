"""Attach a Lever link to a candidacy that has none, and detach it (issue #21 §4).

Karat's results reach the ATS only if the ATS link was given at invite time *or added later*.
Attaching reads and checks the pasted link exactly as an invite does (``invites`` preview:
the URL rules, the organization's one live link per opportunity, the ATS's answer), then,
in one transaction, links the candidacy, copies the opportunity's ATS state onto it and
queues in the outbox the updates each milestone the candidacy already reached would have
produced, in milestone order. Detaching removes the link and cancels that link's updates
still waiting, with the reason. Both are audited and put on the candidacy's timeline.

"Once" per opportunity: a milestone whose updates for this opportunity exist already (sent,
waiting, given up) is never queued again; only updates that a detach cancelled before they
were sent are queued again (moved to the end of the opportunity's order, since later updates
may have gone out meanwhile). So attach → detach → attach never posts a milestone twice to
one opportunity.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from integrations import ats
from integrations.connection.services.audit import audit_entry_record
from integrations.invites.selectors import opportunity_link_get
from integrations.invites.services.preview import InviteCode, InvitePreview, invite_preview
from integrations.late_links.selectors import (
    ANONYMISED_CANDIDACY,
    candidacy_anonymised,
    candidacy_link_find,
    integration_of_candidacy,
    late_link_settings_find,
    late_links_enabled,
)
from integrations.models import (
    AtsIntegration,
    AuditEntry,
    LateLinkSettings,
    OpportunityLink,
    OutboundUpdate,
)
from integrations.outbound.services.drain import timeline_record
from integrations.outbound.services.enqueue import drain_request, outbound_milestone_enqueue
from karatlever.accounts.selectors import group_list_visible
from karatlever.errors import ApplicationError
from karatlever.hiring.models import Candidacy, CandidacyEvent
from karatlever.hiring.services import candidacy_event_add

if TYPE_CHECKING:
    from karatlever.accounts.models import User

logger = logging.getLogger(__name__)

Status = OutboundUpdate.Status
Kind = OutboundUpdate.Kind

# The start of ``OutboundUpdate.last_error`` on an update a detach cancelled: only those are
# queued again when the same opportunity is attached again (an admin's "give up" is not).
DETACHED_REASON = "Not sent: the Lever link was detached"


class LateLinkCode:
    """Stable codes of the errors below (the API's ``error.code``); a URL or ATS problem
    uses the invite's own code (``InviteCode`` and the adapter's URL codes)."""

    NO_INTEGRATION = "no_integration"
    OFF = "late_links_off"
    ALREADY_LINKED = "already_linked"
    OPPORTUNITY_LINKED = "opportunity_linked"
    NOT_LINKED = "not_linked"
    ANONYMISED = "anonymised"
    CANDIDACY_ANONYMISED = "candidacy_anonymised"


class LateLinkError(ApplicationError):
    """The link can't be attached or detached; nothing was changed."""


class LateLinkConflict(LateLinkError):
    """The candidacy or the opportunity is linked already (API: 409)."""

    status_code = 409


class LateLinkUnavailable(LateLinkError):
    """The ATS could not be asked right now (busy, down, timed out): try again (API: 503)."""

    status_code = 503


@dataclass(frozen=True)
class AttachResult:
    """What attaching did: the link, how many milestones were queued for the ATS (fresh, or
    queued again after a detach), how many were there already, and the preview read."""

    link: OpportunityLink
    queued: int
    requeued: int
    already_posted: int
    preview: InvitePreview


@dataclass(frozen=True)
class DetachResult:
    """What detaching did: the opportunity it was linked to and the updates cancelled
    (``in_flight``: being sent right now, so they finish)."""

    opportunity_id: str
    cancelled: int
    in_flight: int


def _label(integration: AtsIntegration | None) -> str:
    return ats.adapter_for(integration.ats, ats.AtsBase).label if integration else "the ATS"


def _who(actor: User | None) -> str:
    return (actor.full_name or actor.email) if actor is not None else "Karat"


def _integration_for_attach(*, candidacy: Candidacy) -> AtsIntegration:
    integration = integration_of_candidacy(candidacy=candidacy)
    if integration is None:
        raise LateLinkError(
            "This candidacy's group has no ATS integration. An admin can connect one in "
            "Settings → ATS Integrations.",
            code=LateLinkCode.NO_INTEGRATION,
        )
    if not late_links_enabled(integration=integration):
        raise LateLinkError(
            f"Attaching a {_label(integration)} link to an existing candidacy is off for this "
            "group. An admin can turn it on in the integration's Settings.",
            code=LateLinkCode.OFF,
        )
    return integration


def _already_linked(candidacy: Candidacy, label: str) -> LateLinkConflict:
    return LateLinkConflict(
        f"This candidacy is linked to {label} already. Detach that link first to attach another.",
        code=LateLinkCode.ALREADY_LINKED,
    )


def _opportunity_linked(
    label: str, other: Candidacy | None, *, candidacy: Candidacy, viewer: User | None
) -> LateLinkConflict:
    """The refusal for an opportunity linked to ``other`` already. ``other`` is named (and its
    code given in ``extra["candidacy"]``, for a link) only when whoever asks may see its group:
    ``candidacy``'s own group, or one of ``viewer``'s groups."""
    visible = other is not None and (
        other.group_id == candidacy.group_id
        or (
            viewer is not None
            and group_list_visible(user=viewer).filter(pk=other.group_id).exists()
        )
    )
    where, extra = "", {}
    if other is not None and visible:
        where = f" ({other.candidate_name or other.candidate_email}, {other.group.name})"
        extra = {"candidacy": str(other.code)}
    return LateLinkConflict(
        f"This {label} candidate is linked to another Karat candidacy already{where}: an "
        "opportunity has one candidacy in the organization. Detach it there first.",
        field="url",
        code=LateLinkCode.OPPORTUNITY_LINKED,
        extra=extra,
    )


def opportunity_link_preview(
    *, candidacy: Candidacy, url: str, viewer: User | None = None
) -> InvitePreview:
    """Read and check ``url`` for ``candidacy`` as an invite would (one or two ATS reads),
    without changing anything. Returns the invite's preview of the opportunity. ``viewer``
    (who asks) decides whether another group's candidacy of the opportunity is named.

    Raises ``LateLinkError`` (no integration, the feature off, a bad URL with the adapter's
    code, the opportunity unknown or confidential, the key refused), ``LateLinkConflict`` (the
    candidacy or the opportunity linked already) or ``LateLinkUnavailable`` (the ATS busy or
    down). ``field`` is "url" for what the pasted link is at fault for."""
    integration = _integration_for_attach(candidacy=candidacy)
    label = _label(integration)
    if candidacy_link_find(candidacy=candidacy) is not None:
        raise _already_linked(candidacy, label)
    if candidacy_anonymised(candidacy=candidacy):
        # Linking it would write "Anonymised candidate" milestones onto someone else's record.
        raise LateLinkError(ANONYMISED_CANDIDACY, code=LateLinkCode.CANDIDACY_ANONYMISED)
    preview = invite_preview(group=candidacy.group, integration=integration, url=url)
    if not preview.ok:
        error = LateLinkUnavailable if preview.code == InviteCode.ATS_UNAVAILABLE else LateLinkError
        raise error(preview.message, field="url", code=preview.code)
    if preview.anonymized:
        # Karat never writes to an anonymised opportunity (integrations/deletions/).
        raise LateLinkError(
            f"This {label} candidate was anonymised in {label}: Karat writes nothing to an "
            "anonymised candidate, so it can't be linked.",
            field="url",
            code=LateLinkCode.ANONYMISED,
        )
    if preview.existing_candidacy:
        other = (
            Candidacy.objects.select_related("group")
            .filter(code=preview.existing_candidacy)
            .first()
        )
        raise _opportunity_linked(label, other, candidacy=candidacy, viewer=viewer)
    return preview


def preview_warnings(*, candidacy: Candidacy, preview: InvitePreview) -> list[str]:
    """What the person attaching should look at (never blocking): the ATS's email or posting
    differ from the candidacy's, or the opportunity is archived / hired."""
    label = _label(integration_of_candidacy(candidacy=candidacy))
    warnings: list[str] = []
    if preview.email and preview.email.lower() != candidacy.candidate_email.lower():
        warnings.append(
            f"The email in {label} ({preview.email}) differs from the candidacy's "
            f"({candidacy.candidate_email})."
        )
    if preview.role_id is not None and preview.role_id != candidacy.role_id:
        warnings.append(
            f"The opportunity's posting ({preview.posting_title}) matches the role "
            f"“{preview.role_title}”, not this candidacy's “{candidacy.role.title}”."
        )
    if preview.hired:
        warnings.append(f"The candidate is hired in {label}.")
    elif preview.archived:
        reason = preview.archive_reason_name or "no reason given"
        warnings.append(f"The opportunity is archived in {label} ({reason}).")
    return warnings


def opportunity_link_attach(
    *, candidacy: Candidacy, url: str, actor: User | None, via: str = "console"
) -> AttachResult:
    """Attach the ATS opportunity of ``url`` to ``candidacy`` (which has no link), all or
    nothing: the ``OpportunityLink``, the opportunity's ATS state (stage, archive, hired,
    posting) on the candidacy, the outbound updates of each milestone already reached (in
    milestone order, once per opportunity: see the module docstring), a timeline entry and an
    audit entry. ``via`` is console | api (recorded).

    Reads the ATS once or twice before the transaction (``opportunity_link_preview``) and
    raises what it raises; a concurrent attach of the same candidacy or opportunity that
    commits first makes this one raise ``LateLinkConflict`` (the link's unique constraints
    decide). Drains publish after commit."""
    preview = opportunity_link_preview(candidacy=candidacy, url=url, viewer=actor)
    integration = _integration_for_attach(candidacy=candidacy)
    label = _label(integration)
    try:
        with transaction.atomic():
            locked = Candidacy.objects.select_for_update().get(pk=candidacy.pk)
            if OpportunityLink.objects.filter(candidacy=locked).exists():
                raise _already_linked(locked, label)
            if candidacy_anonymised(candidacy=locked):  # erased since the check above
                raise LateLinkError(ANONYMISED_CANDIDACY, code=LateLinkCode.CANDIDACY_ANONYMISED)
            other = opportunity_link_get(
                organization_id=integration.group.organization_id,
                opportunity_id=preview.opportunity_id,
            )
            if other is not None:
                raise _opportunity_linked(label, other.candidacy, candidacy=locked, viewer=actor)
            _ats_state_copy(candidacy=locked, preview=preview)
            link = OpportunityLink.objects.create(
                integration=integration,
                candidacy=locked,
                opportunity_id=preview.opportunity_id,
                contact_id=preview.contact_id,
                url=preview.candidate_url[:500],
            )
            locked.refresh_from_db()
            queued, requeued, already = _milestones_queue(candidacy=locked, link=link)
            candidacy_event_add(
                candidacy=locked,
                kind=CandidacyEvent.Kind.ATS_LINKED,
                source=CandidacyEvent.Source.PERSON if actor else CandidacyEvent.Source.KARAT,
                # Names no ATS: the page shows its name (CandidacyEvent.THE_ATS).
                summary=f"Linked to the candidate {preview.candidate_name} in "
                f"{CandidacyEvent.THE_ATS}"[:300],
                detail={
                    "via": via,
                    "opportunity_id": preview.opportunity_id,
                    "url": preview.candidate_url,
                    "posting": preview.posting_title,
                    "stage": preview.stage_name,
                    "milestones_queued": queued + requeued,
                    "milestones_already_posted": already,
                },
                actor=actor,
            )
            audit_entry_record(
                integration=integration,
                actor=actor,
                action=AuditEntry.Action.LINK_ATTACHED,
                summary=f"Attached the {label} link of {preview.candidate_name} to the "
                f"candidacy of {locked.candidate_name}",
                detail={
                    "candidacy": str(locked.code),
                    "opportunity_id": preview.opportunity_id,
                    "via": via,
                    "milestones_queued": queued + requeued,
                },
            )
    except IntegrityError:
        # A concurrent attach (or invite) of this candidacy or opportunity committed first.
        if OpportunityLink.objects.filter(candidacy=candidacy).exists():
            raise _already_linked(candidacy, label) from None
        raise _opportunity_linked(label, None, candidacy=candidacy, viewer=None) from None
    # The link's pk, not the opportunity id: ids come from Lever, and logs take nothing
    # unchecked from it.
    logger.info(
        "late link attached: link_id=%s via %s (%s queued, %s again)",
        link.pk,
        via,
        queued,
        requeued,
        extra={"integration_id": integration.public_id},
    )
    return AttachResult(
        link=link, queued=queued, requeued=requeued, already_posted=already, preview=preview
    )


def _ats_state_copy(*, candidacy: Candidacy, preview: InvitePreview) -> None:
    """The opportunity's state as read, as the invite stores it (webhooks and reconciliation
    keep it current from here; a newer version always wins there)."""
    Candidacy.objects.filter(pk=candidacy.pk).update(
        ats_posting_id=preview.posting_id[:64],
        ats_stage_id=preview.stage_id[:100],
        ats_stage_name=preview.stage_name[:200],
        ats_archived=preview.archived,
        ats_archive_reason_id=preview.archive_reason_id[:100] if preview.archived else "",
        ats_archive_reason_name=preview.archive_reason_name[:200] if preview.archived else "",
        ats_archive_reason_hired=preview.hired,
        ats_hired=preview.hired,
        ats_state_version=preview.version,
        ats_state_updated_at=timezone.now(),
    )


def _milestones_queue(*, candidacy: Candidacy, link: OpportunityLink) -> tuple[int, int, int]:
    """Queue, in milestone order, each Karat milestone of ``candidacy`` that ``link``'s
    opportunity has not had: (queued fresh, queued again after a detach, there already)."""
    events = (
        CandidacyEvent.objects.filter(candidacy=candidacy)
        .exclude(milestone="")
        .exclude(source=CandidacyEvent.Source.ATS)
        .order_by("occurred_at", "id")
    )
    queued = requeued = already = 0
    for event in events:
        rows = OutboundUpdate.objects.filter(
            event=event, integration=link.integration, opportunity_id=link.opportunity_id
        )
        if not rows.exists():
            queued += bool(outbound_milestone_enqueue(candidacy=candidacy, event=event, link=link))
            continue
        again = list(
            rows.filter(status=Status.CANCELLED, last_error__startswith=DETACHED_REASON).order_by(
                "sequence"
            )
        )
        if again:
            _requeue(again, link=link)
            requeued += 1
        else:
            already += 1
    _stale_tags_cancel(link=link)
    return queued, requeued, already


STALE_TAG_REASON = "Not sent: the status tag of a later milestone is already on the opportunity"


def _stale_tags_cancel(*, link: OpportunityLink) -> int:
    """Cancel waiting status tags that would move the opportunity's status backwards.

    A status tag replaces the previous Karat tag (docs/outbound.md: removeTags, then addTags). A milestone
    the opportunity never had (e.g. reached while updates to Lever were off) is caught up
    after later milestones whose tags are already there or queued ahead of it, so its tag
    would replace a newer status with an older one: its note still goes, its tag does not.
    Returns how many were cancelled."""
    tags = list(
        OutboundUpdate.objects.filter(
            integration=link.integration, opportunity_id=link.opportunity_id, kind=Kind.TAG
        )
        .exclude(status=Status.CANCELLED)
        .select_related("event")
        .order_by("event__occurred_at", "event_id")
    )
    if not tags:
        return 0
    newest = tags[-1]
    stale = [
        tag.pk
        for tag in tags[:-1]
        if tag.status == Status.PENDING and tag.sequence > newest.sequence
    ]
    return OutboundUpdate.objects.filter(pk__in=stale, status=Status.PENDING).update(
        status=Status.CANCELLED, finished_at=timezone.now(), last_error=STALE_TAG_REASON
    )


def _requeue(rows: list[OutboundUpdate], *, link: OpportunityLink) -> None:
    """Send updates a detach cancelled after all, at the end of the opportunity's order (later
    updates may have gone out since). A note whose last attempt got no answer keeps its
    ``outcome_unknown`` flag and marker, so the drain looks for it before sending it again."""
    last = (
        OutboundUpdate.objects.filter(
            integration=link.integration, opportunity_id=link.opportunity_id
        ).aggregate(m=Max("sequence"))["m"]
        or 0
    )
    now = timezone.now()
    for i, row in enumerate(rows, start=1):
        OutboundUpdate.objects.filter(pk=row.pk, status=Status.CANCELLED).update(
            status=Status.PENDING,
            sequence=last + i,
            attempts=0,
            deferred=0,
            next_attempt_at=now,
            finished_at=None,
            timeline_recorded=False,
            last_error="",
        )
    transaction.on_commit(partial(drain_request, link.integration_id))


def opportunity_link_detach(
    *, candidacy: Candidacy, actor: User | None, via: str = "console"
) -> DetachResult:
    """Remove the candidacy's ATS link, all or nothing: its updates still waiting are
    cancelled with the reason (``DETACHED_REASON`` …; one being sent right now finishes), and
    a timeline entry and an audit entry record it. Allowed whether or not attaching is on.
    Raises ``LateLinkError`` (code ``not_linked``) when the candidacy has no link. Nothing is
    written to the ATS (Karat's notes and tags stay on the opportunity)."""
    with transaction.atomic():
        link = (
            OpportunityLink.objects.select_for_update()
            .select_related("integration")
            .filter(candidacy=candidacy)
            .first()
        )
        if link is None:
            raise LateLinkError(
                "This candidacy has no ATS link to detach.", code=LateLinkCode.NOT_LINKED
            )
        integration = link.integration
        label = _label(integration)
        now = timezone.now()
        reason = f"{DETACHED_REASON} by {_who(actor)} on {now:%Y-%m-%d %H:%M} UTC."
        waiting = OutboundUpdate.objects.filter(
            candidacy=candidacy, integration=integration, opportunity_id=link.opportunity_id
        )
        pending_ids = list(waiting.filter(status=Status.PENDING).values_list("pk", flat=True))
        # Conditional: a drain that claimed one meanwhile keeps it (it is being sent).
        cancelled = OutboundUpdate.objects.filter(pk__in=pending_ids, status=Status.PENDING).update(
            status=Status.CANCELLED, last_error=reason[:1000], finished_at=now
        )
        in_flight = waiting.filter(status=Status.SENDING).count()
        for row in (
            OutboundUpdate.objects.filter(pk__in=pending_ids, status=Status.CANCELLED)
            .select_related("candidacy")
            .order_by("sequence")
        ):
            timeline_record(row)
        opportunity_id = link.opportunity_id
        link.delete()
        candidacy_event_add(
            candidacy=candidacy,
            kind=CandidacyEvent.Kind.ATS_UNLINKED,
            source=CandidacyEvent.Source.PERSON if actor else CandidacyEvent.Source.KARAT,
            summary=f"Unlinked from {CandidacyEvent.THE_ATS}"
            + (f"; {cancelled} waiting update(s) not sent" if cancelled else ""),
            detail={"via": via, "opportunity_id": opportunity_id, "cancelled": cancelled},
            actor=actor,
        )
        audit_entry_record(
            integration=integration,
            actor=actor,
            action=AuditEntry.Action.LINK_DETACHED,
            summary=f"Detached the {label} link from the candidacy of {candidacy.candidate_name}",
            detail={
                "candidacy": str(candidacy.code),
                "opportunity_id": opportunity_id,
                "via": via,
                "cancelled": cancelled,
            },
        )
    logger.info(
        "late link detached: candidacy_id=%s via %s (%s cancelled)",
        candidacy.pk,
        via,
        cancelled,
        extra={"integration_id": integration.public_id},
    )
    return DetachResult(opportunity_id=opportunity_id, cancelled=cancelled, in_flight=in_flight)


def late_link_settings_update(
    *, integration: AtsIntegration, actor: User | None, enabled: bool
) -> LateLinkSettings:
    """Turn attaching links later on or off for ``integration`` (audited when it changes)."""
    row = late_link_settings_find(integration=integration) or LateLinkSettings(
        integration=integration
    )
    if row.pk is not None and row.enabled == enabled:
        return row
    row.enabled = enabled
    row.updated_by = actor
    row.save()
    audit_entry_record(
        integration=integration,
        actor=actor,
        action=AuditEntry.Action.LATE_LINK_SETTINGS_CHANGED,
        summary=f"Attaching {_label(integration)} links to existing candidacies turned "
        + ("on" if enabled else "off"),
        detail={"enabled": enabled},
    )
    return row
