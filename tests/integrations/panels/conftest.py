"""Fixtures for the interview panels: the Lever sandbox, an integration on it with a Lever user
to write as, and helpers that schedule, drain and read the sandbox's panels."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.lever.sandbox import panels as sandbox_panels
from integrations.lever.sandbox.demo import demo_opportunity_ids
from integrations.models import AtsIntegration, OpportunityLink, OutboundSettings, OutboundUpdate
from integrations.outbound.services import drain as drain_service
from karatlever.hiring.models import Candidacy
from tests.brokers import broker
from tests.factories import CandidacyFactory, RoleFactory


@pytest.fixture(autouse=True)
def _memory_broker() -> Iterator[None]:
    # Drains are published on commit; keep them in-process (the tests drain by hand).
    with broker("memory://"):
        yield


@pytest.fixture
def lever() -> Iterator[SandboxServer]:
    with SandboxServer(port=0, rate_per_second=None) as server:
        yield server


def active_user_id(lever: SandboxServer) -> str:
    return str(next(u["id"] for u in lever.sandbox.users() if u["deactivatedAt"] is None))


@pytest.fixture
def lever_integration(
    integration: AtsIntegration, lever: SandboxServer, settings: Any
) -> AtsIntegration:
    """On the sandbox with its demo key, writing as an active Lever user, panels off."""
    settings.LEVER_API_BASE_URL = lever.api_url
    settings.REDIS_URL = ""
    integration.api_key, integration.api_key_last4 = DEMO_API_KEY, DEMO_API_KEY[-4:]
    integration.ats_user_id = active_user_id(lever)
    integration.save(update_fields=["api_key", "api_key_last4", "ats_user_id"])
    return integration


@pytest.fixture
def panels_on(lever_integration: AtsIntegration) -> AtsIntegration:
    OutboundSettings.objects.update_or_create(
        integration=lever_integration, defaults={"panels_enabled": True}
    )
    return lever_integration


def linked(integration: AtsIntegration, opportunity_id: str | None = None) -> Candidacy:
    candidacy = CandidacyFactory(role=RoleFactory(group=integration.group, title="Backend"))
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id=opportunity_id or demo_opportunity_ids(1)[0],
    )
    return candidacy


def interview_time(minutes: int = -1) -> datetime:
    """``minutes`` from now, to the minute (a minute ago: after the invitation, already due)."""
    return (timezone.now() + timedelta(minutes=minutes)).replace(second=0, microsecond=0)


def drain(integration: AtsIntegration) -> drain_service.DrainResult:
    return drain_service.outbound_drain(integration_id=integration.pk, budget_seconds=30)


def drain_all(integration: AtsIntegration, rounds: int = 10) -> None:
    for _ in range(rounds):
        OutboundUpdate.objects.filter(status=OutboundUpdate.Status.PENDING).update(
            next_attempt_at=timezone.now()
        )
        drain(integration)
        if not OutboundUpdate.objects.filter(status__in=OutboundUpdate.UNSENT).exists():
            return
    raise AssertionError("updates left unsent")


def lever_panels(lever: SandboxServer, opportunity_id: str) -> list[dict[str, Any]]:
    return [
        sandbox_panels.public_panel(p) for p in sandbox_panels.panels(lever.sandbox, opportunity_id)
    ]
