"""Per-integration request throttle for the webhook receiver: a fixed window that fails open."""

from __future__ import annotations

import logging
import time

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

logger = logging.getLogger(__name__)


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

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": view.kwargs["integration_id"]}

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        key = f"{self.get_cache_key(request, view)}:{window}"
        try:
            try:
                count = self.cache.incr(key)
            except ValueError:  # the window's first request (the key does not exist yet)
                count = 1 if self.cache.add(key, 1, self.duration + 1) else self.cache.incr(key)
        except Exception as exc:  # the cache is optional here
            logger.warning(
                "webhook throttle: cache unavailable (%s); let through", type(exc).__name__
            )
            return True
        if count <= self.num_requests:
            return True
        self.retry_in = (window + 1) * self.duration - now
        return False

    def wait(self) -> float | None:
        return getattr(self, "retry_in", None)
