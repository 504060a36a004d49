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
from integrations.selectors import (
    AUTO_STATE_UPDATING,
    FEATURES,
    FeatureCheck,
    FeatureHealth,
    FeatureIssue,
    key_check_lines,
)
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
    for spec in ats.adapter_for(integration.ats, ats.AtsBase).webhook_events:
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


# Bad signatures in 24 hours, with no verified delivery, before the tokens are suspected (a
# stray or forged request alone must not flip the feature).
SIGNATURE_FAILURES_WARN = 3
_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


@dataclass(frozen=True)
class Registration:
    """What the ATS's Webhooks API says about the integration's webhooks: ``events`` maps an
    event to the URL registered for it (only webhooks pointing at Karat's URL, or the first
    other one); ``unknown`` says why it can't tell ("" when it could)."""

    events: dict[str, str]
    unknown: str = ""


def webhook_registration(*, integration: AtsIntegration) -> Registration:
    """Ask the ATS which webhooks are registered (one list call), where the key may list them
    (its last check allowed "read_webhooks"). Never raises: trouble is ``unknown``."""
    adapter = ats.capability(integration.ats, ats.WebhooksApi)
    if adapter is None:
        return Registration({}, "Can't tell: Karat can't list this ATS's webhooks.")
    lines = key_check_lines(integration=integration)
    if integration.key_status != AtsIntegration.KeyStatus.VALID or not (
        lines.get("read_webhooks") or {}
    ).get("ok"):
        return Registration({}, f"Can't tell: the API key may not list {adapter.label}'s webhooks.")
    try:
        remote = adapter.webhooks_list(ats.account_for(integration), profile=ats.INTERACTIVE)
    except ats.AtsKeyError:
        # The key's own check names the problem (Invite candidates using Lever URL).
        return Registration({}, f"Can't tell: {adapter.label} refused the API key.")
    except ats.AtsError as exc:
        return Registration({}, f"Can't tell: {exc.message}")
    ours = webhook_url(integration=integration)
    events: dict[str, str] = {}
    for hook in remote:
        if hook.url == ours or hook.event not in events:
            events[hook.event] = hook.url
    return Registration(events)


def auto_state_updating_health(integration: AtsIntegration) -> FeatureHealth:
    """The "Auto state updating" feature for the status page, as named checks: per webhook,
    its signature token, whether it is registered in the ATS (Webhooks API, where the key
    may list them), its last verified delivery; then signature failures and processing
    failures over the last 24 hours and whether reconciliation keeps finding changes no
    webhook announced. Four queries and at most one ATS call, whatever the volume."""
    kwargs = {"public_id": integration.public_id}
    settings_url = (
        reverse("integrations:settings", kwargs={"public_id": integration.public_id}) + "#webhooks"
    )
    step3 = "Settings → Step 3: Webhooks"
    activity_url = reverse("webhooks-console:activity", kwargs=kwargs)
    events = webhook_setup(integration=integration)
    rejections = rejection_counts(integration=integration)
    failures = delivery_failure_counts(integration=integration)
    not_arriving = webhooks_not_arriving(integration=integration)
    bad_signatures = rejections.get(WebhookRejection.Reason.BAD_SIGNATURE, 0)
    detail = {
        "rejected_total": sum(rejections.values()),
        "rejections": [
            (WebhookRejection.Reason(reason).label, count)
            for reason, count in rejections.items()
            if count
        ],
        "bad_signatures": bad_signatures,
        "failures": failures,
        "settings_url": settings_url,
        "activity_url": activity_url,
    }
    name = next(n for k, n, _ in FEATURES if k == AUTO_STATE_UPDATING)
    adapter = ats.adapter_for(integration.ats, ats.AtsBase)
    ats_name = adapter.label  # the ATS's name in what the admin reads
    toggles = f"{_NUMBER_WORDS.get(len(events), str(len(events)))} webhook toggles"
    event_names = ", ".join(e.label for e in events)
    description = (
        f"{ats_name}'s webhooks ({event_names}) keep each Karat candidacy's {ats_name} stage, "
        "archive state and hired flag current."
    )

    def health(
        level: str,
        label: str,
        summary: str,
        *issues: FeatureIssue,
        checks: tuple[FeatureCheck, ...] = (),
    ) -> FeatureHealth:
        return FeatureHealth(
            key=AUTO_STATE_UPDATING,
            name=name,
            description=description,
            level=level,
            label=label,
            summary=summary,
            issues=issues,
            checks=checks,
            template="webhooks/_status_feature.html",
            detail=detail,
        )

    if not integration.enabled:
        return health(
            "muted", "Off", f"The integration is disabled: Karat ignores {ats_name}'s webhooks."
        )

    registration = webhook_registration(integration=integration)
    day_ago = timezone.now() - timedelta(hours=24)
    checks: list[FeatureCheck] = []
    for e in events:
        if e.configured:
            checks.append(
                FeatureCheck(
                    f"{e.event}:token",
                    f"{e.label}: signature token",
                    "ok",
                    f"Set (••••{e.token_last4}).",
                )
            )
        else:
            checks.append(
                FeatureCheck(
                    f"{e.event}:token",
                    f"{e.label}: signature token",
                    "warn",
                    f"Missing: Karat rejects these webhooks. Add the token, or use “Register "
                    f"webhooks in {ats_name}”.",
                    settings_url,
                    step3,
                )
            )
        registered_name = f"{e.label}: registered in {ats_name}"
        recent = e.last_delivery_at is not None and e.last_delivery_at >= day_ago
        if registration.unknown:
            checks.append(
                FeatureCheck(f"{e.event}:registered", registered_name, "info", registration.unknown)
            )
        elif e.event not in registration.events and not recent:
            checks.append(
                FeatureCheck(
                    f"{e.event}:registered",
                    registered_name,
                    "warn",
                    f"{ats_name} has no {e.label} webhook: nothing will be sent. Register it.",
                    settings_url,
                    step3,
                )
            )
        elif registration.events.get(e.event, webhook_url(integration=integration)) != (
            webhook_url(integration=integration)
        ):
            checks.append(
                FeatureCheck(
                    f"{e.event}:registered",
                    registered_name,
                    "warn",
                    f"{ats_name}'s {e.label} webhook points elsewhere "
                    f"({registration.events[e.event]}): point it at Karat's webhook URL.",
                    settings_url,
                    step3,
                )
            )
        else:
            checks.append(
                FeatureCheck(f"{e.event}:registered", registered_name, "ok", "Registered.")
            )
        if e.last_delivery_at is not None:
            checks.append(
                FeatureCheck(
                    f"{e.event}:last_delivery",
                    f"{e.label}: last verified delivery",
                    "ok",
                    "Received",
                    at=e.last_delivery_at.isoformat(),
                )
            )
        else:
            checks.append(
                FeatureCheck(
                    f"{e.event}:last_delivery",
                    f"{e.label}: last verified delivery",
                    "info",
                    "No verified delivery yet.",
                )
            )

    issues: list[FeatureIssue] = []
    missing = [e.label for e in events if not e.configured]
    if missing:
        issues.append(
            FeatureIssue(
                f"No signature token for {', '.join(missing)}: Karat rejects these webhooks. "
                f"Add the tokens, or use “Register webhooks in {ats_name}”.",
                settings_url,
                step3,
            )
        )
    unregistered = [c for c in checks if c.code.endswith(":registered") and c.level == "warn"]
    if unregistered:
        issues.append(
            FeatureIssue(
                f"{ats_name} does not send every webhook to Karat: "
                + "; ".join(c.message for c in unregistered),
                settings_url,
                step3,
            )
        )

    verified_today = any(e.last_delivery_at and e.last_delivery_at >= day_ago for e in events)
    signature_name = "Signature failures (last 24 hours)"
    if not bad_signatures:
        checks.append(FeatureCheck("signatures", signature_name, "ok", "None."))
    elif verified_today or bad_signatures < SIGNATURE_FAILURES_WARN:
        # Forged or stray requests alone must not flip the state while real ones verify.
        checks.append(
            FeatureCheck(
                "signatures",
                signature_name,
                "info",
                f"{bad_signatures} rejected. While verified deliveries arrive, the tokens "
                "match; repeat Step 3 if deliveries stop.",
                f"{activity_url}",
                "Webhook activity",
            )
        )
    else:
        text = (
            f"{bad_signatures} rejected and none verified: the tokens in Karat don't match "
            f"{ats_name}'s. Copy each webhook's token again."
        )
        checks.append(FeatureCheck("signatures", signature_name, "warn", text, settings_url, step3))
        issues.append(FeatureIssue(text, settings_url, step3))

    minutes = settings.RECONCILE_INTERVAL_SECONDS // 60
    if not_arriving:
        text = (
            f"{ats_name} changes are reaching Karat only through the {minutes}-minute "
            f"reconciliation: check the {toggles} are ON in {ats_name}."
        )
        checks.append(
            FeatureCheck(
                "unannounced", "Changes announced by webhooks", "warn", text, settings_url, step3
            )
        )
        issues.append(FeatureIssue(text, settings_url, step3))
    else:
        checks.append(
            FeatureCheck(
                "unannounced",
                "Changes announced by webhooks",
                "ok",
                f"The {minutes}-minute reconciliation finds no changes that webhooks missed.",
            )
        )
    failed = failures["failed"] + failures["dead"]
    if failed:
        status = (
            WebhookDelivery.Status.FAILED if failures["failed"] else WebhookDelivery.Status.DEAD
        )
        text = (
            f"{failed} {'delivery' if failed == 1 else 'deliveries'} in the last 24 hours "
            "could not be processed: open each one to see why and process it again."
        )
        url = f"{activity_url}?status={status}"
        checks.append(
            FeatureCheck(
                "processing", "Processing (last 24 hours)", "warn", text, url, "Failed deliveries"
            )
        )
        issues.append(FeatureIssue(text, url, "Failed deliveries"))
    else:
        checks.append(
            FeatureCheck(
                "processing", "Processing (last 24 hours)", "ok", "Every delivery processed."
            )
        )
    if issues:
        return health(
            "warn",
            "Needs attention",
            f"Some {ats_name} changes may not reach Karat.",
            *issues,
            checks=tuple(checks),
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
            checks=tuple(checks),
        )
    return health(
        "ok",
        "Working",
        f"{ats_name}'s webhooks are arriving and keep candidacies' ATS state current.",
        checks=tuple(checks),
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
