"""Invite fixtures: the Lever sandbox (demo data), a keyed integration talking to it, roles
matching demo postings, and a private cache / rate-limit store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer, demo_opportunity_ids
from integrations.lever.sandbox.demo import demo_data, demo_opportunity
from integrations.models import AtsIntegration
from karatlever.hiring.models import Role
from tests.brokers import broker
from tests.factories import RoleFactory


@pytest.fixture(autouse=True)
def _own_cache_and_broker(settings: Any, tmp_path: Path) -> Iterator[None]:
    """An empty cache (Lever name lookups) and rate buckets per test; tasks go to memory."""
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
def lever(settings: Any) -> Iterator[SandboxServer]:
    with SandboxServer(port=0, rate_per_second=None) as server:
        settings.LEVER_API_BASE_URL = server.api_url
        yield server


@pytest.fixture
def lever_integration(integration: AtsIntegration, lever: SandboxServer) -> AtsIntegration:
    """The group's integration (region us), with the sandbox's demo key."""
    integration.api_key = DEMO_API_KEY
    integration.api_key_last4 = DEMO_API_KEY[-4:]
    integration.region = "us"
    integration.save(update_fields=["api_key", "api_key_last4", "region"])
    return integration


def posting_of(opportunity_id: str) -> dict[str, Any]:
    posting_id = demo_opportunity(opportunity_id)["_application"]["posting"]
    return next(p for p in demo_data().postings if p["id"] == posting_id)


def url_of(opportunity_id: str) -> str:
    return f"https://hire.lever.co/candidates/{opportunity_id}"


@pytest.fixture
def roles(lever_integration: AtsIntegration) -> list[Role]:
    """One Karat role per published demo posting, matched by title (no requisition codes)."""
    published = [p for p in demo_data().postings if p["state"] == "published"]
    return [
        RoleFactory(group=lever_integration.group, title=p["text"], requisition_code="")
        for p in published
    ]


@pytest.fixture
def invitable() -> list[str]:
    """Opportunity ids the demo data says can be invited (active, posting, name, email),
    without those whose email Karat refuses (non-ASCII before the @: see
    ``email_unsupported_reason``)."""
    return mailable_opportunity_ids(30)


def mailable_opportunity_ids(n: int) -> list[str]:
    """The first ``n`` invitable demo opportunities whose email's local part is ASCII."""
    ids = [
        o
        for o in demo_opportunity_ids(60)
        if demo_opportunity(o)["emails"][0].rpartition("@")[0].isascii()
    ]
    return ids[:n]


def unmailable_opportunity_id() -> str:
    """An otherwise invitable demo opportunity whose email has a non-ASCII local part."""
    return next(
        o
        for o in demo_opportunity_ids(60)
        if not demo_opportunity(o)["emails"][0].rpartition("@")[0].isascii()
    )
