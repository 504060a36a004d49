"""Per-integration request throttle for the webhook receiver: fixed window, fails open."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from webhooks import circuit

logger = logging.getLogger(__name__)


class IntegrationWebhookThrottle(SimpleRateThrottle):
    """``lever_webhook`` rate per integration id, so a flood on one cannot starve the others.

    A fixed-window counter (one ``add`` or ``incr`` per request) instead of DRF's timestamp
    history, whose cost grows with the rate. Any cache failure lets the request through and
    opens a circuit so the following requests skip the cache instead of waiting on it.
    """

    scope = "lever_webhook"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return f"throttle:{self.scope}:{view.kwargs.get('integration_id')}"

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None or circuit.throttle_cache.is_open():
            return True
        now = time.time()
        window = int(now // self.duration)
        key = f"{self.get_cache_key(request, view)}:{window}"
        try:
            count = 1 if cache.add(key, 1, timeout=self.duration + 1) else _incr(key)
        except Exception:  # the cache is optional here: never turn its failure into a 5xx
            logger.warning("webhook throttle cache unavailable; failing open", exc_info=True)
            circuit.throttle_cache.trip()
            return True
        if count > self.num_requests:
            self._wait = (window + 1) * self.duration - now
            return False
        return True

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


def _incr(key: str) -> Any:
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr(): this request opens a new window
        cache.add(key, 1, timeout=60)
        return 1
