"""An admin turns the Karat interview on Lever's schedule on from the Settings page, and the
status page then reports the feature (waiting for its first panel, never "Working"); end to
end, a booked interview shows on the Lever sandbox's panels page and in the console."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from integrations.lever.sandbox import SandboxServer, demo_opportunity_ids
from integrations.models import AtsIntegration, OutboundSettings
from karatlever.accounts.models import User
from karatlever.hiring.models import Milestone
from karatlever.hiring.services import candidacy_milestone_record
from tests.browser.conftest import (
    LoginFunc,
    lever_connect,
    linked_candidacy,
    outbox_drain,
    screenshot,
)

pytestmark = pytest.mark.browser


def test_an_admin_turns_the_interview_panels_on_from_settings(
    page: Page, login: LoginFunc, admin_user: User, integration: AtsIntegration
) -> None:
    # Lever writes panels only as a user: the integration's User ID is set.
    AtsIntegration.objects.filter(pk=integration.pk).update(ats_user_id="lever-user-1")
    login(admin_user)
    page.goto(f"/settings/ats-integrations/{integration.public_id}/settings/#interview-panels")
    section = page.locator("#interview-panels")
    expect(section.get_by_text("Off", exact=True)).to_be_visible()

    section.get_by_label("Put each scheduled Karat interview").check()
    section.get_by_role("button", name="Save").click()

    expect(page.locator("#interview-panels").get_by_text("On", exact=True)).to_be_visible()
    expect(page.get_by_text("will be put on Lever's schedule")).to_be_visible()
    assert OutboundSettings.objects.get(integration=integration).panels_enabled


def test_a_booked_interview_shows_on_the_lever_sandbox_panels_page_and_in_the_console(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    integration: AtsIntegration,
    live_lever: SandboxServer,
) -> None:
    # given: connected to the sandbox, a linked candidacy, panels turned on in Settings
    lever_connect(integration, live_lever)
    opportunity_id = demo_opportunity_ids(1)[0]
    candidacy = linked_candidacy(integration, opportunity_id)
    login(admin_user)
    settings_url = f"/settings/ats-integrations/{integration.public_id}/settings/#interview-panels"
    page.goto(settings_url)
    page.locator("#interview-panels").get_by_label("Put each scheduled Karat interview").check()
    page.locator("#interview-panels").get_by_role("button", name="Save").click()
    expect(page.get_by_text("will be put on Lever's schedule")).to_be_visible()

    # when: the interview platform books the interview (the Karat side), and the worker sends
    start = (timezone.now() + timedelta(days=2)).replace(minute=30, second=0, microsecond=0)
    candidacy_milestone_record(
        candidacy=candidacy,
        milestone=Milestone.SCHEDULED,
        scheduled_at=start,
        duration_minutes=45,
        timezone_name="Europe/Berlin",
        interview_url="https://karat.example/interviews/abc",
    )
    outbox_drain(integration)

    # then: the candidate's panels page in Lever shows Karat's panel at that time
    page.goto(f"{live_lever.url}/candidates/{opportunity_id}/panels")
    panel = page.locator("tr", has_text="Karat interview: Backend Engineer")
    expect(panel).to_have_count(1)
    end = start + timedelta(minutes=45)
    expect(panel).to_contain_text(
        f"{start:%Y-%m-%d %H:%M} UTC to {end:%Y-%m-%d %H:%M} UTC (Europe/Berlin)"
    )
    expect(panel).to_contain_text("yes (an integration made it)")
    expect(panel).to_contain_text("https://karat.example/interviews/abc")
    screenshot(page, "lever-sandbox-panels")
    # ... and Karat's Settings list the panel on the schedule, the timeline as posted
    page.goto(settings_url)
    row = page.locator("#interview-panels tbody tr", has_text=candidacy.candidate_name)
    expect(row).to_contain_text("On the schedule")
    expect(row).to_contain_text("45 min, Europe/Berlin")
    page.goto(reverse("hiring:candidate-detail", kwargs={"code": candidacy.code}))
    expect(page.get_by_role("region", name="Timeline")).to_contain_text(
        "Interview scheduled: posted to Lever"
    )
