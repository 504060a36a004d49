"""Issue #14 in Chromium: the status page of a healthy and of a failing integration (their
screenshots are docs/status-*.png, regenerated with ``KARATLEVER_UPDATE_DOCS=1``), and "Check
again" updating the page without a reload once the background recompute is done."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from integrations import tasks
from integrations.lever.adapter import WebhookEvent
from integrations.lever.sandbox import KARAT_PERMISSIONS, SandboxServer, demo_data
from integrations.models import AtsIntegration, IntegrationStatus
from integrations.status import services as status
from karatlever.accounts.models import User
from tests.browser.conftest import LoginFunc, docs_screenshot, screenshot
from tests.integrations.conftest import set_key
from webhooks.models import WebhookDelivery
from webhooks.services import setup

pytestmark = pytest.mark.browser


@pytest.fixture
def lever(settings: Any, live_server: LiveServer) -> Iterator[SandboxServer]:
    """The local Lever; its webhooks point at the live console."""
    with SandboxServer(port=0, rate_per_second=None, webhook_retry_base=0.2) as server:
        settings.LEVER_API_BASE_URL = server.api_url
        settings.PUBLIC_BASE_URL = live_server.url
        yield server


def _connected(
    integration: AtsIntegration, admin_user: User, lever: SandboxServer
) -> tuple[str, str]:
    """A key made for Karat (checked by Lever), an active acting user, the three webhooks
    registered and their test deliveries received. Returns (key id, acting user's name)."""
    key_id, key = lever.sandbox.create_key(
        label="Karat", permissions=[*KARAT_PERMISSIONS, "webhooks:read:admin"]
    )
    user = next(u for u in demo_data().users if u["deactivatedAt"] is None)
    integration.ats_user_id = user["id"]
    set_key(integration, admin_user, key)
    tasks.api_key_validate(integration.pk)
    integration.refresh_from_db()
    assert integration.key_status == AtsIntegration.KeyStatus.VALID
    result = setup.webhooks_register(integration=integration, actor=admin_user)
    assert sorted(result.created) == sorted(WebhookEvent.values)
    assert lever.wait_for_deliveries(timeout=15)
    return key_id, user["name"]


def _url(integration: AtsIntegration) -> str:
    return reverse("integrations:status", kwargs={"public_id": integration.public_id})


def _feature(page: Page, name: str) -> Locator:
    return page.locator("article.feature", has=page.get_by_role("heading", name=name))


def test_a_healthy_integration_shows_every_check_passing(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    integration: AtsIntegration,
    lever: SandboxServer,
) -> None:
    _, user_name = _connected(integration, admin_user, lever)
    status.integration_status_compute(integration_id=integration.pk)
    login(admin_user)

    page.goto(_url(integration))

    overall = page.get_by_role("region", name="Overall status")
    # Healthy: Active; the roles and the updates to Lever only wait for their first event.
    expect(overall.locator(".badge")).to_have_text("Active")
    expect(overall).to_contain_text(
        "Invite candidates using Lever URL and Auto state updating work"
    )
    expect(page.get_by_role("region", name="Basic information")).to_contain_text(user_name)
    for name in ("Invite candidates using Lever URL", "Auto state updating"):
        feature = _feature(page, name)
        expect(feature.locator(".feature-head .badge")).to_have_text("Working")
        expect(
            feature.locator(".feature-check .badge-bad, .feature-check .badge-warn")
        ).to_have_count(0)
    expect(_feature(page, "Auto state updating").locator(".feature-check time")).to_have_count(3)
    docs_screenshot(page, "status-healthy")


def test_a_failing_integration_names_each_failure_with_its_fix(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    integration: AtsIntegration,
    lever: SandboxServer,
) -> None:
    key_id, _ = _connected(integration, admin_user, lever)
    # Someone revoked the key in Lever, and deactivated the acting user.
    lever.sandbox.revoke_key(key_id)
    deactivated = next(u for u in demo_data().users if u["deactivatedAt"] is not None)
    AtsIntegration.objects.filter(pk=integration.pk).update(ats_user_id=deactivated["id"])
    status.integration_status_compute(integration_id=integration.pk)
    login(admin_user)

    page.goto(_url(integration))

    overall = page.get_by_role("region", name="Overall status")
    expect(overall.locator(".badge")).to_have_text("Not working")
    invite = _feature(page, "Invite candidates using Lever URL")
    expect(invite.locator(".feature-head .badge")).to_have_text("Not working")
    key_valid = invite.locator(".feature-check", has_text="API key valid")
    expect(key_valid.locator(".badge")).to_have_text("Failing")
    expect(key_valid).to_contain_text("Lever rejected the API key")
    expect(key_valid.get_by_role("link", name="Settings → API key")).to_be_visible()
    expect(page.get_by_role("region", name="Basic information")).to_contain_text("Can't tell")
    docs_screenshot(page, "status-failing")


def test_check_again_updates_the_page_without_a_reload(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    integration: AtsIntegration,
    lever: SandboxServer,
) -> None:
    key_id, _ = _connected(integration, admin_user, lever)
    status.integration_status_compute(integration_id=integration.pk)
    login(admin_user)
    page.goto(_url(integration))
    expect(page.locator(".status-hero .badge")).to_have_text("Active")
    page.evaluate("window.notReloaded = true")  # gone if the page reloads

    lever.sandbox.revoke_key(key_id)
    page.get_by_role("button", name="Check again").click()

    expect(page.get_by_role("status").filter(has_text="Checking again…")).to_be_visible()
    assert IntegrationStatus.objects.get(integration=integration).pending
    status.integration_status_compute(integration_id=integration.pk)  # the worker's part
    expect(page.locator(".status-hero .badge")).to_have_text("Not working")
    expect(page.get_by_text("Checking again…")).to_have_count(0)
    expect(page.get_by_role("button", name="Check again")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True


def test_the_last_24_hours_are_a_chart_with_the_numbers_for_screen_readers(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    integration: AtsIntegration,
    lever: SandboxServer,
) -> None:
    _connected(integration, admin_user, lever)  # Lever's test deliveries arrive now
    status.integration_status_compute(integration_id=integration.pk)
    received = WebhookDelivery.objects.filter(integration=integration).count()
    login(admin_user)

    page.goto(_url(integration))

    chart = page.get_by_role("region", name="Last 24 hours")
    expect(chart.locator("svg.activity-chart")).to_be_visible()
    bars = chart.locator("rect.activity-received")
    expect(bars.first).to_be_visible()
    # The busiest hour is drawn at the chart's full height, not as a sliver.
    box = bars.first.bounding_box()
    assert box is not None
    assert box["height"] > 20
    expect(chart.locator("figcaption")).to_contain_text(f"Webhook deliveries received: {received}")
    table = chart.get_by_role("table", name="Last 24 hours, per hour (UTC)")
    expect(table.locator("tbody tr")).to_have_count(24)
    screenshot(page, "status-last-24-hours")  # the same page as status-healthy: not for docs/
