"""The invite pages in Chromium: one Lever link from a preview without a finished progress bar
(a role drop-down that shows its whole title, a hired candidate flagged as hired) to a summary
that names the candidate not invited; a link from another Lever region tells a recruiter to ask
an admin; the recent invites newest first, each labelled by what is left to do; the automatic
invite's dry run of unsaved values."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Locator, Page, expect

from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.lever.sandbox.demo import demo_data, demo_opportunity
from integrations.models import AtsIntegration, AutoInviteRule, InviteBatch
from karatlever.accounts.models import User
from karatlever.hiring.models import Candidacy
from tests.browser.conftest import NARROW, LoginFunc, has_horizontal_overflow, screenshot
from tests.factories import RoleFactory
from tests.integrations.conftest import mailable_opportunity_ids

pytestmark = pytest.mark.browser

LONG_TITLE = "Principal Site Reliability Engineer, Core Platform"
TYPICAL_TITLE = "Machine Learning Engineer"

# How much of the select's width its chosen option's label needs, and how much it has (the
# inner width less the drop-down arrow): measured with the select's own font.
LABEL_FITS_JS = """(select) => {
  const style = getComputedStyle(select);
  const canvas = document.createElement("canvas").getContext("2d");
  canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const label = select.options[select.selectedIndex].text;
  const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
  return {label, needs: canvas.measureText(label).width, has: select.clientWidth - padding - 20};
}"""


@pytest.fixture
def lever(invite_sandbox: SandboxServer) -> SandboxServer:
    return invite_sandbox


def _keyed(integration: AtsIntegration) -> None:
    integration.api_key, integration.api_key_last4 = DEMO_API_KEY, DEMO_API_KEY[-4:]
    integration.region = "us"
    integration.save(update_fields=["api_key", "api_key_last4", "region"])


def _preview(page: Page, urls: list[str]) -> None:
    page.get_by_label("Lever candidate URLs").fill("\n".join(urls))
    page.get_by_role("button", name="Preview").click()


def _label_fits(select: Locator) -> dict[str, Any]:
    measured: dict[str, Any] = select.evaluate(LABEL_FITS_JS)
    return measured


def test_one_link_from_preview_to_summary(
    page: Page,
    login: LoginFunc,
    recruiter_user: User,
    integration: AtsIntegration,
    lever: SandboxServer,
) -> None:
    _keyed(integration)
    for posting in demo_data().postings:
        if posting["state"] == "published":
            RoleFactory(group=integration.group, title=posting["text"], requisition_code="")
    RoleFactory(group=integration.group, title=LONG_TITLE, requisition_code="")
    opportunity_id = mailable_opportunity_ids(1)[0]
    name = demo_opportunity(opportunity_id)["name"]
    lever.hire(opportunity_id)
    login(recruiter_user)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("link", name="Invite candidates").click()
    page.get_by_label("Lever candidate URLs").fill(
        f"https://hire.lever.co/candidates/{opportunity_id}"
    )
    page.get_by_role("button", name="Preview").click()

    # The preview: read within the request, so no progress bar to look at.
    row = page.locator("table.invite-preview tbody tr")
    expect(row).to_have_count(1)
    expect(page.locator("progress")).to_have_count(0)
    expect(row).to_contain_text(name)
    expect(row.locator(".badge", has_text="Hired in Lever")).to_be_visible()
    expect(row).not_to_contain_text("Archived in Lever")
    expect(row.get_by_role("checkbox", name="Invite", exact=True)).not_to_be_checked()
    select = row.get_by_label("Karat role")
    select.select_option(label=LONG_TITLE)
    wide = _label_fits(select)
    screenshot(page, "invite-one-link-preview")
    # On a phone the row is a card: the picker takes its width (no select fits every title).
    page.set_viewport_size(NARROW)
    select.select_option(label=TYPICAL_TITLE)
    narrow = _label_fits(select)
    screenshot(page, "invite-one-link-preview-narrow")
    page.set_viewport_size({"width": 1280, "height": 900})
    select.select_option(label=LONG_TITLE)

    assert wide["needs"] <= wide["has"], wide
    assert narrow["needs"] <= narrow["has"], narrow
    for width in (1280, 1024):  # and no column pushed out of sight to make room
        page.set_viewport_size({"width": width, "height": 900})
        assert not page.locator(".table-wrap").evaluate("t => t.scrollWidth > t.clientWidth")
        assert _label_fits(select)["needs"] <= _label_fits(select)["has"], width
    assert not has_horizontal_overflow(page)

    # Left unticked: the summary names who was not invited.
    page.get_by_role("button", name="Invite selected candidates").click()

    summary = page.locator(".invite-summary")
    expect(summary).to_contain_text("0 invited")
    expect(summary).to_contain_text("1 not invited")
    expect(page.locator("progress")).to_have_count(0)
    problem = page.locator(".invite-problems li")
    expect(problem).to_have_count(1)
    expect(problem.locator(".problem-name")).to_have_text(name)
    expect(problem.get_by_role("link", name="Lever profile")).to_have_attribute(
        "href", f"https://hire.lever.co/candidates/{opportunity_id}"
    )
    screenshot(page, "invite-one-link-summary")

    page.get_by_role("link", name="← Paste more URLs").click()

    recent = page.locator("section", has_text="Your recent invites").locator("li")
    expect(recent).to_have_count(1)
    expect(recent).to_contain_text("1 URL for")
    expect(recent).to_contain_text("0 invited")
    assert not Candidacy.objects.exists()
    assert InviteBatch.objects.get().status == InviteBatch.Status.DONE


def test_a_link_from_another_region_tells_the_recruiter_to_ask_an_admin(
    page: Page,
    login: LoginFunc,
    recruiter_user: User,
    integration: AtsIntegration,
    lever: SandboxServer,
) -> None:
    _keyed(integration)
    login(recruiter_user)
    page.get_by_role("link", name="Invite candidates").click()

    _preview(page, [f"https://hire.sandbox.lever.co/candidates/{mailable_opportunity_ids(1)[0]}"])

    problem = page.locator(".invite-problems li")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text(
        "This link is from Lever's sandbox site (hire.sandbox.lever.co)"
    )
    expect(problem).to_contain_text(
        "If your Lever is at hire.sandbox.lever.co, ask an admin to set the integration's region"
    )
    # A recruiter can't open the integration's settings: no link to them.
    expect(problem.get_by_role("link", name="Settings → Region")).to_have_count(0)
    expect(page.get_by_text("None of these URLs can be invited.")).to_be_visible()


def test_recent_invites_are_newest_first_and_say_when_there_is_nothing_to_invite(
    page: Page,
    login: LoginFunc,
    recruiter_user: User,
    integration: AtsIntegration,
    lever: SandboxServer,
) -> None:
    _keyed(integration)
    login(recruiter_user)
    page.get_by_role("link", name="Invite candidates").click()
    # given: an older batch of two links that can't be invited, then a newer one that can
    _preview(page, ["https://jobs.lever.co/acme/8d3c3b4e-1f2a-4b5c-9d8e-7f6a5b4c3d2e", "hello"])
    expect(page.get_by_text("None of these URLs can be invited.")).to_be_visible()
    page.get_by_role("link", name="← Paste more URLs").click()
    _preview(page, [f"https://hire.lever.co/candidates/{mailable_opportunity_ids(1)[0]}"])
    expect(page.locator("table.invite-preview tbody tr")).to_have_count(1)

    page.get_by_role("link", name="← Paste more URLs").click()

    recent = page.locator("section", has_text="Your recent invites").locator("li")
    expect(recent).to_have_count(2)
    expect(recent.nth(0)).to_contain_text("1 URL for Engineering")
    expect(recent.nth(0)).to_contain_text("Ready to invite (1)")
    expect(recent.nth(1)).to_contain_text("2 URLs for Engineering")
    expect(recent.nth(1)).to_contain_text("Nothing to invite")


def test_automatic_invite_dry_run_of_the_form_without_saving(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    integration: AtsIntegration,
    lever: SandboxServer,
) -> None:
    _keyed(integration)
    stage = next(s for s in lever.sandbox.stages() if s["text"] == "Technical interview")
    lever.move_stage(mailable_opportunity_ids(1)[0], stage["id"])
    RoleFactory(group=integration.group, title="Generalist", requisition_code="")
    login(admin_user)
    page.goto(reverse("auto-invite:edit", args=[integration.public_id]))

    role = page.get_by_label("Role when the posting matches no Karat role")
    expect(role.locator("option:checked")).to_have_text("— no fallback role —")
    # The posting filter: a group of checkboxes and a search, described by its hint.
    expect(
        page.get_by_role("group", name="Only for these postings")
    ).to_have_accessible_description(re.compile("every posting"))
    page.get_by_label("When a candidate enters the Lever stage").select_option(stage["id"])
    role.select_option(label="Generalist")
    page.get_by_role("button", name="Dry run").click()

    results = page.locator("table.auto-invite-dry-run tbody tr")
    expect(results.first).to_be_visible()
    expect(page.get_by_text("The values in the form above (not saved)")).to_be_visible()
    expect(page.get_by_label("When a candidate enters the Lever stage")).to_have_value(stage["id"])
    expect(page.locator("table.auto-invite-dry-run")).to_contain_text("Already in stage")
    screenshot(page, "automatic-invite-dry-run")
    assert not AutoInviteRule.objects.filter(stage_id__gt="").exists()
