"""Thin Celery tasks for webhooks: take ids, call one service."""

from __future__ import annotations

import logging

from celery import shared_task

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


@shared_task(ignore_result=True)
def delivery_process_many(delivery_ids: list[int]) -> None:
    """Process a batch of stored deliveries one by one (the receiver coalesces publishes)."""
    from webhooks.services import processing

    for delivery_id in delivery_ids:
        try:
            processing.delivery_process(delivery_id=delivery_id)
        except Exception:  # one bad row must not strand the rest; the sweeper retries it
            logger.exception("webhook delivery %s could not be processed", delivery_id)


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
    """One integration's reconciliation poll."""
    from webhooks.services import reconcile

    reconcile.integration_reconcile(integration_id=integration_id)


@shared_task(ignore_result=True)
def reconcile_all() -> int:
    """Enqueue a reconciliation poll for every integration that has linked candidacies."""
    from webhooks.services import reconcile

    ids = reconcile.reconcile_due_integration_ids()
    for integration_id in ids:
        integration_reconcile.delay(integration_id)
    return len(ids)
