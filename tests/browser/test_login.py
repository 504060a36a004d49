"""Signing in through the browser: success, a wrong password, and the lockout page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from karatlever.accounts.models import User
from tests.browser.conftest import login_as

pytestmark = pytest.mark.browser


def test_good_password_lands_on_the_candidates_page(page: Page, admin_user: User) -> None:
    login_as(page, admin_user)

    expect(page).to_have_url(re.compile(r"/candidates/$"))
    expect(page.get_by_role("heading", name="Candidates")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_wrong_password_shows_an_error_and_stays_on_login(page: Page, admin_user: User) -> None:
    login_as(page, admin_user, password="not the password")

    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct email and password")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("heading", name="Sign in to Karat")).to_be_visible()


def test_five_failures_lead_to_the_lockout_page(page: Page, admin_user: User) -> None:
    for _ in range(5):
        login_as(page, admin_user, password="wrong password")

    # Even the right password is refused now.
    login_as(page, admin_user)

    expect(page.get_by_role("heading", name="Too many failed sign-in attempts")).to_be_visible()
    page.goto("/candidates/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
