"""Receiving a delivery: validate the envelope, verify the signature, store it once, enqueue."""

from __future__ import annotations

import enum
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations.lever import signatures
from integrations.models import AtsIntegration, WebhookEvent, WebhookSubscription
from webhooks import circuit
from webhooks.models import WebhookDelivery, WebhookRejection

logger = logging.getLogger(__name__)

# The events we act on; any other verified event is stored as ignored.
SUPPORTED_EVENTS = frozenset(WebhookEvent.values)
# Column sizes: longer values are malformed, never a database error.
EVENT_MAX = 64
TOKEN_MAX = 128
OPPORTUNITY_ID_MAX = 64
TRIGGERED_AT_MAX = 2**63 - 1
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


# Rejections counted per integration for the activity page.
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


@dataclass(frozen=True)
class _Envelope:
    event: str
    token: str
    triggered_at: int
    opportunity_id: str
    is_test: bool


class _Malformed(ValueError):
    """The body is not a Lever delivery; the message says which field (safe to return)."""


def delivery_record(*, integration_public_id: uuid.UUID, body: Any) -> RecordResult:
    """Verify a parsed delivery body and store it once.

    Touches only the database. A new delivery of a supported event is stored as ``received``
    and its processing task is enqueued after commit (a broker failure is logged and left to
    the sweeper). Test pings and events we do not act on are stored as ``ignored``. A repeat of
    a stored delivery is ``DUPLICATE`` with no second effect. Rejections are counted per
    integration. Raises only when the database itself fails.
    """
    try:
        envelope = _parse_envelope(body)
    except _Malformed as exc:
        return delivery_reject(
            integration_public_id=integration_public_id, outcome=Outcome.MALFORMED, detail=str(exc)
        )

    subscription = _subscription_for(integration_public_id, envelope.event)
    if subscription is not None:
        integration = subscription.integration
        tokens = [subscription.signature_token, subscription.previous_signature_token]
    else:
        integration = _integration_for(integration_public_id)
        if integration is None:
            return RecordResult(Outcome.UNKNOWN_INTEGRATION)
        tokens = _fallback_tokens(integration, envelope.event)
    if not integration.enabled:
        return RecordResult(Outcome.DISABLED)

    if not signatures.verify(body, signature_tokens=[t for t in tokens if t]):
        _rejection_count(integration=integration, outcome=Outcome.BAD_SIGNATURE)
        return RecordResult(Outcome.BAD_SIGNATURE)

    result = _delivery_insert(integration=integration, envelope=envelope, body=body)
    if subscription is not None:
        _last_delivery_touch(subscription)
    return result


def delivery_reject(
    *, integration_public_id: uuid.UUID, outcome: Outcome, detail: str = ""
) -> RecordResult:
    """Answer a delivery refused before verification; count it if the integration exists."""
    integration = _integration_for(integration_public_id)
    if integration is None:
        return RecordResult(Outcome.UNKNOWN_INTEGRATION)
    if not integration.enabled:
        return RecordResult(Outcome.DISABLED)
    _rejection_count(integration=integration, outcome=outcome)
    return RecordResult(outcome, detail=detail)


def delivery_enqueue(delivery_id: int) -> bool:
    """Publish the processing task; False (logged, never raised) when the broker is down.

    The row is already durable, so a lost publish only delays processing until the sweeper.
    """
    from webhooks.tasks import delivery_process as delivery_process_task

    if circuit.broker.is_open():
        return False
    try:
        delivery_process_task.apply_async((delivery_id,))
    except Exception as exc:  # any broker failure: the sweeper re-enqueues the row
        logger.warning(
            "could not enqueue webhook delivery %s (%s); the sweeper will retry",
            delivery_id,
            type(exc).__name__,
        )
        circuit.broker.trip()
        return False
    return True


# --- helpers ----------------------------------------------------------------------------------


def _parse_envelope(body: Any) -> _Envelope:
    if not isinstance(body, dict):
        raise _Malformed("the body must be a JSON object")
    event = body.get("event")
    if not isinstance(event, str) or not 0 < len(event) <= EVENT_MAX:
        raise _Malformed("event must be a non-empty string")
    token = body.get("token")
    if not isinstance(token, str) or not 0 < len(token) <= TOKEN_MAX:
        raise _Malformed("token must be a non-empty string")
    triggered_at = body.get("triggeredAt")
    if (
        isinstance(triggered_at, bool)
        or not isinstance(triggered_at, int)
        or not 0 <= triggered_at <= TRIGGERED_AT_MAX
    ):
        raise _Malformed("triggeredAt must be an integer (milliseconds)")
    # A missing signature is a 401 (verification fails); a non-string one is a broken body.
    signature = body.get("signature")
    if signature is not None and not isinstance(signature, str):
        raise _Malformed("signature must be a string")
    data = body.get("data")
    if not isinstance(data, dict):
        raise _Malformed("data must be an object")
    opportunity_id = data.get("opportunityId", "")
    if event in SUPPORTED_EVENTS and data:
        if not isinstance(opportunity_id, str) or not 0 < len(opportunity_id) <= OPPORTUNITY_ID_MAX:
            raise _Malformed("data.opportunityId must be a non-empty string")
    elif not isinstance(opportunity_id, str) or len(opportunity_id) > OPPORTUNITY_ID_MAX:
        opportunity_id = ""
    _check_storable(body)
    return _Envelope(
        event=event,
        token=token,
        triggered_at=triggered_at,
        opportunity_id=opportunity_id,
        is_test=not data,
    )


def _check_storable(body: dict[str, Any]) -> None:
    # PostgreSQL's jsonb refuses NUL characters and lone surrogates; refuse them here (400)
    # rather than fail the insert (500, and Lever would retry a body that can never be stored).
    try:
        text = json.dumps(body, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
    except (ValueError, UnicodeEncodeError) as exc:
        raise _Malformed("the body contains values that cannot be stored") from exc
    if "\\u0000" in text:
        raise _Malformed("the body contains NUL characters")


def _subscription_for(public_id: uuid.UUID, event: str) -> WebhookSubscription | None:
    """The hot path: one query for the integration and this event's tokens."""
    rows = list(
        WebhookSubscription.objects.filter(integration__public_id=public_id, event=event)
        .select_related("integration")
        .only(
            "id",
            "signature_token",
            "previous_signature_token",
            "last_delivery_at",
            "integration__id",
            "integration__public_id",
            "integration__enabled",
        )
        .order_by()[:1]
    )
    return rows[0] if rows else None


def _integration_for(public_id: uuid.UUID) -> AtsIntegration | None:
    rows = list(
        AtsIntegration.objects.filter(public_id=public_id)
        .only("id", "public_id", "enabled")
        .order_by()[:1]
    )
    return rows[0] if rows else None


def _fallback_tokens(integration: AtsIntegration, event: str) -> list[str]:
    """Tokens for an event with no subscription row of its own.

    A supported event without a configured token can't be verified. For an event we don't act
    on, any of the integration's tokens proves the delivery came from its Lever account (an
    account-wide legacy token covers every event).
    """
    if event in SUPPORTED_EVENTS:
        return []
    tokens: list[str] = []
    for sub in WebhookSubscription.objects.filter(integration=integration).only(
        "signature_token", "previous_signature_token"
    ):
        tokens += [sub.signature_token, sub.previous_signature_token]
    return tokens


def _delivery_insert(
    *, integration: AtsIntegration, envelope: _Envelope, body: dict[str, Any]
) -> RecordResult:
    now = timezone.now()
    if envelope.event not in SUPPORTED_EVENTS:
        status, outcome, result = (
            WebhookDelivery.Status.IGNORED,
            "Event not acted on",
            Outcome.IGNORED,
        )
    elif envelope.is_test:
        status, outcome, result = (
            WebhookDelivery.Status.IGNORED,
            "Test delivery from Lever",
            Outcome.TEST,
        )
    else:
        status, outcome, result = WebhookDelivery.Status.RECEIVED, "", Outcome.ACCEPTED
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                integration=integration,
                event=envelope.event,
                token=envelope.token,
                opportunity_id=envelope.opportunity_id,
                triggered_at_ms=envelope.triggered_at,
                payload=body,
                status=status,
                outcome=outcome,
                processed_at=None if status == WebhookDelivery.Status.RECEIVED else now,
            )
            if status == WebhookDelivery.Status.RECEIVED:
                transaction.on_commit(partial(delivery_enqueue, delivery.pk))
    except IntegrityError:
        # Lever retried, or the same delivery arrived twice at once: already stored.
        return RecordResult(Outcome.DUPLICATE)
    logger.info(
        "webhook delivery %s stored (integration_id=%s event=%s status=%s)",
        delivery.pk,
        integration.public_id,
        envelope.event,
        status,
    )
    return RecordResult(result, delivery_id=delivery.pk)


def _last_delivery_touch(subscription: WebhookSubscription) -> None:
    now = timezone.now()
    last = subscription.last_delivery_at
    if last is not None and now - last < LAST_DELIVERY_RESOLUTION:
        return
    try:
        WebhookSubscription.objects.filter(pk=subscription.pk).filter(
            Q(last_delivery_at__isnull=True)
            | Q(last_delivery_at__lt=now - LAST_DELIVERY_RESOLUTION)
        ).update(last_delivery_at=now)
    except DatabaseError:
        # The delivery is stored; a stale "last delivery" time is not worth a Lever retry.
        logger.warning("could not update last_delivery_at (subscription %s)", subscription.pk)


def _rejection_count(*, integration: AtsIntegration, outcome: Outcome) -> None:
    """One counter row per integration, reason and hour: bounded however many arrive."""
    reason = _REJECTION_REASONS.get(outcome)
    if reason is None:
        return
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    bucket = WebhookRejection.objects.filter(integration=integration, reason=reason, hour=hour)
    try:
        if bucket.update(count=F("count") + 1, last_at=now):
            return
        try:
            with transaction.atomic():
                WebhookRejection.objects.create(
                    integration=integration, reason=reason, hour=hour, count=1, last_at=now
                )
        except IntegrityError:  # another request created the bucket first
            bucket.update(count=F("count") + 1, last_at=now)
    except DatabaseError:
        # Counting is best effort; the answer (4xx) must not become a 5xx because of it.
        logger.warning(
            "could not count a webhook rejection (integration_id=%s)", integration.public_id
        )
