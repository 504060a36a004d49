"""The API docs page (Swagger UI from drf-spectacular-sidecar) passes the same axe check as the
console pages (tests/browser/test_accessibility.py): no serious or critical violations."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from karatlever.accounts.models import User
from tests.browser.conftest import login_as
from tests.browser.test_accessibility import _problems

pytestmark = pytest.mark.browser


def test_the_api_docs_page_passes_axe(page: Page, admin_user: User) -> None:
    login_as(page, admin_user)
    page.goto("/api/docs/")
    # Swagger UI draws the operations from the schema after load.
    page.locator(".opblock").first.wait_for()
    assert page.locator("html").get_attribute("lang") == "en"

    found = _problems(page)

    assert found == [], f"{len(found)} problems:\n" + "\n".join(found)


def test_an_open_operation_passes_axe(page: Page, admin_user: User) -> None:
    login_as(page, admin_user)
    page.goto("/api/docs/")
    page.locator(".opblock-summary").first.click()
    page.locator(".opblock-body").first.wait_for()

    found = _problems(page)

    assert found == [], "\n".join(found)
