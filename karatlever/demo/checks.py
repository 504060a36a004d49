"""System check: a local run (DEBUG) has its secrets, from the environment or init_local."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


def _secret_key_missing() -> bool:
    try:
        return not settings.SECRET_KEY
    except ImproperlyConfigured:  # Django refuses to hand out an empty SECRET_KEY
        return True


@register()
def check_local_secrets(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if not settings.DEBUG:
        return []  # production: DJANGO_SECRET_KEY is required, integrations.E001 covers the keys
    missing = [
        name
        for name, is_missing in (
            ("DJANGO_SECRET_KEY", _secret_key_missing()),
            ("FIELD_ENCRYPTION_KEYS", not settings.FIELD_ENCRYPTION_KEYS),
        )
        if is_missing
    ]
    if not missing:
        return []
    return [
        Error(
            f"{' and '.join(missing)} not set, and no local secrets in {settings.VAR_DIR}.",
            hint="Run `python manage.py init_local` once (bin/run-local and `make run` do), "
            "or set the variables in the environment.",
            id="karatlever.E001",
        )
    ]
