"""A process-local circuit breaker: after the broker fails, skip it for a while (fail open)."""

from __future__ import annotations

import time

from django.conf import settings


class Circuit:
    """Open for ``WEBHOOK_CIRCUIT_OPEN_SECONDS`` after a failure, closed again afterwards.

    Publishing runs after the receiver's commit, before its answer: while the broker is
    unreachable, one request per process pays the broker's connect timeout, not every request.
    The rows stay ``received`` and the sweeper publishes them.
    """

    def __init__(self) -> None:
        self._open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self) -> None:
        self._open_until = time.monotonic() + settings.WEBHOOK_CIRCUIT_OPEN_SECONDS

    def reset(self) -> None:
        self._open_until = 0.0


broker = Circuit()
