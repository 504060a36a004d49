"""An admin previews the Lever feedback form on the Settings page and turns it on."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from integrations.models import AtsIntegration, FeedbackSettings
from karatlever.accounts.models import User
from tests.browser.conftest import LoginFunc, screenshot

pytestmark = pytest.mark.browser


def test_an_admin_previews_the_form_and_turns_it_on(
    page: Page, login: LoginFunc, admin_user: User, integration: AtsIntegration
) -> None:
    integration.ats_user_id = "11111111-1111-4111-8111-111111111111"
    integration.save(update_fields=["ats_user_id"])
    login(admin_user)
    page.goto(f"/settings/ats-integrations/{integration.public_id}/settings/")

    section = page.locator("#feedback-form")
    expect(section.locator(".badge")).to_have_text("Off")
    section.get_by_text("Preview: the form as it appears in Lever").click()
    expect(section.get_by_text("3 - Hire")).to_be_visible()
    section.get_by_label("Post results as a Lever feedback form").check()
    section.get_by_role("button", name="Save feedback form option").click()

    expect(page.locator("#feedback-form .badge")).to_have_text("On")
    assert FeedbackSettings.objects.get(integration=integration).enabled
    screenshot(page, "feedback-form-on")
