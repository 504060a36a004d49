"""Data shown as people read it (issue #10): dates in the viewer's time zone, JSON with its real
characters, long text that wraps between words, candidates by name, automatic work credited to
Karat."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from integrations.models import AtsIntegration, OpportunityLink
from karatlever.accounts.models import Group, User
from karatlever.hiring import services
from karatlever.hiring.models import Candidacy, CandidacyEvent
from tests.browser.conftest import NARROW, login_as, screenshot
from tests.factories import IntegrationFactory, RoleFactory
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.browser

TRIGGERED_AT_MS = 1795965022799  # 2026-11-29 15:10:22.799 UTC = 10:10 in New York (EST)
OPPORTUNITY_ID = "5f1c2a0e-7d3b-4e8a-9c61-0b2d4f6a8e13"
LONG_ERROR = (
    "Lever rejected the request: the API key was rejected because it lacks the permission to "
    "read opportunities. Check the key's permissions in Lever, then save the key again; "
    "reference 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

# For each text node under the element: the words whose rendered box spans more than one line,
# i.e. that were broken in the middle. Long ids (no spaces) may break: only words of letters
# are checked.
SPLIT_WORDS_JS = """
(element) => {
  const split = [];
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const pattern = /[A-Za-z'\u2019]+/g;
    let match;
    while ((match = pattern.exec(node.data))) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top)));
      if (tops.size > 1) split.push(match[0]);
    }
  }
  return split;
}
"""


@pytest.fixture
def new_york_page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A viewer whose browser is set to New York time."""
    context = browser.new_context(base_url=live_server.url, timezone_id="America/New_York")
    page = context.new_page()
    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def linked(group: Group) -> tuple[AtsIntegration, Candidacy]:
    integration = IntegrationFactory(group=group)
    role = RoleFactory(group=group, title="Senior Backend Engineer")
    candidacy = services.candidacy_create(
        role=role,
        candidate_name="Zoë Ångström-Lovelace",
        candidate_email="zoe@example.com",
        actor=None,
        source=CandidacyEvent.Source.KARAT,
    )
    OpportunityLink.objects.create(
        integration=integration, candidacy=candidacy, opportunity_id=OPPORTUNITY_ID
    )
    return integration, candidacy


def _delivery(integration: AtsIntegration, *, opportunity_id: str, **fields: object) -> int:
    delivery = WebhookDelivery.objects.create(
        integration=integration,
        event="candidateStageChange",
        token=f"t-{opportunity_id}",
        opportunity_id=opportunity_id,
        triggered_at_ms=TRIGGERED_AT_MS,
        payload={
            "event": "candidateStageChange",
            "triggeredAt": TRIGGERED_AT_MS,
            "token": "secret-delivery-token",
            "signature": "0" * 64,
            "data": {"opportunityId": opportunity_id, "note": "Zoë — déjà vu"},
        },
        **fields,
    )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        received_at=datetime(2026, 11, 29, 15, 11, 5, tzinfo=UTC)
    )
    return delivery.pk


def _split_words(locator: Locator) -> list[str]:
    return list(locator.evaluate(SPLIT_WORDS_JS))


def test_delivery_page_shows_dates_in_the_viewers_zone_and_json_as_written(
    new_york_page: Page, admin_user: User, linked: tuple[AtsIntegration, Candidacy]
) -> None:
    page = new_york_page
    integration, candidacy = linked
    delivery_id = _delivery(
        integration,
        opportunity_id=OPPORTUNITY_ID,
        status=WebhookDelivery.Status.FAILED,
        error=LONG_ERROR,
    )
    login_as(page, admin_user)

    page.goto(f"/settings/ats-integrations/{integration.public_id}/activity/{delivery_id}/")

    details = page.locator(".kv")
    triggered = details.locator("dt:has-text('Triggered in Lever') + dd")
    expect(triggered).to_have_text("Nov 29, 2026, 10:10 EST")
    expect(triggered.locator("time")).to_have_attribute("datetime", "2026-11-29T15:10:22.799Z")
    expect(details.locator("dt:has-text('Received') + dd")).to_have_text("Nov 29, 2026, 10:11 EST")
    expect(details.locator("dt:has-text('Candidate') + dd")).to_have_text(candidacy.candidate_name)
    payload = page.locator("pre.payload")
    expect(payload).to_contain_text('"token": "••••••"')
    expect(payload).to_contain_text('"note": "Zoë — déjà vu"')
    expect(payload).not_to_contain_text("\\u")
    expect(payload).not_to_contain_text("secret-delivery-token")
    screenshot(page, "delivery-detail-new-york")


@pytest.mark.parametrize("narrow", [False, True], ids=["laptop", "phone"])
def test_a_long_error_wraps_between_words(
    page: Page, admin_user: User, linked: tuple[AtsIntegration, Candidacy], narrow: bool
) -> None:
    integration, _ = linked
    AtsIntegration.objects.filter(pk=integration.pk).update(
        last_error=LONG_ERROR, last_error_at=timezone.now()
    )
    delivery_id = _delivery(
        integration,
        opportunity_id=OPPORTUNITY_ID,
        status=WebhookDelivery.Status.FAILED,
        error=LONG_ERROR,
    )
    if narrow:
        page.set_viewport_size(NARROW)
    login_as(page, admin_user)

    pages = {
        "status": (
            f"/settings/ats-integrations/{integration.public_id}/status/",
            "dt:has-text('Last error') + dd",
        ),
        "delivery": (
            f"/settings/ats-integrations/{integration.public_id}/activity/{delivery_id}/",
            "dt:has-text('Error') + dd",
        ),
        "activity": (
            f"/settings/ats-integrations/{integration.public_id}/activity/",
            "td[data-label='Outcome']",
        ),
    }
    for name, (url, selector) in pages.items():
        page.goto(url)
        element = page.locator(selector).first
        expect(element).to_contain_text("Lever rejected the request")
        style = element.evaluate(
            "(e) => [getComputedStyle(e).wordBreak, getComputedStyle(e).overflowWrap]"
        )
        assert style[0] == "normal", name
        assert style[1] in ("break-word", "anywhere"), name
        box = element.bounding_box()
        assert box is not None
        assert box["height"] > 40, f"{name}: the error should wrap onto several lines"
        assert _split_words(element) == [], name
        assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth"), name


def test_activity_names_the_candidate_and_links_to_the_candidacy(
    page: Page, admin_user: User, linked: tuple[AtsIntegration, Candidacy]
) -> None:
    integration, candidacy = linked
    _delivery(integration, opportunity_id=OPPORTUNITY_ID)
    _delivery(integration, opportunity_id="opportunity-nobody-knows")
    login_as(page, admin_user)

    page.goto(f"/settings/ats-integrations/{integration.public_id}/activity/")

    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(page.get_by_text("opportunity-nobody-knows")).to_be_visible()
    expect(page.get_by_text(OPPORTUNITY_ID)).to_have_count(0)
    page.get_by_role("link", name=candidacy.candidate_name).click()
    expect(page.get_by_role("heading", name=candidacy.candidate_name)).to_be_visible()
    assert page.url.endswith(f"/candidates/{candidacy.code}/")


def test_what_karat_did_by_itself_is_credited_to_karat(
    new_york_page: Page, admin_user: User, linked: tuple[AtsIntegration, Candidacy]
) -> None:
    page = new_york_page
    _, candidacy = linked
    CandidacyEvent.objects.filter(candidacy=candidacy).update(
        occurred_at=datetime(2026, 7, 4, 16, 30, tzinfo=UTC)
    )
    login_as(page, admin_user)

    page.goto(f"/candidates/{candidacy.code}/")

    item = page.locator(".timeline-item").first
    expect(item.locator(".timeline-source")).to_have_text("Karat, automatically")
    expect(item).not_to_contain_text("A person")
    expect(item).not_to_contain_text(admin_user.display_name)
    expect(item.locator("time")).to_have_text("Jul 4, 2026, 12:30 EDT")
