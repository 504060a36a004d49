"""Publishing processing tasks for stored deliveries; a broker failure never reaches the caller."""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Sequence

logger = logging.getLogger(__name__)

# The receiver hands ids to one publisher thread per process, which publishes everything that
# arrived within this many seconds as one batch task: a publish costs more than the insert, and
# the answer never waits for (or on) the broker. Ids not yet published when the process dies,
# or when the broker fails, stay ``received`` in the database and the sweeper publishes them.
PUBLISH_INTERVAL = 0.05
# On a normal exit (a gunicorn worker restarting, a management command), wait this long for
# the thread to publish what it holds.
EXIT_WAIT = 5.0

pending: queue.Queue[int] = queue.Queue()
_started_in: int | None = None  # the pid whose publisher thread runs (none after a fork)
_start_lock = threading.Lock()


def delivery_enqueue(delivery_id: int) -> None:
    """Queue one stored delivery for publishing (call it after commit). Never raises or waits.

    ``pending.join()`` waits until every queued id has been published or given up on.
    """
    pending.put(delivery_id)
    global _started_in
    if _started_in != os.getpid():
        with _start_lock:
            if _started_in != os.getpid():
                threading.Thread(
                    target=_publish_forever, name="webhook-publisher", daemon=True
                ).start()
                _started_in = os.getpid()
                atexit.register(_wait_at_exit)


def _publish_forever() -> None:
    while True:
        ids = [pending.get()]
        time.sleep(PUBLISH_INTERVAL)  # let the ids of concurrent requests join this batch
        while True:
            try:
                ids.append(pending.get_nowait())
            except queue.Empty:
                break
        try:
            deliveries_publish(ids)
        finally:
            for _ in ids:
                pending.task_done()


def _wait_at_exit() -> None:
    waiter = threading.Thread(target=pending.join, daemon=True)
    waiter.start()
    waiter.join(EXIT_WAIT)


def deliveries_publish(delivery_ids: Sequence[int]) -> bool:
    """Publish one task for these ids now; False (logged, never raised) if the broker fails.

    The broker's connect and socket timeouts and the one publish retry (settings) bound how
    long a dead broker can hold this up.
    """
    from webhooks.tasks import delivery_process_many

    if not delivery_ids:
        return False
    try:
        delivery_process_many.apply_async((list(delivery_ids),))
    except Exception as exc:  # any broker failure: the rows are durable, the sweeper retries
        logger.warning(
            "could not enqueue %d webhook deliveries (%s); the sweeper will retry",
            len(delivery_ids),
            type(exc).__name__,
        )
        return False
    return True
