"""Reads for the webhooks app, always scoped to what the user may see."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Length, TruncHour
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from integrations import ats
from integrations.connection.selectors import key_check_lines
from integrations.models import AtsIntegration, AuditEntry, OpportunityLink, WebhookSubscription
from karatlever.hiring.models import Candidacy
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
    # Where in the ATS's settings this webhook is turned on ("" when the adapter does not say).
    turn_on_where: str = ""
    # The reconciliation found changes this webhook did not announce (since ``missed_at``).
    missed_at: datetime | None = None
    missed_count: int = 0


def webhook_setup(*, integration: AtsIntegration) -> list[EventSetup]:
    """One row per supported event: token configured?, last verified delivery. One query."""
    # "Rotating" is computed in SQL from the ciphertext's length (an empty token is stored as
    # ''), so the previous signature token is never decrypted just to show a flag.
    subscriptions = {
        s.event: s
        for s in WebhookSubscription.objects.filter(integration=integration)
        .only(
            "event",
            "signature_token_last4",
            "lever_webhook_id",
            "last_delivery_at",
            "missed_at",
            "missed_count",
        )
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
                turn_on_where=spec.turn_on_where,
                missed_at=sub.missed_at if sub else None,
                missed_count=sub.missed_count if sub else 0,
            )
        )
    return rows


def webhooks_not_arriving(*, integration: AtsIntegration) -> list[EventSetup]:
    """The webhooks the reconciliation found changes for that none of their deliveries
    announced, since their last delivery (probably switched off in the ATS); in the adapter's
    order of events. One query."""
    return [row for row in webhook_setup(integration=integration) if row.missed_at is not None]


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


@dataclass(frozen=True)
class FormerCandidacy:
    """The candidacy a delivery's opportunity was linked to until Karat unlinked it, and why
    ("No longer linked: the candidate was deleted in Lever")."""

    code: str
    name: str
    why: str


# The audit entries that record a link going, each naming the candidacy and the opportunity.
_UNLINKED_BY = (
    AuditEntry.Action.CANDIDATE_UNLINKED,
    AuditEntry.Action.CANDIDATE_ANONYMISED,
    AuditEntry.Action.LINK_DETACHED,
)


def _unlinked_why(action: str, detail: dict[str, object], ats_name: str) -> str:
    if action == AuditEntry.Action.LINK_DETACHED:
        return f"No longer linked: the {ats_name} link was detached"
    happened = "anonymised" if detail.get("cause") == "anonymised" else "deleted"
    erased = (
        " and the candidacy anonymised" if action == AuditEntry.Action.CANDIDATE_ANONYMISED else ""
    )
    return f"No longer linked: the candidate was {happened} in {ats_name}{erased}"


def former_candidacies(
    *, integration: AtsIntegration, deliveries: Iterable[WebhookDelivery]
) -> dict[int, FormerCandidacy]:
    """By delivery id, for each of ``deliveries`` (from ``delivery_list`` or ``delivery_get``)
    whose opportunity is not linked now but was until Karat removed the link (a deletion or
    anonymisation in the ATS honoured, or a detach), the candidacy it was last linked to,
    from the audit log: the link is gone by the time a page reads its deliveries, and "Not
    linked to a candidate" would hide what they did. Only candidacies of the integration's
    group (whoever sees its activity may open them). At most two queries, however many
    deliveries."""
    # ``candidacy_code`` is _with_candidate's annotation: the candidacy linked now.
    unlinked = [d for d in deliveries if d.opportunity_id and not getattr(d, "candidacy_code", "")]
    wanted = sorted({d.opportunity_id for d in unlinked})
    if not wanted:
        return {}
    entries = (
        AuditEntry.objects.filter(
            integration=integration, action__in=_UNLINKED_BY, detail__opportunity_id__in=wanted
        )
        .order_by("-created_at", "-id")
        .values_list("action", "detail")
    )
    latest: dict[str, tuple[str, dict[str, object]]] = {}
    for action, detail in entries:
        # A deletion that only cancelled updates names no candidacy ("candidacies": [...]).
        if isinstance(detail, dict) and isinstance(detail.get("candidacy"), str):
            latest.setdefault(str(detail.get("opportunity_id")), (action, detail))
    codes: dict[str, uuid.UUID] = {}
    for _, detail in latest.values():
        try:
            codes[str(detail["candidacy"])] = uuid.UUID(str(detail["candidacy"]))
        except ValueError:
            continue
    if not codes:
        return {}
    names = dict(
        Candidacy.objects.filter(
            group_id=integration.group_id, code__in=codes.values()
        ).values_list("code", "candidate_name")
    )
    ats_name = ats.adapter_for(integration.ats, ats.AtsBase).label
    found: dict[str, FormerCandidacy] = {}
    for opportunity_id, (action, detail) in latest.items():
        code = codes.get(str(detail["candidacy"]))
        if code is not None and code in names:
            why = _unlinked_why(action, detail, ats_name)
            found[opportunity_id] = FormerCandidacy(str(code), names[code], why)
    return {d.pk: found[d.opportunity_id] for d in unlinked if d.opportunity_id in found}


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


def webhook_delivery_hourly(
    *, integration: AtsIntegration, since: datetime
) -> dict[str, dict[datetime, int]]:
    """The status page's share of "Auto state updating" (an ``ActivityProvider``): deliveries
    received per UTC hour from ``since`` on, and how many of those Karat failed to process or
    gave up on. One grouped query, however many deliveries."""
    failed = Q(status__in=[WebhookDelivery.Status.FAILED, WebhookDelivery.Status.DEAD])
    rows = (
        WebhookDelivery.objects.filter(integration=integration, received_at__gte=since)
        .annotate(hour=TruncHour("received_at", tzinfo=UTC))
        .values("hour")
        .annotate(received=Count("id"), failed=Count("id", filter=failed))
        .order_by("hour")
    )
    counts: dict[str, dict[datetime, int]] = {"received": {}, "failed": {}}
    for row in rows:
        counts["received"][row["hour"]] = row["received"]
        counts["failed"][row["hour"]] = row["failed"]
    return counts


@dataclass(frozen=True)
class BacklogRow:
    """One integration's share of a queue, for the metrics endpoint (karatlever/observability/
    collector.py). ``oldest_at``: when the oldest unfinished item arrived (UTC), None if none."""

    integration_public_id: str
    unfinished: int
    oldest_at: datetime | None
    dead: int


def delivery_backlog_by_integration() -> list[BacklogRow]:
    """Webhook deliveries not yet finished (received, retry, processing) and dead-lettered ones,
    per integration that has any: one grouped query over all integrations (a scrape, not a
    page, so unscoped by design; only counts and the public id leave it)."""
    unfinished = ~Q(status__in=WebhookDelivery.FINISHED)
    rows = (
        WebhookDelivery.objects.filter(unfinished | Q(status=WebhookDelivery.Status.DEAD))
        .values("integration__public_id")
        .annotate(
            unfinished=Count("id", filter=unfinished),
            oldest_at=Min("received_at", filter=unfinished),
            dead=Count("id", filter=Q(status=WebhookDelivery.Status.DEAD)),
        )
        .order_by("integration__public_id")
    )
    return [
        BacklogRow(
            integration_public_id=str(row["integration__public_id"]),
            unfinished=row["unfinished"],
            oldest_at=row["oldest_at"],
            dead=row["dead"],
        )
        for row in rows
    ]
