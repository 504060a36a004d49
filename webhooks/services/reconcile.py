"""The reconciliation poll: heal missed webhooks by re-reading recently updated opportunities."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from integrations.lever.client import LeverClient
from integrations.lever.errors import LeverAuthError, LeverError
from integrations.lever.schemas import Opportunity
from integrations.models import AtsIntegration, OpportunityLink
from karatlever.hiring.services import candidacy_ats_state_apply
from webhooks.models import WebhookDelivery
from webhooks.services import lever_state

logger = logging.getLogger(__name__)

# Contact ids per list request: keeps the query string well under URL length limits.
CONTACTS_PER_REQUEST = 50
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
    """Apply Lever's current state to every linked candidacy whose opportunity changed since
    the last poll (minus RECONCILE_OVERLAP_SECONDS), with the same logic as a webhook.

    Changes that no stored delivery announced grow ``unannounced_change_streak``; a poll whose
    changes were all announced resets it. Lever errors leave the cursor where it was, so the
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
    if links:
        client = lever_state.lever_client(integration)
        try:
            for opportunity in _updated_opportunities(client, links, start):
                link = links.get(opportunity.id)
                if link is None:
                    continue
                seen += 1
                state = lever_state.opportunity_state(
                    integration=integration, client=client, opportunity=opportunity
                )
                result = candidacy_ats_state_apply(
                    candidacy=link.candidacy, state=state, origin={"via": "reconcile"}
                )
                if result.events:
                    changed += 1
                    if not _announced(integration, opportunity):
                        unannounced += 1
        except LeverAuthError as exc:
            _error(integration, f"Lever refused the API key during reconciliation: {exc}")
            return None
        except LeverError as exc:
            _error(integration, f"Reconciliation could not read Lever: {exc}")
            return None

    updates: dict[str, object] = {
        "reconciled_at": now,
        "reconcile_cursor_ms": started_ms,
    }
    if links:
        updates["last_success_at"] = now
    if unannounced:
        updates["unannounced_change_streak"] = F("unannounced_change_streak") + 1
    elif changed:
        updates["unannounced_change_streak"] = 0
    AtsIntegration.objects.filter(pk=integration.pk).update(**updates)
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
    """Enabled integrations with a key and at least one linked candidacy."""
    return list(
        AtsIntegration.objects.filter(enabled=True, opportunity_links__isnull=False)
        .exclude(api_key_last4="")
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )


def _updated_opportunities(
    client: LeverClient, links: dict[str, OpportunityLink], start_ms: int
) -> Iterator[Opportunity]:
    # Several links may share a contact (one person, several opportunities): only a link
    # with no contact id at all forces the unfiltered list.
    if any(not link.contact_id for link in links.values()):
        # A link without a contact id can only be found in the unfiltered list.
        yield from client.iter_opportunities(updated_at_start=start_ms, expand=("stage",))
        return
    contacts = sorted({link.contact_id for link in links.values()})
    for i in range(0, len(contacts), CONTACTS_PER_REQUEST):
        yield from client.iter_opportunities(
            updated_at_start=start_ms,
            contact_id=contacts[i : i + CONTACTS_PER_REQUEST],
            expand=("stage",),
        )


def _announced(integration: AtsIntegration, opportunity: Opportunity) -> bool:
    since = timezone.now() - timedelta(seconds=settings.RECONCILE_INTERVAL_SECONDS * 2)
    if opportunity.updated_at:
        since = datetime.fromtimestamp(opportunity.updated_at / 1000, tz=UTC) - ANNOUNCE_SKEW
    return WebhookDelivery.objects.filter(
        integration=integration, opportunity_id=opportunity.id, received_at__gte=since
    ).exists()


def _error(integration: AtsIntegration, message: str) -> None:
    logger.warning("reconcile integration_id=%s failed: %s", integration.public_id, message)
    AtsIntegration.objects.filter(pk=integration.pk).update(
        last_error=message[:1000], last_error_at=timezone.now()
    )
