"""axe-core (through axe-playwright-python) over every console page in Chromium, as an admin and
as a recruiter, plus the sign-in page: no serious or critical violations, and every
`aria-describedby` names ids the page really has."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from integrations.models import AtsIntegration
from karatlever.accounts.models import Group, User
from tests.browser.conftest import login_as
from tests.test_csp import Cast, console_pages
from tests.webhooks.conftest import EXAMPLE_TOKENS, make_delivery, subscriptions_set

pytestmark = pytest.mark.browser

AXE = Axe()
BLOCKING = {"serious", "critical"}
# Ids each aria-describedby / aria-labelledby names that the page does not have.
MISSING_IDS_JS = """() => {
  const missing = [];
  for (const attr of ["aria-describedby", "aria-labelledby"]) {
    for (const el of document.querySelectorAll(`[${attr}]`)) {
      for (const id of el.getAttribute(attr).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) missing.push(`${el.tagName.toLowerCase()}[${attr}] → #${id}`);
      }
    }
  }
  return missing;
}"""


def _problems(page: Page) -> list[str]:
    """Serious and critical axe violations, and dangling aria id references, on the open page."""
    page.wait_for_load_state("load")
    results: dict[str, Any] = AXE.run(page).response
    found = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results["violations"]
        if v.get("impact") in BLOCKING
    ]
    found += page.evaluate(MISSING_IDS_JS)
    return found


@pytest.fixture
def cast(integration: AtsIntegration) -> Cast:
    subscriptions_set(integration, EXAMPLE_TOKENS)
    # One stored delivery, so the activity page and a delivery's page have rows to show.
    url = reverse("webhooks:receive", kwargs={"ats": "lever", "public_id": integration.public_id})
    Client().post(url, data=make_delivery(), content_type="application/json")
    return Cast(integration)


def _walk(page: Page, cast: Cast) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    pages = console_pages(cast)
    for name, url in pages.items():
        page.goto(url)
        found[name] = _problems(page)
    # A delivery's own page, reached from the activity list (when the role may see it).
    page.goto(pages["integration activity"])
    link = page.locator("table tbody a").first
    if link.count():
        link.click()
        expect(page).to_have_url(re.compile(r"/activity/\d+/$"))
        found["delivery detail"] = _problems(page)
    # A form with errors: the error and help texts are what the fields' aria-describedby name.
    page.goto(pages["new role"])
    form = page.locator("main form").first
    if form.count():
        # Skip the browser's own checks of required fields, so the server answers with errors.
        form.evaluate("form => { form.noValidate = true; }")
        form.locator("button[type=submit]").first.click()
        page.wait_for_load_state("load")
        assert page.locator(".field-error").count() > 0, "the empty role form showed no errors"
        found["new role, with errors"] = _problems(page)
    return {name: problems for name, problems in found.items() if problems}


def _report(found: dict[str, list[str]]) -> str:
    return "\n".join(
        f"{name}: {problem}" for name, problems in found.items() for problem in problems
    )


def test_every_console_page_passes_axe_as_an_admin(
    page: Page, admin_user: User, second_group: Group, cast: Cast
) -> None:
    login_as(page, admin_user)
    found = _walk(page, cast)
    assert found == {}, _report(found)


def test_every_console_page_passes_axe_as_a_recruiter(
    page: Page, recruiter_user: User, cast: Cast
) -> None:
    login_as(page, recruiter_user)
    found = _walk(page, cast)
    assert found == {}, _report(found)


def test_the_sign_in_page_passes_axe_also_with_an_error(page: Page, admin_user: User) -> None:
    page.goto("/accounts/login/")
    found = {"login": _problems(page)}
    page.get_by_label("Email").fill(admin_user.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    found["login, wrong password"] = _problems(page)
    found = {name: problems for name, problems in found.items() if problems}
    assert found == {}, _report(found)
