"""The integration's Settings page as an admin meets it (issue 20, item 7): in the setup guide's
order, each section reachable from an index at the top, Step 3 near the top rather than below
the long "Updates posted to Lever" form, its note templates folded away until opened, and stage
moves picked from Lever's own stages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.models import AtsIntegration, OutboundSettings
from karatlever.accounts.models import User
from tests.browser.conftest import LoginFunc, has_horizontal_overflow, screenshot
from tests.factories import CandidacyFactory, RoleFactory

pytestmark = pytest.mark.browser

# Playwright's default window: a laptop.
WIDTH, HEIGHT = 1280, 720


@pytest.fixture
def lever(settings: Any, live_server: LiveServer) -> Iterator[SandboxServer]:
    with SandboxServer(port=0, rate_per_second=None) as server:
        settings.LEVER_API_BASE_URL = server.api_url
        yield server


@pytest.fixture
def connected(integration: AtsIntegration, lever: SandboxServer) -> AtsIntegration:
    """The integration with the sandbox's demo key, checked and valid."""
    integration.api_key = DEMO_API_KEY
    integration.api_key_last4 = DEMO_API_KEY[-4:]
    integration.region = "us"
    integration.key_status = AtsIntegration.KeyStatus.VALID
    integration.save(update_fields=["api_key", "api_key_last4", "region", "key_status"])
    CandidacyFactory(role=RoleFactory(group=integration.group))  # offered to the preview
    return integration


def test_settings_follow_the_guide_with_an_index_and_long_forms_folded(
    page: Page, login: LoginFunc, admin_user: User, connected: AtsIntegration
) -> None:
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    login(admin_user)

    page.goto(f"/settings/ats-integrations/{connected.public_id}/settings/")

    # An index at the top links every section, in the guide's order (Step 3 right after the key).
    index = page.get_by_role("navigation", name="On this page")
    expect(index.get_by_role("link")).to_have_text(
        [
            "Integration Settings",
            "Key check",
            "Step 3: Webhooks",
            "Updates posted to Lever",
            "Automatic invite (optional)",
            "Attach a Lever link later (optional)",
            "Karat interview on Lever's schedule (optional)",
            "Hiring team from Lever (optional)",
            "Feedback form (optional)",
            "Deleted candidates",
        ]
    )
    for link in index.get_by_role("link").all():
        target = link.get_attribute("href")
        assert target is not None
        assert target.startswith("#")
        expect(page.locator(target)).to_have_count(1)

    # Step 3 is met without scrolling past the outbound form's templates.
    step3 = page.get_by_role("heading", name="Step 3: Webhooks")
    outbound = page.get_by_role("heading", name="Updates posted to Lever")
    step3_top = step3.evaluate("e => e.getBoundingClientRect().top + window.scrollY")
    assert step3_top < 1.5 * HEIGHT, step3_top
    assert step3_top < outbound.evaluate("e => e.getBoundingClientRect().top + window.scrollY")
    folded_height = page.evaluate("document.documentElement.scrollHeight")
    assert not has_horizontal_overflow(page)
    screenshot(page, "settings-wide")

    # The seven note templates are folded until opened.
    invited = page.get_by_label("Note for “Invited”")
    expect(invited).to_be_hidden()
    page.get_by_text("Note templates", exact=False).first.click()
    expect(invited).to_be_visible()
    # Folded, they spare the page about 1,400 px (each optional section is a short form).
    open_height = page.evaluate("document.documentElement.scrollHeight")
    assert open_height - folded_height > 1000, (folded_height, open_height)

    # The index's link takes you to the section.
    index.get_by_role("link", name="Step 3: Webhooks").click()
    expect(step3).to_be_in_viewport()

    # Stage moves: a Lever stage picked from Lever's own list, not typed.
    stage = page.get_by_label("Stage for “Strong yes”")
    expect(stage).to_be_hidden()
    page.get_by_text("Stage moves", exact=False).first.click()
    expect(stage).to_be_visible()
    expect(stage.locator("option", has_text="Offer")).to_have_count(1)
    stage.select_option(label="Offer")
    page.get_by_label("Move the Lever stage when results are ready (never archives)").check()
    page.get_by_role("button", name="Save update settings").click()

    expect(page.get_by_role("status")).to_contain_text("Saved")
    saved = OutboundSettings.objects.get(integration=connected)
    assert saved.stage_rules == {"strong_yes": {"stage_id": "offer", "stage_name": "Offer"}}
    assert saved.stage_moves_enabled
