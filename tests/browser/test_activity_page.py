"""The activity page as an admin sees it (issue 20, item 9): one title for what Lever sent and
what Karat posted, events and milestones in words, and a filter on each list."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from integrations.lever.adapter import WebhookEvent
from integrations.models import AtsIntegration, OpportunityLink, OutboundUpdate
from karatlever.accounts.models import User
from karatlever.hiring.models import Milestone
from karatlever.hiring.services import candidacy_milestone_record
from tests.browser.conftest import LoginFunc, has_horizontal_overflow, screenshot
from tests.factories import CandidacyFactory, RoleFactory
from tests.webhooks.conftest import EXAMPLE_TOKENS, make_delivery, subscriptions_set
from webhooks.services import intake

pytestmark = pytest.mark.browser


def test_activity_names_events_and_milestones_in_words_and_filters_both_lists(
    page: Page, login: LoginFunc, admin_user: User, integration: AtsIntegration
) -> None:
    # given: two deliveries from Lever and the updates of one cancelled candidacy
    subscriptions_set(integration, EXAMPLE_TOKENS)
    for event in (WebhookEvent.CANDIDATE_STAGE_CHANGE, WebhookEvent.CANDIDATE_HIRED):
        intake.delivery_record(
            integration_public_id=integration.public_id, body=make_delivery(event)
        )
    candidacy = CandidacyFactory(role=RoleFactory(group=integration.group))
    OpportunityLink.objects.create(
        integration=integration, candidacy=candidacy, opportunity_id="opp-1"
    )
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    OutboundUpdate.objects.filter(kind=OutboundUpdate.Kind.NOTE).update(
        status=OutboundUpdate.Status.DEAD
    )
    login(admin_user)

    url = reverse("webhooks-console:activity", kwargs={"public_id": integration.public_id})
    page.goto(url)

    # then: one title that says what is here, and each list reachable from the top
    expect(page.get_by_role("heading", name="Activity with Lever")).to_be_visible()
    index = page.get_by_role("navigation", name="On this page")
    expect(index.get_by_role("link", name="Webhooks received from Lever")).to_be_visible()
    expect(index.get_by_role("link", name="Updates posted to Lever")).to_be_visible()
    received = page.get_by_role("region", name="Webhooks received from Lever")
    posted = page.get_by_role("region", name="Updates posted to Lever")
    expect(received.locator('td[data-label="Event"]')).to_have_text(
        ["Candidate Hired", "Candidate Stage Change"]
    )
    expect(posted.locator('td[data-label="Milestone"]')).to_have_text(["Cancelled", "Cancelled"])
    assert "candidateStageChange" not in received.inner_text()
    assert not has_horizontal_overflow(page)
    screenshot(page, "activity-wide")

    # when: the deliveries are filtered by event
    received.get_by_label("Event").select_option(label="Candidate Hired")
    received.get_by_role("button", name="Filter").click()

    # then: only that event, and the updates list is untouched
    expect(received.locator('td[data-label="Event"]')).to_have_text(["Candidate Hired"])
    expect(posted.locator("tbody tr")).to_have_count(2)

    # when: the updates are filtered by status too
    posted.get_by_label("Status").select_option(label="Gave up")
    posted.get_by_role("button", name="Filter").click()

    # then: both filters hold
    expect(posted.locator('td[data-label="Update"]')).to_have_text(["Note"])
    expect(received.locator('td[data-label="Event"]')).to_have_text(["Candidate Hired"])
    expect(received.get_by_label("Event")).to_have_value(WebhookEvent.CANDIDATE_HIRED)

    # when: an address with a filter value the page does not offer is opened
    page.goto(f"{url}?updates_kind=fax")

    # then: it says so, and shows the list unfiltered
    expect(posted.get_by_role("alert")).to_contain_text("Filters not applied")
    expect(posted.locator("tbody tr")).to_have_count(2)
