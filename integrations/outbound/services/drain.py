"""Drain the outbox: claim due rows in order, send them through the ATS adapter and record
how each ended; the queue pause, the candidacy's timeline entry, and the sweeper."""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from integrations import ats
from integrations.connection.services.outcomes import (
    integration_failure_record,
    integration_success_record,
)
from integrations.features import POST_CANDIDACY_UPDATES
from integrations.feedback.services import feedback_send
from integrations.models import (
    AtsIntegration,
    IntegrationStatus,
    OutboundSettings,
    OutboundUpdate,
)
from integrations.outbound.selectors import outbound_acting_user, outbound_pause_fixed
from integrations.outbound.services.enqueue import drain_publish
from integrations.outbound.services.notes import outbound_settings_get
from integrations.panels.services import PANEL_KINDS, panel_write
from integrations.status.refresh import status_refresh_request
from karatlever.hiring.models import CandidacyEvent, Milestone
from karatlever.hiring.services import candidacy_event_add
from karatlever.observability import metrics
from karatlever.observability.context import log_context

logger = logging.getLogger(__name__)

Kind = OutboundUpdate.Kind
Status = OutboundUpdate.Status

# One request per send, no retry inside the client: the row holds the retries, so every
# attempt is visible on the activity page and a Retry-After is stored, never slept on.
OUTBOUND = ats.CallProfile(
    max_retries=0, connect_timeout=3.05, read_timeout=10.0, acquire_timeout=10.0
)
# A drain stops after this many Lever-side failures in a row: Lever is down, so the rows not
# tried yet keep their attempts for when it is back.
BREAKER_FAILURES = 3
# Retries due within this many seconds are published with a countdown (a shortcut only: the
# row's next_attempt_at is the truth and the sweeper publishes anything due).
COUNTDOWN_MAX_SECONDS = 30
SWEEP_BATCH = 500


# --- sending ----------------------------------------------------------------------------------


@dataclass
class DrainResult:
    sent: int = 0
    failed: int = 0
    # Due rows were left because the slice ended (the drain published itself again).
    more: bool = False
    paused: bool = False


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def outbound_drain(*, integration_id: int, budget_seconds: float | None = None) -> DrainResult:
    """Send the integration's due updates, oldest first, in order per opportunity.

    One drain per integration runs at a time (a lease on its settings row): a drain that finds
    another one running returns at once, and the running one picks its rows up. Safe to run
    twice (each row is claimed by one sender). Stops when nothing is due, when the ATS
    rate-limits the key (the rows wait in ``next_attempt_at``), when the key is refused (the
    queue pauses), after BREAKER_FAILURES Lever-side failures in a row, or after
    ``budget_seconds`` (then it publishes itself again, so busy keys take turns on workers).
    """
    budget = budget_seconds if budget_seconds is not None else settings.OUTBOUND_DRAIN_SLICE_SECONDS
    started = time.monotonic()
    result = DrainResult()
    integration = AtsIntegration.objects.filter(pk=integration_id).first()
    if integration is None or not integration.enabled:
        return result
    outbound = outbound_settings_get(integration=integration)
    # Started: rows committed from now on publish a new drain (this one may miss them).
    OutboundSettings.objects.filter(pk=outbound.pk).update(drain_requested_at=None)
    if not outbound.enabled:
        return result  # turned off in Settings: waiting rows stay until it is back on
    if outbound.paused_at is not None and not _resume_if_due(integration, outbound):
        result.paused = True
        return result
    lease = _Lease(outbound.pk)
    if not lease.take():
        return result
    try:
        with log_context(integration_id=integration.public_id):
            stopped = _drain_loop(
                integration, outbound, result, started=started, budget=budget, lease=lease
            )
    finally:
        lease.release()
    if result.sent:
        _status_refresh_if_waiting(integration_id)
    if stopped == "budget" or (stopped == "empty" and _has_due(integration_id)):
        # Out of time, or a row became due while the lease was being given back (its own
        # publish found the lease taken): run again rather than wait for the sweeper.
        result.more = True
        drain_publish(integration_id)
    return result


# The feature's checks that wait for a send (outbound/health.py): only these, so a check that
# stays "info" for another reason never makes every drain ask for a recompute.
_WAITING_FOR_A_SEND = frozenset({"write_notes", "write_opportunities", "success_rate"})


def _status_refresh_if_waiting(integration_id: int) -> None:
    """Updates reached Lever: when the status snapshot still shows this feature, or one of its
    checks, waiting for a first update ("info"), ask for a recompute, so "Waiting for the first
    milestone" and "Not checked until the first update is sent" don't outlive the first send.
    One query; the request itself is deduplicated."""
    snapshot = IntegrationStatus.objects.filter(integration_id=integration_id).first()
    if snapshot is None:
        return
    feature = next((f for f in snapshot.features if f.get("key") == POST_CANDIDACY_UPDATES), None)
    if feature is not None and (
        feature.get("level") == "info"
        or any(
            check.get("code") in _WAITING_FOR_A_SEND and check.get("level") == "info"
            for check in feature.get("checks", [])
        )
    ):
        status_refresh_request(
            integration_id=integration_id, reason="The first updates reached Lever"
        )


# How long a drain's lease lasts without renewal: longer than one send can take (connect + read
# timeouts + the bucket wait). The drain renews it before every send; a killed drain's lease
# runs out after this (or the sweeper frees it with the drain's stale claim).
LEASE_SECONDS = (
    OUTBOUND.connect_timeout + OUTBOUND.read_timeout + (OUTBOUND.acquire_timeout or 0) + 5
)
# The drain writes its lease at most this often (not once per send: at 10 sends/s that was a
# third of the queries per update); the lease lasts that much longer, so before every send at
# least LEASE_SECONDS of it are left.
LEASE_RENEW_SECONDS = 1.0


class _Lease:
    """The right to drain one integration, held in its settings row (``drain_lease_until``)."""

    def __init__(self, settings_pk: int) -> None:
        self.rows = OutboundSettings.objects.filter(pk=settings_pk)
        self.until: datetime | None = None

    def take(self) -> bool:
        now = timezone.now()
        until = now + timedelta(seconds=LEASE_SECONDS + LEASE_RENEW_SECONDS)
        free = Q(drain_lease_until__isnull=True) | Q(drain_lease_until__lt=now)
        if self.rows.filter(free).update(drain_lease_until=until):
            self.until = until
        return self.until is not None

    def renew(self) -> bool:
        """Extend the lease; False when it was lost (expired and taken by another drain). No
        query while more than LEASE_SECONDS are left (renewed under LEASE_RENEW_SECONDS ago)."""
        now = timezone.now()
        if self.until is not None and self.until - now > timedelta(seconds=LEASE_SECONDS):
            return True
        until = now + timedelta(seconds=LEASE_SECONDS + LEASE_RENEW_SECONDS)
        if self.until is None or not self.rows.filter(drain_lease_until=self.until).update(
            drain_lease_until=until
        ):
            return False
        self.until = until
        return True

    def release(self) -> None:
        if self.until is not None:
            self.rows.filter(drain_lease_until=self.until).update(drain_lease_until=None)
            self.until = None


def _drain_loop(
    integration: AtsIntegration,
    outbound: OutboundSettings,
    result: DrainResult,
    *,
    started: float,
    budget: float,
    lease: _Lease,
) -> str:
    """Send due rows until there are none ("empty"), time is up ("budget") or Lever says stop
    ("stopped"). Counts into ``result``. Rows are claimed CLAIM_BATCH at a time (one head per
    opportunity); the ones not sent when the drain stops are given back."""
    worker = _worker_id()
    failures_in_a_row = 0
    batch: list[OutboundUpdate] = []
    success_recorded: float | None = None
    try:
        while True:
            if time.monotonic() - started > budget:
                _unclaim(batch)
                batch = []
                return "budget" if _has_due(integration.pk) else "empty"
            if not lease.renew():
                return "stopped"  # another drain took over
            if not batch:
                batch = _claim_batch(integration.pk, worker, CLAIM_BATCH)
                if not batch:
                    return "empty"
            row = batch.pop(0)
            with log_context(update_id=row.pk):
                outcome = _send(row, integration=integration, outbound=outbound)
            if outcome == Status.SENT:
                result.sent += 1
                failures_in_a_row = 0
                if success_recorded is None or time.monotonic() - success_recorded > 30:
                    # Stored at most every 30 s anyway (connection/services/outcomes.py): skip
                    # the query in between.
                    integration_success_record(integration_id=integration.pk)
                    success_recorded = time.monotonic()
                continue
            result.failed += 1
            if outcome in (_PAUSED, _THROTTLED):
                result.paused = outcome == _PAUSED
                return "stopped"
            if outcome == _RETRY:
                failures_in_a_row += 1
                if failures_in_a_row >= BREAKER_FAILURES:
                    return "stopped"
    finally:
        # Stopped early (Lever said stop, the lease was lost, the worker's time limit): the
        # claimed rows not tried yet wait as they were, their attempts not counted.
        _unclaim(batch)


def _landed_by(now: datetime) -> Q:
    """Rows with no earlier attempt that may still land in the ATS (``outcome_unknown_until``)."""
    return Q(outcome_unknown_until__isnull=True) | Q(outcome_unknown_until__lte=now)


def _due(now: datetime) -> Q:
    return Q(status=Status.PENDING, next_attempt_at__lte=now) & _landed_by(now)


def _blocking(now: datetime) -> Q:
    """Rows that hold back every later row of their opportunity: unsent (pending, sending), or
    an attempt that may still land (``outcome_unknown_until``), whatever the status (given up,
    cancelled): a late tag or stage move would land on top of the newer one."""
    # outcome_unknown_until > now is "not landed by now" (NULL compares as unknown), written so
    # PostgreSQL sees the query implies the partial index outbound_update_blocking.
    return Q(status__in=OutboundUpdate.UNSENT) | Q(outcome_unknown_until__gt=now)


# Due rows read per step of the claim (oldest first); the claim takes up to CLAIM_BATCH of them.
CLAIM_WINDOW = 200
# Rows one claim takes (the head of each opportunity's queue, at most one per opportunity): at
# 8-10 sends/s a batch lasts about 2 s, so the claim's few queries are spread over 20 sends.
CLAIM_BATCH = 20


def _claimable_heads(integration_id: int, now: datetime, limit: int) -> list[tuple[int, int]]:
    """Up to ``limit`` due rows with no earlier blocking row of their opportunity (the order
    rule), oldest first (``next_attempt_at``, id), as (pk, attempts).

    One query per step of CLAIM_WINDOW due rows, whose cost does not grow with the queue
    whatever the table's statistics: the window is read in order from the partial index
    ``outbound_update_claim_order`` (waiting rows only, in the claim's order, so the LIMIT stops
    the scan), and each of its rows is checked by a correlated EXISTS in the SELECT list: one
    probe of ``outbound_update_blocking`` per row, ranges on (integration, opportunity,
    sequence). A check in the SELECT list cannot become the anti-join over the whole queue that
    PostgreSQL chose on stale statistics (issue #23: 631 ms per claim at 10,008 pending). Only
    when a whole window is blocked (heads in backoff with later rows due) is the next window
    read (keyset on ``next_attempt_at``, id), so "nothing" is never answered while a claimable
    row exists.
    """
    earlier_blocking = OutboundUpdate.objects.filter(
        _blocking(now),
        integration_id=OuterRef("integration_id"),
        opportunity_id=OuterRef("opportunity_id"),
        sequence__lt=OuterRef("sequence"),
    )
    heads: list[tuple[int, int]] = []
    after: tuple[datetime, int] | None = None
    while len(heads) < limit:
        window_qs = OutboundUpdate.objects.filter(_due(now), integration_id=integration_id)
        if after is not None:
            window_qs = window_qs.filter(
                Q(next_attempt_at__gt=after[0]) | Q(next_attempt_at=after[0], pk__gt=after[1])
            )
        window = list(
            window_qs.annotate(blocked=Exists(earlier_blocking))
            .order_by("next_attempt_at", "id")
            .values_list("pk", "attempts", "blocked", "next_attempt_at")[:CLAIM_WINDOW]
        )
        # A later row of an opportunity in the window is blocked by its earlier one (pending),
        # so each opportunity gives at most one head.
        heads.extend((pk, attempts) for pk, attempts, blocked, _ in window if not blocked)
        if len(window) < CLAIM_WINDOW:
            break
        after = (window[-1][3], window[-1][0])
    return heads[:limit]


def _has_due(integration_id: int) -> bool:
    return bool(_claimable_heads(integration_id, timezone.now(), 1))


def _claim_batch(integration_id: int, worker: str, limit: int) -> list[OutboundUpdate]:
    """Claim up to ``limit`` due rows, the head of each opportunity's queue (so never two rows
    of one opportunity), oldest first; [] when none is claimable. At most 3 queries (plus 1
    more per fully blocked window): find the heads, claim them, read them.

    The conditional UPDATE on (pk, status, attempts) is the claim itself: a row another sender
    claimed (or claimed, failed and put back) in between is skipped, so two senders never hold
    one row on any database. The caller sends the rows in the order returned and gives back
    (``_unclaim``) the ones it does not send.
    """
    for _ in range(5):
        now = timezone.now()
        heads = _claimable_heads(integration_id, now, limit)
        if not heads:
            return []
        same_attempt = Q()
        for pk, attempts in heads:
            same_attempt |= Q(pk=pk, attempts=attempts)
        # pk__in first: the primary key is the one index for this UPDATE on any statistics.
        claimed = (
            OutboundUpdate.objects.filter(pk__in=[pk for pk, _attempts in heads])
            .filter(same_attempt, _landed_by(now), status=Status.PENDING)
            .update(
                status=Status.SENDING,
                claimed_by=worker,
                claimed_at=now,
                attempts=F("attempts") + 1,
            )
        )
        if claimed:
            order = {pk: i for i, (pk, _attempts) in enumerate(heads)}
            # A later update of the same milestone still waits (it cannot go before this one):
            # this one's end need not look whether the milestone's timeline entry is due.
            later_unsent = OutboundUpdate.objects.filter(
                integration_id=OuterRef("integration_id"),
                opportunity_id=OuterRef("opportunity_id"),
                event_id=OuterRef("event_id"),
                sequence__gt=OuterRef("sequence"),
                status__in=OutboundUpdate.UNSENT,
            )
            rows: list[OutboundUpdate] = list(
                OutboundUpdate.objects.select_related("candidacy")
                .filter(pk__in=order, status=Status.SENDING, claimed_by=worker, claimed_at=now)
                .annotate(later_unsent=Exists(later_unsent))
            )
            rows.sort(key=lambda row: order[row.pk])
            return rows
    return []


def _unclaim(rows: list[OutboundUpdate]) -> None:
    """Give back claimed rows that were not sent (the drain stopped first): pending again as
    they were, the claim's attempt not counted. One query."""
    if not rows:
        return
    mine = Q()
    for row in rows:
        mine |= Q(pk=row.pk, attempts=row.attempts)
    OutboundUpdate.objects.filter(
        mine, pk__in=[row.pk for row in rows], status=Status.SENDING
    ).update(
        status=Status.PENDING,
        claimed_by="",
        claimed_at=None,
        attempts=F("attempts") - 1,
    )


# Drain outcomes besides the row statuses.
_RETRY = "retry"
_THROTTLED = "throttled"
_PAUSED = "paused"


def acting_user_id(*, integration: AtsIntegration, outbound: OutboundSettings) -> str:
    """Who writes are made as (Lever's perform_as); "" leaves it to the ATS."""
    return outbound_acting_user(integration=integration, outbound=outbound).user_id


def _send(row: OutboundUpdate, *, integration: AtsIntegration, outbound: OutboundSettings) -> str:
    """Send one claimed row and record how it ended; returns its status or a drain outcome."""
    adapter = ats.adapter_for(integration.ats)
    account = ats.account_for(integration)
    acting = acting_user_id(integration=integration, outbound=outbound)
    payload = row.payload or {}
    remote_id = ""
    try:
        if row.kind == Kind.NOTE:
            found = None
            if row.outcome_unknown:
                # The last attempt may have created it: look before writing it twice.
                found = adapter.note_find(
                    account, row.opportunity_id, marker=payload["marker"], profile=OUTBOUND
                )
            remote_id = found or adapter.note_add(
                account,
                row.opportunity_id,
                text=payload["text"],
                secret=bool(payload.get("secret")),
                score=payload.get("score"),
                acting_user_id=acting,
                profile=OUTBOUND,
            )
        elif row.kind == Kind.TAG:
            adapter.tags_replace(
                account,
                row.opportunity_id,
                add=payload.get("add", []),
                remove=payload.get("remove", []),
                acting_user_id=acting,
                profile=OUTBOUND,
            )
        elif row.kind == Kind.LINK:
            adapter.links_add(
                account,
                row.opportunity_id,
                links=payload.get("links", []),
                acting_user_id=acting,
                profile=OUTBOUND,
            )
        elif row.kind == Kind.STAGE:
            adapter.stage_move(
                account,
                row.opportunity_id,
                stage_id=payload["stage_id"],
                acting_user_id=acting,
                profile=OUTBOUND,
            )
        elif row.kind in PANEL_KINDS:
            remote_id = panel_write(
                row=row,
                integration=integration,
                account=account,
                acting_user_id=acting,
                profile=OUTBOUND,
            )
        elif row.kind in (Kind.FEEDBACK, Kind.FEEDBACK_REMOVE):
            # Results as a feedback form (opt-in; integrations/feedback/services.py).
            remote_id = feedback_send(
                row=row, integration=integration, acting_user_id=acting, profile=OUTBOUND
            )
        else:
            return _end(row, Status.DEAD, error=f"Unknown update kind {row.kind!r}.")
    except SoftTimeLimitExceeded:
        # The request may be out: free the claim now; it waits like any unknown outcome.
        _release(row, error="Stopped at the worker's time limit; it will be sent again.")
        raise
    except ats.AtsKeyError as exc:
        _queue_pause(integration, outbound, exc)
        _defer(row, exc, wait=None)
        return _PAUSED
    except ats.AtsRecordError as exc:
        # One hidden (confidential) or deleted opportunity: this update ends, nothing else.
        return _end(row, Status.CANCELLED, error=exc.message, status_code=exc.status_code)
    except ats.AtsNoResponse as exc:
        return _retry_later(row, exc, outcome_unknown=True)
    except ats.AtsUnavailable as exc:
        if exc.status_code == 429 or (exc.status_code is None and exc.retry_after is not None):
            # Lever's (or our shared bucket's) "not now": wait exactly as long as it says.
            _defer(row, exc, wait=exc.retry_after)
            return _THROTTLED
        return _retry_later(row, exc)
    except ats.AtsError as exc:
        # The ATS refused the request itself: the same request would fail the same way.
        return _end(row, Status.DEAD, error=exc.message, status_code=exc.status_code)
    except Exception as exc:  # a bug or a database hiccup: retry, then dead-letter
        logger.exception("outbound update failed unexpectedly", extra={"update_id": row.pk})
        return _retry_later(
            row,
            ats.AtsError(
                f"Unexpected error ({type(exc).__name__}); details are in the worker log."
            ),
        )
    # The integration's last success is recorded by the drain loop (at most every 30 s).
    return _end(row, Status.SENT, remote_id=remote_id)


def _mine(row: OutboundUpdate) -> Any:
    """The row, only while our claim holds (same attempt, still sending)."""
    return OutboundUpdate.objects.filter(pk=row.pk, status=Status.SENDING, attempts=row.attempts)


def _end(
    row: OutboundUpdate,
    status: str,
    *,
    error: str = "",
    status_code: int | None = None,
    remote_id: str = "",
    unknown_until: datetime | None = None,
) -> str:
    """Finish the row. ``unknown_until``: this attempt got no answer and may land until then.
    Only a sent row forgets an unknown outcome: a given-up one that an admin retries is still
    waited for and looked for first."""
    now = timezone.now()
    sent = status == Status.SENT
    unknown: dict[str, Any] = {}  # unchanged: an earlier attempt's unknown outcome stays
    if sent:
        unknown = {"outcome_unknown": False, "outcome_unknown_until": None}
    elif unknown_until is not None:
        unknown = {"outcome_unknown": True, "outcome_unknown_until": unknown_until}
    with transaction.atomic():
        updated = _mine(row).update(
            status=status,
            last_error=error,
            last_status_code=status_code,
            remote_id=remote_id or F("remote_id"),
            claimed_by="",
            claimed_at=None,
            sent_at=now if sent else None,
            finished_at=now,
            **unknown,
        )
        if not updated:
            logger.warning(
                "outbound update re-claimed; dropping this attempt", extra={"update_id": row.pk}
            )
            return _RETRY
        if not getattr(row, "later_unsent", False):
            timeline_record(row)
        if status == Status.DEAD:
            # The status page counts dead-lettered updates: recompute it (on commit, deduped).
            status_refresh_request(
                integration_id=row.integration_id, reason="An update to Lever was dead-lettered"
            )
    metrics.outbound_attempts.labels(row.kind, status).inc()
    if status == Status.SENT:
        logger.info("outbound update %s sent", row.kind, extra={"update_id": row.pk})
    else:
        logger.warning("outbound update %s: %s", status, error, extra={"update_id": row.pk})
    return status


def _unknown_outcome_until(now: datetime) -> datetime:
    """Until when a write Karat stopped waiting for at ``now`` may still land in the ATS."""
    return now + timedelta(seconds=settings.OUTBOUND_UNKNOWN_OUTCOME_WAIT_SECONDS)


def _retry_later(row: OutboundUpdate, exc: ats.AtsError, *, outcome_unknown: bool = False) -> str:
    """Put the row back for another attempt after a backoff. ``outcome_unknown``: this attempt
    got no answer, so nothing is sent for its opportunity until it can no longer land."""
    now = timezone.now()
    until = _unknown_outcome_until(now) if outcome_unknown else None
    counted = row.attempts - row.deferred
    if counted >= settings.OUTBOUND_MAX_ATTEMPTS:
        reason = f"Gave up after {counted} attempts: {exc.message}"
        return _end(
            row, Status.DEAD, error=reason, status_code=exc.status_code, unknown_until=until
        )
    next_attempt_at = max(now + timedelta(seconds=_backoff(counted)), until or now)
    delay = (next_attempt_at - now).total_seconds()
    updated = _mine(row).update(
        status=Status.PENDING,
        last_error=exc.message,
        last_status_code=exc.status_code,
        next_attempt_at=next_attempt_at,
        claimed_by="",
        claimed_at=None,
        outcome_unknown=F("outcome_unknown") if until is None else True,
        outcome_unknown_until=F("outcome_unknown_until") if until is None else until,
    )
    if updated and delay <= COUNTDOWN_MAX_SECONDS:
        drain_publish(row.integration_id, countdown=delay)
    metrics.outbound_attempts.labels(row.kind, "retry").inc()
    logger.info(
        "outbound update retry in %.0fs: %s", delay, exc.message, extra={"update_id": row.pk}
    )
    return _RETRY


def _defer(row: OutboundUpdate, exc: ats.AtsError, *, wait: float | None) -> None:
    """Put the row back without counting the attempt (rate limited, or the queue paused)."""
    now = timezone.now()
    _mine(row).update(
        status=Status.PENDING,
        deferred=F("deferred") + 1,
        last_error=exc.message,
        last_status_code=exc.status_code,
        next_attempt_at=now + timedelta(seconds=wait or 0),
        claimed_by="",
        claimed_at=None,
    )
    if wait is not None and wait <= COUNTDOWN_MAX_SECONDS:
        # Every other due row of this key waits too: the drain stops, and comes back then
        # (a longer wait is the sweeper's: it lives in next_attempt_at only).
        drain_publish(row.integration_id, countdown=max(wait, 0.05))


def _release(row: OutboundUpdate, *, error: str) -> None:
    """Free the claim of a send cut short mid-request: an unknown outcome (not counted)."""
    until = _unknown_outcome_until(timezone.now())
    _mine(row).update(
        status=Status.PENDING,
        deferred=F("deferred") + 1,
        last_error=error,
        next_attempt_at=until,
        claimed_by="",
        claimed_at=None,
        outcome_unknown=True,
        outcome_unknown_until=until,
    )


def _backoff(attempt: int) -> float:
    step: float = min(
        settings.OUTBOUND_RETRY_MAX_SECONDS,
        settings.OUTBOUND_RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0),
    )
    # Jitter keeps a burst of failures from retrying in lockstep.
    return step * random.uniform(0.5, 1.0)  # noqa: S311


# --- the queue pause (key-level refusals) ------------------------------------------------------


def _queue_pause(
    integration: AtsIntegration, outbound: OutboundSettings, exc: ats.AtsError
) -> None:
    now = timezone.now()
    OutboundSettings.objects.filter(pk=outbound.pk, paused_at__isnull=True).update(
        paused_at=now, paused_reason=exc.message
    )
    outbound.paused_at, outbound.paused_reason = outbound.paused_at or now, exc.message
    integration_failure_record(
        integration_id=integration.pk, context="Posting updates to Lever", error=exc
    )


def _resume_if_due(integration: AtsIntegration, outbound: OutboundSettings) -> bool:
    """Resume a paused queue when the key was fixed: a key check of the key in use passed, or
    another key was set, after the pause; or let one probe through every
    OUTBOUND_PAUSE_PROBE_SECONDS (a permission granted in Lever changes no key). True when
    sending may go on."""
    paused_at = outbound.paused_at
    if paused_at is None:
        return True
    fixed = outbound_pause_fixed(integration=integration, outbound=outbound)
    probe = timezone.now() - paused_at > timedelta(seconds=settings.OUTBOUND_PAUSE_PROBE_SECONDS)
    if not (fixed or probe):
        return False
    resumed = OutboundSettings.objects.filter(pk=outbound.pk, paused_at=paused_at).update(
        paused_at=None, paused_reason=""
    )
    outbound.paused_at, outbound.paused_reason = None, ""
    if resumed:
        logger.info(
            "outbound queue resumed (%s)",
            "key fixed" if fixed else "probe",
            extra={"integration_id": integration.public_id},
        )
    return True


# --- the timeline -------------------------------------------------------------------------------


def timeline_record(row: OutboundUpdate) -> None:
    """Once every update of a milestone has ended, one "Update posted to the ATS" entry on the
    candidacy's timeline says how it went (inside the caller's transaction). Its text names no
    ATS (``CandidacyEvent.THE_ATS``): the page shows the ATS's name."""
    if row.event_id is None:
        return
    # One entry per opportunity the milestone went to (a late link posts it again elsewhere).
    group = OutboundUpdate.objects.filter(event_id=row.event_id, opportunity_id=row.opportunity_id)
    # One query decides and claims the entry: nothing is flagged while an update of the group
    # is unsent, and only one of two updates ending together flags it.
    unsent = group.filter(status__in=OutboundUpdate.UNSENT)
    if not group.filter(~Exists(unsent), timeline_recorded=False).update(timeline_recorded=True):
        return  # some still unsent, or already written (a retry changed nothing)
    updates = list(group.order_by("sequence").values("kind", "status", "last_error"))
    sent = [u for u in updates if u["status"] == Status.SENT]
    state = "sent" if len(sent) == len(updates) else "failed" if not sent else "partly_sent"
    milestone = (
        Milestone(row.milestone).label if row.milestone in Milestone.values else row.milestone
    )
    the_ats = CandidacyEvent.THE_ATS
    summary = {
        "sent": f"{milestone}: posted to {the_ats}",
        "partly_sent": f"{milestone}: partly posted to {the_ats}",
        "failed": f"{milestone}: not posted to {the_ats}",
    }[state]
    candidacy_event_add(
        candidacy=row.candidacy,
        kind=CandidacyEvent.Kind.ATS_UPDATE,
        source=CandidacyEvent.Source.KARAT,
        summary=summary,
        detail={
            "status": state,
            "milestone": row.milestone,
            "updates": [
                {
                    "kind": u["kind"],
                    "status": u["status"],
                    "error": (u["last_error"] or "")[:300],
                }
                for u in updates
            ],
        },
    )


# --- sweeping ---------------------------------------------------------------------------------


@dataclass
class SweepResult:
    reclaimed: int = 0
    resumed: int = 0
    published: list[int] = field(default_factory=list)


def outbound_sweep(*, now: datetime | None = None) -> SweepResult:
    """Free claims of killed workers, resume queues whose key was fixed, and publish a drain
    for every integration with due rows (the on-commit publish may have been lost)."""
    now = now or timezone.now()
    result = SweepResult()
    stale_before = now - timedelta(seconds=settings.OUTBOUND_CLAIM_TIMEOUT_SECONDS)
    stale = OutboundUpdate.objects.filter(
        status=Status.SENDING, claimed_at__lt=stale_before
    ).values_list("pk", "claimed_at", "integration_id")[:SWEEP_BATCH]
    dead_drains = set()
    # The request may have reached the ATS, and may still land: an unknown outcome, counted
    # from now (the worker died at some point before; its request went out before that).
    until = _unknown_outcome_until(now)
    for pk, claimed_at, integration_id in stale:
        dead_drains.add(integration_id)
        result.reclaimed += OutboundUpdate.objects.filter(
            pk=pk, status=Status.SENDING, claimed_at=claimed_at
        ).update(
            status=Status.PENDING,
            next_attempt_at=until,
            claimed_by="",
            claimed_at=None,
            outcome_unknown=True,
            outcome_unknown_until=until,
            last_error="The worker stopped while sending this update; Karat waits, then checks "
            "Lever before sending it again.",
        )
    # A claim this old outlived its task's hard time limit: its drain is dead, and so is the
    # lease it held.
    OutboundSettings.objects.filter(integration_id__in=dead_drains).update(drain_lease_until=None)
    for outbound in OutboundSettings.objects.filter(paused_at__isnull=False).select_related(
        "integration"
    ):
        if _resume_if_due(outbound.integration, outbound):
            result.resumed += 1
    due = (
        OutboundUpdate.objects.filter(_due(now), integration__enabled=True)
        .exclude(integration__outbound_settings__paused_at__isnull=False)
        .exclude(integration__outbound_settings__enabled=False)
        # No ordering: Django would add the model's ordering column to DISTINCT (one per row).
        .order_by()
        .values_list("integration_id", flat=True)
        .distinct()
    )
    for integration_id in due:
        if drain_publish(integration_id):
            result.published.append(integration_id)
    if result.reclaimed or result.resumed or result.published:
        logger.info(
            "outbound sweep: %d claims freed, %d queues resumed, %d drains published",
            result.reclaimed,
            result.resumed,
            len(result.published),
        )
    return result
