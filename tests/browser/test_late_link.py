"""Attaching a Lever link to an existing candidacy in Chromium: its page, a bad link's clear
error, the check, the attach, the timeline, and the detach with its confirmation."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from integrations.late_links.services import late_link_settings_update
from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.models import AtsIntegration, OpportunityLink
from karatlever.accounts.models import User
from tests.browser.conftest import NARROW, LoginFunc, has_horizontal_overflow, screenshot
from tests.integrations.conftest import mailable_opportunity_ids
from tests.integrations.late_links.conftest import unlinked_candidacy, url_of

pytestmark = pytest.mark.browser


def test_a_recruiter_attaches_and_detaches_a_lever_link(
    page: Page,
    login: LoginFunc,
    recruiter_user: User,
    integration: AtsIntegration,
    invite_sandbox: SandboxServer,
) -> None:
    integration.api_key, integration.api_key_last4 = DEMO_API_KEY, DEMO_API_KEY[-4:]
    integration.region = "us"
    integration.save(update_fields=["api_key", "api_key_last4", "region"])
    late_link_settings_update(integration=integration, actor=None, enabled=True)
    candidacy = unlinked_candidacy(integration)
    opportunity_id = mailable_opportunity_ids(1)[0]
    login(recruiter_user)
    page.goto(reverse("hiring:candidate-detail", kwargs={"code": candidacy.code}))

    # A link that is not a candidate's: its reason, nothing linked.
    page.get_by_label("Lever candidate link").fill("https://jobs.lever.co/acme/123")
    page.get_by_role("button", name="Check link").click()
    expect(page.get_by_role("alert")).to_contain_text("job posting")

    page.get_by_label("Lever candidate link").fill(url_of(opportunity_id))
    page.get_by_role("button", name="Check link").click()
    expect(page.get_by_role("heading", name="In Lever")).to_be_visible()
    page.set_viewport_size(NARROW)
    assert not has_horizontal_overflow(page)
    screenshot(page, "late-link-check")
    page.get_by_role("button", name="Attach link").click()

    expect(page.get_by_text("4 milestones queued to be posted")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Linked to the candidate .+ in Lever"))).to_be_visible()
    assert OpportunityLink.objects.get(candidacy=candidacy).opportunity_id == opportunity_id

    page.get_by_role("link", name="Detach the Lever link…").click()
    expect(page.get_by_text("will not be sent")).to_be_visible()
    page.get_by_role("button", name="Detach link").click()
    expect(page.get_by_text("Link to Lever detached.")).to_be_visible()
    expect(page.get_by_role("button", name="Check link")).to_be_visible()
    assert not OpportunityLink.objects.exists()
