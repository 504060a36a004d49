"""Fixtures for the integration console tests: keys, a keyed integration, a local Lever sandbox,
and the invite features' integration on it (invites/, auto_invites/)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from integrations.connection.services import lifecycle
from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer, demo_opportunity_ids
from integrations.lever.sandbox.demo import demo_data, demo_opportunity
from integrations.models import AtsIntegration, KeyCheck
from karatlever.accounts.models import Group, Membership, Organization, User
from karatlever.hiring.models import Role
from tests.brokers import QUEUE_NAMES, broker
from tests.factories import IntegrationFactory, MembershipFactory, RoleFactory

# Looks like a Lever key; the tests search for it (and its Basic-auth form) everywhere.
API_KEY = "lvr_TEST_9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2aXy12"
OTHER_KEY = "lvr_TEST_0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7fZz34"


def set_key(integration: AtsIntegration, actor: User | None, key: str = API_KEY) -> None:
    lifecycle.integration_settings_update(
        integration=integration,
        actor=actor,
        api_key=key,
        ats_user_id=integration.ats_user_id,
        region=integration.region,
    )


def mark_valid(integration: AtsIntegration) -> None:
    """As if Lever's check of the key in use had passed (for tests about what happens next)."""
    integration.refresh_from_db()
    KeyCheck.objects.filter(
        integration=integration,
        subject=KeyCheck.Subject.CURRENT,
        api_key_fingerprint=integration.api_key_fingerprint,
        finished_at__isnull=True,
    ).update(finished_at=timezone.now(), outcome=KeyCheck.Outcome.VALID)
    AtsIntegration.objects.filter(pk=integration.pk).update(
        key_status=AtsIntegration.KeyStatus.VALID
    )
    integration.refresh_from_db()


def latest_check(integration: AtsIntegration, subject: str = "current") -> KeyCheck:
    """The latest KeyCheck row of ``subject`` (the one whose result counts)."""
    row = KeyCheck.objects.filter(integration=integration, subject=subject).order_by("-id").first()
    assert row is not None, f"no {subject} key check"
    return row


@pytest.fixture
def keyed_integration(integration: AtsIntegration, admin_user: User) -> AtsIntegration:
    set_key(integration, admin_user)
    integration.refresh_from_db()
    return integration


@pytest.fixture
def memory_broker() -> Iterator[Any]:
    """Publish to an in-process broker, never into var/broker of a running app (whose worker
    would act on the message against its own database). Yields the Celery app."""
    with broker("memory://") as app:
        # The in-memory transport is one per process: start from an empty queue, whatever an
        # earlier test published (a valid key check also queues a posting sync).
        with app.connection_for_write() as connection:
            for name in QUEUE_NAMES:
                connection.SimpleQueue(name).clear()
        yield app


@pytest.fixture
def dead_broker() -> Iterator[Any]:
    """A Redis broker URL where nothing listens: every publish fails (fast)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = {"socket_connect_timeout": 0.2, "socket_timeout": 0.2, "max_retries": 0}
    with broker(f"redis://127.0.0.1:{port}/0", options) as app:
        yield app


@pytest.fixture
def lever_sandbox(settings: Any) -> Iterator[SandboxServer]:
    """A local Lever on 127.0.0.1:<free port>; every integration talks to it."""
    with SandboxServer(port=0, rate_per_second=None) as server:
        settings.LEVER_API_BASE_URL = server.api_url
        yield server


@pytest.fixture
def regional_sandbox(settings: Any) -> Iterator[SandboxServer]:
    """A local Lever whose account is in the sandbox region (hire.sandbox.lever.co links),
    with one API root per region as `make run` has it: only ``/sandbox/v1`` accepts its keys,
    ``/us/v1`` and ``/eu/v1`` answer 401, as Lever's other regions do."""
    with SandboxServer(port=0, rate_per_second=None, region="sandbox") as server:
        settings.LEVER_API_BASE_URL = server.regional_api_url
        yield server


@pytest.fixture
def other_host() -> Iterator[SandboxServer]:
    """Another host (127.0.0.2) that knows no API key: every /v1 request gets a 401. Point
    the sandbox's ``redirect_to`` knob at it to play a proxy or a moved API."""
    with SandboxServer(host="127.0.0.2", port=0, seed=False, rate_per_second=None) as server:
        yield server


# --- the invite features (invites/, auto_invites/): the sandbox's demo data -------------------


@pytest.fixture
def own_cache_and_broker(settings: Any, tmp_path: Path) -> Iterator[None]:
    """An empty cache (Lever name lookups) and rate buckets per test; tasks go to memory. The
    invite folders' conftests use it for every test (autouse there)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"invites-test-{tmp_path.name}",
        }
    }
    settings.LEVER_RATE_LIMIT_DIR = tmp_path / "ratelimit"
    settings.REDIS_URL = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with broker("memory://"):
        yield


@pytest.fixture
def lever(lever_sandbox: SandboxServer) -> SandboxServer:
    """The local Lever sandbox (``lever_sandbox``), under the name the invite tests use."""
    return lever_sandbox


@pytest.fixture
def lever_integration(integration: AtsIntegration, lever: SandboxServer) -> AtsIntegration:
    """The group's integration (region us), with the sandbox's demo key."""
    integration.api_key = DEMO_API_KEY
    integration.api_key_last4 = DEMO_API_KEY[-4:]
    integration.region = "us"
    integration.save(update_fields=["api_key", "api_key_last4", "region"])
    return integration


def sandbox_integration(group: Group) -> AtsIntegration:
    """A Lever integration of ``group`` on the sandbox's demo account (region us)."""
    return IntegrationFactory(
        group=group, api_key=DEMO_API_KEY, api_key_last4=DEMO_API_KEY[-4:], region="us"
    )


def roles_by_posting_title(group: Group) -> list[Role]:
    """One Karat role of ``group`` per published demo posting, matched by title."""
    published = [p for p in demo_data().postings if p["state"] == "published"]
    return [RoleFactory(group=group, title=p["text"], requisition_code="") for p in published]


@pytest.fixture
def data_integration(second_group: Group, lever: SandboxServer) -> AtsIntegration:
    """Data's own integration (the org's second group) on the same Lever account."""
    return sandbox_integration(second_group)


@pytest.fixture
def data_roles(data_integration: AtsIntegration) -> list[Role]:
    return roles_by_posting_title(data_integration.group)


@pytest.fixture
def data_recruiter(organization: Organization, second_group: Group) -> User:
    """A recruiter of Acme whose membership names only Data: Engineering is not theirs."""
    membership = MembershipFactory(
        organization=organization, role=Membership.Role.RECRUITER, user__email="data@acme.test"
    )
    membership.groups.set([second_group])
    return membership.user


def posting_of(opportunity_id: str) -> dict[str, Any]:
    posting_id = demo_opportunity(opportunity_id)["_application"]["posting"]
    return next(p for p in demo_data().postings if p["id"] == posting_id)


@pytest.fixture
def roles(lever_integration: AtsIntegration) -> list[Role]:
    """One Karat role per published demo posting, matched by title (no requisition codes)."""
    return roles_by_posting_title(lever_integration.group)


@pytest.fixture
def invitable() -> list[str]:
    """Opportunity ids the demo data says can be invited (active, posting, name, an email Karat
    can send to), none of them the demo's deliberate examples of a refusal."""
    return mailable_opportunity_ids(30)


def mailable_opportunity_ids(n: int) -> list[str]:
    """The first ``n`` invitable demo opportunities (``demo_opportunity_ids``)."""
    return demo_opportunity_ids(n)
