"""Publishing processing tasks for stored deliveries; a broker failure never reaches the caller."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from webhooks import circuit

logger = logging.getLogger(__name__)


def delivery_enqueue(delivery_id: int) -> bool:
    """Publish the processing task of one stored delivery (call it after commit). Never raises.

    False when the broker failed: the row stays ``received`` and the sweeper publishes it.
    """
    return deliveries_publish([delivery_id])


def deliveries_publish(delivery_ids: Sequence[int]) -> bool:
    """Publish one task for these ids now; False (logged, never raised) if the broker fails.

    After a failure the broker is skipped for ``WEBHOOK_CIRCUIT_OPEN_SECONDS`` (see circuit).
    """
    from webhooks.tasks import delivery_process_many

    if not delivery_ids or circuit.broker.is_open():
        return False
    try:
        delivery_process_many.apply_async((list(delivery_ids),))
    except Exception as exc:  # any broker failure: the rows are durable, the sweeper retries
        logger.warning(
            "could not enqueue %d webhook deliveries (%s); the sweeper will retry",
            len(delivery_ids),
            type(exc).__name__,
        )
        circuit.broker.trip()
        return False
    return True
