"""Batch processing task: it stays inside the worker's time limit and hands the rest on."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone
from kombu.transport.memory import Channel as MemoryChannel

from integrations.lever.sandbox import SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity_ids
from integrations.models import AtsIntegration, OpportunityLink
from tests.factories import CandidacyFactory, RoleFactory
from webhooks import tasks
from webhooks.models import WebhookDelivery
from webhooks.services import intake

from .conftest import make_delivery

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status


def _store(integration: AtsIntegration, opportunity_id: str) -> int:
    result = intake.delivery_record(
        integration_public_id=integration.public_id,
        body=make_delivery(opportunity_id=opportunity_id),
    )
    assert result.delivery_id is not None
    return result.delivery_id


def _published_batches() -> list[str]:
    queue = MemoryChannel.queues.get("urgent")
    batches = []
    while queue is not None and not queue.empty():
        message = queue.get_nowait()
        assert message["headers"]["task"] == "webhooks.tasks.delivery_process_many"
        batches.append(message["headers"]["argsrepr"])
    return batches


def test_batch_out_of_time_republishes_the_rest_unprocessed(
    sandbox_integration: AtsIntegration, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [_store(sandbox_integration, f"unlinked-{i}") for i in range(3)]
    MemoryChannel.queues.clear()
    # No time left after the first delivery.
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 1
    monkeypatch.setattr(tasks, "DELIVERY_TIME_RESERVE", 1.0)

    tasks.delivery_process_many(ids)

    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses[ids[0]] == Status.IGNORED
    assert [statuses[i] for i in ids[1:]] == [Status.RECEIVED, Status.RECEIVED]
    assert WebhookDelivery.objects.get(pk=ids[1]).attempts == 0
    assert _published_batches() == [f"([{ids[1]}, {ids[2]}],)"]


def test_batch_with_time_left_processes_everything_and_publishes_nothing(
    sandbox_integration: AtsIntegration,
) -> None:
    ids = [_store(sandbox_integration, f"unlinked-{i}") for i in range(3)]
    MemoryChannel.queues.clear()

    tasks.delivery_process_many(ids)

    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {Status.IGNORED}
    assert _published_batches() == []


def test_soft_time_limit_mid_delivery_frees_the_claim_and_hands_the_rest_on(
    sandbox_integration: AtsIntegration, lever: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    opportunity_id = demo_opportunity_ids(1)[0]
    OpportunityLink.objects.create(
        integration=sandbox_integration,
        candidacy=CandidacyFactory(role=RoleFactory(group=sandbox_integration.group)),
        opportunity_id=opportunity_id,
        contact_id=lever.opportunity(opportunity_id)["contact"],
    )
    interrupted = _store(sandbox_integration, opportunity_id)
    rest = _store(sandbox_integration, "unlinked-1")
    MemoryChannel.queues.clear()

    def time_limit_during_the_lever_call(*args: Any, **kwargs: Any) -> None:
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(requests.Session, "send", time_limit_during_the_lever_call)

    with pytest.raises(SoftTimeLimitExceeded):
        tasks.delivery_process_many([interrupted, rest])

    delivery = WebhookDelivery.objects.get(pk=interrupted)
    assert delivery.status == Status.RETRY  # not "processing" until the sweeper's timeout
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at <= timezone.now()
    assert "time limit" in delivery.error
    assert WebhookDelivery.objects.get(pk=rest).status == Status.RECEIVED
    assert _published_batches() == [f"([{interrupted}, {rest}],)"]
