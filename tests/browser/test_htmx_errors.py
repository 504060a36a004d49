"""htmx requests that fail are visible in Chromium (issue 19, item 12): a poll of a page whose
user signed out in another tab leads to the login page (and back once signed in); "Check
again" with an expired CSRF token shows why nothing happened, next to the button."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from integrations.models import AtsIntegration
from karatlever.accounts.models import User
from tests.browser.conftest import LoginFunc, screenshot
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def _status_url(integration: AtsIntegration) -> str:
    return reverse("integrations:status", kwargs={"public_id": integration.public_id})


def test_a_poll_after_signing_out_in_another_tab_leads_to_the_login_page_and_back(
    page: Page, login: LoginFunc, admin_user: User, integration: AtsIntegration
) -> None:
    login(admin_user)
    page.goto(_status_url(integration))
    # "Check again" with no worker running: the live part keeps polling while it is pending.
    page.get_by_role("button", name="Check again").click()
    expect(page.get_by_role("status").filter(has_text="Checking again…")).to_be_visible()

    # Signing out "in another tab" is a POST from the same browser, with its cookies and the
    # form's token, made through the context's request API: a second page that signed out and
    # was then closed hung Chromium's close() on CI now and then, and the test is about what
    # this page does next, not about the other tab.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    signed_out = page.context.request.post(
        reverse("accounts:logout"), form={"csrfmiddlewaretoken": token}
    )
    assert signed_out.ok, signed_out.status

    # The next poll loads the login page as the whole page, not inside the status card.
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("#status-live")).to_have_count(0)
    page.get_by_label("Email").fill(admin_user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(_status_url(integration)) + "$"))


def test_check_again_with_an_expired_form_token_says_so_next_to_the_button(
    page: Page, login: LoginFunc, admin_user: User, integration: AtsIntegration
) -> None:
    login(admin_user)
    page.goto(_status_url(integration))
    # The CSRF cookie is gone (expired, or cleared): the form's token no longer matches.
    page.context.clear_cookies(name="csrftoken")

    page.get_by_role("button", name="Check again").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("This form has expired")
    expect(alert).to_contain_text("Reload the page and try again")
    expect(alert).not_to_contain_text("Go to the console home")
    assert page.locator(".status-computed").get_by_role("alert").count() == 1  # by the button
    screenshot(page, "htmx-csrf-expired")

    # Reloading (as it says) gives a fresh token, and "Check again" works.
    page.reload()
    page.get_by_role("button", name="Check again").click()
    expect(page.get_by_role("status").filter(has_text="Checking again…")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
