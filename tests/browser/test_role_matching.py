"""The integration's Roles tab in the browser: postings with their roles, a suggestion taken,
"Sync now" with its live progress (htmx polling, no hand-written script), nothing refused."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from integrations.models import AtsIntegration, AtsPosting, PostingSyncRun, RoleMapping
from integrations.roles.matching import title_key
from integrations.roles.services.mappings import postings_match
from karatlever.accounts.models import Group, User
from karatlever.hiring.services import role_create
from tests.browser.conftest import LoginFunc

pytestmark = pytest.mark.browser


@pytest.fixture
def roles_integration(integration: AtsIntegration, group: Group) -> AtsIntegration:
    AtsIntegration.objects.filter(pk=integration.pk).update(key_status="valid")
    integration.refresh_from_db()
    for posting_id, title, codes in (
        ("p-1", "Senior Backend Engineer", ["ENG-101"]),
        ("p-2", "Staff Frontend Engineer", []),
    ):
        AtsPosting.objects.create(
            integration=integration,
            posting_id=posting_id,
            title=title,
            title_key=title_key(title),
            state="published",
            requisition_codes=codes,
        )
    role_create(group=group, title="Backend", requisition_code="ENG-101")
    role_create(group=group, title="Senior Frontend Engineer")
    postings_match(integration=integration)
    return integration


def test_admin_takes_a_suggestion_and_watches_a_sync_finish(
    page: Page, login: LoginFunc, admin_user: User, roles_integration: AtsIntegration
) -> None:
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # (A missing favicon is a failed load; what matters is CSP refusals and script errors.)
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    login(admin_user)
    page.goto(f"/settings/ats-integrations/{roles_integration.public_id}/")
    page.get_by_role("navigation", name="Integration").get_by_role("link", name="Roles").click()

    # given: one posting matched by requisition code, one only with a suggestion
    matched = page.locator("tr", has_text="Senior Backend Engineer")
    expect(matched).to_contain_text("Automatically, by requisition code")
    unmatched = page.locator("tr", has_text="Staff Frontend Engineer")
    expect(unmatched).to_contain_text("Not matched")

    # when: the admin takes the suggestion
    unmatched.get_by_role("button", name="Map to Senior Frontend Engineer").click()

    # then: mapped by an admin
    expect(page.get_by_role("status")).to_contain_text("Mapped to Senior Frontend Engineer.")
    expect(page.locator("tr", has_text="Staff Frontend Engineer")).to_contain_text("By an admin")
    assert RoleMapping.objects.get(posting__posting_id="p-2").method == "admin"

    # when: "Sync now" (no worker here: the run waits, queued, and the bar polls)
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_label("Posting sync progress")).to_be_visible()
    run = PostingSyncRun.objects.get()
    PostingSyncRun.objects.filter(pk=run.pk).update(
        status="succeeded", postings_seen=2, pages_done=1
    )

    # then: the poll sees the end and the page reloads with the outcome
    expect(page.locator("#postings-sync")).to_contain_text(re.compile("Synced"))
    assert not errors
