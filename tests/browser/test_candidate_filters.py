"""The candidates page's Lever filters in the browser: stage, archived and hired, with a role."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from karatlever.accounts.models import User
from tests.browser.conftest import HiringDemo, LoginFunc

pytestmark = pytest.mark.browser


def test_lever_filters_narrow_the_list_and_stay_selected(
    page: Page, login: LoginFunc, admin_user: User, hiring_demo: HiringDemo
) -> None:
    login(admin_user)
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(3)

    # The stage drop-down offers the stages the candidacies are in (the demo has one: Offer).
    page.get_by_label("Lever stage").select_option(label="Offer")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Alan Turing")
    expect(page.get_by_label("Lever stage")).to_have_value("Offer")

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Hired").select_option(label="Not hired")
    page.get_by_label("Role").select_option(label="Senior Backend Engineer (Engineering)")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    expect(page.locator("table")).not_to_contain_text("Alan Turing")

    page.get_by_label("Archived").select_option(label="Archived")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No candidates match these filters.")).to_be_visible()
