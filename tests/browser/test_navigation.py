"""Navigation between console pages, and narrow (phone) screens without sideways scrolling."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from karatlever.accounts.models import User
from tests.browser.conftest import (
    NARROW,
    HiringDemo,
    LoginFunc,
    has_horizontal_overflow,
    screenshot,
)

pytestmark = pytest.mark.browser


def test_main_navigation_reaches_candidates_roles_and_settings(
    page: Page, login: LoginFunc, admin_user: User, hiring_demo: HiringDemo
) -> None:
    login(admin_user)
    nav = page.get_by_role("navigation", name="Main")

    nav.get_by_role("link", name="Roles").click()
    expect(page.get_by_role("heading", name="Roles", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Roles")).to_have_attribute("aria-current", "page")

    nav.get_by_role("link", name="Candidates").click()
    expect(page.get_by_role("heading", name="Candidates")).to_be_visible()
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    expect(nav.get_by_role("link", name="Candidates")).to_have_attribute("aria-current", "page")

    # Settings is a menu: its items stay hidden until it is opened.
    expect(nav.get_by_role("link", name="ATS Integrations")).to_be_hidden()
    nav.get_by_text("Settings", exact=True).click()
    nav.get_by_role("link", name="ATS Integrations").click()
    expect(page).to_have_url(re.compile(r"/settings/ats-integrations/$"))


def test_candidate_filters_work_in_the_browser(
    page: Page, login: LoginFunc, admin_user: User, hiring_demo: HiringDemo
) -> None:
    login(admin_user)

    page.get_by_label("Karat status").select_option(label="Scheduled")
    page.get_by_role("button", name="Filter").click()

    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Grace Brewster Murray Hopper")

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Search").fill("bletchley")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Alan Turing")


@pytest.mark.parametrize(
    ("url", "heading", "shot"),
    [
        ("/candidates/", "Candidates", "candidates"),
        ("/roles/", "Roles", "roles"),
    ],
)
def test_pages_fit_a_375px_wide_screen(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    hiring_demo: HiringDemo,
    url: str,
    heading: str,
    shot: str,
) -> None:
    login(admin_user)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(url)
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    if shot == "roles":
        # Show the group with the long role titles; the drop-down submits on change.
        page.get_by_label("Group").select_option(label="Engineering")
        expect(page.get_by_text("Principal Site Reliability Engineer")).to_be_visible()
        url = page.url
    screenshot(page, f"{shot}-wide")

    page.set_viewport_size(NARROW)
    page.goto(url)

    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    screenshot(page, f"{shot}-narrow")
    assert not has_horizontal_overflow(page), page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )


def test_candidate_detail_fits_a_375px_wide_screen(
    page: Page, login: LoginFunc, admin_user: User, hiring_demo: HiringDemo
) -> None:
    login(admin_user)
    page.set_viewport_size(NARROW)
    candidacy = hiring_demo["candidacies"][1]

    page.goto(f"/candidates/{candidacy.code}/")

    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    screenshot(page, "candidate-narrow")
    assert not has_horizontal_overflow(page)


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 500}, NARROW])
def test_open_settings_menu_fits_the_screen(
    page: Page, login: LoginFunc, admin_user: User, viewport: ViewportSize
) -> None:
    login(admin_user)
    page.set_viewport_size(viewport)
    nav = page.get_by_role("navigation", name="Main")

    nav.get_by_text("Settings", exact=True).click()

    expect(nav.get_by_role("link", name="ATS Integrations")).to_be_visible()
    screenshot(page, f"settings-menu-{viewport['width']}")
    assert not has_horizontal_overflow(page)
