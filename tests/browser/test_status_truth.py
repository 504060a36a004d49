"""Issue 20 in Chromium: the status page names a Lever webhook toggle left OFF (found by the
reconciliation), and a key revoked in Lever (found by the periodic recheck) turns every feature
that needs it to "Not working", naming the key; the settings page says a new key lacks
permissions rather than that Lever rejected it; the admin who created an integration is named
by their display name, never their email, on its Overview and its Status page alike."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from integrations import tasks
from integrations.connection.services import keys
from integrations.lever.adapter import WebhookEvent
from integrations.lever.sandbox import KARAT_PERMISSIONS, SandboxServer, demo_opportunity_ids
from integrations.models import AtsIntegration, OpportunityLink
from integrations.status import services as status
from karatlever.accounts.models import Group, User
from tests.browser.conftest import LoginFunc
from tests.browser.test_status_page import _connected, _feature, _url
from tests.browser.test_status_page import lever as lever
from tests.factories import CandidacyFactory, RoleFactory
from tests.integrations.conftest import set_key
from webhooks.services import reconcile

pytestmark = pytest.mark.browser

KEY_FEATURES = (
    "Invite candidates using Lever URL",
    "Post candidacy updates to Lever",
    "Auto state updating",
    "Ensure Lever roles match Karat roles",
)


def test_a_webhook_toggle_left_off_is_named_with_where_to_turn_it_on(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    integration: AtsIntegration,
    lever: SandboxServer,
) -> None:
    _connected(integration, admin_user, lever)
    opportunity_id = demo_opportunity_ids(1)[0]
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=CandidacyFactory(role=RoleFactory(group=integration.group)),
        opportunity_id=opportunity_id,
        contact_id=lever.opportunity(opportunity_id)["contact"],
    )
    reconcile.integration_reconcile(integration_id=integration.pk)
    lever.set_event_enabled(WebhookEvent.CANDIDATE_STAGE_CHANGE, False)
    lever.move_stage(opportunity_id, "offer")
    assert lever.wait_for_deliveries(timeout=15)

    reconcile.integration_reconcile(integration_id=integration.pk)
    status.integration_status_compute(integration_id=integration.pk)
    login(admin_user)
    page.goto(_url(integration))

    auto = _feature(page, "Auto state updating")
    expect(auto.locator(".feature-head .badge")).to_have_text("Needs attention")
    check = auto.locator(".feature-check", has_text="Candidate Stage Change: changes announced")
    expect(check.locator(".badge")).to_have_text("Warning")
    expect(check).to_contain_text(
        "turn on Candidate Stage Change in Lever: Settings → Integrations and API → Webhooks"
    )
    for other in ("Candidate Archive State Change", "Candidate Hired"):
        expect(
            auto.locator(".feature-check", has_text=f"{other}: changes announced").locator(".badge")
        ).to_have_text("OK")


def test_a_revoked_key_makes_every_feature_that_needs_it_say_not_working_and_why(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    integration: AtsIntegration,
    lever: SandboxServer,
    settings: Any,
) -> None:
    settings.API_KEY_RECHECK_MINUTES = 10
    key_id, _ = _connected(integration, admin_user, lever)
    last4 = AtsIntegration.objects.get(pk=integration.pk).api_key_last4
    lever.sandbox.revoke_key(key_id)
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=True):
        assert keys.api_keys_recheck_due() == 1
        status.integration_status_compute(integration_id=integration.pk)
    login(admin_user)

    page.goto(_url(integration))

    expect(page.locator(".status-hero .badge")).to_have_text("Not working")
    for name in KEY_FEATURES:
        feature = _feature(page, name)
        expect(feature.locator(".feature-head .badge")).to_have_text("Not working")
        key_valid = feature.locator(".feature-check", has_text="API key valid")
        expect(key_valid.locator(".badge")).to_have_text("Failing")
        expect(key_valid).to_contain_text(f"••••{last4}")
    expect(_feature(page, "Auto state updating")).not_to_contain_text("webhooks are arriving")


def test_a_new_key_lacking_permissions_is_not_called_rejected(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    integration: AtsIntegration,
    lever: SandboxServer,
) -> None:
    _connected(integration, admin_user, lever)
    lacking = lever.create_api_key([p for p in KARAT_PERMISSIONS if p != "users:read:admin"])
    set_key(integration, admin_user, lacking)
    tasks.api_key_validate(integration.pk)
    login(admin_user)

    settings_url = reverse("integrations:settings", kwargs={"public_id": integration.public_id})
    page.goto(settings_url + "?checking=1")

    message = page.locator(".msg", has_text=f"••••{lacking[-4:]}").first
    expect(message).to_contain_text(
        f"Lever accepted the new key ••••{lacking[-4:]}, but it lacks a permission Karat "
        "needs: Read users."
    )
    expect(message).not_to_contain_text("rejected")
    expect(
        page.get_by_role("heading", name=f"New key not used: ••••{lacking[-4:]}")
    ).to_be_visible()


def test_the_admin_who_created_the_integration_is_named_alike_on_overview_and_status(
    page: Page, login: LoginFunc, admin_user: User, group: Group, second_group: Group
) -> None:
    name = admin_user.display_name
    assert name != admin_user.email  # the fixture's user has a full name
    login(admin_user)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_text("Settings", exact=True).click()
    nav.get_by_role("link", name="ATS Integrations").click()

    create = page.get_by_role("region", name="Create New ATS Integration")
    create.get_by_label("Group").select_option(label=group.name)
    create.get_by_label("Select ATS").select_option(label="Lever")
    create.get_by_role("button", name="Create").click()

    # Overview: the Integration card and the audit log's "Who"
    expect(page.get_by_role("region", name="Integration", exact=True)).to_contain_text(f"by {name}")
    audit = page.get_by_role("region", name="Audit log")
    expect(audit.locator("td[data-label='Who']")).to_have_text([name])
    expect(page.locator("main")).not_to_contain_text(admin_user.email)

    page.get_by_role("navigation", name="Integration").get_by_role(
        "link", name="Status", exact=True
    ).click()

    expect(page.get_by_role("region", name="Basic information")).to_contain_text(f"by {name}")
    expect(page.locator("main")).not_to_contain_text(admin_user.email)
