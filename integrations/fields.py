"""EncryptedTextField: secrets at rest with MultiFernet over settings.FIELD_ENCRYPTION_KEYS.

The first key encrypts, every key decrypts, so keys can be rotated
(`manage.py rotate_encryption_keys`). It fails closed: a value that cannot be decrypted raises
`DecryptionError`; it never returns ciphertext or an empty string in its place. Like every
encrypted field, it cannot be filtered, ordered or indexed on. An empty string is stored as-is
and means "not set".
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.views.decorators.debug import sensitive_variables


class DecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


# Plaintext secrets and the encryption keys themselves never show in an error report's local
# variables (these functions' nor their callees', cryptography's included).
@lru_cache(maxsize=8)
@sensitive_variables()
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is empty: set it to one or more comma-separated Fernet keys."
        )
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS holds an invalid Fernet key.") from exc


def fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


@sensitive_variables()
def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


@sensitive_variables()
def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "A stored secret could not be decrypted with any key in FIELD_ENCRYPTION_KEYS."
        ) from exc


class EncryptedTextField(models.TextField[str, str]):
    description = "Text encrypted at rest with MultiFernet"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    @sensitive_variables()
    def get_prep_value(self, value: Any) -> str | None:
        prepared = super().get_prep_value(value)
        if prepared is None:
            return None
        text = str(prepared)
        return text if text == "" else encrypt(text)

    def get_lookup(self, lookup_name: str) -> Any:
        # Ciphertext differs every time, so lookups could only ever be wrong. Only isnull works.
        if lookup_name not in {"isnull"}:
            raise TypeError(f"EncryptedTextField does not support the '{lookup_name}' lookup.")
        return super().get_lookup(lookup_name)
