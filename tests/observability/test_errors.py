"""Error tracking (Sentry SDK) is off unless SENTRY_DSN is set, and an event never carries a
secret: a canary API key, webhook secret, session cookie and API token put everywhere an
event can pick them up must not reach the transport."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from karatlever.observability.errors import sentry_options

ROOT = Path(__file__).resolve().parents[2]
CANARY_KEY = "canary-lever-key-4Yt2mPq8Zx"
CANARY_SECRET = "canary-webhook-secret-Lw93Hd"
CANARY_COOKIE = "canary-session-Qp02Ksl1"
CANARY_TOKEN = "kl_canaryApiToken8832xyz"
CANARIES = (
    CANARY_KEY,
    CANARY_SECRET,
    CANARY_COOKIE,
    CANARY_TOKEN,
    base64.b64encode(f"{CANARY_KEY}:".encode()).decode(),
)


class Captured(Transport):
    """Keeps each envelope's bytes instead of sending it."""

    sent: list[bytes] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        Captured.sent.append(envelope.serialize())


@pytest.fixture
def sentry() -> Iterator[list[bytes]]:
    Captured.sent = []
    options = sentry_options(dsn="https://public@sentry.invalid/1", environment="test")
    sentry_sdk.init(**options, transport=Captured)
    try:
        yield Captured.sent
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()  # no DSN: the SDK is off again for the rest of the run


def _fail_with_secrets_in_scope(api_key: str, webhook_secret: str) -> None:
    # Both secrets sit in local variables (never sent); the message quotes the auth header.
    headers = {"Authorization": f"Basic {base64.b64encode(f'{api_key}:'.encode()).decode()}"}
    signed = {"signature_token": webhook_secret}
    raise RuntimeError(f"Lever refused {headers['Authorization']} ({len(signed)} token)")


def _sent_text(sent: list[bytes]) -> str:
    sentry_sdk.flush()
    return b"\n".join(sent).decode(errors="replace")


def test_an_exception_event_carries_no_secret(sentry: list[bytes]) -> None:
    with sentry_sdk.new_scope() as scope:
        scope.set_extra("api_key", CANARY_KEY)
        scope.set_context("integration", {"webhook_secret": CANARY_SECRET, "region": "us"})
        sentry_sdk.add_breadcrumb(message=f"GET https://u:{CANARY_KEY}@api.lever.co/v1/users")
        try:
            _fail_with_secrets_in_scope(CANARY_KEY, CANARY_SECRET)
        except RuntimeError:
            sentry_sdk.capture_exception()

    text = _sent_text(sentry)
    assert "RuntimeError" in text  # the event did go out
    assert "_fail_with_secrets_in_scope" in text  # with its stack, minus local variables
    for canary in CANARIES:
        assert canary not in text


def test_a_request_event_carries_no_header_cookie_body_or_token(sentry: list[bytes]) -> None:
    # The shape Sentry's Django integration gives a request.
    sentry_sdk.capture_event(
        {
            "message": f"failed with Token {CANARY_TOKEN}",
            "level": "error",
            "request": {
                "url": "https://karat.example/settings/ats-integrations/x/settings/",
                "method": "POST",
                "query_string": f"api_key={CANARY_KEY}",
                "headers": {
                    "Authorization": f"Token {CANARY_TOKEN}",
                    "Cookie": f"sessionid={CANARY_COOKIE}",
                    "X-Csrftoken": CANARY_COOKIE,
                    "User-Agent": "pytest",
                },
                "cookies": {"sessionid": CANARY_COOKIE},
                "data": {"api_key": CANARY_KEY, "signature_token": CANARY_SECRET},
                "env": {"REMOTE_ADDR": "10.0.0.1"},
            },
            "extra": {"nested": [{"password": CANARY_SECRET}, f"Bearer {CANARY_TOKEN}"]},
        }
    )

    text = _sent_text(sentry)
    assert "pytest" in text  # harmless headers stay
    for canary in CANARIES:
        assert canary not in text


_PROBE = """
import django
django.setup()
import sentry_sdk
print("on" if sentry_sdk.get_client().is_active() else "off")
"""


@pytest.mark.parametrize(("dsn", "expected"), [("", "off"), ("https://k@sentry.invalid/1", "on")])
def test_the_sdk_starts_only_with_a_dsn(dsn: str, expected: str) -> None:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "karatlever.settings", "SENTRY_DSN": dsn}

    result = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.strip() == expected
