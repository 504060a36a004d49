"""REST API throttles: each API token, and each user over all their tokens and their session,
may make a limited number of requests per window; past it the answer is 429 with Retry-After.

Counts live in the Django cache named by ``API_THROTTLE_CACHE`` (``default``: Redis in
production, so every web replica counts against the same numbers). DRF's cache throttles keep
a list of request times per key (a sliding window); two replicas answering the same client at
the same instant can each let one request more through, which is fine for a throttle. A cache
failure lets the request through (fails open, logged): the throttle protects, it is not a gate.
Unauthenticated requests are refused (401) before any throttle runs, so only callers with
credentials are counted. ``API_THROTTLE_TOKEN_RATE`` / ``API_THROTTLE_USER_RATE`` are read on
every request in DRF's syntax (``"120/min"``); empty turns that throttle off.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class _ApiRateThrottle(SimpleRateThrottle):
    """A ``SimpleRateThrottle`` whose rate and cache come from settings on each request (DRF's
    own classes read them once, at import), and that fails open when the cache is down."""

    rate_setting = ""

    def __init__(self) -> None:
        self.cache = caches[settings.API_THROTTLE_CACHE]
        super().__init__()

    def get_rate(self) -> str | None:
        rate: str = getattr(settings, self.rate_setting)
        return rate or None

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return bool(super().allow_request(request, view))
        except Exception as exc:  # the cache is optional here: never turn an outage into 500s
            logger.warning(
                "api throttle %s: cache unavailable (%s)", self.scope, type(exc).__name__
            )
            return True


class ApiTokenRateThrottle(_ApiRateThrottle):
    """Per API token (``Authorization: Token …``): ``API_THROTTLE_TOKEN_RATE``."""

    scope = "api_token"
    rate_setting = "API_THROTTLE_TOKEN_RATE"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token_id = getattr(request.auth, "pk", None)
        if token_id is None:
            return None  # a session, or no credentials: not a token's request
        # The token row's plain id: never the token, its digest or its prefix.
        return self.cache_format % {"scope": self.scope, "ident": token_id}


class ApiUserRateThrottle(_ApiRateThrottle):
    """Per user, over all their tokens and their signed-in session: ``API_THROTTLE_USER_RATE``."""

    scope = "api_user"
    rate_setting = "API_THROTTLE_USER_RATE"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        user = request.user
        if user is None or not user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}
