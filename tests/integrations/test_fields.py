"""EncryptedTextField: round trip, fresh ciphertext per save, fail-closed, key rotation, checks."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks
from django.core.management import call_command
from django.db import connection

from integrations.fields import DecryptionError, EncryptedTextField, decrypt, encrypt
from integrations.models import AtsIntegration, WebhookSubscription
from karatlever.accounts.models import User
from tests.integrations.conftest import API_KEY, set_key

pytestmark = pytest.mark.django_db
SECRET = "the quick brown fox: ünïcödé & ✓"


def _raw(pk: int, column: str = "api_key") -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM integrations_atsintegration WHERE id = %s", [pk])  # noqa: S608 - fixed column names
        return cursor.fetchone()[0]


def test_a_secret_survives_the_round_trip(integration: AtsIntegration) -> None:
    integration.api_key = SECRET
    integration.save(update_fields=["api_key"])

    loaded = AtsIntegration.objects.get(pk=integration.pk)

    assert loaded.api_key == SECRET
    assert SECRET not in _raw(integration.pk)


def test_every_save_writes_fresh_ciphertext(integration: AtsIntegration) -> None:
    integration.api_key = API_KEY
    integration.save(update_fields=["api_key"])
    first = _raw(integration.pk)

    integration.save(update_fields=["api_key"])
    second = _raw(integration.pk)

    assert first != second
    assert decrypt(first) == decrypt(second) == API_KEY


def test_empty_means_not_set_and_is_stored_as_is(integration: AtsIntegration) -> None:
    assert _raw(integration.pk) == ""
    assert AtsIntegration.objects.get(pk=integration.pk).api_key == ""


def test_a_value_under_a_key_no_longer_configured_fails_closed(
    integration: AtsIntegration, settings: Any
) -> None:
    old = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    integration.api_key = API_KEY
    integration.save(update_fields=["api_key"])
    ciphertext = _raw(integration.pk)

    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(DecryptionError) as excinfo:
        AtsIntegration.objects.get(pk=integration.pk)
    # Never the ciphertext or the key in the error either.
    assert ciphertext not in str(excinfo.value)
    assert API_KEY not in str(excinfo.value)


@pytest.mark.parametrize(
    "tampered", ["gAAAAAnot-a-token", "plaintext-api-key", "gAAAA" + "x" * 100]
)
def test_a_tampered_or_plaintext_value_fails_closed(
    integration: AtsIntegration, tampered: str
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE integrations_atsintegration SET api_key = %s WHERE id = %s",
            [tampered, integration.pk],
        )

    with pytest.raises(DecryptionError):
        AtsIntegration.objects.get(pk=integration.pk)


def test_filtering_on_an_encrypted_field_is_refused() -> None:
    with pytest.raises(TypeError, match="does not support"):
        list(AtsIntegration.objects.filter(api_key=API_KEY))
    assert list(AtsIntegration.objects.filter(api_key__isnull=True)) == []


def test_rotate_encryption_keys_re_encrypts_everything_with_the_new_key(
    integration: AtsIntegration, admin_user: User, settings: Any
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    set_key(integration, admin_user, API_KEY)
    token = WebhookSubscription.objects.create(
        integration=integration, event="candidateHired", signature_token="sig-token-1234"
    )
    before = _raw(integration.pk)

    # 1. put the new key first, 2. run the command, 3. drop the old key
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    settings.FIELD_ENCRYPTION_KEYS = [new]

    after = _raw(integration.pk)
    assert after != before
    assert Fernet(new.encode()).decrypt(after.encode()).decode() == API_KEY
    assert AtsIntegration.objects.get(pk=integration.pk).api_key == API_KEY
    assert WebhookSubscription.objects.get(pk=token.pk).signature_token == "sig-token-1234"
    assert "integrations.AtsIntegration: re-encrypted 1 row(s)" in out.getvalue()


def test_the_first_key_encrypts_and_every_key_decrypts(settings: Any) -> None:
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [second]
    under_second = encrypt(SECRET)

    settings.FIELD_ENCRYPTION_KEYS = [first, second]

    assert decrypt(under_second) == SECRET
    assert Fernet(first.encode()).decrypt(encrypt(SECRET).encode()).decode() == SECRET


def test_the_field_deconstructs_for_migrations() -> None:
    _name, path, _args, kwargs = EncryptedTextField(blank=True).deconstruct()

    assert path == "integrations.fields.EncryptedTextField"
    assert kwargs == {"blank": True}


def _check_ids(settings: Any, keys: list[str]) -> set[str]:
    settings.FIELD_ENCRYPTION_KEYS = keys
    return {message.id for message in run_checks() if message.id}


def test_an_empty_key_list_is_system_check_error_e001(settings: Any) -> None:
    assert "integrations.E001" in _check_ids(settings, [])


@pytest.mark.parametrize("bad", ["not-a-fernet-key", "", "a" * 44])
def test_an_invalid_key_is_system_check_error_e002(settings: Any, bad: str) -> None:
    ids = _check_ids(settings, [Fernet.generate_key().decode(), bad])

    assert "integrations.E002" in ids
    assert "integrations.E001" not in ids


def test_valid_keys_pass_the_system_checks(settings: Any) -> None:
    ids = _check_ids(settings, [Fernet.generate_key().decode(), Fernet.generate_key().decode()])

    assert not {"integrations.E001", "integrations.E002"} & ids
