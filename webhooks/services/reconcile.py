"""The reconciliation poll: heal missed webhooks by re-reading recently updated opportunities."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations import ats
from integrations.auto_invites import services as auto_invites
from integrations.connection.services.outcomes import (
    integration_failure_record,
    integration_success_record,
)
from integrations.deletions.services import Cause
from integrations.hiring_team import selectors as hiring_team_selectors
from integrations.hiring_team import services as hiring_team
from integrations.models import AtsIntegration, OpportunityLink, WebhookSubscription
from integrations.status.refresh import status_refresh_request
from karatlever.hiring.models import CandidacyEvent
from karatlever.hiring.services import candidacy_ats_state_apply
from karatlever.observability.context import log_context
from webhooks.models import WebhookDelivery
from webhooks.services.deletions import opportunity_deletion_honour
from webhooks.services.processing import opportunity_link_follow

logger = logging.getLogger(__name__)

# Without a known earlier state, a webhook "announced" a change if a delivery of its event for
# the opportunity arrived after this much before the change's updatedAt (Lever's clock and
# ours differ a little).
ANNOUNCE_SKEW = timedelta(minutes=5)

# The candidacy timeline's ATS events, by the kind of change a webhook event announces.
_CHANGE_OF_EVENT: dict[str, ats.StateChange] = {
    CandidacyEvent.Kind.ATS_STAGE_CHANGED: ats.StateChange.STAGE,
    CandidacyEvent.Kind.ATS_ARCHIVED: ats.StateChange.ARCHIVE,
    CandidacyEvent.Kind.ATS_UNARCHIVED: ats.StateChange.ARCHIVE,
    CandidacyEvent.Kind.ATS_HIRED: ats.StateChange.HIRED,
}


@dataclass(frozen=True)
class ReconcileResult:
    seen: int
    changed: int
    # Changed opportunities with at least one change no delivery of its event announced.
    unannounced: int
    # Webhook event -> changes of its kind this poll found that no delivery of it announced.
    missed: dict[str, int] = field(default_factory=dict)


def integration_reconcile(*, integration_id: int) -> ReconcileResult | None:
    """Apply the ATS's current state to every linked candidacy whose opportunity changed since
    the last poll (minus RECONCILE_OVERLAP_SECONDS), with the same logic as a webhook.

    Each change found (stage, archive state, hired) that no stored delivery of the webhook
    event announcing it announced marks that event's webhook as missed at once
    (``WebhookSubscription.missed_at``: the ATS's toggle for it is probably off) and asks for a
    status recompute; the event's next verified delivery clears it (``intake``). ATS errors
    leave the cursor where it was, so the next poll covers the gap. Returns None when there
    was nothing to poll.
    """
    integration = AtsIntegration.objects.filter(pk=integration_id, enabled=True).first()
    if integration is None or not integration.has_api_key:
        return None
    with log_context(integration_id=integration.public_id):
        return _integration_reconcile(integration)


def _integration_reconcile(integration: AtsIntegration) -> ReconcileResult | None:
    """``integration_reconcile`` for an enabled integration with a key."""
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
    missed: Counter[str] = Counter()
    events = ats.adapter_for(integration.ats, ats.AtsBase).webhook_events
    # The automatic invite also acts on unlinked opportunities the poll sees.
    auto_invite = auto_invites.auto_invite_enabled(integration=integration)
    # Read once per poll: each linked opportunity's owner may set its candidacy's recruiter.
    recruiter_follows = hiring_team_selectors.recruiter_follows_owner_enabled(
        integration=integration
    )
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
                if current.anonymized:
                    # Anonymised in the ATS: the deletion policy applies (docs/deletions.md).
                    opportunity_deletion_honour(
                        integration=integration,
                        opportunity_id=current.opportunity_id,
                        cause=Cause.ANONYMISED,
                        via="reconcile",
                    )
                    continue
                # The link follows the opportunity's current contact, as a webhook does.
                opportunity_link_follow(link=link, contact_id=current.contact_id)
                known_since = link.candidacy.ats_state_version
                result = candidacy_ats_state_apply(
                    candidacy=link.candidacy, state=current.state, origin={"via": "reconcile"}
                )
                if not result.stale:
                    hiring_team.candidacy_recruiter_follow(
                        integration=integration,
                        candidacy=link.candidacy,
                        current=current,
                        origin={"via": "reconcile"},
                        enabled=recruiter_follows,
                    )
                if result.events:
                    changed += 1
                    silent = _unannounced_events(
                        integration, current, events, result.events, known_since=known_since
                    )
                    if silent:
                        unannounced += 1
                        missed.update(silent)
        except ats.AtsError as exc:
            # The cursor stays where it was, so the next poll covers the gap.
            logger.warning(
                "reconcile failed (%s)",
                exc.fault,
                extra={"integration_id": integration.public_id},
            )
            integration_failure_record(
                integration_id=integration.pk, context="Reconciliation", error=exc
            )
            return None

    AtsIntegration.objects.filter(pk=integration.pk).update(
        reconciled_at=now, reconcile_cursor_ms=started_ms
    )
    if links or auto_invite:
        integration_success_record(integration_id=integration.pk)
    if missed:
        _webhooks_missed_record(integration, events, missed, now=now)
    if changed:
        logger.info(
            "reconcile: %d changed (%d unannounced: %s)",
            changed,
            unannounced,
            ", ".join(f"{event} {n}" for event, n in sorted(missed.items())) or "none",
            extra={"integration_id": integration.public_id},
        )
    return ReconcileResult(seen=seen, changed=changed, unannounced=unannounced, missed=dict(missed))


def reconcile_due_integration_ids() -> list[int]:
    """Enabled integrations with a key and at least one linked candidacy or the automatic
    invite turned on."""
    return list(AtsIntegration.objects.reconcile_due().order_by("pk").values_list("pk", flat=True))


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
            "reconcile: no automatic invite for %s (%s)",
            current.opportunity_id,
            exc.fault,
            extra={"integration_id": integration.public_id},
        )


def _unannounced_events(
    integration: AtsIntegration,
    current: ats.OpportunityState,
    specs: Sequence[ats.WebhookEventSpec],
    applied: Sequence[CandidacyEvent],
    *,
    known_since: int | None,
) -> list[str]:
    """The webhook events that should have announced the changes just ``applied`` to the
    opportunity and did not: no delivery of any event announcing a change's kind is stored
    for it since the state Karat knew before (``known_since``, the ATS's ms). One query.

    A delivery announces a change made after Karat's last read of the opportunity when the
    ATS triggered it after that read: both times are the ATS's clock, so the delivery that
    brought the earlier state (triggered before that read) never counts for a later change.
    Without an earlier state, a delivery received since shortly before the change counts.
    """
    changes = {_CHANGE_OF_EVENT[e.kind] for e in applied if e.kind in _CHANGE_OF_EVENT}
    announcing = {
        change: [spec.code for spec in specs if change in spec.announces] for change in changes
    }
    codes = {code for found in announcing.values() for code in found}
    if not codes:
        return []
    deliveries = WebhookDelivery.objects.filter(
        integration=integration, opportunity_id=current.opportunity_id, event__in=codes
    )
    if known_since is not None:
        deliveries = deliveries.filter(triggered_at_ms__gt=known_since)
    else:
        since = timezone.now() - timedelta(seconds=settings.RECONCILE_INTERVAL_SECONDS * 2)
        if current.state.version:
            since = datetime.fromtimestamp(current.state.version / 1000, tz=UTC) - ANNOUNCE_SKEW
        deliveries = deliveries.filter(received_at__gte=since)
    delivered = set(deliveries.values_list("event", flat=True).distinct())
    return sorted(
        {
            code
            for found in announcing.values()
            if found and not delivered.intersection(found)
            for code in found
        }
    )


def _webhooks_missed_record(
    integration: AtsIntegration,
    specs: Sequence[ats.WebhookEventSpec],
    missed: Counter[str],
    *,
    now: datetime,
) -> None:
    """Mark each missed event's webhook as not arriving (its first miss since its last
    delivery is kept) and ask for a status recompute, so the status page names it within
    this poll rather than at the next periodic refresh."""
    # An event without a row yet (no token) gets one: its token check already says what to do.
    WebhookSubscription.objects.bulk_create(
        [WebhookSubscription(integration=integration, event=event) for event in missed],
        ignore_conflicts=True,
    )
    for event, count in missed.items():
        WebhookSubscription.objects.filter(integration=integration, event=event).update(
            missed_at=Coalesce(F("missed_at"), Value(now)),
            missed_count=F("missed_count") + count,
        )
    labels = {spec.code: spec.label for spec in specs}
    status_refresh_request(
        integration_id=integration.pk,
        reason="Reconciliation found changes no webhook announced: "
        + ", ".join(labels.get(event, event) for event in sorted(missed)),
    )
