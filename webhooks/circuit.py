"""A process-local circuit breaker: after a dependency fails, skip it for a while (fail open)."""

from __future__ import annotations

import threading
import time

from django.conf import settings


class Circuit:
    """Open after a failure for ``WEBHOOK_CIRCUIT_OPEN_SECONDS``; closed again afterwards.

    Used around optional work in the webhook receiver (throttle cache, broker publish) so a
    dead Redis costs one slow request per process, not every request.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._open_until = 0.0
        self._lock = threading.Lock()

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self) -> None:
        with self._lock:
            self._open_until = time.monotonic() + settings.WEBHOOK_CIRCUIT_OPEN_SECONDS

    def reset(self) -> None:
        with self._lock:
            self._open_until = 0.0


throttle_cache = Circuit("throttle-cache")
broker = Circuit("broker")
