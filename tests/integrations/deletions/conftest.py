"""Deletion fixtures: each test's own cache, rate buckets and memory broker; the sandbox, the
keyed integration, roles and invitable opportunities come from tests/integrations/conftest.py."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest

from integrations.lever import signatures
from integrations.models import AtsIntegration, WebhookSubscription
from webhooks.services import intake

DELETED = "candidateDeleted"
STAGE = "candidateStageChange"
# Made-up signature tokens, one per event this folder's tests deliver.
TOKENS = {DELETED: "del" + "0123456789abcdef" * 3, STAGE: "stg" + "fedcba9876543210" * 3}


@pytest.fixture(autouse=True)
def _own_cache_and_broker(own_cache_and_broker: None) -> None:
    """Every test here (see ``own_cache_and_broker``)."""


@pytest.fixture
def hooked(lever_integration: AtsIntegration) -> AtsIntegration:
    """The sandbox integration with signature tokens for the deletion and stage webhooks."""
    for event, token in TOKENS.items():
        WebhookSubscription.objects.update_or_create(
            integration=lever_integration,
            event=event,
            defaults={"signature_token": token, "signature_token_last4": token[-4:]},
        )
    return lever_integration


def delivery(event: str, data: dict[str, Any]) -> dict[str, Any]:
    """A delivery as Lever sends it (integrations/lever/README.md §9.2), signed for real."""
    token, at = secrets.token_hex(24), int(time.time() * 1000)
    return {
        "triggeredAt": at,
        "event": event,
        "data": data,
        "token": token,
        "signature": signatures.sign(signature_token=TOKENS[event], token=token, triggered_at=at),
    }


def record(integration: AtsIntegration, event: str, data: dict[str, Any]) -> int:
    """Receive one delivery as the receiver does; returns the stored delivery's id."""
    result = intake.delivery_record(
        integration_public_id=integration.public_id, body=delivery(event, data)
    )
    assert result.delivery_id is not None, result
    return result.delivery_id
