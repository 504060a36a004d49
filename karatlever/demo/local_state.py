"""Local state for `make run` and the test suite: var/ folders and local secrets (init_local)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet
from django.conf import settings

from karatlever.celery import local_folders


def local_state_folders() -> list[Path]:
    """Every folder a local run writes into: var/, the SQLite database's, the broker's, beat's.

    And STATIC_ROOT: WhiteNoise warns about a missing one when DEBUG is off (as in tests).
    """
    folders = [Path(settings.VAR_DIR), Path(settings.STATIC_ROOT)]
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        for name in (database["NAME"], database.get("TEST", {}).get("NAME")):
            if name and str(name) != ":memory:":
                folders.append(Path(name).parent)
    return list(dict.fromkeys([*folders, *local_folders()]))  # in order, each once


def secret_write_once(path: Path, generate: Callable[[], str]) -> bool:
    """Write a new secret readable only by its owner, unless the file exists. True if written.

    O_EXCL makes two processes starting together agree on one secret.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w") as file:
        file.write(generate() + "\n")
    return True


def local_state_init(*, with_secrets: bool | None = None) -> list[Path]:
    """Create the local folders and, on local runs (DEBUG), the secrets; returns what was new.

    Idempotent: existing secrets are never replaced (the field keys decrypt stored API keys).
    Production (DEBUG off) gets folders only: its secrets come from the environment.
    `with_secrets` overrides DEBUG (the test suite, where Django turns DEBUG off).
    """
    created = [folder for folder in local_state_folders() if not folder.is_dir()]
    for folder in created:
        folder.mkdir(parents=True, exist_ok=True)
    if settings.DEBUG if with_secrets is None else with_secrets:
        generators: dict[Path, Callable[[], str]] = {
            Path(settings.LOCAL_SECRET_KEY_FILE): lambda: secrets.token_urlsafe(50),
            Path(settings.LOCAL_FIELD_ENCRYPTION_KEYS_FILE): lambda: Fernet.generate_key().decode(),
        }
        created += [
            path for path, generate in generators.items() if secret_write_once(path, generate)
        ]
    return created
