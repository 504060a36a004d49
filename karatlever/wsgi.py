"""WSGI entry point (gunicorn karatlever.wsgi): the console, and /webhooks/ on a lean stack."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "karatlever.settings")
_console = get_wsgi_application()  # also runs django.setup()

from karatlever.wsgi_routing import with_lean_webhooks  # noqa: E402 - needs the app registry

application = with_lean_webhooks(_console)
