"""Liveness (/healthz) and readiness (/readyz: database and broker reachable, answered quickly)."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

# Every network probe gives up after this long, so /readyz never hangs a load balancer.
PROBE_TIMEOUT_SECONDS = 1.0
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]*@", re.IGNORECASE)

Check = dict[str, Any]


def _secrets_in_configuration() -> list[str]:
    """Passwords that appear in configured URLs: scrubbed from any error message we return."""
    found: list[str] = []
    for database in settings.DATABASES.values():
        if database.get("PASSWORD"):
            found.append(str(database["PASSWORD"]))
    for url in (settings.CELERY_BROKER_URL, getattr(settings, "REDIS_URL", "")):
        if url:
            parts = urlsplit(url)
            if parts.password:
                found.append(parts.password)
    return found


def _safe_error(exc: BaseException) -> str:
    """The exception's class and first line, without credentials (URLs or configured passwords)."""
    lines = str(exc).strip().splitlines()
    message = _URL_CREDENTIALS.sub(r"\g<scheme>***@", lines[0] if lines else "")
    for secret in _secrets_in_configuration():
        message = message.replace(secret, "***")
    return f"{type(exc).__name__}: {message}"[:300] if message else type(exc).__name__


def database_check(using: str = DEFAULT_DB_ALIAS) -> Check:
    """`SELECT 1` on the given connection (connect timeouts come from DATABASES OPTIONS)."""
    try:
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready"; the reason goes into the JSON
        logger.warning("readyz: database %s unreachable: %s", using, _safe_error(exc))
        return {"ok": False, "error": _safe_error(exc)}
    return {"ok": True}


def _filesystem_broker_check(options: dict[str, Any]) -> Check:
    folders = {
        str(folder)
        for folder in (options.get("data_folder_in"), options.get("data_folder_out"))
        if folder is not None
    }
    if not folders:
        return {"ok": False, "error": "filesystem broker has no data folder configured"}
    for folder in sorted(folders):
        problem = (
            "does not exist"
            if not Path(folder).is_dir()
            else "is not writable"
            if not os.access(folder, os.W_OK | os.X_OK)
            else ""
        )
        if problem:
            logger.warning("readyz: broker folder %s %s", folder, problem)
            return {"ok": False, "error": f"broker folder {folder} {problem}"}
    return {"ok": True}


def _redis_broker_check(url: str) -> Check:
    import redis

    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
        socket_timeout=PROBE_TIMEOUT_SECONDS,
        retry_on_timeout=False,
    )
    try:
        client.ping()
    finally:
        client.close()
    return {"ok": True}


def _kombu_broker_check(url: str, options: dict[str, Any]) -> Check:
    from kombu import Connection

    with Connection(
        url, connect_timeout=PROBE_TIMEOUT_SECONDS, transport_options=options
    ) as connection:
        connection.ensure_connection(
            max_retries=1,
            interval_start=0,
            interval_step=0,
            # celery-types annotates int; kombu only adds it to time() (a float is fine).
            timeout=PROBE_TIMEOUT_SECONDS,  # type: ignore[arg-type]
        )
    return {"ok": True}


def broker_check() -> Check:
    """Is the Celery broker usable? Folder checks for `filesystem://`, a 1-second probe otherwise."""
    url: str = settings.CELERY_BROKER_URL
    options: dict[str, Any] = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {})
    scheme = url.split("://", 1)[0].lower()
    try:
        if scheme == "filesystem":
            return _filesystem_broker_check(options)
        if scheme in {"redis", "rediss", "unix"}:
            return _redis_broker_check(url)
        return _kombu_broker_check(url, options)
    except Exception as exc:  # any failure means "not ready"; the reason goes into the JSON
        logger.warning("readyz: broker unreachable: %s", _safe_error(exc))
        return {"ok": False, "error": _safe_error(exc)}


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive; touches nothing else (a dead database must not restart the web)."""
    return HttpResponse("ok", content_type="text/plain")


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker both answer, 503 otherwise.

    The endpoint is public, so the answer only says which part failed; the reason (which can
    name hosts, users and databases) goes to the server log.
    """
    checks = {"database": database_check(), "broker": broker_check()}
    ready = all(check["ok"] for check in checks.values())
    public = {
        name: {"ok": True}
        if check["ok"]
        else {"ok": False, "error": f"{name} unreachable (details in the server log)"}
        for name, check in checks.items()
    }
    return JsonResponse(public, status=200 if ready else 503)


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
]
