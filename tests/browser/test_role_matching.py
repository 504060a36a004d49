"""The integration's Roles tab in the browser: reached from the top-level Roles page, postings
with their roles, a suggestion taken, "Sync now" with its live progress (htmx polling, no
hand-written script), nothing refused."""

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


def test_the_roles_page_leads_an_admin_to_the_lever_postings_and_their_matching(
    page: Page, login: LoginFunc, admin_user: User, roles_integration: AtsIntegration
) -> None:
    login(admin_user)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Roles").click()
    page.get_by_role("link", name="Lever postings and matching").click()

    expect(page).to_have_url(
        re.compile(rf"/settings/ats-integrations/{roles_integration.public_id}/roles/$")
    )
    expect(
        page.get_by_role("navigation", name="Integration").get_by_role(
            "link", name="Roles", exact=True
        )
    ).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="Lever postings and Karat roles")).to_be_visible()
    rows = page.locator(".roles-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Senior Backend Engineer")).to_contain_text(
        "Automatically, by requisition code"
    )
    expect(rows.filter(has_text="Staff Frontend Engineer")).to_contain_text("Not matched")


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

    # then: mapped by an admin, said in the row (and to screen readers)
    row = page.locator("tr", has_text="Staff Frontend Engineer")
    expect(row).to_contain_text("Mapped to Senior Frontend Engineer.")
    expect(row).to_contain_text("By an admin")
    expect(page.locator("#roles-announce")).to_have_text("Mapped to Senior Frontend Engineer.")
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


def test_map_and_create_update_their_row_without_scrolling_to_the_top(
    page: Page, login: LoginFunc, admin_user: User, group: Group, roles_integration: AtsIntegration
) -> None:
    # A long page, as a real account's is (a 4,900 px page in the report): 20 more postings,
    # all on the first page (25 postings a page).
    AtsPosting.objects.bulk_create(
        AtsPosting(
            integration=roles_integration,
            posting_id=f"q-{i:02}",
            title=f"Zeta Engineer {i:02}",
            title_key=title_key(f"Zeta Engineer {i:02}"),
            state="published",
        )
        for i in range(20)
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    login(admin_user)

    # The hiring Roles page leads to the postings and their matching.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Roles").click()
    page.get_by_role("link", name="Lever postings and matching").click()
    expect(page.get_by_role("heading", name="Lever postings and Karat roles")).to_be_visible()

    # given: a row far down the page, scrolled to
    row = page.locator("#posting-q-18")
    row.scroll_into_view_if_needed()
    before = page.evaluate("window.scrollY")
    assert before > 1000
    expect(page.locator("#count-matched")).to_have_text("1")

    # when: it is mapped to a role
    row.get_by_label("Karat role for Zeta Engineer 18").select_option(label="Backend (ENG-101)")
    row.get_by_role("button", name="Map", exact=True).click()

    # then: the row shows its new state where it was; the page did not reload or scroll
    expect(row).to_contain_text("Mapped to Backend.")
    expect(row).to_contain_text("By an admin")
    expect(page.locator("#count-matched")).to_have_text("2")
    # only the row was swapped into the table (the counts went to their own place)
    expect(page.locator(".roles-table tbody > *")).to_have_count(22)
    expect(page.locator(".roles-table tbody > :not(tr)")).to_have_count(0)
    assert abs(page.evaluate("window.scrollY") - before) < 50
    expect(row).to_be_in_viewport()
    expect(row.get_by_role("button", name="Map", exact=True)).to_be_focused()
    mapped = RoleMapping.objects.select_related("role").get(posting__posting_id="q-18").role
    assert mapped is not None
    assert mapped.title == "Backend"

    # when: a role is created from the next posting, it too stays in place
    other = page.locator("#posting-q-19")
    other.scroll_into_view_if_needed()
    before = page.evaluate("window.scrollY")
    other.get_by_role("button", name="Create Karat role").click()

    expect(other).to_contain_text("Created the Karat role “Zeta Engineer 19”.")
    expect(other.get_by_role("link", name="Zeta Engineer 19")).to_be_visible()
    assert abs(page.evaluate("window.scrollY") - before) < 50
    expect(other).to_be_in_viewport()
    expect(page.locator(".roles-table tbody > :not(tr)")).to_have_count(0)
    expect(page.locator(".roles-counts dt")).to_have_count(3)
    assert not errors
