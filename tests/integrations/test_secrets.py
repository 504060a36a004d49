"""An API key, once saved, never shows up again in plaintext: not in pages, API output, the
admin, logs or the database column — neither as typed nor in its HTTP Basic-auth form."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from integrations import tasks
from integrations.lever.sandbox import KARAT_PERMISSIONS, SandboxServer
from integrations.models import AtsIntegration
from karatlever.accounts.models import User

pytestmark = pytest.mark.django_db


def _forms(key: str) -> list[str]:
    """The key as typed, its Basic-auth header value, and its longest prefix (minus the 4
    characters pages may show)."""
    return [key, base64.b64encode(f"{key}:".encode()).decode(), key[:-4]]


def _assert_absent(text: str, keys: list[str], where: str) -> None:
    for key in keys:
        for form in _forms(key):
            assert form not in text, f"a secret appeared in {where}"


@pytest.fixture
def saved(
    lever_sandbox: SandboxServer,
    admin_client: Client,
    integration: AtsIntegration,
    caplog: pytest.LogCaptureFixture,
) -> dict[str, Any]:
    """A working key saved and validated, then a replacement saved and left pending,
    all through the pages, with every log record captured at DEBUG."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")  # quiet by default; not in this test
    first = lever_sandbox.create_api_key(list(KARAT_PERMISSIONS), label="first")
    second = lever_sandbox.create_api_key(list(KARAT_PERMISSIONS), label="second")
    settings_url = reverse("integrations:settings", kwargs={"public_id": integration.public_id})
    responses = []

    responses.append(
        admin_client.post(settings_url, {"api_key": first, "ats_user_id": "", "region": "us"})
    )
    tasks.api_key_validate(integration.pk)
    responses.append(
        admin_client.post(settings_url, {"api_key": second, "ats_user_id": "", "region": "us"})
    )
    integration.refresh_from_db()
    assert integration.api_key == first
    assert integration.pending_api_key == second
    return {"keys": [first, second], "integration": integration, "responses": responses}


def test_no_page_shows_the_key(saved: dict[str, Any], admin_client: Client) -> None:
    integration = saved["integration"]
    pages = [
        reverse("integrations:list"),
        *(
            reverse(f"integrations:{name}", kwargs={"public_id": integration.public_id})
            for name in ("detail", "settings", "status", "delete")
        ),
        reverse("integrations:settings", kwargs={"public_id": integration.public_id})
        + "?checking=1",
    ]

    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200
        _assert_absent(response.content.decode(), saved["keys"], url)
    for response in saved["responses"]:
        _assert_absent(response.content.decode(), saved["keys"], "the save response")


def test_no_api_output_shows_the_key(saved: dict[str, Any], admin_client: Client) -> None:
    integration = saved["integration"]
    detail = f"/api/v1/integrations/{integration.public_id}/"

    outputs = [
        admin_client.get("/api/v1/integrations/"),
        admin_client.get(detail),
        admin_client.patch(detail, {"region": "us"}, content_type="application/json"),
    ]

    for response in outputs:
        assert response.status_code == 200
        _assert_absent(response.content.decode(), saved["keys"], response.request["PATH_INFO"])
    assert outputs[1].json()["api_key_last4"] == saved["keys"][0][-4:]


def test_the_admin_never_shows_the_key(saved: dict[str, Any]) -> None:
    staff = User.objects.create_superuser("ops@karat.test", "unused")
    client = Client()
    client.force_login(staff)
    integration = saved["integration"]

    for url in (
        reverse("admin:integrations_atsintegration_change", args=[integration.pk]),
        reverse("admin:integrations_atsintegration_changelist"),
        reverse("admin:integrations_auditentry_changelist"),
    ):
        response = client.get(url)
        assert response.status_code == 200
        _assert_absent(response.content.decode(), saved["keys"], url)


def test_no_log_record_holds_the_key(
    saved: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    # The promotion of the pending key logs and calls Lever too.
    tasks.api_key_validate(saved["integration"].pk)

    names = {r.name for r in caplog.records}
    assert "integrations.lever.client" in names  # the client's DEBUG request lines
    assert any(name.startswith("urllib3") for name in names)
    text = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    _assert_absent(text, saved["keys"], "the logs")


def test_the_database_column_holds_ciphertext_only(saved: dict[str, Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT api_key, pending_api_key, key_status FROM integrations_atsintegration"
        )
        rows = cursor.fetchall()
        cursor.execute("SELECT api_key_last4, checks, summary FROM integrations_keycheck")
        checks = cursor.fetchall()
        cursor.execute("SELECT summary, detail FROM integrations_auditentry")
        audit = cursor.fetchall()

    assert len(rows) == 1
    api_key, pending, _detail = rows[0]
    assert api_key.startswith("gAAAA")  # a Fernet token
    assert pending.startswith("gAAAA")
    assert checks  # the promotion's check is a row too
    raw = repr(rows) + repr(audit) + repr(checks)
    _assert_absent(raw, saved["keys"], "the database")


def test_reprs_and_errors_never_show_the_key(saved: dict[str, Any]) -> None:
    from integrations import ats
    from integrations.lever.adapter import client_for

    integration = saved["integration"]
    account = ats.account_for(integration)
    client = client_for(account, ats.WORKER)

    _assert_absent(repr(integration) + str(integration), saved["keys"], "the model repr")
    _assert_absent(repr(account), saved["keys"], "the ATS account")
    _assert_absent(repr(client) + repr(vars(client).get("_auth")), saved["keys"], "the client")


def test_no_formatted_log_line_holds_the_key_plain_or_json(
    saved: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """The same records through both console formats (LOG_FORMAT=plain and =json), context
    fields, extras and tracebacks included."""
    from django.conf import settings

    from karatlever.observability.context import LogContextFilter
    from karatlever.observability.logs import JsonFormatter

    tasks.api_key_validate(saved["integration"].pk)
    formats: dict[str, dict[str, str]] = settings.LOGGING["formatters"]  # type: ignore[assignment]
    plain = logging.Formatter(formats["plain"]["format"])
    as_json = JsonFormatter()
    context = LogContextFilter()
    lines = []
    for record in caplog.records:
        context.filter(record)
        lines += [plain.format(record), as_json.format(record)]

    assert len(lines) > 10
    _assert_absent("\n".join(lines), saved["keys"], "the formatted log lines")
