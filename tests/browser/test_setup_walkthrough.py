"""The seed setup guide's Steps 2 to 4 as the demo admin, against a running Lever sandbox: create
the integration, paste the sandbox's demo key, see the check pass, register the Step 3 webhooks,
then read the Status page. Asserts what a person reads on each page and saves a screenshot of
each under var/screenshots/ (gitignored; CI keeps them as artifacts).

On each page it reads what a person reads: the tabs and the full breadcrumb, the masked key
shown once, the region (detected from the key) and the overall status line with the features it
names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django import Settings

from integrations.features import FEATURES
from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.models import AtsIntegration
from integrations.tasks import api_key_validate
from karatlever.accounts.models import Group, User
from tests.browser.conftest import LoginFunc

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
MASKED = f"••••{DEMO_API_KEY[-4:]}"
TABS = ("Overview", "Settings", "Status", "Activity")


@pytest.fixture
def lever(settings: Settings) -> Iterator[SandboxServer]:
    """The local Lever sandbox, as `make run` has it (its account in the sandbox region, one API
    root per region); the console talks to it, never to Lever."""
    with SandboxServer(port=0, rate_per_second=None, region="sandbox") as server:
        settings.LEVER_API_BASE_URL = server.regional_api_url
        yield server


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"walkthrough-{name}.png"), full_page=True)


def _integration_chrome(page: Page, current: str) -> None:
    """What every integration page shows: the same breadcrumb trail and the same tabs."""
    breadcrumb = page.get_by_role("navigation", name="Breadcrumb")
    expect(breadcrumb).to_have_text(
        # The separators are U+203A (single right-pointing angle quotation mark), as on the page.
        re.compile(
            r"Settings\s*\u203a\s*ATS Integrations\s*\u203a\s*Engineering\s*\u203a\s*" + current
        )
    )
    expect(breadcrumb.get_by_role("link", name="ATS Integrations")).to_be_visible()
    tabs = page.get_by_role("navigation", name="Integration")
    for tab in TABS:
        expect(tabs.get_by_role("link", name=tab, exact=True)).to_be_visible()
    expect(tabs.get_by_role("link", name=current, exact=True)).to_have_attribute(
        "aria-current", "page"
    )


def _go_to_ats_integrations(page: Page) -> None:
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_text("Settings", exact=True).click()
    nav.get_by_role("link", name="ATS Integrations").click()
    expect(page.get_by_role("heading", name="ATS Integrations", exact=True)).to_be_visible()


def test_steps_2_to_4_against_the_sandbox_as_the_demo_admin(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    group: Group,
    second_group: Group,
    lever: SandboxServer,
) -> None:
    # Step 2: sign in, Settings → ATS Integrations, choose the group and Lever, Create.
    login(admin_user)
    _go_to_ats_integrations(page)
    _shot(page, "1-ats-integrations")
    page.get_by_label("Group").select_option(label="Engineering")
    page.get_by_label("Select ATS").select_option(label="Lever")
    page.get_by_role("button", name="Create").click()
    integration = AtsIntegration.objects.get(group=group)
    expect(page).to_have_url(re.compile(rf"/{integration.public_id}/$"))
    expect(page.locator("#integration-id")).to_have_text(str(integration.public_id))
    _integration_chrome(page, "Overview")
    _shot(page, "2-created")

    # "Click Settings, under the Integration ID." Paste the key (the sandbox's demo key), leave
    # the region to be detected from the key, no User ID, Save.
    tabs = page.get_by_role("navigation", name="Integration")
    tabs.get_by_role("link", name="Settings", exact=True).click()
    _integration_chrome(page, "Settings")
    # The region note says how to tell the account's region from its Lever address.
    expect(page.locator("#id_region_helptext")).to_contain_text("hire.eu.lever.co")
    page.get_by_label("API Key").fill(DEMO_API_KEY)
    expect(page.get_by_label("Region")).to_have_value("")
    expect(page.get_by_label("Region").locator("option:checked")).to_have_text(
        "Detect from the key (recommended)"
    )
    expect(page.get_by_label("User ID")).to_have_value("")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").first).to_be_visible()  # the "Saved." message
    # The key is shown masked, once it is saved, and never again in full.
    expect(page.get_by_text(MASKED).first).to_be_visible()
    expect(page.get_by_label("API Key")).to_have_value("")
    assert DEMO_API_KEY not in page.content()
    _shot(page, "3-key-saved")

    # The background worker checks the key with Lever (here: the sandbox); run its task now.
    assert api_key_validate(integration.pk) == AtsIntegration.KeyStatus.VALID
    page.goto(f"/settings/ats-integrations/{integration.public_id}/settings/")
    key_card = page.get_by_role("region", name="Key check")
    expect(key_card.get_by_text(MASKED)).to_have_count(1)  # the key in use, said once
    expect(key_card.locator(".badge-valid")).to_have_count(1)
    expect(key_card).to_contain_text("Lever accepted the key")
    # Issue 20: the sandbox key's region is detected, not left at US.
    expect(key_card).to_contain_text("Sandbox (api.sandbox.lever.co) (detected from the API key)")
    expect(key_card).to_contain_text("Detected from the key")
    assert DEMO_API_KEY not in page.content()
    _shot(page, "4-key-checked")

    # Step 3: the webhooks, registered in the sandbox from the same page.
    webhooks = page.locator("#webhooks")
    expect(webhooks.get_by_role("heading", name=re.compile("Webhooks"))).to_be_visible()
    for event in ("Candidate Stage Change", "Candidate Archive State Change", "Candidate Hired"):
        expect(webhooks).to_contain_text(event)
    webhooks.get_by_role("button", name="Register webhooks in Lever").click()
    expect(page.locator(".messages")).to_contain_text("Webhooks registered")
    # The guide's three events and Candidate Deleted (docs/deletions.md).
    expect(page.locator("#webhooks .badge-ok")).to_have_count(4)
    _shot(page, "5-webhooks")

    # Step 4: Settings → ATS Integrations → Status.
    _go_to_ats_integrations(page)
    row = page.locator("tr", has_text="Engineering")
    expect(row).to_contain_text(MASKED)
    row.get_by_role("link", name=re.compile("Status")).click()
    expect(page).to_have_url(re.compile(rf"/{integration.public_id}/status/$"))
    _integration_chrome(page, "Status")
    overall = page.get_by_role("region", name="Overall status")
    # Every feature exists: Active, with what the waiting features wait for.
    expect(overall.locator(".badge")).to_have_text("Active")
    expect(overall).to_contain_text("is waiting for the first")
    expect(overall).not_to_contain_text("not available yet")
    basics = page.get_by_role("region", name="Basic information")
    expect(basics).to_contain_text(str(integration.public_id))
    expect(basics).to_contain_text(MASKED)
    expect(basics).to_contain_text("Region")
    expect(basics).to_contain_text("Sandbox")  # the region note
    expect(basics).to_contain_text("detected from the API key")
    invite = page.get_by_role("article").filter(has_text="Invite candidates")
    expect(invite).to_contain_text("Candidate links of this region")
    expect(invite).to_contain_text("hire.sandbox.lever.co")
    features = page.get_by_role("region", name="Features").get_by_role("article")
    expect(features).to_have_count(len(FEATURES))
    assert DEMO_API_KEY not in page.content()
    _shot(page, "6-status")
