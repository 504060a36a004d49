"""Per-integration request throttle for the webhook receiver: fixed window, leased, fails open."""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from webhooks import circuit

logger = logging.getLogger(__name__)

# At most this many requests are taken from the shared counter at once (see _Lease).
LEASE_MAX = 200
LEASES_MAX = 10_000


class _Lease:
    """Requests this process may still let through in one window without asking the cache."""

    __slots__ = ("key", "left")

    def __init__(self, key: str, left: int) -> None:
        self.key = key
        self.left = left


_leases: dict[str, _Lease] = {}
_leases_lock = threading.Lock()


class IntegrationWebhookThrottle(SimpleRateThrottle):
    """``lever_webhook`` rate per integration id, so a flood on one cannot starve the others.

    A fixed-window counter in the shared cache. Each process takes a lease of up to 1% of the
    window's allowance (at most LEASE_MAX) with one ``incr`` and spends it locally, so the
    cache is asked once per lease instead of once per request; the limit is exact for small
    rates and off by at most one lease per process for large ones. Any cache failure lets the
    request through and opens a circuit, so the following requests skip the cache instead of
    waiting on it.
    """

    scope = "lever_webhook"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return f"throttle:{self.scope}:{view.kwargs.get('integration_id')}"

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None or circuit.throttle_cache.is_open():
            return True
        now = time.time()
        window = int(now // self.duration)
        base = self.get_cache_key(request, view)
        key = f"{base}:{window}"
        with _leases_lock:
            lease = _leases.get(base)
            if lease is not None and lease.key == key and lease.left > 0:
                lease.left -= 1
                return True
        size = max(1, min(LEASE_MAX, self.num_requests // 100))
        try:
            count = _take(key, size, timeout=self.duration + 1)
        except Exception:  # the cache is optional here: never turn its failure into a 5xx
            logger.warning("webhook throttle cache unavailable; failing open", exc_info=True)
            circuit.throttle_cache.trip()
            return True
        granted = min(size, self.num_requests - (count - size))
        if granted <= 0:
            self._wait = (window + 1) * self.duration - now
            return False
        with _leases_lock:
            if len(_leases) >= LEASES_MAX:
                _leases.clear()  # random integration ids (404s) must not grow memory forever
            _leases[base] = _Lease(key, granted - 1)
        return True

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


def _take(key: str, size: int, *, timeout: int) -> int:
    """Add ``size`` to the window's counter; the new total."""
    if cache.add(key, size, timeout=timeout):
        return size
    try:
        return int(cache.incr(key, size))
    except ValueError:  # expired between add() and incr(): this request opens a new window
        cache.add(key, size, timeout=timeout)
        return size
