"""Candidates deleted or anonymised in the ATS, as the webhooks app sees them: the deletion
webhook's deliveries, the poll of deleted opportunities that heals missed ones, and the
erasure of stored delivery payloads (the policy itself is integrations/deletions/services.py)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations import ats
from integrations.deletions.services import (
    Cause,
    DeletionOutcome,
    deletion_poll_record,
    deletion_settings_get,
    opportunity_deletion_apply,
)
from integrations.models import AtsIntegration, DeletionSettings, OpportunityLink, OutboundUpdate
from karatlever.hiring.services import text_erase
from webhooks.models import WebhookDelivery

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryDeletion:
    """How a deletion delivery ended: ``applied`` (at least one candidacy unlinked) or not,
    with a one-line outcome for the activity page."""

    applied: bool
    message: str


def deletion_event(integration: AtsIntegration) -> str:
    """The ATS's deletion event ("" when its adapter does not offer ``ats.Deletions``)."""
    adapter = ats.capability(integration.ats, ats.Deletions)
    return adapter.deletion_event if adapter is not None else ""


@transaction.atomic
def opportunity_deletion_honour(
    *, integration: AtsIntegration, opportunity_id: str, cause: str, via: str
) -> DeletionOutcome:
    """Apply the integration's policy to one opportunity the ATS confirmed deleted or
    anonymised (``opportunity_deletion_apply``); with the ``anonymise`` policy, the stored
    payloads of the opportunity's deliveries are erased too (and the personal values from
    their outcomes). Idempotent. Writes nothing to the ATS."""
    outcome = opportunity_deletion_apply(
        integration=integration, opportunity_id=opportunity_id, cause=cause, via=via
    )
    if outcome.policy == DeletionSettings.Policy.ANONYMISE:
        _delivery_payloads_erase(integration=integration, opportunity_ids=[opportunity_id])
        deliveries = WebhookDelivery.objects.filter(
            integration=integration, opportunity_id=opportunity_id
        )
        if outcome.personal:
            for delivery in deliveries.only("pk", "outcome", "error"):
                WebhookDelivery.objects.filter(pk=delivery.pk).update(
                    outcome=text_erase(delivery.outcome, outcome.personal)[:300],
                    error=text_erase(delivery.error, outcome.personal),
                )
    return outcome


def delivery_deletion_handle(*, delivery: WebhookDelivery) -> DeliveryDeletion:
    """Act on one verified deletion delivery. Its ``data`` is not covered by the signature, so
    every opportunity it names is first confirmed deleted with the ATS (an opportunity still
    there changes nothing). It names an opportunity, or only a contact: then that contact's
    linked opportunities are checked. Raises the ATS's errors (AtsUnavailable: retry later;
    AtsKeyError, AtsRecordForbidden: the delivery fails) as the processing expects."""
    integration = delivery.integration
    adapter = ats.adapter_for(integration.ats, ats.Deletions)
    # Only the adapter reads the ATS's JSON (a pruned payload, None, names nothing either).
    subject = adapter.deletion_subject(
        delivery.payload if isinstance(delivery.payload, dict) else {}
    )
    if subject.test:
        return DeliveryDeletion(False, f"Test delivery from {adapter.label}")
    if subject.opportunity_id:
        candidates = [subject.opportunity_id]
    elif subject.contact_id:
        candidates = list(
            OpportunityLink.objects.filter(
                integration=integration, contact_id=subject.contact_id
            ).values_list("opportunity_id", flat=True)
        )
    else:
        candidates = []
    if not candidates:
        return DeliveryDeletion(False, "Names no opportunity Karat knows")
    account = ats.account_for(integration)
    messages: list[str] = []
    applied = False
    for opportunity_id in candidates:
        known = (
            OpportunityLink.objects.filter(
                integration=integration, opportunity_id=opportunity_id
            ).exists()
            or OutboundUpdate.objects.filter(
                integration=integration,
                opportunity_id=opportunity_id,
                status__in=OutboundUpdate.UNSENT,
            ).exists()
        )
        if not known and deletion_settings_get(integration=integration).policy != (
            DeletionSettings.Policy.ANONYMISE
        ):
            # Nothing of Karat's to change: no need to ask the ATS.
            messages.append("No linked Karat candidacy")
            continue
        if not adapter.opportunity_deleted(account, opportunity_id, profile=ats.DELIVERY):
            messages.append(f"Still in {adapter.label}: not deleted, nothing changed")
            continue
        outcome = opportunity_deletion_honour(
            integration=integration,
            opportunity_id=opportunity_id,
            cause=Cause.DELETED,
            via="webhook",
        )
        applied = applied or outcome.applied
        messages.append(outcome.message)
    return DeliveryDeletion(applied, "; ".join(dict.fromkeys(messages))[:300])


# Deleted opportunity ids whose stored deliveries are erased in one UPDATE (bounds the IN list).
ERASE_BATCH = 500


def _delivery_payloads_erase(*, integration: AtsIntegration, opportunity_ids: list[str]) -> int:
    """Clear the stored payloads of the integration's deliveries for ``opportunity_ids`` (one
    UPDATE): under the anonymise policy, for deleted opportunities Karat never linked. Their
    outcomes and errors name no person (no candidacy to take a name from), so they stay.
    Returns how many deliveries were erased."""
    if not opportunity_ids:
        return 0
    return WebhookDelivery.objects.filter(
        integration=integration, opportunity_id__in=opportunity_ids, payload__isnull=False
    ).update(payload=None, payload_pruned_at=timezone.now())


def deleted_opportunities_reconcile(*, integration_id: int) -> int | None:
    """The poll for deletions whose webhook was missed: every opportunity the ATS lists as
    deleted since the last poll (minus RECONCILE_OVERLAP_SECONDS; the first poll starts at the
    integration's creation) that Karat links or still has updates for gets the policy. Under
    the anonymise policy the stored deliveries of every other deleted opportunity are erased
    too (one UPDATE per ERASE_BATCH ids): a delivery for a candidate Karat never linked still
    holds what Lever sent about them. ATS errors keep the cursor (the next poll covers the
    gap) and are shown on the status page. Returns how many candidacies it unlinked, None
    when there was nothing to poll."""
    integration = AtsIntegration.objects.filter(pk=integration_id, enabled=True).first()
    if integration is None or not integration.has_api_key:
        return None
    adapter = ats.capability(integration.ats, ats.Deletions)
    if adapter is None:
        return None
    row = deletion_settings_get(integration=integration)
    started_ms = int(time.time() * 1000)
    cursor = row.deleted_cursor_ms or int(integration.created_at.timestamp() * 1000)
    start = max(0, cursor - settings.RECONCILE_OVERLAP_SECONDS * 1000)
    linked = set(
        OpportunityLink.objects.filter(integration=integration).values_list(
            "opportunity_id", flat=True
        )
    )
    unsent = set(
        OutboundUpdate.objects.filter(
            integration=integration, status__in=OutboundUpdate.UNSENT
        ).values_list("opportunity_id", flat=True)
    )
    anonymise = row.policy == DeletionSettings.Policy.ANONYMISE
    unknown: list[str] = []  # deleted, not linked, nothing unsent: only deliveries to erase
    honoured = 0
    try:
        for deleted in adapter.opportunities_deleted(
            ats.account_for(integration), since_ms=start, profile=ats.DELIVERY
        ):
            if deleted.opportunity_id not in linked | unsent:
                if anonymise:
                    unknown.append(deleted.opportunity_id)
                    if len(unknown) >= ERASE_BATCH:
                        _delivery_payloads_erase(integration=integration, opportunity_ids=unknown)
                        unknown = []
                continue
            outcome = opportunity_deletion_honour(
                integration=integration,
                opportunity_id=deleted.opportunity_id,
                cause=Cause.DELETED,
                via="reconcile",
            )
            honoured += int(outcome.applied)
            linked.discard(deleted.opportunity_id)
            unsent.discard(deleted.opportunity_id)
    except ats.AtsError as exc:
        # What was read before the failure is erased now; the next poll reads it again.
        _delivery_payloads_erase(integration=integration, opportunity_ids=unknown)
        logger.warning(
            "deleted opportunities poll failed (%s)",
            exc.fault,
            extra={"integration_id": integration.public_id},
        )
        deletion_poll_record(integration=integration, error=exc.message)
        return None
    _delivery_payloads_erase(integration=integration, opportunity_ids=unknown)
    deletion_poll_record(integration=integration, cursor_ms=started_ms)
    if honoured:
        logger.info(
            "deleted opportunities poll: %d candidacies unlinked",
            honoured,
            extra={"integration_id": integration.public_id},
        )
    return honoured
