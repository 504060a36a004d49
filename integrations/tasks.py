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


# --- Post candidacy updates (outbound) ---------------------------------------------------------


@shared_task(ignore_result=True)
def outbound_drain(integration_id: int) -> int:
    """Send the integration's due outbound updates for one time slice; see the service.

    Never auto-retried: every wait lives in the rows (next_attempt_at) and the sweeper
    publishes a drain for anything due.
    """
    from integrations.services import outbound

    return outbound.outbound_drain(integration_id=integration_id).sent


@shared_task(ignore_result=True)
def outbound_sweep() -> int:
    """Periodic (beat): free claims of killed workers, resume fixed queues, publish drains."""
    from integrations.services import outbound

    return len(outbound.outbound_sweep().published)
