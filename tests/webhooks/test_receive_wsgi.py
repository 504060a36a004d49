"""Deliveries through the production WSGI entry point: one Django handler, one middleware list."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from integrations.models import AtsIntegration
from webhooks.models import WebhookDelivery

from .conftest import make_delivery

# Real requests through the handler: request_started/finished close connections as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def wsgi_request(
    method: str,
    path: str,
    body: bytes = b"",
    *,
    content_type: str = "application/json",
    host: str = "testserver",
    application: Any = None,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request through ``karatlever.wsgi.application`` (or ``application``)."""
    if application is None:
        from karatlever.wsgi import application
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"], answer["headers"] = int(status.split()[0]), headers

    chunks = application(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        chunks.close()
    return answer["status"], answer["headers"], content


def _receive_path(integration: AtsIntegration) -> str:
    return reverse("webhooks:receive", kwargs={"ats": "lever", "public_id": integration.public_id})


def _names(headers: list[tuple[str, str]]) -> set[str]:
    return {name.lower() for name, _ in headers}


def test_delivery_is_stored_through_the_project_middleware(
    webhook_integration: AtsIntegration,
) -> None:
    body = json.dumps(make_delivery()).encode()

    status, headers, content = wsgi_request("POST", _receive_path(webhook_integration), body)

    assert (status, json.loads(content)) == (200, {"status": "accepted"})
    assert WebhookDelivery.objects.filter(integration=webhook_integration).count() == 1
    names = _names(headers)
    assert "x-content-type-options" in names  # SecurityMiddleware
    assert "x-frame-options" in names  # XFrameOptionsMiddleware: the same stack as the console
    assert "set-cookie" not in names  # no session or CSRF cookie for a machine POST


def stamp_middleware(get_response: Any) -> Any:
    """A project middleware added after the fact: it must run on the receiver too."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response["X-Stamped"] = "yes"
        return response

    return middleware


def test_middleware_added_to_the_setting_runs_on_webhooks(
    webhook_integration: AtsIntegration, settings: Any
) -> None:
    from karatlever.wsgi import application

    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.stamp_middleware"]
    assert type(application) is WSGIHandler  # the plain handler: it reads MIDDLEWARE as is
    body = json.dumps(make_delivery()).encode()

    status, headers, _ = wsgi_request(
        "POST", _receive_path(webhook_integration), body, application=WSGIHandler()
    )

    assert status == 200
    assert ("X-Stamped", "yes") in headers


def test_console_pages_keep_the_full_stack() -> None:
    status, headers, _ = wsgi_request("GET", reverse("accounts:login"), content_type="")

    assert status == 200
    assert ("X-Frame-Options", "DENY") in headers
    assert any(name == "Set-Cookie" and "csrftoken=" in value for name, value in headers)


def test_webhook_route_still_checks_the_host_header(webhook_integration: AtsIntegration) -> None:
    body = json.dumps(make_delivery()).encode()

    status, _, _ = wsgi_request(
        "POST", _receive_path(webhook_integration), body, host="attacker.example"
    )

    assert status == 400
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        pytest.param(b"{not json", "application/json", (400, "malformed"), id="malformed"),
        pytest.param(None, "text/plain", (415, "unsupported_media_type"), id="content-type"),
        pytest.param(b"x" * (257 * 1024), "application/json", (413, "too_large"), id="too-large"),
    ],
)
def test_bad_deliveries_get_their_answers_through_wsgi(
    webhook_integration: AtsIntegration,
    body: bytes | None,
    content_type: str,
    expected: tuple[int, str],
) -> None:
    payload = body if body is not None else json.dumps(make_delivery()).encode()

    status, _, content = wsgi_request(
        "POST", _receive_path(webhook_integration), payload, content_type=content_type
    )

    assert (status, json.loads(content)["status"]) == expected
    assert not WebhookDelivery.objects.exists()


def test_forged_signature_and_unknown_integration_through_wsgi(
    webhook_integration: AtsIntegration,
) -> None:
    forged = make_delivery(signature_token="not-the-configured-token")
    unknown = "/webhooks/lever/00000000-0000-4000-8000-000000000000/"

    assert (
        wsgi_request("POST", _receive_path(webhook_integration), json.dumps(forged).encode())[0]
        == 401
    )
    assert wsgi_request("POST", unknown, json.dumps(make_delivery()).encode())[0] == 404
    assert wsgi_request("GET", _receive_path(webhook_integration))[0] == 405
    no_slash = _receive_path(webhook_integration).rstrip("/")
    assert wsgi_request("POST", no_slash, json.dumps(forged).encode())[0] == 401
    assert not WebhookDelivery.objects.exists()


JUNK_BODIES = [
    b"",
    b" ",
    b"\x00",
    b"\xff\xfe\xfd",
    b"x" * 100_000,
    b"[" * 5000,
    b'{"event": "candidateStageChange", "data": {"opportunityId": "\\ud800"}}',
    b'{"event": null, "token": {}, "triggeredAt": [], "signature": 1, "data": 2}',
    b'{"n": 1e999999}',
    "ﬁ𝔘𝔫𝔦𝔠𝔬𝔡𝔢".encode(),
]


def test_junk_through_wsgi_never_gives_a_server_error(
    webhook_integration: AtsIntegration,
) -> None:
    paths = [
        _receive_path(webhook_integration),
        _receive_path(webhook_integration).rstrip("/"),
        "/webhooks/lever/not-a-uuid/",
        "/webhooks/",
        "/webhooks/lever/../../admin/",
    ]
    failures = []
    for path in paths:
        for method in ("POST", "GET", "PUT", "DELETE", "OPTIONS"):
            for content_type in (
                "application/json",
                "text/plain",
                "",
                "application/json; charset=nope",
            ):
                for body in JUNK_BODIES:
                    status, _, _ = wsgi_request(method, path, body, content_type=content_type)
                    if status >= 500:
                        failures.append(
                            f"{method} {path} {content_type!r} {body[:20]!r} → {status}"
                        )

    assert failures == []
    assert not WebhookDelivery.objects.exists()
