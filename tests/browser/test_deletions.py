"""Deleted candidates as an admin meets them: the policy on the Settings page, chosen and
saved, the feature's row on the status page, and a candidate deleted on the Lever sandbox's
page end to end."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from integrations.lever.adapter import WebhookEvent
from integrations.lever.sandbox import SandboxServer, demo_opportunity_ids
from integrations.models import AtsIntegration, AuditEntry, DeletionSettings, OpportunityLink
from integrations.status import services as status
from karatlever.accounts.models import User
from karatlever.hiring.services import ERASED_NAME
from tests.browser.conftest import (
    LoginFunc,
    deliveries_process,
    has_horizontal_overflow,
    lever_connect,
    linked_candidacy,
    screenshot,
)
from webhooks.services import setup

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


def test_a_candidate_deleted_on_the_lever_page_is_anonymised_in_karat_and_the_pages_say_why(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    integration: AtsIntegration,
    live_lever: SandboxServer,
) -> None:
    # given: connected, webhooks registered (their test deliveries in), the policy Anonymise
    lever_connect(integration, live_lever)
    result = setup.webhooks_register(integration=integration, actor=admin_user)
    assert WebhookEvent.CANDIDATE_DELETED in result.created
    assert live_lever.wait_for_deliveries(timeout=15)
    opportunity_id = demo_opportunity_ids(1)[0]
    candidacy = linked_candidacy(integration, opportunity_id)
    name, email = candidacy.candidate_name, candidacy.candidate_email
    login(admin_user)
    page.goto(f"/settings/ats-integrations/{integration.public_id}/settings/")
    section = page.get_by_role("region", name="Deleted candidates")
    section.get_by_role("radio", name="Anonymise", exact=False).check()
    section.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Deleted candidates: policy saved.")).to_be_visible()

    # when: someone deletes the candidate on their page in Lever, and the worker processes
    # the webhook Lever sent
    page.goto(f"{live_lever.url}/candidates/{opportunity_id}")
    expect(page.get_by_text(email)).to_be_visible()
    page.get_by_role("button", name="Delete candidate").click()
    expect(page.get_by_text("Candidate deleted")).to_be_visible()
    assert live_lever.wait_for_deliveries(timeout=15)
    deliveries_process()

    # then: the candidacy page says so, without the person's name or email
    page.goto(reverse("hiring:candidate-detail", kwargs={"code": candidacy.code}))
    expect(page.get_by_role("heading", name=ERASED_NAME, level=1)).to_be_visible()
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline).to_contain_text("The candidate was deleted in Lever")
    expect(timeline).to_contain_text("Personal data erased")
    content = page.content()
    assert name not in content
    assert email not in content
    assert not OpportunityLink.objects.filter(candidacy=candidacy).exists()
    screenshot(page, "deleted-candidate-anonymised")
    # ... and the Activity page lists Lever's delivery, in words, with what Karat did
    page.goto(reverse("webhooks-console:activity", kwargs={"public_id": integration.public_id}))
    received = page.get_by_role("region", name="Webhooks received from Lever")
    row = received.locator("tbody tr", has_text="Candidate Deleted").filter(has_text="anonymised")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Candidate deleted in Lever")
    assert name not in page.content()
