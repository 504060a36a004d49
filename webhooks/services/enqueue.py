"""Publishing processing tasks: after commit, coalesced into batches, never in the way of a request."""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Sequence

from webhooks import circuit

logger = logging.getLogger(__name__)

# Ids per published task: a tick's worth at a few hundred deliveries per second per process.
BATCH_MAX = 100
# Stored deliveries are published this long after the first one arrives, from a background
# thread, together with whatever arrived meanwhile. 0 publishes in the calling thread at once.
FLUSH_DELAY = 0.1

_pending: list[int] = []
_lock = threading.Lock()
_flush_scheduled = False


def delivery_enqueue(delivery_id: int) -> bool:
    """Queue one stored delivery for processing (call it after commit). Never raises.

    The request that stored it does not wait for the broker: a background thread publishes,
    once per FLUSH_DELAY tick, every id waiting at that moment, in batches of BATCH_MAX, so a
    burst costs one broker message per batch. A broker failure is logged and opens a circuit;
    the rows are durable and the sweeper enqueues them. Ids still waiting when the process
    exits are published at exit; a killed process leaves them to the sweeper.
    """
    global _flush_scheduled
    with _lock:
        _pending.append(delivery_id)
        if _flush_scheduled:
            return True
        _flush_scheduled = True
    if FLUSH_DELAY <= 0:
        return _flush()
    _flush_later()
    return True


def _flush_later() -> None:
    timer = threading.Timer(FLUSH_DELAY, _flush)
    timer.daemon = True
    timer.start()


def _flush() -> bool:
    """Publish what is waiting now; what arrives meanwhile waits for the next tick.

    Draining until the list stays empty would, under steady load, turn the thread into a
    continuous publisher of tiny batches (a publish takes about as long as a few requests),
    paying one broker message per handful of deliveries instead of one per tick.
    """
    global _flush_scheduled
    while True:
        with _lock:
            waiting = _pending[:]
            _pending.clear()
            if not waiting:
                _flush_scheduled = False
                return True
        for start in range(0, len(waiting), BATCH_MAX):
            if not deliveries_publish(waiting[start : start + BATCH_MAX]):
                with _lock:
                    # Broker down: drop the rest too, the sweeper has all of it.
                    _pending.clear()
                    _flush_scheduled = False
                return False
        if FLUSH_DELAY > 0:
            with _lock:
                if not _pending:
                    _flush_scheduled = False
                    return True
            _flush_later()  # stays scheduled: requests meanwhile only append
            return True


def deliveries_publish(delivery_ids: Sequence[int]) -> bool:
    """Publish one task for these ids now; False (logged, never raised) if the broker fails."""
    from webhooks.tasks import delivery_process_many

    if not delivery_ids or circuit.broker.is_open():
        return False
    try:
        delivery_process_many.apply_async((list(delivery_ids),))
    except Exception as exc:  # any broker failure: the sweeper re-enqueues the rows
        logger.warning(
            "could not enqueue %d webhook deliveries (%s); the sweeper will retry",
            len(delivery_ids),
            type(exc).__name__,
        )
        circuit.broker.trip()
        return False
    return True


def pending_clear() -> None:
    """Forget ids not yet published (tests; the rows themselves are safe in the database)."""
    global _flush_scheduled
    with _lock:
        _pending.clear()
        _flush_scheduled = False


@atexit.register
def _flush_at_exit() -> None:
    if _pending:
        _flush()
