"""Receiving a delivery: the ATS adapter parses and verifies it, then it is stored once."""

from __future__ import annotations

import enum
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations.ats import DeliveryMalformed, InboundDelivery, adapter_for
from integrations.models import AtsIntegration, WebhookSubscription
from webhooks.models import WebhookDelivery, WebhookRejection
from webhooks.services.enqueue import delivery_enqueue

logger = logging.getLogger(__name__)

# last_delivery_at is informational: refresh it at most this often (it is a hot row).
LAST_DELIVERY_RESOLUTION = timedelta(seconds=30)


class Outcome(enum.Enum):
    """Every answer the receiver gives, with its HTTP status."""

    ACCEPTED = ("accepted", 200)
    DUPLICATE = ("duplicate", 200)
    TEST = ("test", 200)
    IGNORED = ("ignored", 200)
    MALFORMED = ("malformed", 400)
    BAD_SIGNATURE = ("bad_signature", 401)
    UNKNOWN_INTEGRATION = ("unknown_integration", 404)
    DISABLED = ("disabled", 410)
    TOO_LARGE = ("too_large", 413)
    UNSUPPORTED_MEDIA_TYPE = ("unsupported_media_type", 415)

    @property
    def code(self) -> str:
        return self.value[0]

    @property
    def http_status(self) -> int:
        return self.value[1]


# Rejections counted per integration and hour for the activity page.
_REJECTION_REASONS = {
    Outcome.MALFORMED: WebhookRejection.Reason.MALFORMED,
    Outcome.BAD_SIGNATURE: WebhookRejection.Reason.BAD_SIGNATURE,
    Outcome.TOO_LARGE: WebhookRejection.Reason.TOO_LARGE,
    Outcome.UNSUPPORTED_MEDIA_TYPE: WebhookRejection.Reason.UNSUPPORTED_MEDIA_TYPE,
}


@dataclass(frozen=True)
class RecordResult:
    outcome: Outcome
    delivery_id: int | None = None
    detail: str = ""


def delivery_record(
    *, integration_public_id: uuid.UUID, body: Any, ats: str | None = None
) -> RecordResult:
    """Verify a parsed delivery body and store it once; touches only the database.

    ``ats`` (from the URL) must match the integration's, when given. A new delivery of an
    event the adapter acts on is stored as ``received`` and its processing task is published
    after commit (a broker failure is logged and left to the sweeper). Test deliveries and
    other events are stored as ``ignored``. A repeat is ``DUPLICATE`` with no second effect.
    Rejections are counted per integration. Raises only when the database fails.
    """
    integration = _integration_get(integration_public_id, ats)
    if integration is None:
        return RecordResult(Outcome.UNKNOWN_INTEGRATION)
    if not integration.enabled:
        return RecordResult(Outcome.DISABLED)
    adapter = adapter_for(integration.ats)
    try:
        delivery = adapter.delivery_parse(body)
        _check_storable(body)
    except DeliveryMalformed as exc:
        _rejection_count(integration, Outcome.MALFORMED)
        return RecordResult(Outcome.MALFORMED, detail=str(exc))

    supported = delivery.event in {spec.code for spec in adapter.webhook_events}
    subscriptions = WebhookSubscription.objects.filter(integration=integration)
    if supported:
        subscriptions = subscriptions.filter(event=delivery.event)
    # else: no row of its own; any of the integration's tokens proves where it came from.
    rows = list(
        subscriptions.only("signature_token", "previous_signature_token", "last_delivery_at")
    )
    tokens = [t for row in rows for t in (row.signature_token, row.previous_signature_token) if t]
    if not adapter.delivery_verify(body, signature_tokens=tokens):
        _rejection_count(integration, Outcome.BAD_SIGNATURE)
        return RecordResult(Outcome.BAD_SIGNATURE)

    if not supported:
        stored, outcome = Outcome.IGNORED, "Event not acted on"
    elif delivery.is_test:
        stored, outcome = Outcome.TEST, f"Test delivery from {adapter.label}"
    else:
        stored, outcome = Outcome.ACCEPTED, ""
    result = _delivery_store(integration, delivery, body, result=stored, outcome=outcome)
    if supported and rows:
        _last_delivery_touch(rows[0], timezone.now())
    return result


def delivery_reject(
    *, integration_public_id: uuid.UUID, outcome: Outcome, detail: str = "", ats: str | None = None
) -> RecordResult:
    """Answer a delivery refused before it could be parsed; count it if the integration exists."""
    integration = _integration_get(integration_public_id, ats)
    if integration is None:
        return RecordResult(Outcome.UNKNOWN_INTEGRATION)
    if not integration.enabled:
        return RecordResult(Outcome.DISABLED)
    _rejection_count(integration, outcome)
    return RecordResult(outcome, detail=detail)


def _integration_get(public_id: uuid.UUID, ats: str | None) -> AtsIntegration | None:
    integrations = AtsIntegration.objects.filter(public_id=public_id)
    if ats is not None:
        integrations = integrations.filter(ats=ats)
    return integrations.only("id", "ats", "enabled").first()


def _check_storable(body: Any) -> None:
    # PostgreSQL's jsonb refuses NUL characters, lone surrogates and numbers beyond a float;
    # refuse them here (400) rather than fail the insert (5xx, retried by the ATS forever).
    try:
        text = json.dumps(body, ensure_ascii=False, allow_nan=False)
        text.encode()
    except (ValueError, UnicodeEncodeError) as exc:
        raise DeliveryMalformed("the body contains values that cannot be stored") from exc
    if "\\u0000" in text:
        raise DeliveryMalformed("the body contains NUL characters")


def _delivery_store(
    integration: AtsIntegration,
    delivery: InboundDelivery,
    body: Any,
    *,
    result: Outcome,
    outcome: str,
) -> RecordResult:
    """Insert the row (``outcome`` set: already finished as ignored); publish it after commit."""
    now = timezone.now()
    try:
        with transaction.atomic():
            row = WebhookDelivery.objects.create(
                integration=integration,
                event=delivery.event,
                token=delivery.delivery_key,
                opportunity_id=delivery.opportunity_id,
                triggered_at_ms=delivery.triggered_at_ms,
                payload=body,
                status=WebhookDelivery.Status.IGNORED
                if outcome
                else WebhookDelivery.Status.RECEIVED,
                outcome=outcome,
                processed_at=now if outcome else None,
            )
    except IntegrityError:
        # The dedupe key exists: the ATS retried, or sent the same delivery twice at once.
        return RecordResult(Outcome.DUPLICATE)
    if result is Outcome.ACCEPTED:
        # Runs now in autocommit, or after the caller's transaction commits.
        transaction.on_commit(partial(delivery_enqueue, row.pk))
    logger.debug(
        "webhook delivery %s stored (integration_id=%s event=%s outcome=%s)",
        row.pk,
        integration.pk,
        delivery.event,
        result.code,
    )
    return RecordResult(result, delivery_id=row.pk)


def _last_delivery_touch(subscription: WebhookSubscription, now: datetime) -> None:
    stale_before = now - LAST_DELIVERY_RESOLUTION
    last = subscription.last_delivery_at
    if last is not None and last >= stale_before:
        return
    WebhookSubscription.objects.filter(pk=subscription.pk).filter(
        Q(last_delivery_at__isnull=True) | Q(last_delivery_at__lt=stale_before)
    ).update(last_delivery_at=now)


def _rejection_count(integration: AtsIntegration, outcome: Outcome) -> None:
    """One counter row per integration, reason and hour: bounded however many arrive."""
    reason = _REJECTION_REASONS.get(outcome)
    if reason is None:
        return
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    bucket = WebhookRejection.objects.filter(integration=integration, reason=reason, hour=hour)
    if bucket.update(count=F("count") + 1, last_at=now):
        return
    try:
        with transaction.atomic():
            WebhookRejection.objects.create(
                integration=integration, reason=reason, hour=hour, count=1, last_at=now
            )
    except IntegrityError:  # another request created the bucket first
        bucket.update(count=F("count") + 1, last_at=now)
