"""Fixtures of the outbound tests: the integration on the Lever sandbox's demo key, with the
rate buckets kept in this process (the drains here run in the test, not in a worker)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from integrations.models import AtsIntegration, OutboundUpdate
from integrations.outbound.services import drain as drain_service


@pytest.fixture
def lever_integration(lever_integration: AtsIntegration, settings: Any) -> AtsIntegration:
    """The parent fixture's integration (the sandbox's demo key), with per-process rate
    buckets: a blank ``REDIS_URL`` keeps a PostgreSQL + Redis run's buckets out of these tests."""
    settings.REDIS_URL = ""
    return lever_integration


def make_due() -> None:
    """Every waiting update is due now (the drains here do not wait out back-offs)."""
    OutboundUpdate.objects.filter(status=OutboundUpdate.Status.PENDING).update(
        next_attempt_at=timezone.now()
    )


def drain(integration: AtsIntegration, budget_seconds: float = 30) -> drain_service.DrainResult:
    """One drain of the integration's outbox in this process."""
    return drain_service.outbound_drain(
        integration_id=integration.pk, budget_seconds=budget_seconds
    )
