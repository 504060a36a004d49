"""Deleted candidates as an admin meets them: the policy on the Settings page, chosen and
saved, and the feature's row on the status page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from integrations.models import AtsIntegration, AuditEntry, DeletionSettings
from integrations.status import services as status
from karatlever.accounts.models import User
from tests.browser.conftest import LoginFunc, has_horizontal_overflow, screenshot

pytestmark = pytest.mark.browser


def test_an_admin_chooses_to_anonymise_deleted_candidates_and_the_status_page_reports_it(
    page: Page, login: LoginFunc, admin_user: User, integration: AtsIntegration
) -> None:
    login(admin_user)
    page.goto(f"/settings/ats-integrations/{integration.public_id}/settings/")

    section = page.get_by_role("region", name="Deleted candidates")
    expect(section.get_by_role("radio", name="Unlink", exact=False)).to_be_checked()
    section.get_by_role("radio", name="Anonymise", exact=False).check()
    section.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Deleted candidates: policy saved.")).to_be_visible()
    expect(
        page.get_by_role("region", name="Deleted candidates").get_by_role(
            "radio", name="Anonymise", exact=False
        )
    ).to_be_checked()
    assert DeletionSettings.objects.get(integration=integration).policy == "anonymise"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.DELETION_POLICY_CHANGED).exists()
    assert not has_horizontal_overflow(page)
    screenshot(page, "settings-deleted-candidates")

    status.integration_status_compute(integration_id=integration.pk)
    page.goto(f"/settings/ats-integrations/{integration.public_id}/status/")
    row = page.locator(
        "article.feature",
        has=page.get_by_role("heading", name="Deletions and anonymisation honoured"),
    )
    expect(row).to_contain_text("Waiting")
    expect(row).to_contain_text("Anonymise")
    expect(row).not_to_contain_text("Working")
