"""Every console page, the admin login and the API docs under the Content-Security-Policy in
Chromium: nothing refused (a refusal is a console message), and the scripts still work."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import ConsoleMessage, Page, expect
from pytest_django.live_server_helper import LiveServer

from integrations.models import AtsIntegration
from karatlever.accounts.models import Group, User
from tests.browser.conftest import LoginFunc, login_as
from tests.test_csp import PUBLIC_PAGES, Cast, console_pages
from tests.webhooks.conftest import EXAMPLE_TOKENS, make_delivery, subscriptions_set

pytestmark = pytest.mark.browser
REFUSED = re.compile(r"Content Security Policy|Content-Security-Policy", re.IGNORECASE)


def _listen(page: Page) -> list[str]:
    """Collects console messages and page errors from now on."""
    messages: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        messages.append(f"{message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    return messages


def _visit(page: Page, url: str, messages: list[str]) -> list[str]:
    """Opens a page and returns the CSP refusals it caused."""
    start = len(messages)
    response = page.goto(url)
    assert response is not None
    assert response.headers.get("content-security-policy"), url
    page.wait_for_load_state("load")
    return [m for m in messages[start:] if REFUSED.search(m)]


@pytest.fixture
def cast(integration: AtsIntegration) -> Cast:
    subscriptions_set(integration, EXAMPLE_TOKENS)
    # One stored delivery, so the activity page and a delivery's page have rows to show.
    url = reverse("webhooks:receive", kwargs={"ats": "lever", "public_id": integration.public_id})
    Client().post(url, data=make_delivery(), content_type="application/json")
    return Cast(integration)


def test_no_console_page_is_refused_anything(
    page: Page, login: LoginFunc, admin_user: User, second_group: Group, cast: Cast
) -> None:
    messages = _listen(page)
    login(admin_user)
    refused: dict[str, list[str]] = {}

    pages = console_pages(cast)
    activity = pages["integration activity"]
    for name, url in pages.items():
        refused[name] = _visit(page, url, messages)
    # The delivery's own page, reached from the activity list.
    page.goto(activity)
    start = len(messages)
    page.locator("table tbody a").first.click()
    expect(page).to_have_url(re.compile(r"/activity/\d+/$"))
    page.wait_for_load_state("load")
    refused["delivery detail"] = [m for m in messages[start:] if REFUSED.search(m)]

    assert {name: r for name, r in refused.items() if r} == {}
    assert not [m for m in messages if m.startswith("pageerror")]


def test_no_public_page_is_refused_anything(page: Page) -> None:
    messages = _listen(page)

    refused = {name: _visit(page, url, messages) for name, url in PUBLIC_PAGES.items()}

    assert {name: r for name, r in refused.items() if r} == {}


def test_the_api_docs_render_from_our_own_files(
    page: Page, admin_user: User, live_server: LiveServer
) -> None:
    messages = _listen(page)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    login_as(page, admin_user)

    refused = _visit(page, "/api/docs/", messages)

    # Swagger UI ran (its scripts loaded) and drew the operations from our schema.
    expect(page.get_by_text("/api/v1/integrations/", exact=True).first).to_be_visible()
    expect(page.get_by_text("/api/v1/tokens/", exact=True).first).to_be_visible()
    # Try one operation: its request, response and highlighted JSON are drawn too.
    page.locator("#operations-tokens-tokens_list").get_by_role("button").first.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    expect(page.locator(".live-responses-table tbody .response-col_status").first).to_have_text(
        "200"
    )
    assert refused == []
    elsewhere = [
        url for url in requested if not url.startswith((f"{live_server.url}/", "data:", "blob:"))
    ]
    assert elsewhere == []
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/" in url for url in requested)
    assert not [m for m in messages if m.startswith("pageerror")]


def test_the_admin_pages_are_refused_nothing(page: Page) -> None:
    superuser = User.objects.create_superuser("ops@karat.test", "pw-not-used-in-tests")
    messages = _listen(page)
    page.goto("/admin/login/")
    page.get_by_label("Email").fill(superuser.email)
    page.get_by_label("Password").fill("pw-not-used-in-tests")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()

    refused = {
        url: _visit(page, url, messages)
        for url in ("/admin/", reverse("admin:accounts_apitoken_changelist"))
    }

    assert {url: r for url, r in refused.items() if r} == {}


def test_the_copy_button_and_the_group_picker_still_work(
    page: Page, login: LoginFunc, admin_user: User, second_group: Group, integration: AtsIntegration
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(admin_user)

    page.goto(reverse("integrations:detail", args=[integration.public_id]))
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == str(integration.public_id)

    page.goto(reverse("hiring:role-list"))
    page.get_by_label("Group").select_option(label="Data")
    expect(page).to_have_url(re.compile(rf"group={second_group.code}"))
