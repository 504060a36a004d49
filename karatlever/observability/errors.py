"""The optional error-tracking hook: the Sentry SDK, initialised only when SENTRY_DSN is set.

What an event can carry is cut down at the source (no local variables, no request bodies, no
personal data), and ``event_scrubbed`` (the SDK's ``before_send``) removes the rest that could
hold a secret: the Authorization, Cookie, Set-Cookie and any *token*/*key*/*secret* header,
cookies, query strings, values of any key that names a secret (api_key, webhook secret,
signature tokens, passwords), Basic/Bearer/Token credentials and passwords in URLs inside any
string, and Fernet ciphertexts. Tests prove a canary secret never reaches the transport
(tests/observability/test_errors.py).
"""

from __future__ import annotations

import re
from typing import Any

# Keys whose values are dropped wherever they appear in an event (headers, extra, contexts,
# breadcrumbs' data, frame variables should any appear).
_SECRET_KEYS = re.compile(
    r"key|secret|token|password|passwd|authorization|cookie|signature|credential|dsn|session",
    re.I,
)
# Credentials written into text: "Basic …", "Bearer …", "Token …" (knox: kl_…).
_CREDENTIALS = re.compile(r"\b(Basic|Bearer|Token)\s+[A-Za-z0-9+/=._~-]+", re.I)
_KNOX_TOKEN = re.compile(r"\bkl_[A-Za-z0-9]{8,}")
FILTERED = "[Filtered]"


def _text_scrubbed(text: str) -> str:
    # Imported here: settings import this module before Django is set up.
    from karatlever.middleware import secrets_scrubbed

    text = _CREDENTIALS.sub(lambda m: f"{m[1]} {FILTERED}", text)
    text = _KNOX_TOKEN.sub(FILTERED, text)
    return secrets_scrubbed(text)


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return _text_scrubbed(value)
    if isinstance(value, dict):
        return {
            key: FILTERED if _SECRET_KEYS.search(str(key)) else _scrubbed(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrubbed(item) for item in value]
    return value


def event_scrubbed(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's ``before_send`` (and ``before_send_transaction``): the event without anything
    that could be a secret. Never raises on an odd shape; always returns the event (an error
    report with holes beats none)."""
    request = event.get("request")
    if isinstance(request, dict):
        # Bodies, cookies and query strings can all carry keys, tokens and session ids.
        for part in ("data", "cookies", "query_string", "env"):
            request.pop(part, None)
    for frame_list in _frame_lists(event):
        for frame in frame_list:
            if isinstance(frame, dict):
                frame.pop("vars", None)
    scrubbed: dict[str, Any] = _scrubbed(event)
    return scrubbed


def _frame_lists(event: dict[str, Any]) -> list[list[Any]]:
    found = []
    for section in ("exception", "threads"):
        container = event.get(section)
        values = container.get("values", []) if isinstance(container, dict) else []
        for item in values:
            stacktrace = item.get("stacktrace") if isinstance(item, dict) else None
            if isinstance(stacktrace, dict) and isinstance(stacktrace.get("frames"), list):
                found.append(stacktrace["frames"])
    return found


def sentry_options(*, dsn: str, environment: str) -> dict[str, Any]:
    """The keyword arguments for ``sentry_sdk.init`` (separate so tests use the same ones)."""
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    return {
        "dsn": dsn,
        "environment": environment,
        "integrations": [DjangoIntegration(), CeleryIntegration()],
        # Errors only: no performance tracing (its spans would carry URLs and SQL).
        "traces_sample_rate": 0.0,
        # send_default_pii stays at its default, off (no user ids, IPs or cookies).
        "include_local_variables": False,
        "max_request_body_size": "never",
        "before_send": event_scrubbed,
        "before_send_transaction": event_scrubbed,
    }


def sentry_init(*, dsn: str, environment: str) -> None:
    """Start the Sentry SDK for this process (web or worker); settings call it when SENTRY_DSN
    is set."""
    import sentry_sdk

    sentry_sdk.init(**sentry_options(dsn=dsn, environment=environment))
