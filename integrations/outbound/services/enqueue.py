"""Enqueue in the milestone's transaction: a milestone's outbound rows, and the drain
published for them after commit."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.feedback.services import feedback_payloads
from integrations.models import AtsIntegration, OpportunityLink, OutboundSettings, OutboundUpdate
from integrations.outbound.services.notes import (
    DEFAULT_TEMPLATES,
    SCORES,
    OutboundError,
    note_context,
    note_render,
    outbound_settings_get,
    status_tag,
    status_tags_all,
    template_for,
)
from integrations.panels.services import panel_payloads
from karatlever.hiring.models import Candidacy, CandidacyEvent, Milestone

logger = logging.getLogger(__name__)

Kind = OutboundUpdate.Kind

# --- enqueue: inside the milestone's transaction ---------------------------------------------


def candidacy_changed_receive(
    sender: Any, *, candidacy: Candidacy, event: CandidacyEvent, **kwargs: Any
) -> None:
    """``hiring.signals.candidacy_changed`` receiver: Karat milestones of a linked candidacy
    become outbound rows in the same transaction. Events from the ATS itself (a Lever stage
    change) are never echoed back; a candidacy without a link yet is skipped (the invite flow
    links it afterwards and calls ``outbound_milestone_enqueue`` itself)."""
    if not event.milestone or event.source == CandidacyEvent.Source.ATS:
        return
    link = OpportunityLink.objects.filter(candidacy=candidacy).select_related("integration").first()
    if link is None:
        return
    outbound_milestone_enqueue(candidacy=candidacy, event=event, link=link)


def outbound_milestone_enqueue(
    *, candidacy: Candidacy, event: CandidacyEvent, link: OpportunityLink | None = None
) -> list[OutboundUpdate]:
    """Write the outbound rows for one milestone event (call inside its transaction).

    For services that create the candidacy's ``OpportunityLink`` after the milestone (the
    invite flow: ``candidacy_create`` fires "invited" before the link exists): call this once
    the link is saved. Idempotent per event and opportunity (a second call returns the
    existing rows). Writes nothing for an event without a milestone, from the ATS itself, for
    an unlinked candidacy, or when the integration or its outbound updates are off. Publishes
    a drain on commit.
    """
    if not event.milestone or event.source == CandidacyEvent.Source.ATS:
        return []
    if link is None:
        link = (
            OpportunityLink.objects.filter(candidacy=candidacy)
            .select_related("integration")
            .first()
        )
    if link is None or not link.integration.enabled:
        return []
    # Per opportunity: a candidacy whose link was detached and another attached
    # (integrations/late_links) owes the new opportunity its earlier milestones.
    existing = list(
        OutboundUpdate.objects.filter(
            event=event, integration=link.integration, opportunity_id=link.opportunity_id
        ).order_by("sequence")
    )
    if existing:
        return existing
    integration = link.integration
    outbound = outbound_settings_get(integration=integration)
    if not outbound.enabled:
        return []
    payloads = _payloads(candidacy=candidacy, event=event, link=link, outbound=outbound)
    if not payloads:
        return []
    last = (
        OutboundUpdate.objects.filter(integration=integration, opportunity_id=link.opportunity_id)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
    ) or 0
    now = timezone.now()
    rows = [
        OutboundUpdate(
            integration=integration,
            candidacy=candidacy,
            event=event,
            opportunity_id=link.opportunity_id,
            milestone=event.milestone,
            kind=kind,
            payload=payload,
            sequence=last + i,
            next_attempt_at=now,
            created_at=now,
        )
        for i, (kind, payload) in enumerate(payloads, start=1)
    ]
    OutboundUpdate.objects.bulk_create(rows)
    transaction.on_commit(partial(drain_request, integration.pk))
    return rows


def _payloads(
    *,
    candidacy: Candidacy,
    event: CandidacyEvent,
    link: OpportunityLink,
    outbound: OutboundSettings,
) -> list[tuple[str, dict[str, Any]]]:
    milestone = event.milestone
    detail = dict(event.detail or {})
    out: list[tuple[str, dict[str, Any]]] = []
    if outbound.notes_enabled:
        context = note_context(candidacy=candidacy, milestone=milestone, detail=detail)
        template_error = ""
        try:
            text = note_render(
                template=template_for(outbound=outbound, milestone=milestone), context=context
            )
        except OutboundError as exc:
            # Saved templates are checked, but one stored before the check (or one the data
            # trips up) must never fail the milestone or the invite: write the default note,
            # and say so on the row.
            template_error = f"The note template failed ({exc.message}); the default note was used."
            logger.warning(
                "outbound note template of milestone=%s failed: %s",
                milestone,
                exc.message,
                extra={"integration_id": link.integration.public_id},
            )
            text = note_render(template=DEFAULT_TEMPLATES[milestone], context=context)
        if text:
            # The reference finds the note again after a lost answer (note_find).
            marker = f"kl-{secrets.token_hex(6)}"
            recommendation = detail.get("recommendation", "")
            score = SCORES.get(recommendation) if outbound.score_enabled else None
            payload: dict[str, Any] = {
                "text": f"{text}\n\n(Karat ref {marker})",
                "marker": marker,
                "secret": outbound.secret_notes,
                "score": score,
            }
            if template_error:
                payload["template_error"] = template_error
            out.append((Kind.NOTE, payload))
    status = detail.get("to") or candidacy.karat_status
    if outbound.tags_enabled and status:
        tag = status_tag(outbound=outbound, status=status)
        earlier = OutboundUpdate.objects.filter(
            integration_id=link.integration_id, opportunity_id=link.opportunity_id, kind=Kind.TAG
        ).values_list("payload", flat=True)
        previous = {t for p in earlier for t in (p or {}).get("add", [])}
        # The first status tag of an opportunity needs no removal (one request fewer).
        remove = sorted((previous | set(status_tags_all(outbound=outbound))) - {tag})
        out.append((Kind.TAG, {"add": [tag], "remove": remove if previous else []}))
    report_url = detail.get("report_url", "")
    if outbound.links_enabled and milestone == Milestone.RESULTS_READY and report_url:
        out.append((Kind.LINK, {"links": [report_url]}))
    rules = outbound.stage_rules or {}
    rule = (
        rules.get(detail.get("recommendation", ""))
        if milestone == Milestone.RESULTS_READY
        else None
    )
    if outbound.stage_moves_enabled and isinstance(rule, dict) and rule.get("stage_id"):
        out.append(
            (Kind.STAGE, {"stage_id": rule["stage_id"], "stage_name": rule.get("stage_name", "")})
        )
    # The interview on the ATS's schedule (opt-in; integrations/panels/).
    out.extend(panel_payloads(candidacy=candidacy, event=event, link=link, outbound=outbound))
    # Results as a feedback form (opt-in; integrations/feedback/): after the milestone's note.
    out += feedback_payloads(candidacy=candidacy, event=event, link=link)
    return out


# --- publishing drains --------------------------------------------------------------------------

# A requested drain that has not started after this long was lost (broker trouble): the next
# milestone publishes again (the sweeper publishes anything due regardless).
DRAIN_REQUEST_TTL_SECONDS = 60


def drain_request(integration_id: int) -> bool:
    """Publish a drain for new rows (call after commit), unless one is already queued and has
    not started yet: a burst of milestones queues one drain, not one per milestone. True
    when a drain was published."""
    now = timezone.now()
    stale = now - timedelta(seconds=DRAIN_REQUEST_TTL_SECONDS)
    requested = (
        OutboundSettings.objects.filter(integration_id=integration_id)
        .filter(Q(drain_requested_at__isnull=True) | Q(drain_requested_at__lt=stale))
        .update(drain_requested_at=now)
    )
    return bool(requested) and drain_publish(integration_id)


def drain_publish(integration_id: int, countdown: float | None = None) -> bool:
    """Publish a drain of the integration's due rows; False (logged) if the broker fails —
    the rows are durable and the sweeper publishes again."""
    from integrations.tasks import outbound_drain as outbound_drain_task

    try:
        if countdown:
            outbound_drain_task.apply_async((integration_id,), countdown=countdown)
        else:
            outbound_drain_task.apply_async((integration_id,))
    except Exception as exc:  # any broker failure: the sweeper publishes later
        # One query, on a broker failure only: log lines name integrations by public id.
        public_id = (
            AtsIntegration.objects.filter(pk=integration_id)
            .values_list("public_id", flat=True)
            .first()
        )
        logger.warning(
            "could not publish the outbound drain (%s)",
            type(exc).__name__,
            extra={"integration_id": public_id},
        )
        return False
    return True
