"""An admin previews the Lever feedback form on the Settings page and turns it on; end to end,
a result shows as Karat's form on the Lever sandbox's feedback page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from integrations.lever.sandbox import SandboxServer, demo_opportunity_ids
from integrations.models import AtsIntegration, FeedbackSettings
from karatlever.accounts.models import User
from karatlever.hiring.models import Milestone, Recommendation
from karatlever.hiring.services import candidacy_milestone_record
from tests.browser.conftest import (
    LoginFunc,
    lever_connect,
    linked_candidacy,
    outbox_drain,
    screenshot,
)

pytestmark = pytest.mark.browser


def test_an_admin_previews_the_form_and_turns_it_on(
    page: Page, login: LoginFunc, admin_user: User, integration: AtsIntegration
) -> None:
    integration.ats_user_id = "11111111-1111-4111-8111-111111111111"
    integration.save(update_fields=["ats_user_id"])
    login(admin_user)
    page.goto(f"/settings/ats-integrations/{integration.public_id}/settings/")

    section = page.locator("#feedback-form")
    expect(section.locator(".badge")).to_have_text("Off")
    section.get_by_text("Preview: the form as it appears in Lever").click()
    expect(section.get_by_text("3 - Hire")).to_be_visible()
    section.get_by_label("Post results as a Lever feedback form").check()
    section.get_by_role("button", name="Save feedback form option").click()

    expect(page.locator("#feedback-form .badge")).to_have_text("On")
    assert FeedbackSettings.objects.get(integration=integration).enabled
    screenshot(page, "feedback-form-on")


def test_a_result_shows_as_karats_form_on_the_lever_sandbox_feedback_page(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    integration: AtsIntegration,
    live_lever: SandboxServer,
) -> None:
    # given: connected to the sandbox (posting as its first user), a linked candidacy, and the
    # form turned on in Settings
    lever_connect(integration, live_lever)
    lever_user = live_lever.sandbox.user(integration.ats_user_id)
    assert lever_user is not None
    opportunity_id = demo_opportunity_ids(1)[0]
    candidacy = linked_candidacy(integration, opportunity_id)
    login(admin_user)
    page.goto(f"/settings/ats-integrations/{integration.public_id}/settings/")
    section = page.locator("#feedback-form")
    section.get_by_label("Post results as a Lever feedback form").check()
    section.get_by_role("button", name="Save feedback form option").click()
    expect(page.locator("#feedback-form .badge")).to_have_text("On")

    # when: the interview platform reports the interview and its results (the Karat side),
    # and the worker sends
    held = (timezone.now() - timedelta(minutes=1)).replace(second=0, microsecond=0)
    candidacy_milestone_record(
        candidacy=candidacy, milestone=Milestone.SCHEDULED, scheduled_at=held
    )
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.COMPLETED)
    candidacy_milestone_record(
        candidacy=candidacy,
        milestone=Milestone.RESULTS_READY,
        recommendation=Recommendation.STRONG_YES,
        summary="Solid fundamentals.",
        report_url="https://karat.example/reports/r-1",
    )
    outbox_drain(integration)

    # then: the candidate's feedback page in Lever shows Karat's form, by the perform-as user
    page.goto(f"{live_lever.url}/candidates/{opportunity_id}/feedback")
    form = page.locator("li", has_text="Karat technical interview")
    expect(form).to_have_count(1)
    expect(form).to_contain_text(f"by {lever_user['name']}")
    expect(form.locator("dd", has_text="4 - Strong Hire")).to_have_count(1)
    expect(form).to_contain_text("Solid fundamentals.")
    expect(form).to_contain_text("https://karat.example/reports/r-1")
    screenshot(page, "lever-sandbox-feedback")
    # ... and Karat's timeline says the results were posted
    page.goto(reverse("hiring:candidate-detail", kwargs={"code": candidacy.code}))
    expect(page.get_by_role("region", name="Timeline")).to_contain_text(
        "Results ready: posted to Lever"
    )
