"""A recruiter's bulk invite in the browser: 20 Lever URLs (3 bad) previewed and invited in the
background, the htmx progress bar followed to the end of each phase, then the summary."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.lever.sandbox.demo import demo_data
from integrations.models import AtsIntegration, InviteBatch
from karatlever.accounts.models import User
from karatlever.celery import app as celery_app
from karatlever.hiring.models import Candidacy
from tests.browser.conftest import LoginFunc, docs_screenshot, screenshot
from tests.browser.test_accessibility import _problems as axe_problems
from tests.factories import RoleFactory
from tests.integrations.conftest import mailable_opportunity_ids

pytestmark = pytest.mark.browser

BAD = [
    "https://jobs.lever.co/acme/8d3c3b4e-1f2a-4b5c-9d8e-7f6a5b4c3d2e",
    "https://example.com/candidates/8d3c3b4e-1f2a-4b5c-9d8e-7f6a5b4c3d2e",
    "https://hire.lever.co/candidates/8d3c3b4e-1f2a-4b5c-9d8e-7f6a5b4c3d2e",
]


@pytest.fixture
def lever(invite_sandbox: SandboxServer) -> SandboxServer:
    # Slow enough that the bar is seen between its start and its end.
    invite_sandbox.set_faults(latency_ms=150)
    return invite_sandbox


@pytest.fixture
def worker() -> Iterator[None]:
    """A Celery worker thread on the in-process broker the browser conftest sets up."""
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        yield


def _values_until(page: Page, done: str) -> list[int]:
    """The progress bar's values, read until ``done`` (a CSS selector) shows up."""
    seen: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not page.locator(done).count():
        bar = page.locator("#invite-progress progress")
        try:
            # Short: htmx may swap the bar out between finding it and reading it.
            value = bar.get_attribute("value", timeout=200) if bar.count() else None
        except PlaywrightTimeoutError:
            value = None
        if value is not None and (not seen or int(value) != seen[-1]):
            seen.append(int(value))
        time.sleep(0.1)
    return seen


def test_bulk_invite_of_20_urls_with_3_bad_ones(
    page: Page,
    login: LoginFunc,
    recruiter_user: User,
    integration: AtsIntegration,
    lever: SandboxServer,
    worker: None,
) -> None:
    integration.api_key, integration.api_key_last4 = DEMO_API_KEY, DEMO_API_KEY[-4:]
    integration.region = "us"
    integration.save(update_fields=["api_key", "api_key_last4", "region"])
    for posting in demo_data().postings:
        if posting["state"] == "published":
            RoleFactory(group=integration.group, title=posting["text"], requisition_code="")
    good = [f"https://hire.lever.co/candidates/{o}" for o in mailable_opportunity_ids(17)]
    login(recruiter_user)

    page.get_by_role("link", name="Invite candidates").click()
    page.get_by_label("Lever candidate URLs").fill("\n".join([*good[:8], *BAD, *good[8:]]))
    page.get_by_role("button", name="Preview").click()

    # Reading from Lever runs in the background: the bar moves, then the preview appears.
    expect(page.locator("#invite-progress")).to_be_visible()
    preview_values = _values_until(page, "table.invite-preview")
    expect(page.locator("table.invite-preview tbody tr")).to_have_count(17)
    problems = page.locator(".invite-problems li")
    expect(problems).to_have_count(3)
    expect(problems.nth(0)).to_contain_text("job posting link")
    expect(problems.nth(1)).to_contain_text("isn't a Lever candidate link")
    expect(problems.nth(2)).to_contain_text("has no candidate with this link")
    bar = page.locator("progress").first
    expect(bar).to_have_attribute("value", "20")
    expect(bar).to_have_attribute("max", "20")
    docs_screenshot(page, "invite-preview")
    assert axe_problems(page) == []

    page.get_by_role("button", name="Invite selected candidates").click()

    invite_values = _values_until(page, ".invite-summary")
    summary = page.locator(".invite-summary")
    expect(summary).to_contain_text("17 invited")
    expect(summary).to_contain_text("3 not invited")
    expect(summary.locator("progress")).to_have_attribute("value", "17")
    expect(summary.locator("progress")).to_have_attribute("max", "17")
    screenshot(page, "bulk-invite-summary")
    assert axe_problems(page) == []

    # The bar was seen moving (a value short of the end) in each phase.
    assert any(v < 20 for v in preview_values), preview_values
    assert any(v < 17 for v in invite_values), invite_values
    assert Candidacy.objects.count() == 17
    batch = InviteBatch.objects.get()
    assert batch.status == InviteBatch.Status.DONE
    # The summary stays at its own address.
    page.goto(f"/candidates/invite/{batch.public_id}/")
    expect(page.locator(".invite-summary")).to_contain_text("17 invited")


def test_automatic_invite_origins_sit_under_their_legend_one_per_line_each(
    page: Page, login: LoginFunc, admin_user: User, integration: AtsIntegration
) -> None:
    """The origins group: its legend above the choices, no choice wrapped onto two lines."""
    login(admin_user)
    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto(reverse("auto-invite:edit", args=[integration.public_id]))

    # The origins' fieldset (the posting filter above it is one too).
    origins = page.locator("fieldset.choice-field", has_text="Only for these origins")
    legend = origins.locator("legend").bounding_box()
    choices = origins.locator("label.check")
    boxes = [choices.nth(i).bounding_box() for i in range(choices.count())]
    screenshot(page, "automatic-invite-origins")

    assert legend is not None
    assert len(boxes) >= 3
    assert all(box is not None for box in boxes)
    line = min(box["height"] for box in boxes if box)
    for box in boxes:
        assert box is not None
        assert box["y"] >= legend["y"] + legend["height"] - 1  # below the legend
        assert box["height"] < 1.5 * line  # not wrapped
