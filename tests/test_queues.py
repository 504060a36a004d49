"""Queues by urgency (settings.CELERY_TASK_ROUTES; docs/operations.md "Queues and workers"):
every task has its queue, and a webhook is processed while the background queue is busy."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from integrations.models import AtsIntegration, PostingSyncRun
from integrations.roles.services import sync
from karatlever.celery import app
from tests.brokers import QUEUE_NAMES, broker
from tests.factories import IntegrationFactory
from webhooks.models import WebhookDelivery
from webhooks.services.enqueue import delivery_enqueue, pending

QUEUES = {queue.name for queue in settings.CELERY_TASK_QUEUES}


def _registered_tasks() -> set[str]:
    app.loader.import_default_modules()
    return {name for name in app.tasks if not name.startswith("celery.")}


def test_every_task_is_routed_to_a_declared_queue() -> None:
    routes = settings.CELERY_TASK_ROUTES

    unrouted = _registered_tasks() - set(routes)
    assert not unrouted, f"tasks with no queue in CELERY_TASK_ROUTES: {sorted(unrouted)}"
    stale = set(routes) - _registered_tasks()
    assert not stale, f"routes for tasks that do not exist: {sorted(stale)}"
    assert {route["queue"] for route in routes.values()} == QUEUES


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("webhooks.tasks.delivery_process", "urgent"),
        ("integrations.tasks.invite_batch_invite", "urgent"),
        ("integrations.tasks.outbound_drain", "outbound"),
        ("integrations.tasks.postings_sync", "background"),
        ("webhooks.tasks.reconcile_all", "background"),
    ],
)
def test_the_router_sends_each_kind_of_work_to_its_queue(task: str, queue: str) -> None:
    route = app.amqp.router.route({}, task)

    assert route["queue"].name == queue
    # Each queue has its own exchange and routing key, so a message reaches only its queue.
    assert route["queue"].exchange.name == queue
    assert route["queue"].routing_key == queue


@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_processed_while_a_posting_sync_waits_on_the_background_queue() -> None:
    """The background queue holds a full posting sync that no worker takes (as if its worker
    were busy for minutes); a worker of the urgent queue still processes the webhook."""
    with broker("memory://") as celery_app:
        # The in-memory transport is one per process: start from empty queues, whatever an
        # earlier test published.
        with celery_app.connection_for_write() as connection:
            for name in QUEUE_NAMES:
                connection.SimpleQueue(name).clear()
        integration: AtsIntegration = IntegrationFactory()
        run = sync.postings_sync_request(integration=integration, kind=PostingSyncRun.Kind.FULL)
        delivery = WebhookDelivery.objects.create(
            integration=integration,
            event="candidateStageChange",
            token="queue-test-token",
            opportunity_id="not-linked",
            triggered_at_ms=int(time.time() * 1000),
            payload={"event": "candidateStageChange", "data": {"opportunityId": "not-linked"}},
        )
        delivery_enqueue(delivery.pk)
        pending.join()

        with start_worker(celery_app, pool="solo", perform_ping_check=False, queues=["urgent"]):
            deadline = time.monotonic() + 30
            while WebhookDelivery.objects.get(pk=delivery.pk).processed_at is None:
                assert time.monotonic() < deadline, "the webhook was not processed within 30 s"
                time.sleep(0.1)

        delivery.refresh_from_db()
        assert delivery.status == WebhookDelivery.Status.IGNORED
        # The sync still waits for the background queue's own worker.
        run.refresh_from_db()
        assert run.status == PostingSyncRun.Status.QUEUED
        with celery_app.connection_for_write() as connection:
            waiting = connection.default_channel.queue_declare("background", passive=True)
        assert waiting.message_count == 1
