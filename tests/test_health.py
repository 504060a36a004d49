"""Liveness and readiness endpoints: fast, anonymous, honest about dead dependencies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend
from django.test import Client
from pytest_django import Settings

# A password that must never show up in a readiness answer.
LEAKY_PASSWORD = "s3cret-hunter2"


@pytest.fixture
def unreachable_database() -> Iterator[BaseDatabaseWrapper]:
    """Swap the request thread's default connection for a real PostgreSQL one on a dead port."""
    config = connections.configure_settings(
        {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "karatlever",
                "USER": "karat",
                "PASSWORD": LEAKY_PASSWORD,
                "HOST": "127.0.0.1",
                "PORT": "1",
                "OPTIONS": {"connect_timeout": 2},
            }
        }
    )["default"]
    dead = load_backend(config["ENGINE"]).DatabaseWrapper(config, "default")
    original = connections["default"]
    connections["default"] = dead
    yield dead
    dead.close()
    connections["default"] = original


def test_healthz_answers_ok_without_login_or_database(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok"


@pytest.mark.django_db
def test_readyz_is_200_on_the_embedded_default(client: Client) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"database": {"ok": True}, "broker": {"ok": True}}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_503_quickly_when_the_broker_is_dead(client: Client, settings: Settings) -> None:
    settings.CELERY_BROKER_URL = f"redis://karat:{LEAKY_PASSWORD}@127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    body = response.json()
    assert body["database"] == {"ok": True}
    assert body["broker"]["ok"] is False
    assert body["broker"]["error"]
    assert LEAKY_PASSWORD not in response.content.decode()
    assert elapsed < 3


@pytest.mark.django_db
def test_readyz_is_503_when_the_filesystem_broker_folder_is_missing(
    client: Client, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path / "gone"),
        "data_folder_out": str(tmp_path / "gone"),
    }

    response = client.get("/readyz")

    assert response.status_code == 503
    # The public answer names the part; the reason (a local path) is only in the log.
    assert response.json()["broker"] == {
        "ok": False,
        "error": "broker unreachable (details in the server log)",
    }
    assert str(tmp_path) not in response.content.decode()
    assert f"broker folder {tmp_path / 'gone'} does not exist" in caplog.text


@pytest.mark.django_db
def test_readyz_is_503_quickly_when_the_database_is_unreachable(
    client: Client, unreachable_database: BaseDatabaseWrapper, caplog: pytest.LogCaptureFixture
) -> None:
    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"] is False
    assert body["database"]["error"] == "database unreachable (details in the server log)"
    assert "127.0.0.1" not in response.content.decode()  # hosts and users stay in the log
    assert "OperationalError" in caplog.text
    assert body["broker"] == {"ok": True}
    assert LEAKY_PASSWORD not in response.content.decode()
    assert elapsed < 3


def test_health_endpoints_are_exempt_from_the_ssl_redirect(
    client: Client, settings: Settings
) -> None:
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


def test_readyz_refuses_writes(client: Client) -> None:
    assert client.post("/readyz").status_code == 405
