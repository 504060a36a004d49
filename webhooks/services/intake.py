"""Receiving a delivery: validate the envelope, verify the signature, store it once, enqueue."""

from __future__ import annotations

import enum
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connections,
    router,
    transaction,
)
from django.db.models import F, Q
from django.utils import timezone

from integrations.lever import signatures
from integrations.models import AtsIntegration, WebhookEvent, WebhookSubscription
from webhooks.models import WebhookDelivery, WebhookRejection
from webhooks.services.enqueue import delivery_enqueue

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
    # The body as JSON text, checked storable: stored as is (no second serialisation).
    payload_json: str


class _Malformed(ValueError):
    """The body is not a Lever delivery; the message says which field (safe to return)."""


def delivery_record(
    *, integration_public_id: uuid.UUID, body: Any, body_text: str | None = None
) -> RecordResult:
    """Verify a parsed delivery body and store it once.

    ``body_text`` is the exact JSON text ``body`` was parsed from, when the caller has it: it
    is stored as received unless it could trouble the database (see ``_storable_json``).
    Touches only the database. A new delivery of a supported event is stored as ``received``
    and its processing task is enqueued after commit (a broker failure is logged and left to
    the sweeper). Test pings and events we do not act on are stored as ``ignored``. A repeat of
    a stored delivery is ``DUPLICATE`` with no second effect. Rejections are counted per
    integration. Raises only when the database itself fails.
    """
    try:
        envelope = _parse_envelope(body, body_text)
    except _Malformed as exc:
        return delivery_reject(
            integration_public_id=integration_public_id, outcome=Outcome.MALFORMED, detail=str(exc)
        )

    target = _target_for(integration_public_id, envelope.event)
    if target is None:
        integration = _integration_for(integration_public_id)
        if integration is None:
            return RecordResult(Outcome.UNKNOWN_INTEGRATION)
        target = _Target(
            integration_id=integration.pk,
            public_id=integration.public_id,
            enabled=integration.enabled,
            tokens=tuple(_fallback_tokens(integration, envelope.event)),
        )
    if not target.enabled:
        return RecordResult(Outcome.DISABLED)

    if not signatures.verify(body, signature_tokens=target.tokens):
        _rejection_count(integration_id=target.integration_id, outcome=Outcome.BAD_SIGNATURE)
        return RecordResult(Outcome.BAD_SIGNATURE)

    now = timezone.now()
    result = _delivery_insert(target=target, envelope=envelope, now=now)
    if target.subscription_id is not None:
        _last_delivery_touch(target, now)
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
    _rejection_count(integration_id=integration.pk, outcome=outcome)
    return RecordResult(outcome, detail=detail)


def targets_forget(**kwargs: Any) -> None:
    """Drop this process's cached tokens (connected to saves of integrations and tokens)."""
    with _targets_lock:
        _targets.clear()


# --- helpers ----------------------------------------------------------------------------------


def _parse_envelope(body: Any, body_text: str | None) -> _Envelope:
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
    return _Envelope(
        event=event,
        token=token,
        payload_json=_storable_json(body, body_text),
        triggered_at=triggered_at,
        opportunity_id=opportunity_id,
        is_test=not data,
    )


# A JSON number with a three-digit exponent, which may be out of range for a float or for
# PostgreSQL's numeric (a false match, e.g. inside a string, only takes the slower path).
_BIG_EXPONENT = re.compile(r"[:,\[]\s*-?[0-9.]+[eE][+-]?[0-9]{3}")


def _storable_json(body: dict[str, Any], body_text: str | None) -> str:
    # The text as received when nothing in it can trouble the database: it was just parsed,
    # so it is valid JSON, and the values jsonb refuses (NUL, lone surrogates) can only be
    # written as \u escapes. Anything else is serialised again and checked.
    if body_text is not None and "\\u" not in body_text and not _BIG_EXPONENT.search(body_text):
        return body_text
    # PostgreSQL's jsonb refuses NUL characters and lone surrogates; refuse them here (400)
    # rather than fail the insert (500, and Lever would retry a body that can never be stored).
    try:
        text = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        text.encode("utf-8")
    except (ValueError, UnicodeEncodeError) as exc:
        raise _Malformed("the body contains values that cannot be stored") from exc
    if "\\u0000" in text:
        raise _Malformed("the body contains NUL characters")
    return text


@dataclass
class _Target:
    """What verifying and storing a delivery needs: the integration and this event's tokens."""

    integration_id: int
    public_id: uuid.UUID
    enabled: bool
    tokens: tuple[str, ...]
    subscription_id: int | None = None
    last_delivery_at: datetime | None = None


# Per-process cache of the hot lookup (tokens decrypted once, not per delivery). Saves in this
# process clear it (signals, apps.py); other processes see a change within TARGET_TTL seconds:
# at worst a just-disabled integration accepts deliveries, or a just-rotated token is refused
# (and Lever retries), for that long.
TARGET_TTL = 2.0
_targets: dict[tuple[uuid.UUID, str], tuple[float, _Target]] = {}
_targets_lock = threading.Lock()
TARGETS_MAX = 10_000


def _target_for(public_id: uuid.UUID, event: str) -> _Target | None:
    key = (public_id, event)
    now = time.monotonic()
    with _targets_lock:
        cached = _targets.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
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
    if not rows:
        return None
    sub = rows[0]
    target = _Target(
        integration_id=sub.integration.pk,
        public_id=sub.integration.public_id,
        enabled=sub.integration.enabled,
        tokens=tuple(t for t in (sub.signature_token, sub.previous_signature_token) if t),
        subscription_id=sub.pk,
        last_delivery_at=sub.last_delivery_at,
    )
    with _targets_lock:
        if len(_targets) >= TARGETS_MAX:
            _targets.clear()
        _targets[key] = (now + TARGET_TTL, target)
    return target


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
        tokens += [t for t in (sub.signature_token, sub.previous_signature_token) if t]
    return tokens


def _delivery_insert(*, target: _Target, envelope: _Envelope, now: datetime) -> RecordResult:
    # Only the columns that vary; the rest take their database defaults (status "received",
    # no outcome, no error, no attempts, nothing processed).
    values: dict[str, Any] = {
        "integration": target.integration_id,
        "event": envelope.event,
        "token": envelope.token,
        "opportunity_id": envelope.opportunity_id,
        "triggered_at_ms": envelope.triggered_at,
        "payload": _JsonText(envelope.payload_json),
        "received_at": now,
    }
    if envelope.event not in SUPPORTED_EVENTS:
        result, outcome = Outcome.IGNORED, "Event not acted on"
    elif envelope.is_test:
        result, outcome = Outcome.TEST, "Test delivery from Lever"
    else:
        result, outcome = Outcome.ACCEPTED, ""
    if outcome:
        values |= {
            "status": WebhookDelivery.Status.IGNORED,
            "outcome": outcome,
            "processed_at": now,
        }
    delivery_id = _insert_unless_stored(values)
    if delivery_id is None:
        # Lever retried, or the same delivery arrived twice at once: already stored.
        return RecordResult(Outcome.DUPLICATE)
    if result is Outcome.ACCEPTED:
        # Runs now in autocommit, or after the caller's transaction commits.
        transaction.on_commit(partial(delivery_enqueue, delivery_id))
    logger.debug(
        "webhook delivery %s stored (integration_id=%s event=%s outcome=%s)",
        delivery_id,
        target.public_id,
        envelope.event,
        result.code,
    )
    return RecordResult(result, delivery_id=delivery_id)


_DEDUPE_COLUMNS = ("integration_id", "event", "token", "opportunity_id")


def _insert_unless_stored(values: dict[str, Any]) -> int | None:
    """Insert one delivery; its id, or None when the dedupe key already exists.

    One ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` (PostgreSQL, SQLite ≥ 3.35): a
    duplicate neither raises nor aborts a surrounding transaction, and the hot path skips the
    ORM's per-save machinery. On PostgreSQL the statement is sent with server-side parameters
    and, after a few runs, as a prepared statement (see ``_insert_cursor``); elsewhere
    values go through each field's own DB conversion.
    """
    connection = connections[router.db_for_write(WebhookDelivery)]
    if connection.vendor not in ("postgresql", "sqlite"):
        return _insert_with_orm(values)
    sql, fields = _insert_statement(connection, tuple(values))
    if connection.vendor == "postgresql":
        # Plain ints, strings, aware datetimes and None: psycopg adapts them natively, and the
        # payload is JSON text cast by the statement.
        params = [
            str(value) if isinstance(value, _JsonText) else value for value in values.values()
        ]
    else:
        params = [
            str(value) if isinstance(value, _JsonText) else f.get_db_prep_save(value, connection)
            for f, value in zip(fields, values.values(), strict=True)
        ]
    row = _execute_checked_lazily(connection, sql, params)
    return int(row[0]) if row else None


# (database alias, vendor, column names) -> (SQL, fields): built once per process, not per request.
_statements: dict[tuple[str, str, tuple[str, ...]], tuple[str, list[Any]]] = {}


def _insert_statement(connection: Any, names: tuple[str, ...]) -> tuple[str, list[Any]]:
    key = (connection.alias, connection.vendor, names)
    cached = _statements.get(key)
    if cached is not None:
        return cached
    meta = WebhookDelivery._meta
    fields = [meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    # The payload is JSON text already serialised and checked: it skips the field's json.dumps.
    json_mark = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    placeholders = ", ".join(json_mark if f.name == "payload" else "%s" for f in fields)
    conflict = ", ".join(quote(c) for c in _DEDUPE_COLUMNS)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608 - names from the model
        f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    _statements[key] = (sql, fields)
    return sql, fields


def _execute_checked_lazily(connection: Any, sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    """Run the insert; check a persistent connection's health only if the insert fails.

    With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` before the first query of every
    request: a second round trip per delivery. Here, outside a transaction, the insert goes
    first; if it fails and the connection turns out to be dead, it is closed and the insert
    runs once more on a new one (as the health check would have). Re-running is safe: the
    statement is idempotent, so an insert that did commit before the connection died comes
    back as a duplicate, and the row is left to the sweeper to enqueue.
    """
    deferred = (
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )
    if deferred:
        connection.health_check_done = True
    try:
        with _insert_cursor(connection) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    except (OperationalError, InterfaceError):
        if not deferred or connection.is_usable():
            raise  # a real error, not a connection that went away while idle
        logger.info("webhook intake: stale database connection replaced")
        connection.close()
        with _insert_cursor(connection) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()


def _insert_cursor(connection: Any) -> Any:
    """Django's cursor, or on PostgreSQL a server-binding one wrapped like Django's.

    Django's PostgreSQL cursors bind parameters on the client: psycopg quotes every value
    (the whole payload) into the SQL text in Python, and the server parses and plans the
    statement again for each delivery. A server-binding cursor sends the values separately,
    and once the connection has run the statement ``prepare_threshold`` times (settings:
    ``DATABASE_PREPARED_STATEMENTS``) psycopg prepares it, so each later delivery is only
    bound and executed. Django's wrapper keeps error translation, query logging and
    execute wrappers as for any other query.
    """
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = ServerBindingCursor(connection.connection)
    return connection._prepare_cursor(cursor)


class _JsonText(str):
    """JSON text that goes into the payload column as is."""


def _insert_with_orm(values: dict[str, Any]) -> int | None:
    values = {**values, "integration_id": values.pop("integration")}
    if isinstance(values["payload"], _JsonText):
        values["payload"] = json.loads(values["payload"])
    try:
        with transaction.atomic():
            return WebhookDelivery.objects.create(**values).pk
    except IntegrityError:
        return None


def _last_delivery_touch(target: _Target, now: datetime) -> None:
    last = target.last_delivery_at
    if last is not None and now - last < LAST_DELIVERY_RESOLUTION:
        return
    # Also remembered in the cached target, so this process asks again only after a while.
    target.last_delivery_at = now
    try:
        WebhookSubscription.objects.filter(pk=target.subscription_id).filter(
            Q(last_delivery_at__isnull=True)
            | Q(last_delivery_at__lt=now - LAST_DELIVERY_RESOLUTION)
        ).update(last_delivery_at=now)
    except DatabaseError:
        # The delivery is stored; a stale "last delivery" time is not worth a Lever retry.
        logger.warning(
            "could not update last_delivery_at (subscription %s)", target.subscription_id
        )


def _rejection_count(*, integration_id: int, outcome: Outcome) -> None:
    """One counter row per integration, reason and hour: bounded however many arrive."""
    reason = _REJECTION_REASONS.get(outcome)
    if reason is None:
        return
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    bucket = WebhookRejection.objects.filter(
        integration_id=integration_id, reason=reason, hour=hour
    )
    try:
        if bucket.update(count=F("count") + 1, last_at=now):
            return
        try:
            with transaction.atomic():
                WebhookRejection.objects.create(
                    integration_id=integration_id, reason=reason, hour=hour, count=1, last_at=now
                )
        except IntegrityError:  # another request created the bucket first
            bucket.update(count=F("count") + 1, last_at=now)
    except DatabaseError:
        # Counting is best effort; the answer (4xx) must not become a 5xx because of it.
        logger.warning("could not count a webhook rejection (integration pk %s)", integration_id)
