"""Thin Celery tasks for webhooks: take ids, call one service."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def delivery_process(delivery_id: int) -> str | None:
    """Process one stored delivery (a deleted or already claimed row is a no-op)."""
    from webhooks.models import WebhookDelivery
    from webhooks.services import processing

    try:
        return processing.delivery_process(delivery_id=delivery_id)
    except WebhookDelivery.DoesNotExist:
        logger.info("webhook delivery %s no longer exists", delivery_id)
        return None


# Time one delivery may need (a Lever read with one retry and its backoff): a batch starts
# no delivery with less than this left before the task's soft time limit.
DELIVERY_TIME_RESERVE = 35.0


@shared_task(ignore_result=True)
def delivery_process_many(delivery_ids: list[int]) -> None:
    """Process a batch of stored deliveries one by one (the receiver coalesces publishes).

    A batch stays inside the task's time limit: when too little time is left for another
    delivery, the rest is published as a new batch. If the soft limit still lands mid-delivery,
    processing releases that claim (``retry``, due now, the attempt counted), and the
    interrupted delivery and the rest are re-published before the exception propagates.
    """
    from webhooks.services import processing
    from webhooks.services.enqueue import deliveries_publish

    started = time.monotonic()
    soft_limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
    for i, delivery_id in enumerate(delivery_ids):
        # The first delivery always runs, so a batch always makes progress.
        if i and soft_limit and time.monotonic() - started > soft_limit - DELIVERY_TIME_RESERVE:
            _republish(deliveries_publish, delivery_ids[i:])
            return
        try:
            processing.delivery_process(delivery_id=delivery_id)
        except SoftTimeLimitExceeded:
            _republish(deliveries_publish, delivery_ids[i:])
            raise
        except Exception:  # one bad row must not strand the rest; the sweeper retries it
            logger.exception("webhook delivery %s could not be processed", delivery_id)


def _republish(publish: Callable[[list[int]], bool], delivery_ids: list[int]) -> None:
    # A failed publish loses nothing: the rows are durable and the sweeper enqueues them.
    published = publish(delivery_ids)
    logger.info(
        "webhook batch out of time: %d deliveries %s",
        len(delivery_ids),
        "re-published" if published else "left to the sweeper",
    )


@shared_task(ignore_result=True)
def delivery_sweep() -> int:
    """Re-enqueue deliveries left behind and free claims of killed workers."""
    from webhooks.services import processing

    return len(processing.delivery_sweep().requeued)


@shared_task(ignore_result=True)
def delivery_prune() -> None:
    """Clear old payloads and delete expired dedupe keys."""
    from webhooks.services import processing

    processing.delivery_prune()


@shared_task(ignore_result=True)
def integration_reconcile(integration_id: int) -> None:
    """One integration's reconciliation poll, then its poll of deleted opportunities."""
    from webhooks.services import deletions, reconcile

    reconcile.integration_reconcile(integration_id=integration_id)
    deletions.deleted_opportunities_reconcile(integration_id=integration_id)


@shared_task(ignore_result=True)
def reconcile_all() -> int:
    """Enqueue a reconciliation poll for every integration that has linked candidacies."""
    from webhooks.services import reconcile

    ids = reconcile.reconcile_due_integration_ids()
    for integration_id in ids:
        integration_reconcile.delay(integration_id)
    return len(ids)
