"""Receiving a delivery: the ATS adapter parses and verifies it, then it is stored once."""

from __future__ import annotations

import enum
import json
import logging
import time
import uuid
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations.ats import (
    AtsBase,
    DeliveryMalformed,
    InboundDeliveries,
    InboundDelivery,
    UnknownAts,
    adapter_for,
)
from integrations.models import AtsIntegration, WebhookSubscription
from integrations.status.refresh import signature_failure_note, status_refresh_request
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
    STALE = ("stale", 400)
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
    Outcome.STALE: WebhookRejection.Reason.STALE,
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
    *,
    integration_public_id: uuid.UUID,
    body: Any,
    ats: str | None = None,
    rejections_counted: bool = True,
) -> RecordResult:
    """Verify a parsed delivery body and store it once; touches only the database.

    ``ats`` (from the URL) must match the integration's; without it the integration's own is
    used. The ATS's adapter parses and verifies the body. A new delivery of an
    event the adapter acts on is stored as ``received`` and its processing task is published
    after commit (a broker failure is logged and left to the sweeper). Test deliveries and
    other events are stored as ``ignored``. A repeat is ``DUPLICATE`` with no second effect.
    Rejections are counted per integration unless ``rejections_counted`` is false (a client
    the receiver refuses anyway: its junk writes nothing). Raises only when the database fails.
    """
    if ats is None:  # a caller without a URL (tests, tools): the integration's own ATS
        ats = (
            AtsIntegration.objects.filter(public_id=integration_public_id)
            .values_list("ats", flat=True)
            .first()
        )
    try:
        adapter = adapter_for(ats or "", InboundDeliveries)
    except UnknownAts:
        return RecordResult(Outcome.UNKNOWN_INTEGRATION)
    try:
        delivery = adapter.delivery_parse(body)
        _check_storable(body)
    except DeliveryMalformed as exc:
        if not rejections_counted:
            return RecordResult(Outcome.MALFORMED, detail=str(exc))
        return delivery_reject(
            integration_public_id=integration_public_id,
            outcome=Outcome.MALFORMED,
            detail=str(exc),
            ats=ats,
        )
    verifier = _verifier_get(integration_public_id, ats, delivery.event)
    if verifier is None:
        return RecordResult(Outcome.UNKNOWN_INTEGRATION)
    if not verifier.enabled:
        return RecordResult(Outcome.DISABLED)
    if not adapter.delivery_verify(body, signature_tokens=verifier.tokens):
        if rejections_counted:
            _rejection_count(verifier.integration_id, Outcome.BAD_SIGNATURE)
            # Status page: a burst of these recomputes the integration's status.
            signature_failure_note(integration_id=verifier.integration_id)
        return RecordResult(Outcome.BAD_SIGNATURE)
    if not _fresh(delivery.triggered_at_ms):
        # Signed, but captured long ago (or dated ahead): a replay, not Lever's retry.
        _rejection_count(verifier.integration_id, Outcome.STALE)
        return RecordResult(Outcome.STALE, detail="triggeredAt is outside the accepted time window")

    supported = verifier.subscription_id is not None
    if not supported:
        stored, outcome = Outcome.IGNORED, "Event not acted on"
    elif delivery.is_test:
        stored, outcome = Outcome.TEST, f"Test delivery from {adapter.label}"
    else:
        stored, outcome = Outcome.ACCEPTED, ""
    result = _delivery_store(
        verifier.integration_id,
        delivery,
        body,
        result=stored,
        outcome=outcome,
        integration_public_id=integration_public_id,
    )
    if verifier.subscription_id is not None:
        _last_delivery_touch(verifier, verifier.subscription_id, timezone.now())
        if result.outcome is Outcome.ACCEPTED and verifier.missed:
            label = next(
                (spec.label for spec in adapter.webhook_events if spec.code == delivery.event),
                delivery.event,
            )
            _missed_clear(verifier, verifier.subscription_id, label=label)
    return result


def delivery_reject(
    *, integration_public_id: uuid.UUID, outcome: Outcome, detail: str = "", ats: str | None = None
) -> RecordResult:
    """Answer a delivery refused before it could be parsed; count it if the integration exists."""
    verifier = _verifier_get(integration_public_id, ats, None)
    if verifier is None:
        return RecordResult(Outcome.UNKNOWN_INTEGRATION)
    if not verifier.enabled:
        return RecordResult(Outcome.DISABLED)
    _rejection_count(verifier.integration_id, outcome)
    return RecordResult(outcome, detail=detail)


# --- what verification needs, cached per process ------------------------------------------


@dataclass
class Verifier:
    """An integration's state and the signature tokens that may sign one event's deliveries.

    ``subscription_id`` is set for an event the integration subscribes to (the adapter acts
    on it: its own tokens only); otherwise any of the integration's tokens proves the sender.
    """

    integration_id: int
    ats: str
    enabled: bool
    tokens: tuple[str, ...]
    subscription_id: int | None = None
    last_delivery_at: datetime | None = None
    # The reconciliation marked this event's webhook as not arriving (``missed_at``).
    missed: bool = False


# Decrypted tokens by (integration public id, ats from the URL, event), kept VERIFIER_TTL
# seconds. Saving or deleting an integration or subscription clears this process's entries
# (signals wired in webhooks/apps.py); other processes (and changes made with QuerySet.update,
# such as enabling or disabling) catch up within the TTL: meanwhile a just-rotated token may be
# refused (401: Lever retries) and a just-disabled integration may still store deliveries.
VERIFIER_TTL = 2.0
_VERIFIERS_MAX = 1000
_verifiers: dict[tuple[uuid.UUID, str | None, str | None], tuple[float, Verifier]] = {}


def verifiers_clear(**kwargs: Any) -> None:
    """Forget every cached verifier (a signal receiver, hence ``**kwargs``)."""
    _verifiers.clear()


def _verifier_get(public_id: uuid.UUID, ats: str | None, event: str | None) -> Verifier | None:
    key = (public_id, ats, event)
    cached = _verifiers.get(key)
    if cached is not None and time.monotonic() < cached[0]:
        return cached[1]
    verifier = _verifier_load(public_id, ats, event)
    if verifier is not None:
        if len(_verifiers) >= _VERIFIERS_MAX:  # events are the sender's strings: stay bounded
            _verifiers.clear()
        _verifiers[key] = (time.monotonic() + VERIFIER_TTL, verifier)
    return verifier


def _verifier_load(public_id: uuid.UUID, ats: str | None, event: str | None) -> Verifier | None:
    """One query when the integration subscribes to ``event``; else the integration, then
    (for an event it does not act on) all its tokens."""
    by_integration = {"public_id": public_id} | ({"ats": ats} if ats is not None else {})
    if event is not None:
        subscription = (
            WebhookSubscription.objects.filter(
                event=event, **{f"integration__{k}": v for k, v in by_integration.items()}
            )
            .select_related("integration")
            .only(
                *_TOKEN_FIELDS,
                "last_delivery_at",
                "missed_at",
                *(f"integration__{f}" for f in _STATE),
            )
            .order_by("pk")  # not the models' ordering, which joins the group
            .first()
        )
        if subscription is not None:
            owner = subscription.integration
            return Verifier(
                owner.pk,
                owner.ats,
                owner.enabled,
                _tokens([subscription]),
                subscription.pk,
                subscription.last_delivery_at,
                subscription.missed_at is not None,
            )
    integration = (
        AtsIntegration.objects.filter(**by_integration).only(*_STATE).order_by("pk").first()
    )
    if integration is None:
        return None
    supported = event in {
        spec.code for spec in adapter_for(integration.ats, AtsBase).webhook_events
    }
    # A subscribed event without its row has no token (401); any other event, any token.
    rows = [] if supported or event is None else integration.webhook_subscriptions.all()
    return Verifier(integration.pk, integration.ats, integration.enabled, _tokens(rows))


_STATE = ("id", "ats", "enabled")
_TOKEN_FIELDS = ("signature_token", "previous_signature_token")


def _tokens(rows: Iterable[WebhookSubscription]) -> tuple[str, ...]:
    return tuple(
        token
        for row in rows
        for token in (row.signature_token, row.previous_signature_token)
        if token
    )


def _fresh(triggered_at_ms: int) -> bool:
    """Sent within WEBHOOK_MAX_AGE_SECONDS before now and WEBHOOK_MAX_FUTURE_SECONDS after."""
    now_ms = time.time() * 1000
    max_age_s: int = settings.WEBHOOK_MAX_AGE_SECONDS
    max_ahead_s: int = settings.WEBHOOK_MAX_FUTURE_SECONDS
    return now_ms - max_age_s * 1000 <= triggered_at_ms <= now_ms + max_ahead_s * 1000


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
    integration_id: int,
    delivery: InboundDelivery,
    body: Any,
    *,
    result: Outcome,
    outcome: str,
    integration_public_id: uuid.UUID,
) -> RecordResult:
    """Insert the row (``outcome`` set: already finished as ignored); publish it after commit.
    ``integration_public_id`` (the same integration's) names it in the log line."""
    now = timezone.now()
    # In autocommit the INSERT commits by itself (no BEGIN/COMMIT round trips); inside a
    # caller's transaction a savepoint keeps a duplicate from breaking that transaction.
    guard = nullcontext() if transaction.get_autocommit() else transaction.atomic()
    try:
        with guard:
            row = WebhookDelivery.objects.create(
                integration_id=integration_id,
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
        # The token was stored before: the ATS retried, sent the same delivery twice at once,
        # or someone replayed it (with other unsigned data): nothing new either way.
        return RecordResult(Outcome.DUPLICATE)
    if result is Outcome.ACCEPTED:
        # Runs now in autocommit, or after the caller's transaction commits.
        transaction.on_commit(partial(delivery_enqueue, row.pk))
    logger.debug(
        "webhook delivery %s stored (event=%s outcome=%s)",
        row.pk,
        delivery.event,
        result.code,
        extra={"integration_id": integration_public_id},
    )
    return RecordResult(result, delivery_id=row.pk)


def _last_delivery_touch(verifier: Verifier, subscription_id: int, now: datetime) -> None:
    stale_before = now - LAST_DELIVERY_RESOLUTION
    last = verifier.last_delivery_at
    if last is not None and last >= stale_before:
        return
    subscription = WebhookSubscription.objects.filter(pk=subscription_id)
    if last is None and subscription.filter(last_delivery_at__isnull=True).update(
        last_delivery_at=now
    ):
        # The webhook's first verified delivery: the status page's "waiting for the first
        # delivery" check is now stale. Once per webhook, so the receiver stays cheap.
        status_refresh_request(
            integration_id=verifier.integration_id, reason="First webhook delivery received"
        )
    else:
        subscription.filter(
            Q(last_delivery_at__isnull=True) | Q(last_delivery_at__lt=stale_before)
        ).update(last_delivery_at=now)
    verifier.last_delivery_at = now


def _missed_clear(verifier: Verifier, subscription_id: int, *, label: str) -> None:
    """A real delivery of an event the reconciliation had marked as not arriving: the webhook
    works (again), so the mark goes and the status is recomputed. Only when the cached
    verifier saw the mark, so the receiver pays nothing otherwise (a mark set within the
    cache's VERIFIER_TTL is cleared by the event's next delivery)."""
    cleared = WebhookSubscription.objects.filter(
        pk=subscription_id, missed_at__isnull=False
    ).update(missed_at=None, missed_count=0)
    verifier.missed = False
    if cleared:
        status_refresh_request(
            integration_id=verifier.integration_id, reason=f"A {label} webhook arrived again"
        )


def _rejection_count(integration_id: int, outcome: Outcome) -> None:
    """One counter row per integration, reason and hour: bounded however many arrive."""
    reason = _REJECTION_REASONS.get(outcome)
    if reason is None:
        return
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    key = {"integration_id": integration_id, "reason": reason, "hour": hour}
    bucket = WebhookRejection.objects.filter(**key)
    if bucket.update(count=F("count") + 1, last_at=now):
        return
    try:
        with transaction.atomic():
            WebhookRejection.objects.create(**key, count=1, last_at=now)
    except IntegrityError:  # another request created the bucket first
        bucket.update(count=F("count") + 1, last_at=now)
