"""Limit rejected webhook requests per client, so junk never uses up anything signed deliveries need.

Signed deliveries are never throttled: Lever sends at the pace recruiters move candidates,
and a per-integration budget would let anyone who knows the URL spend it with unsigned junk.
Instead each client address may be rejected (bad signature, malformed, too large, …)
``WEBHOOK_REJECTED_RATE`` times per window; past that, until the window ends, its rejections
are answered 429 and nothing about them is written. The limit is consulted only once a request
has failed: the body cap and the signature check (an HMAC) come first, because the ATS sends
every customer's deliveries from a few shared addresses, and one sender's junk must never get
another's signed delivery refused. The count is shared through the Django cache; each process
also remembers the clients it found over the limit, so blocking costs no cache call.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_BLOCKED_MAX = 10_000


def rate_parse(rate: str) -> tuple[int, int]:
    """``"60/min"`` → (60, 60): requests and the window in seconds (DRF's rate syntax)."""
    number, _, period = rate.partition("/")
    return int(number), _PERIODS[period.strip()[:1].lower()]


class RejectionLimiter:
    """Per client address: rejections counted in the cache, blocked clients remembered here."""

    def __init__(self) -> None:
        self._blocked: dict[str, float] = {}
        self._lock = threading.Lock()

    def blocked_for(self, client: str) -> float:
        """Seconds this process still refuses ``client`` (0: not blocked)."""
        with self._lock:
            until = self._blocked.get(client, 0.0)
        return max(0.0, until - time.time())

    def rejected(self, client: str) -> float:
        """Count one rejection of ``client``; seconds to block it for (0 while under the limit).

        A cache failure counts nothing (fails open): limiting is protection, not a gate.
        """
        limit, window = rate_parse(settings.WEBHOOK_REJECTED_RATE)
        now = time.time()
        start = int(now // window) * window
        key = f"webhooks:rejected:{client}:{start}"
        try:
            count = 1 if cache.add(key, 1, window + 1) else cache.incr(key)
        except Exception as exc:  # the cache is optional here
            logger.warning("webhook rejection limit: cache unavailable (%s)", type(exc).__name__)
            return 0.0
        if count <= limit:
            return 0.0
        with self._lock:
            if len(self._blocked) >= _BLOCKED_MAX:
                self._blocked.clear()
            self._blocked[client] = start + window
        if count == limit + 1:
            logger.warning("webhook rejection limit reached by %s for %ss", client, window)
        return start + window - now

    def clear(self) -> None:
        with self._lock:
            self._blocked.clear()


limiter = RejectionLimiter()
