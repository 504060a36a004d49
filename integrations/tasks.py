"""Thin Celery tasks for integrations: take ids, call one service."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def api_key_validate(integration_id: int) -> str | None:
    """Check the integration's key (and any pending replacement) with Lever; see the service.

    Not auto-retried: "Lever unreachable" is itself a result the admin sees, with "Check again".
    """
    from integrations.services import keys  # imported here: keys imports this module

    status = keys.api_key_validate(integration_id=integration_id)
    if status is None:
        logger.info("key check skipped: integration %s no longer exists", integration_id)
    return status


@shared_task(ignore_result=True)
def api_key_checks_resume() -> int:
    """Periodic (beat, every 5 minutes): ask again for lost key checks; see the service."""
    from integrations.services import keys

    return keys.key_checks_stuck_resume()


# --- role matching: posting sync --------------------------------------------------------------


@shared_task(ignore_result=True)
def postings_sync(run_id: int) -> str | None:
    """Run one posting sync (a ``PostingSyncRun`` row); see the service.

    Not auto-retried: a failed run keeps its cursor and the next request continues it (the
    hourly schedule, or "Sync now")."""
    from integrations.services import postings

    status = postings.postings_sync_run(run_id=run_id)
    if status is None:
        logger.info("posting sync run %s skipped: gone or not queued", run_id)
    return status


@shared_task(ignore_result=True)
def postings_sync_due() -> int:
    """Periodic (beat, ``POSTINGS_SYNC_INTERVAL_SECONDS``): a sync for every working key."""
    from integrations.services import postings

    return postings.postings_sync_due()
