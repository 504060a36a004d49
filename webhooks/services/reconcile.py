"""The reconciliation poll: heal missed webhooks by re-reading recently updated opportunities."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from integrations import ats
from integrations.auto_invites import services as auto_invites
from integrations.connection.services.outcomes import (
    integration_failure_record,
    integration_success_record,
)
from integrations.models import AtsIntegration, OpportunityLink
from karatlever.hiring.services import candidacy_ats_state_apply
from webhooks.models import WebhookDelivery
from webhooks.services.processing import opportunity_link_follow

logger = logging.getLogger(__name__)

# A webhook "announced" a change if a delivery for the opportunity arrived after this much
# before the change's updatedAt (Lever's clock and ours differ a little).
ANNOUNCE_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class ReconcileResult:
    seen: int
    changed: int
    unannounced: int
    streak: int


def integration_reconcile(*, integration_id: int) -> ReconcileResult | None:
    """Apply the ATS's current state to every linked candidacy whose opportunity changed since
    the last poll (minus RECONCILE_OVERLAP_SECONDS), with the same logic as a webhook.

    Changes that no stored delivery announced grow ``unannounced_change_streak``; a poll whose
    changes were all announced resets it. ATS errors leave the cursor where it was, so the
    next poll covers the gap. Returns None when there was nothing to poll.
    """
    integration = AtsIntegration.objects.filter(pk=integration_id, enabled=True).first()
    if integration is None or not integration.has_api_key:
        return None
    started_ms = int(time.time() * 1000)
    now = timezone.now()
    links = {
        link.opportunity_id: link
        for link in OpportunityLink.objects.filter(integration=integration).select_related(
            "candidacy"
        )
    }
    cursor = (
        integration.reconcile_cursor_ms or started_ms - settings.RECONCILE_INTERVAL_SECONDS * 1000
    )
    start = max(0, cursor - settings.RECONCILE_OVERLAP_SECONDS * 1000)
    seen = changed = unannounced = 0
    # The automatic invite also acts on unlinked opportunities the poll sees.
    auto_invite = auto_invites.auto_invite_enabled(integration=integration)
    if links or auto_invite:
        adapter = ats.adapter_for(integration.ats, ats.Opportunities)
        try:
            # Never keyed on the links' stored contacts: a profile merge moves an opportunity
            # to another contact, and a poll filtered on the old one would never see it again.
            # So this is every opportunity of the account updated since the cursor (confidential
            # ones included), matched to links by opportunity id. Cost: one list read, i.e.
            # ceil(n / 100) requests for the n opportunities changed anywhere in the account
            # within one poll window (RECONCILE_INTERVAL_SECONDS + RECONCILE_OVERLAP_SECONDS),
            # linked or not; a busy account with 2,000 changes in 17 minutes pays 20 requests.
            for current in adapter.opportunities_changed(
                ats.account_for(integration),
                since_ms=start,
                contact_ids=None,
                profile=ats.DELIVERY,
            ):
                link = links.get(current.opportunity_id)
                if link is None:
                    if auto_invite:
                        _auto_invite(integration, current)
                    continue
                seen += 1
                # The link follows the opportunity's current contact, as a webhook does.
                opportunity_link_follow(link=link, contact_id=current.contact_id)
                result = candidacy_ats_state_apply(
                    candidacy=link.candidacy, state=current.state, origin={"via": "reconcile"}
                )
                if result.events:
                    changed += 1
                    if not _announced(integration, current):
                        unannounced += 1
        except ats.AtsError as exc:
            # The cursor stays where it was, so the next poll covers the gap.
            logger.warning(
                "reconcile integration_id=%s failed (%s)", integration.public_id, exc.fault
            )
            integration_failure_record(
                integration_id=integration.pk, context="Reconciliation", error=exc
            )
            return None

    updates: dict[str, object] = {
        "reconciled_at": now,
        "reconcile_cursor_ms": started_ms,
    }
    if unannounced:
        updates["unannounced_change_streak"] = F("unannounced_change_streak") + 1
    elif changed:
        updates["unannounced_change_streak"] = 0
    AtsIntegration.objects.filter(pk=integration.pk).update(**updates)
    if links or auto_invite:
        integration_success_record(integration_id=integration.pk)
    streak = (
        AtsIntegration.objects.filter(pk=integration.pk)
        .values_list("unannounced_change_streak", flat=True)
        .get()
    )
    if changed:
        logger.info(
            "reconcile integration_id=%s: %d changed (%d unannounced), streak %d",
            integration.public_id,
            changed,
            unannounced,
            streak,
        )
    return ReconcileResult(seen=seen, changed=changed, unannounced=unannounced, streak=streak)


def reconcile_due_integration_ids() -> list[int]:
    """Enabled integrations with a key and at least one linked candidacy or the automatic
    invite turned on."""
    return list(
        AtsIntegration.objects.filter(enabled=True)
        .filter(
            Q(opportunity_links__isnull=False)
            | Q(auto_invite_rule__enabled=True, auto_invite_rule__stage_id__gt="")
        )
        .exclude(api_key_last4="")
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )


def _auto_invite(integration: AtsIntegration, current: ats.OpportunityState) -> None:
    """The automatic invite for an unlinked opportunity the poll saw; it reads the ATS again
    only when the opportunity is in the rule's stage. One hidden or deleted record ends only
    its own invite; other ATS errors stop the poll (the cursor stays, the next poll retries)."""
    try:
        auto_invites.auto_invite_consider(
            integration=integration,
            opportunity_id=current.opportunity_id,
            via="reconciliation",
            stage_id=current.state.stage_id,
        )
    except ats.AtsRecordError as exc:
        logger.info(
            "reconcile integration_id=%s: no automatic invite for %s (%s)",
            integration.public_id,
            current.opportunity_id,
            exc.fault,
        )


def _announced(integration: AtsIntegration, current: ats.OpportunityState) -> bool:
    since = timezone.now() - timedelta(seconds=settings.RECONCILE_INTERVAL_SECONDS * 2)
    if current.state.version:
        since = datetime.fromtimestamp(current.state.version / 1000, tz=UTC) - ANNOUNCE_SKEW
    return WebhookDelivery.objects.filter(
        integration=integration, opportunity_id=current.opportunity_id, received_at__gte=since
    ).exists()
