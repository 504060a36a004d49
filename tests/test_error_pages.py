"""Every error a person can meet has the console's page (DEBUG off, as in production): 400, 403,
404, 500 and a failed CSRF check. None is Django's debug page or its bare default."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, path
from pytest_django import Settings

from karatlever.urls import (  # noqa: F401 (the handlers: this module is the URLconf)
    handler400,
    handler403,
    handler404,
    handler500,
)
from karatlever.urls import urlpatterns as console_urlpatterns


def _bad_request(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("forged header")


def _denied(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


# This module is the URLconf of the tests below (@pytest.mark.urls): the console's routes plus
# three that fail on purpose; the error handlers are Django's, which render our templates.
urlpatterns: list[URLPattern | URLResolver] = [
    path("_test/bad-request/", _bad_request),
    path("_test/denied/", _denied),
    path("_test/boom/", _boom),
    path("api/_test/boom/", _boom),
    path("api/_test/denied/", _denied),
    path("api/_test/bad-request/", _bad_request),
    *console_urlpatterns,  # type: ignore[list-item]
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

# What every console error page shows: the console's header, a heading, and a way back.
CONSOLE_LOOK = ('class="topbar"', "css/console.css", "Go to the console home")
DJANGO_DEFAULTS = (
    "Using the URLconf",  # the debug 404 with the whole URL list
    "Traceback",
    "<h1>Not Found</h1>",
    "<h1>Bad Request (400)</h1>",
    "<h1>Server Error (500)</h1>",
    "CSRF verification failed",
    "<h1>403 Forbidden</h1>",
)


@pytest.fixture(autouse=True)
def _production(settings: Settings) -> None:
    settings.DEBUG = False


def _assert_console_page(response: Any, status: int, heading: str) -> str:
    assert response.status_code == status
    html = response.content.decode()
    for part in CONSOLE_LOOK:
        assert part in html, part
    assert heading in html
    for default in DJANGO_DEFAULTS:
        assert default not in html, default
    return html


@pytest.mark.parametrize(
    "url",
    [
        # The roles page of an integration that does not exist. It is one of the interfaces
        # that must stay stable: the console URLs /settings/ats-integrations/ and its
        # <id>/settings/, <id>/status/, <id>/roles/ and <id>/activity/, /candidates/ and
        # /candidates/invite/; POST /webhooks/lever/<integration id>/; the REST API under
        # /api/v1/ with its schema at /api/schema/; /healthz and /readyz; configuration by
        # environment variables only.
        "/settings/ats-integrations/00000000-0000-0000-0000-000000000000/roles/",
        "/no-such-page/",
    ],
)
def test_a_missing_page_is_the_console_404(admin_client: Client, url: str) -> None:
    html = _assert_console_page(admin_client.get(url), 404, "Page not found")
    assert "Check the address" in html
    # Signed in: the page keeps the console's navigation.
    assert 'aria-label="Main"' in html


def test_a_missing_page_is_the_console_404_when_signed_out(client: Client) -> None:
    _assert_console_page(client.get("/no-such-page/"), 404, "Page not found")


def test_permission_denied_is_the_console_403(admin_client: Client) -> None:
    html = _assert_console_page(admin_client.get("/_test/denied/"), 403, "have access")
    assert "ask an admin" in html


def test_a_bad_request_is_the_console_400(client: Client) -> None:
    html = _assert_console_page(client.get("/_test/bad-request/"), 400, "read that request")
    assert "Nothing was changed" in html


def test_a_disallowed_host_is_the_console_400(client: Client) -> None:
    response = client.get("/accounts/login/", HTTP_HOST="evil.example")
    _assert_console_page(response, 400, "read that request")


def test_a_server_error_is_the_console_500(admin_client: Client) -> None:
    admin_client.raise_request_exception = False
    html = _assert_console_page(admin_client.get("/_test/boom/"), 500, "Something went wrong")
    assert "Try again in a moment" in html
    assert "boom" not in html


def test_a_failed_csrf_check_is_the_console_page(admin_user: object) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "admin@acme.test", "password": "wrong"})
    html = _assert_console_page(response, 403, "This form has expired")
    assert "reload the page" in html
    # Django's reason ("CSRF cookie not set.") is for the log, never for the page.
    assert "CSRF cookie" not in html


# --- under /api/: JSON in the API's one error shape, never a page ------------------------------


def _assert_api_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body


@pytest.mark.parametrize(
    ("method", "url"),
    [
        # The id is not a UUID: no route matches, so Django (not DRF) answers.
        ("post", "/api/v1/candidacies/notauuid/events/"),
        ("get", "/api/v1/integrations/notauuid/"),
        ("get", "/api/v1/no-such-thing/"),
        ("get", "/api/nothing-here"),
    ],
)
def test_a_missing_api_path_is_a_json_404(admin_client: Client, method: str, url: str) -> None:
    response = getattr(admin_client, method)(url, content_type="application/json")

    _assert_api_error(response, 404, "not_found")


def test_a_missing_api_path_is_a_json_404_when_signed_out(client: Client) -> None:
    _assert_api_error(client.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_a_method_an_api_route_does_not_take_is_a_json_405(admin_client: Client) -> None:
    _assert_api_error(admin_client.delete("/api/v1/candidacies/"), 405, "method_not_allowed")


def test_a_server_error_under_the_api_is_json_and_says_nothing_of_it(admin_client: Client) -> None:
    admin_client.raise_request_exception = False

    body = _assert_api_error(admin_client.get("/api/_test/boom/"), 500, "server_error")

    assert "boom" not in str(body)


def test_denied_and_bad_requests_under_the_api_are_json(client: Client) -> None:
    _assert_api_error(client.get("/api/_test/denied/"), 403, "permission_denied")
    _assert_api_error(client.get("/api/_test/bad-request/"), 400, "bad_request")
