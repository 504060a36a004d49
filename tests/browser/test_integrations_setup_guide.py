"""The setup guide's Step 2 and Step 4, clicked through in Chromium exactly as written, on a
laptop and on a phone-sized screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from integrations.models import AtsIntegration
from karatlever.accounts.models import Group, User
from tests.browser.conftest import NARROW, LoginFunc, has_horizontal_overflow, screenshot
from tests.integrations.conftest import API_KEY

pytestmark = pytest.mark.browser


def _open_ats_integrations(page: Page) -> None:
    # "Go to Settings." / "Go to ATS Integrations."
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_text("Settings", exact=True).click()
    nav.get_by_role("link", name="ATS Integrations").click()
    expect(page.get_by_role("heading", name="ATS Integrations", exact=True)).to_be_visible()


@pytest.mark.parametrize("narrow", [False, True], ids=["laptop", "phone"])
def test_step_2_and_step_4_work_as_the_guide_says(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    group: Group,
    second_group: Group,
    narrow: bool,
) -> None:
    if narrow:
        page.set_viewport_size(NARROW)
    login(admin_user)

    # Step 2: Settings → ATS Integrations → group drop-down → Select ATS → Create
    _open_ats_integrations(page)
    page.get_by_label("Group").select_option(label="Engineering")
    page.get_by_label("Select ATS").select_option(label="Lever")
    assert not has_horizontal_overflow(page)
    screenshot(page, f"integrations-list-{'phone' if narrow else 'laptop'}")
    page.get_by_role("button", name="Create").click()

    # "You will be sent to the following page" — the Integration ID, Settings under it.
    integration = AtsIntegration.objects.get()
    expect(page.get_by_text(str(integration.public_id)).first).to_be_visible()
    assert not has_horizontal_overflow(page)
    screenshot(page, f"integrations-detail-{'phone' if narrow else 'laptop'}")
    page.get_by_role("navigation", name="Integration").get_by_role("link", name="Settings").click()

    # API Key pasted, no User ID, Save.
    page.get_by_label("API Key").fill(API_KEY)
    expect(page.get_by_text("You don't need to add a User ID")).to_be_visible()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Saved. Checking the key with Lever…")
    expect(page.get_by_text("••••" + API_KEY[-4:]).first).to_be_visible()
    assert API_KEY not in page.content()
    assert not has_horizontal_overflow(page)
    screenshot(page, f"integrations-settings-{'phone' if narrow else 'laptop'}")

    # Step 4: Settings → ATS Integrations → Status
    _open_ats_integrations(page)
    page.get_by_role("link", name="Status of the Lever integration for Engineering").click()
    expect(page.get_by_role("heading", name="Overall status")).to_be_visible()
    expect(page.get_by_role("heading", name="Basic information")).to_be_visible()
    expect(page.get_by_text("Checking", exact=True).first).to_be_visible()
    assert not has_horizontal_overflow(page)
    screenshot(page, f"integrations-status-{'phone' if narrow else 'laptop'}")
