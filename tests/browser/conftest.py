"""Browser harness: Debian's Chromium driven by Playwright against pytest-django's live server."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypedDict

import pytest

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse the
# ORM calls our fixtures make from it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from django.utils import timezone
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer, demo_opportunity
from integrations.models import AtsIntegration, OpportunityLink, OutboundUpdate
from integrations.outbound.services.drain import outbound_drain
from karatlever.accounts.models import Group, User
from karatlever.hiring.models import Candidacy, Milestone, Role
from tests.brokers import broker
from tests.factories import DEFAULT_PASSWORD, RoleFactory
from webhooks import tasks as webhook_tasks
from webhooks.models import WebhookDelivery

CHROMIUM = Path(os.environ.get("KARATLEVER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NARROW: ViewportSize = {"width": 375, "height": 740}
# Screenshots are for people to look at after a run; they are never compared.
SCREENSHOT_DIR = Path(os.environ.get("KARATLEVER_SCREENSHOTS", tempfile.gettempdir()))
# The pictures the documentation shows (docs/*.png), rewritten only with KARATLEVER_UPDATE_DOCS=1.
DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(autouse=True)
def _memory_broker() -> Iterator[None]:
    """Tasks the live server enqueues go to an in-process broker, never into var/broker of a
    running app (whose worker would act on them against its own database)."""
    with broker("memory://"):
        yield


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        # Fail, never skip: a missing browser must not turn the browser suite silently green.
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. Install Debian's package "
            "(`apt-get install -y chromium`, which `make test` does) or set KARATLEVER_CHROMIUM.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)
    try:
        yield page
    finally:
        context.close()


LoginFunc = Callable[[User], None]


@pytest.fixture
def invite_sandbox(settings: Settings, tmp_path: Path) -> Iterator[SandboxServer]:
    """A Lever sandbox for pages that invite: its own cache (Lever name lookups), rate buckets
    and mail box, and no rate limit of its own."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"browser-invite-{tmp_path.name}",
        }
    }
    settings.LEVER_RATE_LIMIT_DIR = tmp_path / "ratelimit"
    settings.REDIS_URL = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with SandboxServer(port=0, rate_per_second=None) as server:
        settings.LEVER_API_BASE_URL = server.api_url
        yield server


@pytest.fixture
def live_lever(
    invite_sandbox: SandboxServer, settings: Settings, live_server: LiveServer
) -> SandboxServer:
    """The local Lever as `make run` has it: its pages at ``live_lever.url`` for the browser,
    and its webhooks (once registered) delivered to the live console."""
    settings.PUBLIC_BASE_URL = live_server.url
    return invite_sandbox


def lever_connect(integration: AtsIntegration, lever: SandboxServer) -> None:
    """The integration on the sandbox's demo account (every permission), posting as its first
    active Lever user."""
    user = next(u for u in lever.sandbox.users() if u["deactivatedAt"] is None)
    integration.api_key, integration.api_key_last4 = DEMO_API_KEY, DEMO_API_KEY[-4:]
    integration.region, integration.ats_user_id = "us", user["id"]
    integration.save(update_fields=["api_key", "api_key_last4", "region", "ats_user_id"])


def linked_candidacy(integration: AtsIntegration, opportunity_id: str) -> Candidacy:
    """A candidacy of the Lever candidate (their name and email), linked to the opportunity."""
    from karatlever.hiring.services import candidacy_create

    doc = demo_opportunity(opportunity_id)
    candidacy = candidacy_create(
        role=RoleFactory(group=integration.group, title="Backend Engineer"),
        candidate_name=doc["name"],
        candidate_email=doc["emails"][0],
    )
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id=opportunity_id,
        contact_id=doc["contact"],
    )
    return candidacy


def outbox_drain(integration: AtsIntegration) -> None:
    """The worker's part between page steps: send every update waiting for Lever, now."""
    for _ in range(10):
        OutboundUpdate.objects.filter(
            integration=integration, status=OutboundUpdate.Status.PENDING
        ).update(next_attempt_at=timezone.now())
        outbound_drain(integration_id=integration.pk, budget_seconds=30)
        unsent = OutboundUpdate.objects.filter(
            integration=integration, status__in=OutboundUpdate.UNSENT
        )
        if not unsent.exists():
            return
    raise AssertionError("updates left unsent")


def deliveries_process() -> None:
    """The worker's part between page steps: process every webhook the console received."""
    received = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.RECEIVED)
    for delivery_id in received.values_list("pk", flat=True):
        webhook_tasks.delivery_process(delivery_id)


def login_as(page: Page, user: User, password: str = DEFAULT_PASSWORD) -> None:
    """Sign in through the real login form."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def login(page: Page) -> LoginFunc:
    def _login(user: User) -> None:
        login_as(page, user)
        expect(page.get_by_role("heading", name="Candidates")).to_be_visible()

    return _login


def has_horizontal_overflow(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))


class HiringDemo(TypedDict):
    role: Role
    candidacies: list[Candidacy]


@pytest.fixture
def hiring_demo(group: Group, second_group: Group) -> HiringDemo:
    """Roles and candidates with long names, so layout problems show up."""
    from karatlever.hiring import services
    from tests.factories import RoleFactory

    backend = RoleFactory(group=group, title="Senior Backend Engineer", requisition_code="ENG-1042")
    RoleFactory(
        group=group,
        title="Principal Site Reliability Engineer, Infrastructure Platform",
        requisition_code="REQ-2026-INFRA-PLATFORM-000123",
    )
    RoleFactory(group=group, title="Frontend Engineer (retired)", requisition_code="", active=False)
    RoleFactory(group=second_group, title="Data Scientist", requisition_code="DS-7")
    people = [
        ("Ada Lovelace", "ada.lovelace@analytical-engines.example.com"),
        (
            "Grace Brewster Murray Hopper",
            "grace.hopper.very.long.address@navy-computing.example.org",
        ),
        ("Alan Turing", "alan@bletchley.example"),
    ]
    candidacies = [
        services.candidacy_create(role=backend, candidate_name=name, candidate_email=email)
        for name, email in people
    ]
    services.candidacy_milestone_record(
        candidacy=candidacies[1],
        milestone=Milestone.SCHEDULED,
        # Just held: after the invitation, and over, so it can be marked completed.
        scheduled_at=timezone.now() - timedelta(minutes=1),
    )
    services.candidacy_ats_state_apply(
        candidacy=candidacies[2],
        state=services.AtsState(
            stage_id="offer",
            stage_name="Offer",
            archived=True,
            archive_reason_id="hired",
            archive_reason_name="Hired",
            archive_reason_hired=True,
            version=1,
        ),
    )
    return {"role": backend, "candidacies": candidacies}


def screenshot(page: Page, name: str) -> Path:
    path = SCREENSHOT_DIR / f"karatlever-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def docs_screenshot(page: Page, name: str) -> Path:
    """A screenshot in the temp folder, and with ``KARATLEVER_UPDATE_DOCS=1`` also
    ``docs/<name>.png``, the picture the documentation shows (docs/development.md "Screenshots")."""
    path = screenshot(page, name)
    if os.environ.get("KARATLEVER_UPDATE_DOCS") == "1":
        page.screenshot(path=str(DOCS_DIR / f"{name}.png"), full_page=True)
    return path
