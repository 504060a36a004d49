"""Reads for the webhooks app, always scoped to what the user may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db.models import QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from integrations.models import AtsIntegration, WebhookEvent, WebhookSubscription
from karatlever.accounts.models import User
from karatlever.accounts.selectors import group_list_visible
from webhooks.models import WebhookDelivery, WebhookRejection


def integration_get_visible(*, user: User, public_id: UUID) -> AtsIntegration:
    """The integration if the user's groups include it; 404 otherwise (never 403)."""
    return get_object_or_404(
        AtsIntegration.objects.select_related("group"),
        public_id=public_id,
        group__in=group_list_visible(user=user),
    )


def webhook_url(*, integration: AtsIntegration) -> str:
    """The URL to paste into Lever (absolute, from PUBLIC_BASE_URL)."""
    path = reverse("webhooks:lever-receive", kwargs={"integration_id": integration.public_id})
    return settings.PUBLIC_BASE_URL + path


@dataclass(frozen=True)
class EventSetup:
    event: str
    label: str
    configured: bool
    token_last4: str
    rotating: bool
    lever_webhook_id: str
    last_delivery_at: datetime | None


def webhook_setup(*, integration: AtsIntegration) -> list[EventSetup]:
    """One row per supported event: token configured?, last verified delivery. One query."""
    subscriptions = {
        s.event: s
        for s in WebhookSubscription.objects.filter(integration=integration).only(
            "event",
            "signature_token_last4",
            "lever_webhook_id",
            "last_delivery_at",
            "previous_signature_token",
        )
    }
    rows = []
    for event in WebhookEvent:
        sub = subscriptions.get(event.value)
        rows.append(
            EventSetup(
                event=event.value,
                label=event.label,
                configured=bool(sub and sub.signature_token_last4),
                token_last4=sub.signature_token_last4 if sub else "",
                rotating=bool(sub and sub.previous_signature_token),
                lever_webhook_id=sub.lever_webhook_id if sub else "",
                last_delivery_at=sub.last_delivery_at if sub else None,
            )
        )
    return rows


def webhooks_not_arriving(*, integration: AtsIntegration) -> bool:
    """Reconciliation kept finding changes no webhook announced."""
    return integration.unannounced_change_streak >= settings.RECONCILE_UNANNOUNCED_STREAK_ALERT


def delivery_list(
    *, integration: AtsIntegration, event: str = "", status: str = ""
) -> QuerySet[WebhookDelivery]:
    deliveries = WebhookDelivery.objects.filter(integration=integration).defer("payload")
    if event:
        deliveries = deliveries.filter(event=event)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("-received_at", "-id")


def delivery_get(*, integration: AtsIntegration, delivery_id: int) -> WebhookDelivery:
    return get_object_or_404(WebhookDelivery, integration=integration, pk=delivery_id)


def rejection_counts(*, integration: AtsIntegration, hours: int = 24) -> dict[str, int]:
    """Rejected deliveries by reason over the last ``hours`` (hour buckets), zeros included."""
    since = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    counts = dict.fromkeys(WebhookRejection.Reason.values, 0)
    rows = (
        WebhookRejection.objects.filter(integration=integration, hour__gte=since)
        .values("reason")
        .annotate(total=Sum("count"))
        .order_by()
    )
    for row in rows:
        counts[row["reason"]] = row["total"]
    return counts


# Payload fields that authenticate a delivery: never shown, even to admins.
MASKED_FIELDS = frozenset({"token", "signature"})


def payload_masked(payload: object) -> object:
    """The payload with tokens and signatures replaced, at any depth."""
    if isinstance(payload, dict):
        return {
            key: "••••••"
            if key in MASKED_FIELDS or "token" in key.lower()
            else payload_masked(value)
            for key, value in payload.items()
        }
    if isinstance(payload, list):
        return [payload_masked(item) for item in payload]
    return payload
