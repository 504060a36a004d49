"""Candidate detail in the browser: the timeline, and the admin's status change."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from karatlever.accounts.models import User
from karatlever.hiring.models import Candidacy, CandidacyEvent, KaratStatus
from tests.browser.conftest import HiringDemo, LoginFunc, screenshot

pytestmark = pytest.mark.browser


def test_timeline_shows_events_newest_first_and_a_status_change_adds_one(
    page: Page, login: LoginFunc, admin_user: User, hiring_demo: HiringDemo
) -> None:
    candidacy: Candidacy = hiring_demo["candidacies"][2]
    login(admin_user)

    page.get_by_role("link", name=candidacy.candidate_name).click()

    expect(page.get_by_role("heading", name=candidacy.candidate_name)).to_be_visible()
    expect(page.locator(".kv", has_text="Lever stage")).to_contain_text("Offer")
    items = page.locator(".timeline-item")
    expect(items).to_have_count(4)  # created, stage, archived, hired
    expect(items.first).to_contain_text("Hired")
    # Not linked to an integration here: the entry can only say it came from the ATS.
    expect(items.first.locator(".timeline-source")).to_have_text("ATS")
    expect(items.last).to_contain_text("Invited to interview for Senior Backend Engineer")

    # when: the admin schedules the interview from the detail page
    page.get_by_label("Milestone", exact=True).select_option(label="Interview scheduled")
    tomorrow = (timezone.now() + timedelta(days=1)).astimezone(UTC)
    page.get_by_label("Interview time").fill(f"{tomorrow:%Y-%m-%dT%H:%M}")
    page.get_by_role("button", name="Record milestone").click()

    # then: one new event at the top, by this admin, from a person
    expect(page.get_by_role("status")).to_contain_text("Milestone recorded.")
    expect(items).to_have_count(5)
    expect(items.first).to_contain_text("Interview scheduled (Karat status: Invited → Scheduled)")
    expect(items.first.locator(".timeline-source")).to_have_text(f"by {admin_user.display_name}")
    expect(items.first).not_to_contain_text("A person")
    candidacy.refresh_from_db()
    assert candidacy.karat_status == KaratStatus.SCHEDULED
    assert candidacy.events.filter(kind=CandidacyEvent.Kind.STATUS_CHANGED).count() == 1
    screenshot(page, "candidate-wide")


def test_invalid_transition_shows_an_error_and_changes_nothing(
    page: Page, login: LoginFunc, admin_user: User, hiring_demo: HiringDemo
) -> None:
    candidacy: Candidacy = hiring_demo["candidacies"][1]  # scheduled
    login(admin_user)
    page.goto(f"/candidates/{candidacy.code}/")

    # Completed → results needs a recommendation: pick "completed" first, then results without one.
    page.get_by_label("Milestone", exact=True).select_option(label="Interview completed")
    page.get_by_role("button", name="Record milestone").click()
    page.get_by_label("Milestone", exact=True).select_option(label="Results ready")
    page.get_by_role("button", name="Record milestone").click()

    expect(page.get_by_role("alert")).to_contain_text("Results need a recommendation.")
    candidacy.refresh_from_db()
    assert candidacy.karat_status == KaratStatus.COMPLETED


def test_choosing_a_milestone_shows_its_fields_without_reloading_the_page(
    page: Page, login: LoginFunc, admin_user: User, hiring_demo: HiringDemo
) -> None:
    candidacy: Candidacy = hiring_demo["candidacies"][0]  # invited
    login(admin_user)
    page.goto(f"/candidates/{candidacy.code}/")
    marker = page.evaluate("() => (window.__sameDocument = 'yes')")
    fields = page.locator("#milestone-fields")
    expect(fields).to_contain_text("Choose a milestone")
    expect(page.get_by_label("Interview time")).to_have_count(0)

    page.get_by_label("Milestone", exact=True).select_option(label="Interview scheduled")

    # htmx swapped in the time field; the document is the same one (no navigation).
    expect(page.get_by_label("Interview time")).to_be_visible()
    expect(fields).to_contain_text("Sets (or moves) the interview time.")
    assert page.evaluate("() => window.__sameDocument") == marker

    page.get_by_label("Milestone", exact=True).select_option(label="Cancelled")

    expect(page.get_by_label("Interview time")).to_have_count(0)
    expect(page.locator("#milestone-fields")).to_contain_text("The interview will not take place.")
    page.get_by_role("button", name="Record milestone").click()
    expect(page.get_by_role("status")).to_contain_text("Milestone recorded.")
    candidacy.refresh_from_db()
    assert candidacy.karat_status == KaratStatus.CANCELLED
