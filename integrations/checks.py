"""System checks for required integration settings (fail loudly, never fall back)."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, register


@register()
def check_field_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    keys = getattr(settings, "FIELD_ENCRYPTION_KEYS", [])
    if not keys:
        return [
            Error(
                "FIELD_ENCRYPTION_KEYS is not set.",
                hint="Set FIELD_ENCRYPTION_KEYS to a Fernet key: python -c "
                "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'",
                id="integrations.E001",
            )
        ]
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            errors.append(
                Error(
                    f"FIELD_ENCRYPTION_KEYS key #{position} is not a valid Fernet key.",
                    hint="Each key is 32 url-safe base64-encoded bytes (44 characters).",
                    id="integrations.E002",
                )
            )
    return errors
