"""Asking for a status recompute: the leaf every service calls when something a status check
reports has changed. It imports only models (and its task, lazily), so any module may import it
without a cycle; computing the snapshot is ``integrations.status.services``' job."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations.models import AtsIntegration, IntegrationStatus

logger = logging.getLogger(__name__)


def status_refresh_request(*, integration_id: int, reason: str) -> None:
    """Ask for the integration's snapshot to be computed again, in the background.

    Call it after anything that changes the integration's health: saved settings, a finished
    key check, a key-level 401/403 from the ATS, a burst of bad signatures, dead-lettered
    updates. Deduplicated: while a requested computation is pending (``IntegrationStatus
    .PENDING_FOR``) further requests add nothing, and a request that arrives while one runs
    is picked up when it ends. The task is enqueued on commit (a broker outage is logged,
    never raised: the 5-minute beat catches up). Unknown integrations are ignored.
    """
    if not AtsIntegration.objects.filter(pk=integration_id).exists():
        return
    now = timezone.now()
    # ON CONFLICT DO NOTHING: safe inside the caller's transaction and against a racing request.
    IntegrationStatus.objects.bulk_create(
        [IntegrationStatus(integration_id=integration_id)], ignore_conflicts=True
    )
    claimed = (
        IntegrationStatus.objects.filter(integration_id=integration_id)
        .filter(
            Q(requested_at__isnull=True)
            | Q(computed_at__gte=F("requested_at"))
            | Q(requested_at__lt=now - IntegrationStatus.PENDING_FOR)
        )
        .update(requested_at=now, request_reason=reason[:200])
    )
    if claimed:
        logger.info("status refresh requested integration pk=%s: %s", integration_id, reason)
        status_compute_enqueue(integration_id)
    else:
        IntegrationStatus.objects.filter(integration_id=integration_id).update(
            requested_again_at=now
        )


def status_compute_enqueue(integration_id: int) -> None:
    """Publish the snapshot's computation once the current transaction commits (a broker
    outage is logged by Celery's robust on-commit, never raised)."""
    from integrations.tasks import integration_status_compute as integration_status_compute_task

    transaction.on_commit(
        lambda: integration_status_compute_task.delay(integration_id), robust=True
    )


def signature_failure_note(*, integration_id: int) -> None:
    """A delivery for the integration failed its signature check (webhooks intake).

    When ``STATUS_SIGNATURE_FAILURE_BURST`` of them arrive within one
    ``STATUS_SIGNATURE_FAILURE_WINDOW_SECONDS`` window, the snapshot is recomputed (once per
    window: the counter lives in the cache, so it costs no database write)."""
    window: int = settings.STATUS_SIGNATURE_FAILURE_WINDOW_SECONDS
    bucket = int(timezone.now().timestamp()) // window
    key = f"status:bad-signatures:{integration_id}:{bucket}"
    try:
        cache.add(key, 0, timeout=window * 2)
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr: count this one as the first
        count = 1
    except Exception:
        # The cache is down: the receiver answers anyway (fail open); the beat still
        # recomputes the status within minutes.
        logger.warning("status: cache unavailable, bad signature not counted", exc_info=True)
        return
    if count == settings.STATUS_SIGNATURE_FAILURE_BURST:
        status_refresh_request(
            integration_id=integration_id,
            reason=f"{count} deliveries with a bad signature within {window // 60} minutes",
        )


def integration_statuses_refresh_all() -> int:
    """Beat: ask for a fresh snapshot of every enabled integration; returns how many."""
    ids = list(AtsIntegration.objects.enabled().values_list("pk", flat=True))
    for integration_id in ids:
        status_refresh_request(integration_id=integration_id, reason="Periodic check")
    return len(ids)
