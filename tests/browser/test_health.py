"""Issue #10, "Health that tells the truth", as a person sees it in Chromium: the overall status
names what is missing, waiting is not a problem, Lever's test deliveries show as the last
verified delivery, and an old key's rejection never outlives the key it was about."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from integrations import tasks
from integrations.lever.adapter import WebhookEvent
from integrations.lever.sandbox import DEMO_API_KEY, KARAT_PERMISSIONS, SandboxServer
from integrations.models import AtsIntegration, WebhookSubscription
from integrations.status import services as status
from karatlever.accounts.models import User
from tests.browser.conftest import LoginFunc, screenshot
from tests.integrations.conftest import API_KEY, set_key
from webhooks.services import setup

pytestmark = pytest.mark.browser

WAITING = "Ensure Lever roles match Karat roles is waiting for the first sync"


@pytest.fixture
def lever(settings: Any, live_server: LiveServer) -> Iterator[SandboxServer]:
    """The local Lever, as `make run` starts it; webhooks point at the live console."""
    with SandboxServer(port=0, rate_per_second=None, webhook_retry_base=0.2) as server:
        settings.LEVER_API_BASE_URL = server.api_url
        settings.PUBLIC_BASE_URL = live_server.url
        yield server


def _url(name: str, integration: AtsIntegration) -> str:
    return reverse(f"integrations:{name}", kwargs={"public_id": integration.public_id})


def _working_key(integration: AtsIntegration, admin_user: User, key: str = DEMO_API_KEY) -> None:
    set_key(integration, admin_user, key)
    tasks.api_key_validate(integration.pk)
    integration.refresh_from_db()
    assert integration.key_status == AtsIntegration.KeyStatus.VALID


def _overall(page: Page) -> Locator:
    return page.locator(".status-hero")


def _feature(page: Page, name: str) -> Locator:
    return page.locator("article.feature", has=page.get_by_role("heading", name=name))


def test_after_the_webhooks_are_registered_the_test_deliveries_show_and_it_is_active(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    integration: AtsIntegration,
    lever: SandboxServer,
) -> None:
    # given: what `make run` does: a valid key, then the three webhooks registered in Lever
    _working_key(integration, admin_user)
    result = setup.webhooks_register(integration=integration, actor=admin_user)
    assert sorted(result.created) == sorted(WebhookEvent.values)

    # when: Lever's test deliveries (one per saved webhook) have arrived
    assert lever.wait_for_deliveries(timeout=15)
    sent = lever.deliveries()
    assert len(sent) == len(WebhookEvent.values)  # the guide's three and Candidate Deleted
    assert all(d["body"]["data"] == {} and d["lastStatus"] == 200 for d in sent)
    login(admin_user)
    page.goto(_url("status", integration))

    # then: each event shows its last verified delivery and the feature works
    auto = _feature(page, "Auto state updating")
    expect(auto.locator(".feature-head .badge")).to_have_text("Working")
    expect(auto.locator("time")).to_have_count(3)
    expect(auto).not_to_contain_text("None yet")
    # and each webhook is registered in Lever (read back through its Webhooks API)
    expect(
        auto.locator(".feature-check", has_text="registered in Lever: Registered.")
    ).to_have_count(3)
    # ... and the integration is Active: the features that only wait say what they wait for
    expect(_overall(page).locator(".badge")).to_have_text("Active")
    expect(_overall(page)).to_contain_text(WAITING)
    invite = _feature(page, "Invite candidates using Lever URL")
    expect(invite.locator(".feature-head .badge")).to_have_text("Working")
    expect(page.get_by_text("Not available yet")).to_have_count(0)
    expect(_feature(page, "Automatic invites").locator(".feature-head .badge")).to_have_text("Off")
    expect(page.get_by_text("{#")).to_have_count(0)  # no template source leaks into the page
    screenshot(page, "health-status-active")

    # the list and the Overview say the same
    for name in ("list", "detail"):
        page.goto(reverse("integrations:list") if name == "list" else _url(name, integration))
        expect(page.locator(".badge", has_text="Active")).to_have_count(1)
        expect(page.get_by_text(WAITING)).to_be_visible()
        expect(page.get_by_text("Needs attention", exact=True)).to_have_count(0)


def test_an_integration_that_has_not_received_anything_yet_is_waiting_not_failing(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    integration: AtsIntegration,
    lever: Any,
    settings: Any,
) -> None:
    _working_key(integration, admin_user)
    # The webhooks are registered in Lever (tokens saved), but Karat's public URL is not
    # reachable from Lever yet, so not even the test deliveries arrive.
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    result = setup.webhooks_register(integration=integration, actor=admin_user)
    assert sorted(result.created) == sorted(WebhookEvent.values)
    login(admin_user)

    page.goto(_url("status", integration))

    auto = _feature(page, "Auto state updating")
    badge = auto.locator(".feature-head .badge")
    expect(badge).to_have_text("Waiting for the first delivery")
    expect(badge).to_have_class(re.compile(r"\bbadge-info\b"))
    expect(auto).to_contain_text("test delivery")
    expect(page.get_by_text("Needs attention", exact=True)).to_have_count(0)
    expect(page.locator(".badge-warn")).to_have_count(0)
    expect(_overall(page)).to_contain_text("Auto state updating is waiting for the first delivery")
    screenshot(page, "health-status-waiting")

    # A real problem still says what and how to fix it.
    WebhookSubscription.objects.filter(
        integration=integration, event=WebhookEvent.CANDIDATE_HIRED
    ).update(signature_token="", signature_token_last4="")
    WebhookSubscription.objects.filter(integration=integration).update(
        last_delivery_at=timezone.now() - timedelta(minutes=1)
    )
    status.integration_status_compute(integration_id=integration.pk)  # the background task
    page.reload()
    expect(_overall(page).locator(".badge")).to_have_text("Needs attention")
    hired = auto.locator(".feature-check", has_text="Candidate Hired: signature token")
    expect(hired).to_contain_text("Missing: Karat rejects these webhooks")
    expect(hired.locator(".badge")).to_have_text("Warning")
    expect(hired.get_by_role("link", name="Settings → Step 3: Webhooks")).to_be_visible()


def test_a_rejected_key_is_not_mentioned_once_a_valid_key_replaced_it_and_was_checked(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    integration: AtsIntegration,
    lever: SandboxServer,
) -> None:
    _working_key(integration, admin_user)
    key_b = lever.create_api_key(list(KARAT_PERMISSIONS), label="B")
    settings_url = _url("settings", integration)
    login(admin_user)

    def save(key: str) -> None:
        page.goto(settings_url)
        page.get_by_label("API Key").fill(key)
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Checking the key with Lever")
        tasks.api_key_validate(integration.pk)  # the background worker's part
        page.goto(settings_url + "?checking=1")  # the page's next refresh

    # key A: Lever rejects it, and the page says so
    save(API_KEY)
    expect(page.get_by_role("status")).to_contain_text(
        f"Lever rejected the new key ••••{API_KEY[-4:]}"
    )
    expect(page.get_by_role("heading", name=f"Rejected key ••••{API_KEY[-4:]}")).to_be_visible()

    # key B: valid; then "Check again"
    save(key_b)
    page.get_by_role("button", name="Check again").click()
    tasks.api_key_validate(integration.pk)
    page.goto(settings_url + "?checking=1")

    # then: nothing on the page is about A any more
    expect(page.get_by_role("status")).to_contain_text(f"Lever accepted the key ••••{key_b[-4:]}")
    expect(page.get_by_text(re.compile("rejected", re.I))).to_have_count(0)
    expect(page.get_by_text(f"••••{API_KEY[-4:]}")).to_have_count(0)
    expect(page.locator(".msg-error")).to_have_count(0)
    # and the key in use and its status are each said once
    card = page.locator("section", has=page.get_by_role("heading", name="Key check"))
    expect(card.get_by_text("Key in use", exact=True)).to_have_count(1)
    expect(page.locator(".badge", has_text=re.compile(r"^\s*Valid\s*$"))).to_have_count(1)
    expect(card).to_contain_text("Lever accepted the key and it has every permission")
    expect(page.get_by_text("{#")).to_have_count(0)
    screenshot(page, "health-settings-after-key-b")
