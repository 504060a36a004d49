"""The automatic invite's posting filter searches as you type (issue 23 §1): the admin types part
of a title, ticks a match, and saves; the chosen posting stays listed, ticked, afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.models import AtsIntegration, AutoInviteRule
from karatlever.accounts.models import User
from tests.browser.conftest import LoginFunc
from tests.page_rows import seed_rows

pytestmark = pytest.mark.browser


@pytest.fixture
def lever(settings: Any, live_server: LiveServer) -> Iterator[SandboxServer]:
    with SandboxServer(port=0, rate_per_second=None) as server:
        settings.LEVER_API_BASE_URL = server.api_url
        yield server


def test_the_admin_finds_a_posting_by_typing_and_keeps_it_chosen(
    page: Page,
    login: LoginFunc,
    admin_user: User,
    integration: AtsIntegration,
    lever: SandboxServer,
) -> None:
    integration.api_key = DEMO_API_KEY
    integration.api_key_last4 = DEMO_API_KEY[-4:]
    integration.region = "us"
    integration.save()
    seed_rows(integration=integration, postings=300)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    login(admin_user)
    page.goto(reverse("auto-invite:edit", args=[integration.public_id]))

    page.get_by_label("Find postings").press_sequentially("00123", delay=30)

    match = page.locator("#posting-matches").get_by_label("Posting 00123 engineer", exact=False)
    expect(match).to_be_visible()
    expect(page.locator("#posting-matches input[type=checkbox]")).to_have_count(1)
    match.check()
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#posting-chosen")).to_contain_text("Posting 00123 engineer")
    expect(page.locator("#posting-chosen input[type=checkbox]")).to_be_checked()
    assert AutoInviteRule.objects.get(integration=integration).posting_ids == ["posting-00123"]
    assert errors == []
