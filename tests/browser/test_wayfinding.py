"""Finding your way (issue 10): the breadcrumb and tabs of every integration page, a Settings
menu only for those who may open it, the candidate's Lever profile, the create form's groups,
the webhook URL's Copy button and the one-click region switch, as a person sees them."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from integrations.models import AtsIntegration, KeyCheck, OpportunityLink
from karatlever.accounts.models import Group, User
from tests.browser.conftest import (
    NARROW,
    HiringDemo,
    LoginFunc,
    has_horizontal_overflow,
    screenshot,
)
from tests.factories import GroupFactory, IntegrationFactory
from tests.integrations.conftest import API_KEY, set_key
from tests.webhooks.conftest import EXAMPLE_TOKENS, make_delivery, subscriptions_set
from webhooks.services import intake

pytestmark = pytest.mark.browser

SEP = " \u203a "


def _expect_place(page: Page, crumbs: list[str], tab: str | None) -> None:
    breadcrumb = page.get_by_role("navigation", name="Breadcrumb")
    expect(breadcrumb).to_have_text(SEP.join(["Settings", "ATS Integrations", *crumbs]))
    tabs = page.get_by_role("navigation", name="Integration")
    expect(tabs.get_by_role("link")).to_have_text(
        ["Overview", "Settings", "Status", "Roles", "Activity"]
    )
    current = tabs.locator('[aria-current="page"]')
    if tab is None:
        expect(current).to_have_count(0)
    else:
        expect(current).to_have_text(tab)


def test_every_integration_page_has_the_same_breadcrumb_and_tabs(
    page: Page, login: LoginFunc, admin_user: User, integration: AtsIntegration
) -> None:
    subscriptions_set(integration, EXAMPLE_TOKENS)
    intake.delivery_record(integration_public_id=integration.public_id, body=make_delivery())
    login(admin_user)
    page.goto(f"/settings/ats-integrations/{integration.public_id}/")
    tabs = page.get_by_role("navigation", name="Integration")

    _expect_place(page, ["Engineering", "Overview"], "Overview")
    tabs.get_by_role("link", name="Settings").click()
    _expect_place(page, ["Engineering", "Settings"], "Settings")
    tabs.get_by_role("link", name="Status").click()
    _expect_place(page, ["Engineering", "Status"], "Status")
    tabs.get_by_role("link", name="Activity").click()
    _expect_place(page, ["Engineering", "Activity"], "Activity")
    page.get_by_role("link", name="Details").first.click()
    delivery = re.search(r"/activity/(\d+)/$", page.url)
    assert delivery is not None
    _expect_place(page, ["Engineering", "Activity", f"Delivery #{delivery[1]}"], "Activity")
    screenshot(page, "wayfinding-delivery")

    # The breadcrumb leads back: the group to the overview, ATS Integrations to the list.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role(
        "link", name="Engineering"
    ).click()
    _expect_place(page, ["Engineering", "Overview"], "Overview")
    page.get_by_role("link", name="Delete integration…").click()
    _expect_place(page, ["Engineering", "Delete"], None)
    page.get_by_role("navigation", name="Breadcrumb").get_by_role(
        "link", name="ATS Integrations"
    ).click()
    expect(page.get_by_role("heading", name="ATS Integrations", exact=True)).to_be_visible()


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, NARROW], ids=["wide", "narrow"]
)
def test_the_tabs_fit_the_screen(
    page: Page, login: LoginFunc, admin_user: User, integration: AtsIntegration, viewport: dict
) -> None:
    login(admin_user)
    page.set_viewport_size(viewport)  # type: ignore[arg-type]
    page.goto(f"/settings/ats-integrations/{integration.public_id}/activity/")

    expect(page.get_by_role("navigation", name="Integration")).to_be_visible()
    assert not has_horizontal_overflow(page)


def test_a_recruiter_sees_no_settings_menu(
    page: Page, login: LoginFunc, recruiter_user: User, group: Group
) -> None:
    login(recruiter_user)
    nav = page.get_by_role("navigation", name="Main")

    expect(nav.get_by_role("link", name="Candidates")).to_be_visible()
    expect(nav.get_by_role("link", name="Roles")).to_be_visible()
    expect(nav.get_by_text("Settings", exact=True)).to_have_count(0)
    expect(page.locator('a[href^="/settings/"]')).to_have_count(0)


def test_an_admin_sees_the_settings_menu(
    page: Page, login: LoginFunc, admin_user: User, group: Group
) -> None:
    login(admin_user)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).not_to_contain_text("{#")  # no template comment leaks into the menu

    nav.get_by_text("Settings", exact=True).click()
    nav.get_by_role("link", name="ATS Integrations").click()

    expect(page.get_by_role("heading", name="ATS Integrations", exact=True)).to_be_visible()


@pytest.mark.parametrize(("region", "host"), [("us", "hire.lever.co"), ("eu", "hire.eu.lever.co")])
def test_a_candidacy_links_the_lever_profile_on_its_region_host(
    page: Page,
    login: LoginFunc,
    recruiter_user: User,
    hiring_demo: HiringDemo,
    region: str,
    host: str,
) -> None:
    candidacy = hiring_demo["candidacies"][0]
    integration = IntegrationFactory(group=candidacy.role.group, region=region)
    opportunity = "250d8f03-738a-4bba-a671-8a3d73477145"
    OpportunityLink.objects.create(
        integration=integration, candidacy=candidacy, opportunity_id=opportunity
    )
    login(recruiter_user)

    page.get_by_role("link", name=candidacy.candidate_name).click()

    link = page.get_by_role("link", name=re.compile("Open profile in Lever"))
    expect(link).to_have_attribute("href", f"https://{host}/candidates/{opportunity}")
    expect(link).to_be_visible()


def test_the_create_form_offers_only_groups_that_can_take_one(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    group: Group,
    second_group: Group,
) -> None:
    platform = GroupFactory(organization=group.organization, name="Platform")
    IntegrationFactory(group=platform)
    login(admin_user)

    page.goto("/settings/ats-integrations/")

    options = page.get_by_label("Group").locator("option")
    expect(options).to_have_text(["Data", "Engineering"])
    expect(page.get_by_text("Platform already has a Lever integration.")).to_be_visible()
    screenshot(page, "wayfinding-create-form")


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, NARROW], ids=["wide", "narrow"]
)
def test_the_webhook_url_copies_and_register_stays_on_one_line(
    page: Page, login: LoginFunc, admin_user: User, integration: AtsIntegration, viewport: dict
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.set_viewport_size(viewport)  # type: ignore[arg-type]
    login(admin_user)
    page.goto(f"/settings/ats-integrations/{integration.public_id}/settings/")

    url = page.locator("#webhook-url").inner_text().strip()
    copy = page.get_by_role("button", name="Copy the webhook URL")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == url

    register = page.get_by_role("button", name="Register webhooks in Lever")
    save = page.get_by_role("button", name="Save", exact=True)
    register_box, save_box = register.bounding_box(), save.bounding_box()
    table_box = page.locator("#webhooks table").bounding_box()
    assert register_box is not None
    assert save_box is not None
    assert table_box is not None
    assert register_box["height"] <= save_box["height"] + 1  # one line, like "Save"
    assert register_box["y"] >= table_box["y"] + table_box["height"] + 8  # clear of the table
    assert not has_horizontal_overflow(page)
    screenshot(page, f"wayfinding-webhooks-{viewport['width']}")


def test_the_settings_form_explains_the_region_and_offers_the_switch(
    page: Page, login: LoginFunc, admin_user: User, integration: AtsIntegration
) -> None:
    set_key(integration, admin_user, API_KEY)
    KeyCheck.objects.filter(integration=integration).update(
        finished_at=timezone.now(),
        outcome=KeyCheck.Outcome.INVALID,
        summary="Lever check failed.",
        checks=[
            {"code": "auth", "name": "API key", "ok": False, "message": "Lever rejected the key."},
            {
                "code": "region",
                "name": "Region",
                "ok": False,
                "message": "api.lever.co (US) does not accept this key, but api.eu.lever.co (EU) "
                "does: your Lever account is in the EU region. Switch the region to EU.",
                "suggested_region": "eu",
            },
        ],
    )
    AtsIntegration.objects.filter(pk=integration.pk).update(
        key_status=AtsIntegration.KeyStatus.INVALID
    )
    login(admin_user)
    page.goto(f"/settings/ats-integrations/{integration.public_id}/settings/")

    expect(page.get_by_text("hire.eu.lever.co", exact=False).first).to_be_visible()
    expect(page.get_by_text("Lever accepted this key in the EU region")).to_be_visible()
    screenshot(page, "wayfinding-switch-region")
    page.get_by_role("button", name="Switch to EU").click()

    expect(page.get_by_role("status").first).to_contain_text("Region switched to EU")
    expect(page.get_by_label("Region")).to_have_value("eu")
    integration.refresh_from_db()
    assert integration.region == "eu"
    assert integration.api_key == API_KEY
