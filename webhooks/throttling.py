"""Per-integration request throttle for the webhook receiver: a fixed window that fails open."""

from __future__ import annotations

import logging
import threading
import time

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

logger = logging.getLogger(__name__)

# Each process takes its requests from the shared counter this many at a time (a 1/SHARES part
# of the rate, at least one): one cache round trip per part instead of per request. The sum
# never exceeds the rate; a process may hold an unused part while another is refused.
SHARES = 100


class _Allowance:
    """Requests this process may still admit, per integration, in the current window."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.window = -1
        self.left: dict[str, int] = {}

    def take(self, window: int, ident: str, granted: int = 0) -> bool:
        with self.lock:
            if window != self.window:
                self.window, self.left = window, {}
            left = self.left.get(ident, 0) + granted
            self.left[ident] = max(0, left - 1)
            return left > 0


class IntegrationWebhookThrottle(SimpleRateThrottle):
    """``lever_webhook`` rate per integration id, so a flood on one cannot starve the others.

    One counter per integration and window in the Django cache (``incr``, atomic on Redis)
    instead of DRF's default list of request times, which grows with the rate. A cache
    failure lets the request through: the throttle must never turn into a 5xx.
    """

    scope = "lever_webhook"
    # Set by SimpleRateThrottle.__init__ from the rate.
    num_requests: int
    duration: int
    allowance = _Allowance()

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": view.kwargs["integration_id"]}

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        ident = self.get_cache_key(request, view)
        if self.allowance.take(window, ident):
            return True
        part = max(1, self.num_requests // SHARES)
        key = f"{ident}:{window}"
        try:
            try:
                count = self.cache.incr(key, part)
            except ValueError:  # the window's first part (the key does not exist yet)
                added = self.cache.add(key, part, self.duration + 1)
                count = part if added else self.cache.incr(key, part)
        except Exception as exc:  # the cache is optional here
            logger.warning(
                "webhook throttle: cache unavailable (%s); let through", type(exc).__name__
            )
            return True
        granted = min(part, self.num_requests - (count - part))
        if self.allowance.take(window, ident, granted=max(0, granted)):
            return True
        self.retry_in = (window + 1) * self.duration - now
        return False

    def wait(self) -> float | None:
        return getattr(self, "retry_in", None)
