"""Processing stored deliveries: claim, re-read through the ATS adapter, apply to the candidacy; sweep; prune."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations import ats
from integrations.auto_invites import services as auto_invites
from integrations.connection.services.outcomes import (
    integration_failure_record,
    integration_success_record,
)
from integrations.deletions.services import Cause
from integrations.hiring_team import services as hiring_team
from integrations.models import AtsIntegration, OpportunityLink
from integrations.status.refresh import status_refresh_request
from karatlever.accounts.models import User
from karatlever.hiring.services import AtsStateResult, candidacy_ats_state_apply
from karatlever.observability import metrics
from karatlever.observability.context import log_context
from webhooks.models import WebhookDelivery, WebhookRejection
from webhooks.services.deletions import (
    deletion_event,
    delivery_deletion_handle,
    opportunity_deletion_honour,
)
from webhooks.services.enqueue import deliveries_publish, delivery_enqueue

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status

# Retries due within this many seconds are sent with a Celery countdown; later ones wait in
# their row (next_attempt_at) for the sweeper, not in a worker's ETA queue.
COUNTDOWN_MAX_SECONDS = 30
SWEEP_BATCH = 500
BATCH = 25
REJECTION_RETENTION = timedelta(days=7)


class _ClaimLost(Exception):
    """Another worker re-claimed the delivery while this one was busy: drop our work."""


@dataclass(frozen=True)
class _Plan:
    """What a handler decided: ignore (with a reason) or apply a state inside the finish."""

    ignore_reason: str = ""
    apply: Callable[[], AtsStateResult] | None = None
    # Work already done outside the state apply (an automatic invite): its outcome.
    done: str = ""


@dataclass
class SweepResult:
    requeued: list[int] = field(default_factory=list)
    reclaimed: int = 0
    dead: int = 0


def _opportunity_change(delivery: WebhookDelivery) -> _Plan:
    """Every supported event means "this opportunity changed": re-read it, apply its state.

    The signature does not cover ``data``, and deliveries arrive late, twice or out of order,
    so the payload only names the opportunity; the ATS's current state is what gets applied.
    The link follows the opportunity's current contact (merged profiles move opportunities).
    """
    link = (
        OpportunityLink.objects.select_related("candidacy")
        .filter(integration=delivery.integration, opportunity_id=delivery.opportunity_id)
        .first()
    )
    if link is None:
        # The automatic invite (integrations/auto_invites/services.py): an opportunity not yet
        # linked that is now in the integration's invite stage gets invited here. None when
        # the rule is off (the delivery is ignored, as before); its ATS errors are handled
        # below like any other read of this delivery.
        invited = auto_invites.auto_invite_consider(
            integration=delivery.integration, opportunity_id=delivery.opportunity_id, via="webhook"
        )
        if invited is not None and invited.invited:
            return _Plan(done=invited.message)
        why = f" ({invited.message})" if invited is not None else ""
        return _Plan(ignore_reason=f"No linked Karat candidacy{why}")
    integration = delivery.integration
    adapter = ats.adapter_for(integration.ats, ats.Opportunities)
    try:
        current = adapter.opportunity_state(
            ats.account_for(integration), delivery.opportunity_id, profile=ats.WEBHOOK_READ
        )
    except ats.AtsRecordNotFound:
        return _Plan(ignore_reason=f"Opportunity not found in {adapter.label} (deleted?)")
    if current.anonymized:
        # Anonymised in the ATS: the deletion policy applies, not the state (docs/deletions.md).
        honoured = opportunity_deletion_honour(
            integration=integration,
            opportunity_id=delivery.opportunity_id,
            cause=Cause.ANONYMISED,
            via="webhook",
        )
        return _Plan(done=honoured.message)
    origin = {"via": "webhook", "event": delivery.event, "delivery_id": delivery.pk}

    def apply() -> AtsStateResult:
        opportunity_link_follow(link=link, contact_id=current.contact_id)
        result = candidacy_ats_state_apply(
            candidacy=link.candidacy, state=current.state, origin=origin
        )
        if not result.stale:
            # The recruiter follows the opportunity's owner (off unless an admin turned it on).
            hiring_team.candidacy_recruiter_follow(
                integration=integration, candidacy=link.candidacy, current=current, origin=origin
            )
        return result

    return _Plan(apply=apply)


def opportunity_link_follow(*, link: OpportunityLink, contact_id: str) -> bool:
    """Point the link at the opportunity's current contact (Lever moves an opportunity to
    another contact when two profiles are merged). True when it changed."""
    if not contact_id or contact_id == link.contact_id:
        return False
    OpportunityLink.objects.filter(pk=link.pk).update(contact_id=contact_id)
    logger.info(
        "opportunity %s moved from contact %s to %s",
        link.opportunity_id,
        link.contact_id,
        contact_id,
    )
    link.contact_id = contact_id
    return True


def _supported_events(integration: AtsIntegration) -> frozenset[str]:
    return frozenset(
        spec.code for spec in ats.adapter_for(integration.ats, ats.AtsBase).webhook_events
    )


def delivery_process(*, delivery_id: int) -> str | None:
    """Process one delivery; safe to call twice, concurrently, or for a deleted row.

    Claims the row with a conditional UPDATE (received/retry and due → processing), so only
    one caller works on it. The candidacy change and the ``processed`` mark commit together.
    An unavailable ATS sends it back to ``retry`` with backoff (the ATS's Retry-After at
    least), then ``dead`` after WEBHOOK_MAX_ATTEMPTS. A refused key marks it ``failed`` and
    records the integration's error; a hidden or deleted opportunity marks only it ``failed``.
    Returns the final status, or None when there was nothing to claim.
    """
    attempt = _claim(delivery_id)
    if attempt is None:
        return None
    delivery = WebhookDelivery.objects.select_related("integration").get(pk=delivery_id)
    with log_context(delivery_id=delivery_id, integration_id=delivery.integration.public_id):
        status = _delivery_process_claimed(delivery, attempt)
    if status is None:  # another worker re-claimed it; that one counts
        return None
    metrics.webhook_deliveries_processed.labels(status).inc()
    if status in (Status.PROCESSED, Status.IGNORED):
        lag = (timezone.now() - delivery.received_at).total_seconds()
        metrics.webhook_processing_lag.labels(status).observe(max(0.0, lag))
    return status


def _delivery_process_claimed(delivery: WebhookDelivery, attempt: int) -> str | None:
    """``delivery_process`` once the row is claimed (attempt number ``attempt``)."""
    delivery_id = delivery.pk
    integration = delivery.integration
    # Other deliveries for the same opportunity answered by this one's read: (id, attempt).
    coalesced: list[tuple[int, int]] = []
    # Every event the adapter acts on names an opportunity that changed.
    supported = delivery.event in _supported_events(integration)
    try:
        if not supported:
            plan = _Plan(ignore_reason="Event not acted on")
        elif delivery.event == deletion_event(integration):
            # Before the test and enabled checks: a deletion is honoured even while the
            # integration is disabled, and its payload may name only a contact.
            handled = delivery_deletion_handle(delivery=delivery)
            plan = (
                _Plan(done=handled.message)
                if handled.applied
                else _Plan(ignore_reason=handled.message)
            )
        elif not delivery.opportunity_id:
            label = ats.adapter_for(integration.ats, ats.AtsBase).label
            plan = _Plan(ignore_reason=f"Test delivery from {label}")
        elif not integration.enabled:
            plan = _Plan(ignore_reason="Integration disabled")
        else:
            # Claimed before the read, so the one read is at least as new as every delivery
            # it answers for.
            coalesced = _coalesced_claim(delivery)
            plan = _opportunity_change(delivery)
        with transaction.atomic():
            if plan.done:
                status, outcome = Status.PROCESSED, plan.done
            elif plan.apply is None:
                status, outcome = Status.IGNORED, plan.ignore_reason
            else:
                status, outcome = Status.PROCESSED, _describe(plan.apply())
            if not _finish(delivery_id, attempt, status=status, outcome=outcome):
                raise _ClaimLost
            for other_id, other_attempt in coalesced:
                _finish(
                    other_id,
                    other_attempt,
                    status=status,
                    outcome=f"Coalesced into delivery {delivery_id}'s read: {outcome}",
                )
    except _ClaimLost:
        logger.warning("webhook delivery %s was re-claimed; dropping this attempt", delivery_id)
        _coalesced_each(coalesced, _release)
        return None
    except SoftTimeLimitExceeded:
        # Not a failure of the delivery: free the claim at once (instead of waiting for the
        # sweeper's stale-claim timeout) and let the task stop. The attempt stays counted, so
        # a delivery that always overruns still ends dead instead of looping.
        _release(delivery_id, attempt)
        _coalesced_each(coalesced, _release)
        raise
    except ats.AtsKeyError as exc:
        # The key is the integration's problem: an admin must fix it in Settings.
        _finish(delivery_id, attempt, status=Status.FAILED, error=exc.message)
        _coalesced_each(coalesced, partial(_finish, status=Status.FAILED, error=exc.message))
        integration_failure_record(
            integration_id=integration.pk, context="Processing a webhook", error=exc
        )
        return Status.FAILED
    except ats.AtsRecordError as exc:
        # One hidden (confidential) or gone opportunity: this delivery ends, nothing else.
        _finish(delivery_id, attempt, status=Status.FAILED, error=exc.message)
        _coalesced_each(coalesced, partial(_finish, status=Status.FAILED, error=exc.message))
        return Status.FAILED
    except ats.AtsUnavailable as exc:
        retry = partial(_retry_later, error=exc.message, retry_after=exc.retry_after)
        _coalesced_each(coalesced, retry)
        return retry(delivery_id, attempt)
    except ats.AtsError as exc:
        # The ATS refused the request itself: the same request would fail the same way.
        _finish(delivery_id, attempt, status=Status.FAILED, error=exc.message)
        _coalesced_each(coalesced, partial(_finish, status=Status.FAILED, error=exc.message))
        return Status.FAILED
    except Exception as exc:  # a bug or a database hiccup: retry, then dead-letter
        # The message may carry SQL and its parameters: the log gets it, admins only the class.
        logger.exception("webhook delivery %s failed unexpectedly", delivery_id)
        retry = partial(
            _retry_later,
            error=f"Unexpected error ({type(exc).__name__}); details are in the worker log.",
        )
        _coalesced_each(coalesced, retry)
        return retry(delivery_id, attempt)
    _coalesced_count(coalesced, status)
    if status == Status.PROCESSED:
        integration_success_record(integration_id=integration.pk)
    logger.info("webhook delivery %s %s: %s", delivery_id, status, outcome)
    return status


def delivery_sweep(*, now: datetime | None = None) -> SweepResult:
    """Re-enqueue what was left behind and free claims of dead workers.

    A ``received`` row older than WEBHOOK_SWEEP_GRACE_SECONDS was never picked up (broker
    down at the time); a due ``retry`` row is re-enqueued; a ``processing`` claim older than
    WEBHOOK_CLAIM_TIMEOUT_SECONDS (by default twice the task hard time limit, past which no
    live task still holds it) belonged to a killed worker and goes back to ``retry``
    (or ``dead`` once it has used all attempts).
    """
    now = now or timezone.now()
    result = SweepResult()
    stale_before = now - timedelta(seconds=settings.WEBHOOK_CLAIM_TIMEOUT_SECONDS)
    stale = WebhookDelivery.objects.filter(
        status=Status.PROCESSING, claimed_at__lt=stale_before
    ).values_list("pk", "attempts", "claimed_at")[:SWEEP_BATCH]
    for pk, attempts, claimed_at in stale:
        dead = attempts >= settings.WEBHOOK_MAX_ATTEMPTS
        updated = WebhookDelivery.objects.filter(
            pk=pk, status=Status.PROCESSING, claimed_at=claimed_at
        ).update(
            status=Status.DEAD if dead else Status.RETRY,
            next_attempt_at=None if dead else now,
            error="The worker stopped while processing this delivery.",
            processed_at=now if dead else None,
        )
        if updated:
            result.dead += int(dead)
            result.reclaimed += int(not dead)
            if dead:
                _status_stale(pk)
    grace_before = now - timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_SECONDS)
    due = list(
        WebhookDelivery.objects.filter(
            Q(status=Status.RECEIVED, received_at__lt=grace_before)
            | Q(status=Status.RETRY, next_attempt_at__lte=now)
            | Q(status=Status.RETRY, next_attempt_at__isnull=True)
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for i in range(0, len(due), BATCH):
        batch = due[i : i + BATCH]
        if not deliveries_publish(batch):
            break  # broker still down: the next sweep tries again
        result.requeued += batch
    if result.requeued or result.reclaimed or result.dead:
        logger.info(
            "webhook sweep: %d re-enqueued, %d stale claims freed, %d dead",
            len(result.requeued),
            result.reclaimed,
            result.dead,
        )
    return result


def delivery_prune(*, now: datetime | None = None) -> tuple[int, int]:
    """Clear payloads of finished deliveries after the retention period; delete their rows
    (the dedupe keys) only after WEBHOOK_DEDUPE_RETENTION_DAYS. Returns (cleared, deleted)."""
    now = now or timezone.now()
    payload_cutoff = now - timedelta(days=settings.WEBHOOK_PAYLOAD_RETENTION_DAYS)
    key_cutoff = now - timedelta(days=settings.WEBHOOK_DEDUPE_RETENTION_DAYS)
    cleared = WebhookDelivery.objects.filter(
        status__in=WebhookDelivery.FINISHED,
        received_at__lt=payload_cutoff,
        payload_pruned_at__isnull=True,
    ).update(payload=None, payload_pruned_at=now)
    deleted, _ = WebhookDelivery.objects.filter(
        status__in=WebhookDelivery.FINISHED, received_at__lt=key_cutoff
    ).delete()
    WebhookRejection.objects.filter(hour__lt=now - REJECTION_RETENTION).delete()
    return cleared, deleted


def delivery_replay(*, delivery: WebhookDelivery, actor: User | None = None) -> bool:
    """Process again: put a delivery that is not running back in the queue, attempts reset.

    False when it is being processed right now.
    """
    with transaction.atomic():
        updated = (
            WebhookDelivery.objects.filter(pk=delivery.pk)
            .exclude(status=Status.PROCESSING)
            .update(
                status=Status.RECEIVED,
                attempts=0,
                next_attempt_at=None,
                claimed_at=None,
                processed_at=None,
                error="",
                outcome="",
            )
        )
        if updated:
            transaction.on_commit(partial(delivery_enqueue, delivery.pk))
    if updated:
        logger.info(
            "webhook delivery %s queued again by %s", delivery.pk, actor.pk if actor else "system"
        )
    return bool(updated)


# --- helpers ----------------------------------------------------------------------------------


# At most this many waiting deliveries ride on one read (a bounded finish transaction).
COALESCE_MAX = 100


def _coalesced_claim(delivery: WebhookDelivery) -> list[tuple[int, int]]:
    """Claim the other deliveries for the same opportunity that are waiting now (received,
    or retry and due) and that a re-read answers: [(delivery id, attempt)].

    Every supported event but the deletion one only means "this opportunity changed", and
    the current state read after all of them arrived is what each would apply (the latest
    state wins), so one Lever read serves them all. Each row is claimed with the same
    conditional UPDATE as ``_claim``, so a delivery is still processed exactly once: a row
    another worker holds is simply not taken, and the task that was to process a row taken
    here finds nothing to claim.
    """
    integration = delivery.integration
    events = _supported_events(integration) - {deletion_event(integration)}
    now = timezone.now()
    waiting = (
        WebhookDelivery.objects.filter(
            integration=integration,
            opportunity_id=delivery.opportunity_id,
            event__in=events,
            status__in=WebhookDelivery.CLAIMABLE,
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .exclude(pk=delivery.pk)
        .order_by("pk")
        .values_list("pk", flat=True)[:COALESCE_MAX]
    )
    claimed = []
    for other_id in list(waiting):
        attempt = _claim(other_id)
        if attempt is not None:
            claimed.append((other_id, attempt))
    return claimed


def _coalesced_each(coalesced: list[tuple[int, int]], end: Callable[..., object]) -> None:
    """End every coalesced delivery's attempt the way the read's own delivery ended."""
    for other_id, other_attempt in coalesced:
        end(other_id, other_attempt)


def _coalesced_count(coalesced: list[tuple[int, int]], status: str) -> None:
    for _ in coalesced:
        metrics.webhook_deliveries_processed.labels(status).inc()


def _claim(delivery_id: int) -> int | None:
    """The attempt number we now own, or None. The conditional UPDATE is the lock."""
    now = timezone.now()
    claimable = WebhookDelivery.objects.filter(
        pk=delivery_id, status__in=WebhookDelivery.CLAIMABLE
    ).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    row = claimable.values_list("attempts", flat=True).first()
    if row is None:
        return None
    attempt = row + 1
    # Matching on the attempts we read makes two racing claims for the same row exclusive.
    updated = claimable.filter(attempts=row).update(
        status=Status.PROCESSING, claimed_at=now, attempts=attempt
    )
    return attempt if updated else None


def _finish(
    delivery_id: int, attempt: int, *, status: str, outcome: str = "", error: str = ""
) -> bool:
    """Record the end of our attempt, only if the claim is still ours."""
    finished = bool(
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=Status.PROCESSING, attempts=attempt
        ).update(
            status=status,
            outcome=outcome[:300],
            error=error,
            processed_at=timezone.now(),
            next_attempt_at=None,
        )
    )
    if finished and status in (Status.FAILED, Status.DEAD):
        _status_stale(delivery_id)
    return finished


def _status_stale(delivery_id: int) -> None:
    """A delivery ended failed or dead: the status page's "Processing (last 24 hours)" check
    counts them, so ask for a recompute (deduplicated: one per computation however many)."""
    integration_id = (
        WebhookDelivery.objects.filter(pk=delivery_id).values_list("integration_id", flat=True)
    ).first()
    if integration_id is not None:
        status_refresh_request(
            integration_id=integration_id, reason="A webhook delivery could not be processed"
        )


def _retry_later(
    delivery_id: int, attempt: int, *, error: str, retry_after: float | None = None
) -> str | None:
    if attempt >= settings.WEBHOOK_MAX_ATTEMPTS:
        _finish(delivery_id, attempt, status=Status.DEAD, error=error)
        logger.warning("webhook delivery %s dead after %d attempts", delivery_id, attempt)
        return Status.DEAD
    delay = _backoff(attempt)
    if retry_after:
        # The ATS's whole Retry-After (the Lever client keeps up to an hour): an attempt
        # inside the penalty only earns another 429. The wait is next_attempt_at; a countdown
        # is only a shortcut for short ones, never a sleeping worker.
        delay = max(delay, retry_after)
    updated = WebhookDelivery.objects.filter(
        pk=delivery_id, status=Status.PROCESSING, attempts=attempt
    ).update(
        status=Status.RETRY,
        error=error,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    if not updated:
        return None
    if delay <= COUNTDOWN_MAX_SECONDS:
        _enqueue_later(delivery_id, delay)
    logger.info("webhook delivery %s retry %d in %.0fs: %s", delivery_id, attempt, delay, error)
    return Status.RETRY


def _release(delivery_id: int, attempt: int) -> None:
    WebhookDelivery.objects.filter(
        pk=delivery_id, status=Status.PROCESSING, attempts=attempt
    ).update(
        status=Status.RETRY,
        error="Stopped at the worker's time limit; it will be processed again.",
        next_attempt_at=timezone.now(),
    )
    logger.warning("webhook delivery %s stopped at the task time limit", delivery_id)


def _backoff(attempt: int) -> float:
    step: float = min(
        settings.WEBHOOK_RETRY_MAX_SECONDS, settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt - 1)
    )
    # Jitter keeps a burst of failures from retrying in lockstep.
    return step * random.uniform(0.5, 1.0)  # noqa: S311


def _enqueue_later(delivery_id: int, delay: float) -> None:
    from webhooks.tasks import delivery_process as delivery_process_task

    try:
        delivery_process_task.apply_async((delivery_id,), countdown=delay)
    except Exception as exc:  # the sweeper picks the row up when it is due
        logger.warning(
            "could not schedule retry of delivery %s (%s)", delivery_id, type(exc).__name__
        )


def _describe(result: AtsStateResult) -> str:
    if result.stale:
        return "Skipped: a newer state of the opportunity was already applied"
    if not result.events:
        return "No change"
    return "; ".join(e.summary for e in result.events)[:300]
