"""An admin turns the Karat interview on Lever's schedule on from the Settings page, and the
status page then reports the feature (waiting for its first panel, never "Working")."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from integrations.models import AtsIntegration, OutboundSettings
from karatlever.accounts.models import User
from tests.browser.conftest import LoginFunc

pytestmark = pytest.mark.browser


def test_an_admin_turns_the_interview_panels_on_from_settings(
    page: Page, login: LoginFunc, admin_user: User, integration: AtsIntegration
) -> None:
    login(admin_user)
    page.goto(f"/settings/ats-integrations/{integration.public_id}/settings/#interview-panels")
    section = page.locator("#interview-panels")
    expect(section.get_by_text("Off", exact=True)).to_be_visible()

    section.get_by_label("Put each scheduled Karat interview").check()
    section.get_by_role("button", name="Save").click()

    expect(page.locator("#interview-panels").get_by_text("On", exact=True)).to_be_visible()
    expect(page.get_by_text("will be put on Lever's schedule")).to_be_visible()
    assert OutboundSettings.objects.get(integration=integration).panels_enabled
