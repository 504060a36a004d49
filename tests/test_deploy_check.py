"""`manage.py check --deploy` is clean with the documented production variables, and loud without."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
# Variables a production run sets; anything else is dropped so the developer's env can't leak in.
_PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "DATABASE_URL", "SYSTEMROOT")


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {name: os.environ[name] for name in _PASSTHROUGH if name in os.environ}
    env.update(
        {
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_ALLOWED_HOSTS": "karat.example.com",
            "DJANGO_CSRF_TRUSTED_ORIGINS": "https://karat.example.com",
            "PUBLIC_BASE_URL": "https://karat.example.com",
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "KARATLEVER_VAR_DIR": str(tmp_path / "var"),
        }
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_variables_pass_check_deploy(tmp_path: Path) -> None:
    result = check_deploy(production_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_missing_field_encryption_keys_is_a_system_check_error(tmp_path: Path) -> None:
    result = check_deploy(production_env(tmp_path, FIELD_ENCRYPTION_KEYS=None))

    assert result.returncode != 0
    assert "integrations.E001" in result.stderr
    # Production never invents keys into var/ when they are missing.
    assert not (tmp_path / "var" / "field-encryption-keys").exists()


def test_an_invalid_field_encryption_key_is_a_system_check_error(tmp_path: Path) -> None:
    good = Fernet.generate_key().decode()
    result = check_deploy(production_env(tmp_path, FIELD_ENCRYPTION_KEYS=f"{good},not-a-key"))

    assert result.returncode != 0
    assert "integrations.E002" in result.stderr
    assert "not-a-key" not in result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    result = check_deploy(production_env(tmp_path, DJANGO_SECRET_KEY=None))

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert not (tmp_path / "var" / "django-secret-key").exists()


@pytest.mark.parametrize(
    ("overrides", "warning"),
    [
        ({"DJANGO_SECRET_KEY": "too-short"}, "security.W009"),
        ({"DJANGO_SECURE_SSL_REDIRECT": "0"}, "security.W008"),
        ({"DJANGO_SECURE_HSTS_SECONDS": "0"}, "security.W004"),
    ],
)
def test_weakening_a_production_setting_fails_check_deploy(
    tmp_path: Path, overrides: dict[str, str], warning: str
) -> None:
    result = check_deploy(production_env(tmp_path, **overrides))

    assert result.returncode != 0
    assert warning in result.stderr


# docker-compose.yml: there is no Docker engine (or compose v2) in CI, so the file's structure is
# checked here; `docker-compose config -q` (v1.29) also accepts it when a .env file exists.


def _compose() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_the_production_shape() -> None:
    services = _compose()["services"]

    workers = {"worker-urgent", "worker-outbound", "worker-background"}
    assert set(services) == {"postgres", "redis", "web", *workers, "beat"}
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    web_command = " ".join(services["web"]["command"])
    assert "manage.py migrate --noinput" in web_command
    assert "manage.py collectstatic --noinput" in web_command
    assert "gunicorn karatlever.wsgi" in web_command
    # One worker per queue, and every queue has its worker.
    for name in workers:
        queue = name.removeprefix("worker-")
        command = services[name]["command"]
        assert command[:4] == ["celery", "-A", "karatlever", "worker"]
        assert command[command.index("-Q") + 1] == queue
    assert {queue.name for queue in settings.CELERY_TASK_QUEUES} == {
        name.removeprefix("worker-") for name in workers
    }
    assert services["beat"]["command"][:4] == ["celery", "-A", "karatlever", "beat"]
    assert services["beat"]["deploy"]["replicas"] == 1
    assert "pgdata" in _compose()["volumes"]
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]


def test_compose_app_services_use_production_values() -> None:
    services = _compose()["services"]

    for name in ("web", "worker-urgent", "worker-outbound", "worker-background", "beat"):
        environment = services[name]["environment"]
        assert environment["DJANGO_DEBUG"] == "0", name
        assert environment["DATABASE_URL"].startswith("postgres://"), name
        assert environment["DATABASE_URL"].endswith("@postgres:5432/karatlever"), name
        assert environment["CELERY_BROKER_URL"] == "redis://redis:6379/0", name
        assert environment["REDIS_URL"] == "redis://redis:6379/1", name
        assert services[name]["env_file"] == ".env", name


def test_compose_health_checks_and_start_order() -> None:
    services = _compose()["services"]

    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            assert "healthcheck" in services[dependency], (name, dependency)
            assert condition == {"condition": "service_healthy"}, (name, dependency)


def test_the_image_runs_as_an_unprivileged_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "\nFROM python:3.11.7-slim-bookworm\n" in dockerfile
    assert "\nUSER karat\n" in dockerfile
    assert "KARATLEVER_VAR_DIR=/app/var" in dockerfile
    assert ".env" in (ROOT / ".dockerignore").read_text().split()
