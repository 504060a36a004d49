"""Reads for the webhooks app, always scoped to what the user may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Length
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from integrations import ats
from integrations.models import AtsIntegration, OpportunityLink, WebhookSubscription
from integrations.selectors import AUTO_STATE_UPDATING, FEATURES, FeatureHealth, FeatureIssue
from webhooks.models import WebhookDelivery, WebhookRejection


def webhook_url(*, integration: AtsIntegration) -> str:
    """The URL to paste into the ATS's webhook settings (absolute, from PUBLIC_BASE_URL)."""
    path = reverse(
        "webhooks:receive", kwargs={"ats": integration.ats, "public_id": integration.public_id}
    )
    return f"{settings.PUBLIC_BASE_URL}{path}"


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
    # "Rotating" is computed in SQL from the ciphertext's length (an empty token is stored as
    # ''), so the previous signature token is never decrypted just to show a flag.
    subscriptions = {
        s.event: s
        for s in WebhookSubscription.objects.filter(integration=integration)
        .only("event", "signature_token_last4", "lever_webhook_id", "last_delivery_at")
        .annotate(previous_token_length=Length("previous_signature_token"))
    }
    rows = []
    for spec in ats.adapter_for(integration.ats).webhook_events:
        sub = subscriptions.get(spec.code)
        rows.append(
            EventSetup(
                event=spec.code,
                label=spec.label,
                configured=bool(sub and sub.signature_token_last4),
                token_last4=sub.signature_token_last4 if sub else "",
                rotating=bool(sub and sub.previous_token_length),
                lever_webhook_id=sub.lever_webhook_id if sub else "",
                last_delivery_at=sub.last_delivery_at if sub else None,
            )
        )
    return rows


def webhooks_not_arriving(*, integration: AtsIntegration) -> bool:
    """Reconciliation kept finding changes no webhook announced."""
    threshold: int = settings.RECONCILE_UNANNOUNCED_STREAK_ALERT
    return integration.unannounced_change_streak >= threshold


def _with_candidate(
    deliveries: QuerySet[WebhookDelivery], *, integration: AtsIntegration
) -> QuerySet[WebhookDelivery]:
    """Each delivery's ``candidate_name`` and ``candidacy_code``: the candidacy its opportunity
    is linked to (None when none). Subqueries, so still one query however many rows."""
    links = OpportunityLink.objects.filter(
        integration=integration, opportunity_id=OuterRef("opportunity_id")
    )
    return deliveries.annotate(
        candidate_name=Subquery(links.values("candidacy__candidate_name")[:1]),
        candidacy_code=Subquery(links.values("candidacy__code")[:1]),
    )


def delivery_list(
    *, integration: AtsIntegration, event: str = "", status: str = ""
) -> QuerySet[WebhookDelivery]:
    """The integration's deliveries, newest first, with their candidate (_with_candidate)."""
    deliveries = WebhookDelivery.objects.filter(integration=integration).defer("payload")
    if event:
        deliveries = deliveries.filter(event=event)
    if status:
        deliveries = deliveries.filter(status=status)
    deliveries = _with_candidate(deliveries, integration=integration)
    return deliveries.order_by("-received_at", "-id")


def delivery_get(*, integration: AtsIntegration, delivery_id: int) -> WebhookDelivery:
    """One delivery, with its candidate (_with_candidate)."""
    deliveries = WebhookDelivery.objects.filter(integration=integration)
    return get_object_or_404(_with_candidate(deliveries, integration=integration), pk=delivery_id)


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


def delivery_failure_counts(*, integration: AtsIntegration, hours: int = 24) -> dict[str, int]:
    """Deliveries received in the last ``hours`` that ended failed or dead. One query."""
    since = timezone.now() - timedelta(hours=hours)
    Status = WebhookDelivery.Status
    return WebhookDelivery.objects.filter(
        integration=integration, received_at__gte=since
    ).aggregate(
        failed=Count("id", filter=Q(status=Status.FAILED)),
        dead=Count("id", filter=Q(status=Status.DEAD)),
    )


_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def auto_state_updating_health(integration: AtsIntegration) -> FeatureHealth:
    """The "Auto state updating" feature for the status page: tokens configured, deliveries
    arriving (and not only found by reconciliation), recent processing failures. Three
    queries whatever the volume."""
    kwargs = {"public_id": integration.public_id}
    settings_url = (
        reverse("integrations:settings", kwargs={"public_id": integration.public_id}) + "#webhooks"
    )
    activity_url = reverse("webhooks-console:activity", kwargs=kwargs)
    events = webhook_setup(integration=integration)
    rejections = rejection_counts(integration=integration)
    failures = delivery_failure_counts(integration=integration)
    not_arriving = webhooks_not_arriving(integration=integration)
    detail = {
        "events": events,
        "rejected_total": sum(rejections.values()),
        "rejections": [
            (WebhookRejection.Reason(reason).label, count)
            for reason, count in rejections.items()
            if count
        ],
        "bad_signatures": rejections.get(WebhookRejection.Reason.BAD_SIGNATURE, 0),
        "failures": failures,
        "settings_url": settings_url,
        "activity_url": activity_url,
    }
    name = next(n for k, n, _ in FEATURES if k == AUTO_STATE_UPDATING)
    adapter = ats.adapter_for(integration.ats)
    ats_name = adapter.label  # the ATS's name in what the admin reads
    toggles = f"{_NUMBER_WORDS.get(len(events), str(len(events)))} webhook toggles"
    event_names = ", ".join(e.label for e in events)
    description = (
        f"{ats_name}'s webhooks ({event_names}) keep each Karat candidacy's {ats_name} stage, "
        "archive state and hired flag current."
    )

    def health(level: str, label: str, summary: str, *issues: FeatureIssue) -> FeatureHealth:
        return FeatureHealth(
            key=AUTO_STATE_UPDATING,
            name=name,
            description=description,
            level=level,
            label=label,
            summary=summary,
            issues=issues,
            template="webhooks/_status_feature.html",
            detail=detail,
        )

    if not integration.enabled:
        return health(
            "muted", "Off", f"The integration is disabled: Karat ignores {ats_name}'s webhooks."
        )

    issues: list[FeatureIssue] = []
    missing = [e.label for e in events if not e.configured]
    if missing:
        issues.append(
            FeatureIssue(
                f"No signature token for {', '.join(missing)}: Karat rejects these webhooks. "
                f"Add the tokens, or use “Register webhooks in {ats_name}”.",
                settings_url,
                "Settings → Step 3: Webhooks",
            )
        )
    if not_arriving:
        minutes = settings.RECONCILE_INTERVAL_SECONDS // 60
        issues.append(
            FeatureIssue(
                f"{ats_name} changes are reaching Karat only through the {minutes}-minute "
                f"reconciliation: check the {toggles} are ON in {ats_name}.",
                settings_url,
                "Settings → Step 3: Webhooks",
            )
        )
    failed = failures["failed"] + failures["dead"]
    if failed:
        status = (
            WebhookDelivery.Status.FAILED if failures["failed"] else WebhookDelivery.Status.DEAD
        )
        issues.append(
            FeatureIssue(
                f"{failed} {'delivery' if failed == 1 else 'deliveries'} in the last 24 hours "
                "could not be processed: open each one to see why and process it again.",
                f"{activity_url}?status={status}",
                "Failed deliveries",
            )
        )
    if issues:
        return health(
            "warn", "Needs attention", f"Some {ats_name} changes may not reach Karat.", *issues
        )
    if not any(e.last_delivery_at for e in events):
        # Nothing is wrong yet: nothing has happened. Waiting, not a problem to fix.
        return health(
            "info",
            "Waiting for the first delivery",
            f"The tokens are set; no verified {ats_name} webhook has arrived yet. The next "
            f"candidate change (or {ats_name}'s test delivery, sent when a webhook is saved) "
            f"shows up here. Nothing arriving after a candidate moved? Check the {toggles} "
            f"are ON in {ats_name}.",
        )
    return health(
        "ok",
        "Working",
        f"{ats_name}'s webhooks are arriving and keep candidacies' ATS state current.",
    )


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
