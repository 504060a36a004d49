"""Every answer carries X-Request-ID: the caller's when it is a safe short token, else a new
one; the request's log lines carry it, and the integration its URL names."""

from __future__ import annotations

import logging
import re
import uuid

import pytest
from django.test import Client

from integrations.models import AtsIntegration
from tests.factories import IntegrationFactory
from tests.observability.conftest import Records

pytestmark = pytest.mark.django_db

GENERATED = re.compile(r"[0-9a-f]{32}")


def test_a_safe_incoming_request_id_is_echoed(client: Client) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.2_b")

    assert response["X-Request-ID"] == "lb-7f3a.2_b"


@pytest.mark.parametrize(
    "unsafe",
    [
        "",
        "a" * 65,  # too long
        "has space",
        'quote"d',
        "semi;colon",
        "new\\nline",
        "-starts-with-dash",
        "<script>",
        "key=value",
        "ünïcode",
    ],
)
def test_an_unsafe_incoming_request_id_is_replaced(client: Client, unsafe: str) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID=unsafe)

    assert GENERATED.fullmatch(response["X-Request-ID"])


def test_each_request_without_one_gets_its_own(client: Client) -> None:
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]

    assert GENERATED.fullmatch(first)
    assert first != second


def test_error_answers_and_the_webhook_receiver_carry_it_too(client: Client) -> None:
    missing = client.get("/no-such-page/")
    receiver = client.post(
        f"/webhooks/lever/{uuid.uuid4()}/", data="{", content_type="application/json"
    )

    assert missing.status_code == 404
    assert GENERATED.fullmatch(missing["X-Request-ID"])
    assert receiver.status_code in (400, 404)
    assert GENERATED.fullmatch(receiver["X-Request-ID"])


def test_the_requests_log_lines_carry_its_id_and_integration(
    admin_client: Client, records: Records
) -> None:
    # Another organization's integration: 404, which Django logs after the view returned.
    other: AtsIntegration = IntegrationFactory()

    response = admin_client.get(
        f"/settings/ats-integrations/{other.public_id}/status/", HTTP_X_REQUEST_ID="req-404-check"
    )

    assert response.status_code == 404
    lines = [r for r in records.records if r.name == "django.request"]
    assert lines, "Django logs a 404"
    assert {getattr(r, "request_id", None) for r in lines} == {"req-404-check"}
    assert {getattr(r, "integration_id", None) for r in lines} == {str(other.public_id)}


def test_nothing_of_a_request_stays_on_lines_logged_after_it(
    client: Client, records: Records
) -> None:
    client.get("/healthz", HTTP_X_REQUEST_ID="req-over")
    logging.getLogger("tests.after").warning("later")

    (line,) = [r for r in records.records if r.name == "tests.after"]
    assert line.request_id is None  # type: ignore[attr-defined]
    assert line.log_context == ""  # type: ignore[attr-defined]
