"""WSGI routing: Lever's deliveries through a lean middleware stack, the console through its own.

Django applies one middleware list to every request. The console needs all of it (sessions,
CSRF, authentication, messages, clickjacking protection, django-axes, static files); a signed
machine-to-machine POST from Lever needs none of that, and on the busiest route the rest of the
stack costs about an eighth of a delivery's CPU (bench/README.md, "Webhook intake"). Requests
under WEBHOOK_PATH_PREFIX therefore go to a second Django handler — same settings, URLconf,
views and error handling — built with WEBHOOK_MIDDLEWARE only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

WEBHOOK_PATH_PREFIX = "/webhooks/"
# HTTPS redirect, HSTS and nosniff (SecurityMiddleware); Host validation against ALLOWED_HOSTS
# and DISALLOWED_USER_AGENTS (CommonMiddleware), as on every other route.
WEBHOOK_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class LeanWSGIHandler(WSGIHandler):
    """Django's WSGI handler with its own middleware list instead of ``settings.MIDDLEWARE``."""

    def __init__(self, middleware: Sequence[str]) -> None:
        self._middleware_paths = list(middleware)
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler.load_middleware reads settings.MIDDLEWARE and nothing else; swap the list
        # in for the build only. This runs once, while the WSGI module is imported.
        console_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = self._middleware_paths
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = console_middleware


class PathRoutedApplication:
    """Requests whose path starts with ``prefix`` go to ``routed``; all others to ``default``."""

    def __init__(self, default: WSGIApp, *, prefix: str, routed: WSGIApp) -> None:
        self.default = default
        self.prefix = prefix
        self.routed = routed

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(self.prefix):
            return self.routed(environ, start_response)
        return self.default(environ, start_response)


def with_lean_webhooks(console: WSGIApp) -> PathRoutedApplication:
    """The console application, with /webhooks/ served by a lean handler (call after setup)."""
    return PathRoutedApplication(
        console, prefix=WEBHOOK_PATH_PREFIX, routed=LeanWSGIHandler(WEBHOOK_MIDDLEWARE)
    )
