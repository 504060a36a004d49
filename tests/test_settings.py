"""Settings: the embedded defaults are what docs/configuration.md says, and every variable is
documented."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = ROOT / "karatlever" / "settings.py"
# What a clean shell has; nothing that configures karatlever.
_PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")

_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.db import connection
from karatlever.celery import app

journal = None
if connection.vendor == "sqlite":
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal = cursor.fetchone()[0]
conf = app.conf
print(json.dumps({
    "debug": settings.DEBUG,
    "vendor": connection.vendor,
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "journal_mode": journal,
    "broker_url": settings.CELERY_BROKER_URL,
    "transport_options": settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    "cache_backend": settings.CACHES["default"]["BACKEND"],
    "cache_location": str(settings.CACHES["default"]["LOCATION"]),
    "var_dir": str(settings.VAR_DIR),
    "beat_schedule_filename": conf.beat_schedule_filename,
    "celery": {
        "accept_content": list(conf.accept_content),
        "task_serializer": conf.task_serializer,
        "result_serializer": conf.result_serializer,
        "task_acks_late": conf.task_acks_late,
        "task_reject_on_worker_lost": conf.task_reject_on_worker_lost,
        "worker_prefetch_multiplier": conf.worker_prefetch_multiplier,
        "task_soft_time_limit": conf.task_soft_time_limit,
        "task_time_limit": conf.task_time_limit,
        "task_ignore_result": conf.task_ignore_result,
        "broker_connection_timeout": conf.broker_connection_timeout,
    },
    "webhook_claim_timeout": settings.WEBHOOK_CLAIM_TIMEOUT_SECONDS,
    "email_backend": settings.EMAIL_BACKEND,
    "field_keys": len(settings.FIELD_ENCRYPTION_KEYS),
    "prepare_threshold": settings.DATABASES["default"].get("OPTIONS", {}).get(
        "prepare_threshold", "unset"
    ),
}))
"""


# Everything a process does before it does real work: settings, app registry, the Celery app.
_IMPORT_ONLY = """
import django
django.setup()
from django.conf import settings
from karatlever.celery import app

settings.DATABASES, settings.CACHES, settings.FIELD_ENCRYPTION_KEYS
app.conf.broker_transport_options, app.conf.beat_schedule_filename
"""

# The first publish on the file broker (kombu never makes its folders; nothing consumes it here).
_PUBLISH = """
from karatlever.celery import app
app.send_task("karatlever.tests.never_run")
"""


def clean_env(var_dir: Path, **env_overrides: str) -> dict[str, str]:
    """A clean shell's environment pointing at `var_dir` (plus `env_overrides`)."""
    env = {name: os.environ[name] for name in _PASSTHROUGH if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="karatlever.settings",
        KARATLEVER_VAR_DIR=str(var_dir),
        **env_overrides,
    )
    return env


def run_python(var_dir: Path, *argv: str, **env_overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, *argv],
        cwd=ROOT,
        env=clean_env(var_dir, **env_overrides),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def probe_settings(var_dir: Path, **env_overrides: str) -> dict[str, Any]:
    """Import the settings in a fresh process with a clean environment (plus `env_overrides`)."""
    result = run_python(var_dir, "-c", _PROBE, **env_overrides)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def init_local(var_dir: Path) -> str:
    result = run_python(var_dir, "manage.py", "init_local")
    assert result.returncode == 0, result.stderr
    return result.stdout


def _tree(path: Path) -> list[str]:
    return sorted(str(item.relative_to(path)) for item in path.rglob("*"))


@pytest.mark.parametrize("debug", ["1", "0"])
def test_importing_the_settings_creates_nothing(tmp_path: Path, debug: str) -> None:
    empty, missing = tmp_path / "empty", tmp_path / "missing"
    empty.mkdir()
    production = {"DJANGO_SECRET_KEY": "x" * 50} if debug == "0" else {}

    for var_dir in (empty, missing):
        result = run_python(var_dir, "-c", _IMPORT_ONLY, DJANGO_DEBUG=debug, **production)
        assert result.returncode == 0, result.stderr

    assert _tree(empty) == []
    assert not missing.exists()


def test_the_embedded_default_is_sqlite_in_wal_mode_under_var(tmp_path: Path) -> None:
    probed = probe_settings(tmp_path)

    assert probed["vendor"] == "sqlite"
    assert probed["db_name"] == str(tmp_path / "karatlever.sqlite3")
    assert probed["journal_mode"] == "wal"
    assert probed["debug"] is True
    assert probed["email_backend"] == "django.core.mail.backends.console.EmailBackend"


def test_the_embedded_broker_is_kombu_filesystem_with_folders_under_var(tmp_path: Path) -> None:
    probed = probe_settings(tmp_path)

    assert probed["broker_url"] == "filesystem://"
    options = probed["transport_options"]
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        assert Path(options[key]).is_relative_to(tmp_path / "broker"), key
    assert probed["cache_backend"].endswith("FileBasedCache")
    assert Path(probed["cache_location"]).is_relative_to(tmp_path)
    assert Path(probed["beat_schedule_filename"]).is_relative_to(tmp_path)


def test_the_file_broker_makes_its_folders_on_the_first_publish(tmp_path: Path) -> None:
    result = run_python(tmp_path, "-c", _PUBLISH)

    assert result.returncode == 0, result.stderr
    assert [path.suffix for path in (tmp_path / "broker" / "queue").iterdir()] == [".msg"]
    assert (tmp_path / "broker" / "control").is_dir()


def test_init_local_makes_the_folders_and_secrets_once_and_keeps_them(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    output = init_local(var_dir)
    key_file, secret_file = var_dir / "field-encryption-keys", var_dir / "django-secret-key"
    first = key_file.read_text(), secret_file.read_text()

    again = init_local(var_dir)
    probed = probe_settings(var_dir)

    assert f"created {key_file}" in output
    assert f"created {var_dir / 'broker' / 'queue'}" in output
    assert "is complete" in again
    assert (key_file.read_text(), secret_file.read_text()) == first
    for path in (key_file, secret_file):
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert probed["field_keys"] == 1
    for folder in ("queue", "processed", "control"):
        assert (var_dir / "broker" / folder).is_dir()


def test_a_local_run_without_secrets_is_a_system_check_error_naming_init_local(
    tmp_path: Path,
) -> None:
    before = run_python(tmp_path, "manage.py", "check")
    init_local(tmp_path)
    after = run_python(tmp_path, "manage.py", "check")

    assert before.returncode != 0
    assert "karatlever.E001" in before.stderr
    assert "manage.py init_local" in before.stderr
    assert after.returncode == 0, after.stderr


def test_production_init_local_makes_folders_but_never_secrets(tmp_path: Path) -> None:
    result = run_python(
        tmp_path,
        "manage.py",
        "init_local",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x" * 50,
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )

    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "django-secret-key").exists()
    assert not (tmp_path / "field-encryption-keys").exists()
    assert not (tmp_path / "broker").exists()


def test_celery_is_configured_for_safe_redelivery(tmp_path: Path) -> None:
    celery = probe_settings(tmp_path)["celery"]

    assert celery["accept_content"] == ["json"]
    assert celery["task_serializer"] == celery["result_serializer"] == "json"
    assert celery["task_acks_late"] is True
    assert celery["task_reject_on_worker_lost"] is True
    assert celery["worker_prefetch_multiplier"] == 1
    assert 0 < celery["task_soft_time_limit"] < celery["task_time_limit"]
    assert celery["task_ignore_result"] is True
    assert celery["broker_connection_timeout"] <= 1


def test_the_claim_timeout_defaults_to_twice_the_task_hard_time_limit(tmp_path: Path) -> None:
    # Issue #9: a SIGKILLed worker's claims waited 300 s; no live task holds one past the hard
    # time limit, so by default another worker may take them at twice that limit.
    default = probe_settings(tmp_path)
    longer_tasks = probe_settings(tmp_path, CELERY_TASK_TIME_LIMIT="200")
    explicit = probe_settings(tmp_path, WEBHOOK_CLAIM_TIMEOUT_SECONDS="120")

    assert default["celery"]["task_time_limit"] == 90
    assert default["webhook_claim_timeout"] == 180
    assert longer_tasks["webhook_claim_timeout"] == 400
    assert explicit["webhook_claim_timeout"] == 120


def test_a_claim_timeout_not_above_the_hard_time_limit_is_refused_in_production(
    tmp_path: Path,
) -> None:
    production = run_python(
        tmp_path,
        "-c",
        _IMPORT_ONLY,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x" * 50,
        WEBHOOK_CLAIM_TIMEOUT_SECONDS="90",
    )
    local = run_python(
        tmp_path, "-W", "always", "-c", _IMPORT_ONLY, WEBHOOK_CLAIM_TIMEOUT_SECONDS="2"
    )

    assert production.returncode != 0
    assert "ImproperlyConfigured" in production.stderr
    assert "must be greater than CELERY_TASK_TIME_LIMIT" in production.stderr
    # A local run only warns: a test may kill a worker and want its claim back in seconds.
    assert local.returncode == 0, local.stderr
    assert "must be greater than CELERY_TASK_TIME_LIMIT" in local.stderr


def test_postgresql_options_leave_statement_preparation_to_psycopg(tmp_path: Path) -> None:
    url = "postgres://karatlever@127.0.0.1:5432/karatlever"  # not connected to by the probe

    # No DATABASE_PREPARED_STATEMENTS any more: nothing in the project uses server-side binding.
    assert probe_settings(tmp_path, DATABASE_URL=url)["prepare_threshold"] == "unset"


def test_redis_broker_fails_fast_and_outlives_countdowns(tmp_path: Path) -> None:
    probed = probe_settings(
        tmp_path,
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        REDIS_URL="redis://127.0.0.1:6379/1",
    )

    options = probed["transport_options"]
    assert probed["broker_url"] == "redis://127.0.0.1:6379/0"
    assert options["socket_timeout"] <= 1
    assert options["socket_connect_timeout"] <= 1
    assert options["visibility_timeout"] >= 3600
    assert probed["cache_backend"] == "django.core.cache.backends.redis.RedisCache"
    assert not (tmp_path / "broker").exists()


def _env_names_read_by_settings() -> set[str]:
    source = SETTINGS_FILE.read_text()
    pattern = re.compile(
        r"""\benv(?:\.(?:str|bool|int|float|list|dict|json|db|url|path))?\(\s*["']([A-Z][A-Z0-9_]*)["']"""
    )
    return set(pattern.findall(source))


def test_the_settings_parser_finds_the_variables() -> None:
    names = _env_names_read_by_settings()

    assert {"DJANGO_DEBUG", "DATABASE_URL", "CELERY_BROKER_URL", "FIELD_ENCRYPTION_KEYS"} <= names


def test_every_environment_variable_is_in_the_configuration_doc_and_env_example() -> None:
    configuration = (ROOT / "docs" / "configuration.md").read_text()
    env_example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", env_example, flags=re.MULTILINE))
    in_table = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`", configuration, flags=re.MULTILINE))

    names = _env_names_read_by_settings()

    assert names - listed == set(), ".env.example is missing these"
    assert names - in_table == set(), "docs/configuration.md's table is missing these"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LEVER_WEBHOOK_READ_SHARE", "0", "LEVER_WEBHOOK_READ_SHARE must be more than 0"),
        ("LEVER_WEBHOOK_READ_SHARE", "1.5", "LEVER_WEBHOOK_READ_SHARE must be more than 0"),
        ("CELERY_BROKER_POLLING_INTERVAL", "0", "CELERY_BROKER_POLLING_INTERVAL must be more"),
    ],
)
def test_a_read_share_or_polling_interval_out_of_range_is_refused_at_start(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    result = run_python(tmp_path, "-c", _IMPORT_ONLY, **{name: value})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
