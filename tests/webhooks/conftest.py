"""Webhook fixtures: an integration with the three example tokens, signed deliveries, a Lever."""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from integrations.lever import signatures
from integrations.lever.adapter import WebhookEvent
from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.models import AtsIntegration, OpportunityLink, WebhookSubscription
from karatlever.hiring.models import Candidacy
from tests.brokers import broker
from tests.factories import CandidacyFactory, IntegrationFactory, RoleFactory
from webhooks.services import enqueue, intake
from webhooks.throttling import limiter

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lever"

# The signing tokens of the example payloads in tests/fixtures/lever/
# (integrations/lever/README.md §9.8).
EXAMPLE_TOKENS: dict[str, str] = {
    WebhookEvent.CANDIDATE_STAGE_CHANGE: "d2e4f6a8b0c1d3e5f7a9b1c3d5e7f9a0b2c4d6e8f0a1b3c5",
    WebhookEvent.CANDIDATE_ARCHIVE_CHANGE: "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718",
    WebhookEvent.CANDIDATE_HIRED: "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a59687",
}
EXAMPLE_FILES: dict[str, str] = {
    WebhookEvent.CANDIDATE_STAGE_CHANGE: "webhook-candidateStageChange.json",
    WebhookEvent.CANDIDATE_ARCHIVE_CHANGE: "webhook-candidateArchiveChange.json",
    WebhookEvent.CANDIDATE_HIRED: "webhook-candidateHired.json",
}
EXAMPLE_OPPORTUNITY_ID = "8f2c6a1e-4b7d-4c0e-9a35-2d1e7f6b9c40"


# Lever's example deliveries were sent on 1 to 3 January 2026; tests that post them as they are
# (signed, so their triggeredAt can't change) run on this day, inside the freshness window.
EXAMPLES_SENT_AROUND = datetime(2026, 1, 4, tzinfo=UTC)


@pytest.fixture
def at_example_time() -> Iterator[None]:
    """Be in January 2026, when the example deliveries were sent (the clock keeps ticking)."""
    with time_machine.travel(EXAMPLES_SENT_AROUND, tick=True):
        yield


def example_payload(event: str) -> dict[str, Any]:
    return json.loads((FIXTURES / EXAMPLE_FILES[event]).read_text())


def make_delivery(
    event: str = WebhookEvent.CANDIDATE_STAGE_CHANGE,
    *,
    opportunity_id: str = EXAMPLE_OPPORTUNITY_ID,
    signature_token: str | None = None,
    token: str | None = None,
    triggered_at: int | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A delivery shaped like Lever's, signed with ``signature_token`` (the event's example one)."""
    token = token or secrets.token_hex(24)
    triggered_at = triggered_at if triggered_at is not None else int(time.time() * 1000)
    if data is None:
        data = {"opportunityId": opportunity_id, "candidateId": opportunity_id, "contactId": "c-1"}
        if event == WebhookEvent.CANDIDATE_STAGE_CHANGE:
            data |= {"fromStageId": "applicant-new", "toStageId": "offer"}
    key = signature_token if signature_token is not None else EXAMPLE_TOKENS.get(event, "x" * 48)
    return {
        "triggeredAt": triggered_at,
        "event": event,
        "data": data,
        "token": token,
        "signature": signatures.sign(signature_token=key, token=token, triggered_at=triggered_at),
    }


def resign(body: dict[str, Any], signature_token: str) -> dict[str, Any]:
    body = copy.deepcopy(body)
    body["signature"] = signatures.sign(
        signature_token=signature_token, token=body["token"], triggered_at=body["triggeredAt"]
    )
    return body


def subscriptions_set(integration: AtsIntegration, tokens: dict[str, str]) -> None:
    for event, token in tokens.items():
        WebhookSubscription.objects.update_or_create(
            integration=integration,
            event=event,
            defaults={"signature_token": token, "signature_token_last4": token[-4:]},
        )


@pytest.fixture(autouse=True)
def _memory_broker() -> Iterator[None]:
    """Publish to an in-process broker: tests never write into var/broker of a running app.

    Also starts each test with no cached tokens, and ends it once the publisher thread has
    published (or given up on) every id, so nothing reaches the next test's broker.
    """
    intake.verifiers_clear()
    with broker("memory://"):
        yield
        enqueue.pending.join()


@pytest.fixture(autouse=True)
def _own_cache_and_rate_buckets(settings: Any, tmp_path: Path) -> None:
    """Each test starts with an empty cache (rejection counts, Lever lookups) and its own
    Lever rate-limit store, so a 429 or a rejection in one test never affects the next."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"webhooks-test-{tmp_path.name}",
        }
    }
    settings.LEVER_RATE_LIMIT_DIR = tmp_path / "ratelimit"
    settings.REDIS_URL = ""
    limiter.clear()


@pytest.fixture
def webhook_integration(integration: AtsIntegration) -> AtsIntegration:
    """The shared `integration`, with the example tokens configured for the three events."""
    subscriptions_set(integration, EXAMPLE_TOKENS)
    return integration


@pytest.fixture
def other_integration(second_group: Any) -> AtsIntegration:
    other = IntegrationFactory(group=second_group)
    subscriptions_set(other, {e: secrets.token_hex(24) for e in EXAMPLE_TOKENS})
    return other


PostFn = Callable[..., Any]


@pytest.fixture
def post_delivery(client: Client, webhook_integration: AtsIntegration) -> PostFn:
    """POST a body (dict → JSON, or raw bytes) to an integration's receiver URL."""

    def post(
        body: dict[str, Any] | bytes | str,
        *,
        integration: AtsIntegration | None = None,
        public_id: Any = None,
        content_type: str = "application/json",
        **extra: Any,
    ) -> Any:
        target = public_id or (integration or webhook_integration).public_id
        url = reverse("webhooks:receive", kwargs={"ats": "lever", "public_id": target})
        data = json.dumps(body) if isinstance(body, dict) else body
        return client.post(url, data=data, content_type=content_type, **extra)

    return post


@pytest.fixture
def linked_candidacy(webhook_integration: AtsIntegration) -> Candidacy:
    role = RoleFactory(group=webhook_integration.group)
    candidacy = CandidacyFactory(role=role)
    OpportunityLink.objects.create(
        integration=webhook_integration,
        candidacy=candidacy,
        opportunity_id=EXAMPLE_OPPORTUNITY_ID,
        contact_id="c41d7e92-1a3b-4f5c-8e6d-7b2a9f0e3d15",
    )
    return candidacy


@pytest.fixture
def lever() -> Iterator[SandboxServer]:
    """The local Lever sandbox (demo data), rate limiting off."""
    with SandboxServer(port=0, rate_per_second=None, webhook_retry_base=0.05) as server:
        yield server


@pytest.fixture
def sandbox_integration(
    webhook_integration: AtsIntegration, lever: SandboxServer, settings: Any
) -> AtsIntegration:
    """The integration, talking to the sandbox with the demo key."""
    settings.LEVER_API_BASE_URL = lever.api_url
    webhook_integration.api_key = DEMO_API_KEY
    webhook_integration.api_key_last4 = DEMO_API_KEY[-4:]
    webhook_integration.save(update_fields=["api_key", "api_key_last4"])
    return webhook_integration
