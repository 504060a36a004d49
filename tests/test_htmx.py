"""htmx requests that fail are visible (issue 19, item 12): a signed-out poll or form gets a
full-page redirect to the login page (``HX-Redirect``), never the login page swapped into a
fragment; a redirect answered to any htmx request is a full-page one; a failed CSRF check says
the form expired and what to do."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from integrations.models import AtsIntegration
from karatlever.accounts.models import User
from tests.routes import all_routes

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
PAGE = "/settings/ats-integrations/6f1c5a0e-0000-4000-8000-000000000000/status/?tab=1"
HTMX: dict[str, Any] = {
    "HTTP_HX_REQUEST": "true",
    "HTTP_HX_CURRENT_URL": f"http://testserver{PAGE}",
}
# The endpoints the console's pages call with htmx (grep hx-get / hx-post), by URL name.
HTMX_ENDPOINTS = [
    ("get", "integrations:status-live"),
    ("post", "integrations:status-refresh"),
    ("get", "invites:batch-progress"),
    ("get", "integrations:roles-sync-progress"),
    ("post", "integrations:roles-sync"),
    ("post", "integrations:roles-map"),  # Map / Create swap their row in place
    ("post", "integrations:roles-create"),
    ("post", "outbound:preview"),
    ("get", "hiring:candidate-detail"),  # the milestone select swaps in its fields
    ("get", "auto-invite:postings"),  # the posting filter's matches as the admin types
    ("get", "integrations:roles-choose"),  # a row's role search (many roles)
]


def _reverse(name: str) -> str:
    kwarg = "code" if name.startswith("hiring:") else "public_id"
    return reverse(name, kwargs={kwarg: uuid.uuid4()})


def _assert_full_page_login(response: Any, next_url: str) -> None:
    assert response.status_code in (200, 204)
    target = urlsplit(response["HX-Redirect"])
    assert target.path == reverse("accounts:login")
    assert parse_qs(target.query)["next"] == [next_url]
    assert b"Sign in" not in response.content


def test_the_list_of_htmx_endpoints_is_every_one_the_templates_call() -> None:
    called = set()
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        called |= set(re.findall(r"hx-(?:get|post)=\"\{% url '([\w:-]+)'", text))
    listed = {name for _, name in HTMX_ENDPOINTS}

    assert called  # the grep found them
    assert called <= listed


@pytest.mark.parametrize(("method", "name"), HTMX_ENDPOINTS)
def test_a_signed_out_htmx_request_is_sent_to_the_login_page_as_a_whole_page(
    method: str, name: str
) -> None:
    response = getattr(Client(), method)(_reverse(name), **HTMX)

    _assert_full_page_login(response, next_url=PAGE)


def _fill(route: str) -> str:
    def value(match: re.Match[str]) -> str:
        converter = match.group(1) or "str"
        return {"uuid": str(uuid.uuid4()), "int": "1"}.get(converter, "x")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


def test_every_console_route_answers_a_signed_out_htmx_request_with_a_full_page_redirect() -> None:
    login = reverse("accounts:login")
    wrong = []
    for route in all_routes():
        if route.startswith(("admin/", "webhooks/", "api/")):
            continue
        url = _fill(route)
        for method in ("get", "post"):
            plain = getattr(Client(), method)(url)
            if plain.status_code != 302 or not plain["Location"].startswith(login):
                continue  # public, or not for this method
            response = getattr(Client(), method)(url, **HTMX)
            if response.status_code >= 300 or not response.get("HX-Redirect", "").startswith(
                f"{login}?next="
            ):
                wrong.append(f"{method.upper()} {url} → {response.status_code}")

    assert wrong == []


def test_without_the_current_page_the_login_page_returns_to_the_requested_url() -> None:
    url = _reverse("integrations:status-live")

    response = Client().get(url, HTTP_HX_REQUEST="true")

    _assert_full_page_login(response, next_url=url)


def test_a_current_page_on_another_site_is_never_the_next_url() -> None:
    url = _reverse("integrations:status-live")

    response = Client().get(
        url, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="https://evil.example/phish"
    )

    _assert_full_page_login(response, next_url=url)


def test_a_redirect_answered_to_an_htmx_request_is_a_full_page_redirect(
    admin_client: Client, integration: AtsIntegration
) -> None:
    # "Sync now" on an integration without a valid key redirects back with a message: the
    # whole roles page must load, not be swapped into the progress bar.
    url = reverse("integrations:roles-sync", kwargs={"public_id": integration.public_id})

    response = admin_client.post(url, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse(
        "integrations:roles", kwargs={"public_id": integration.public_id}
    )
    assert response.content == b""
    assert "Content-Security-Policy" in response  # the headers of the redirect are kept


def test_an_htmx_post_with_an_expired_csrf_token_says_the_form_expired_and_what_to_do(
    admin_user: User, integration: AtsIntegration
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    client.get(reverse("integrations:status", kwargs={"public_id": integration.public_id}))
    url = reverse("integrations:status-refresh", kwargs={"public_id": integration.public_id})

    response = client.post(url, {"csrfmiddlewaretoken": "x" * 64}, **HTMX)

    assert response.status_code == 403
    text = response.content.decode()
    assert "This form has expired" in text
    assert "Reload the page" in text
    assert "nothing was saved" in text
