"""Real processes: the sandbox delivering to a live server, and a Celery worker killed mid-task."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kombu.transport.memory import Channel as MemoryChannel

from integrations.lever.adapter import WebhookEvent
from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity_ids
from integrations.models import AtsIntegration, OpportunityLink
from karatlever.hiring.models import CandidacyEvent
from tests.brokers import use_broker
from tests.factories import CandidacyFactory, RoleFactory
from tests.live_stack import Workers, driver_run, wait_for
from webhooks.models import WebhookDelivery
from webhooks.services import enqueue, processing, setup
from webhooks.tasks import delivery_process_many

from .conftest import EXAMPLE_TOKENS, make_delivery

pytestmark = pytest.mark.live

Status = WebhookDelivery.Status


def _wait(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    return wait_for(condition, timeout, what, every=0.05)


# --- the sandbox delivers to a live server --------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sandbox_stage_archive_and_hire_reach_the_candidacy_through_real_webhooks(
    live_server: Any, lever: SandboxServer, integration: AtsIntegration, settings: Any
) -> None:
    # given: an integration whose webhooks were registered in the sandbox through our service
    settings.LEVER_API_BASE_URL = lever.api_url
    settings.PUBLIC_BASE_URL = live_server.url
    integration.api_key, integration.api_key_last4 = DEMO_API_KEY, DEMO_API_KEY[-4:]
    integration.save(update_fields=["api_key", "api_key_last4"])
    result = setup.webhooks_register(integration=integration, actor=None)
    assert sorted(result.created) == sorted(WebhookEvent.values)
    opportunity_id = demo_opportunity_ids(1)[0]
    candidacy = CandidacyFactory(role=RoleFactory(group=integration.group))
    OpportunityLink.objects.create(
        integration=integration, candidacy=candidacy, opportunity_id=opportunity_id
    )

    def process_all() -> None:
        assert lever.wait_for_deliveries(timeout=10)
        for pk in WebhookDelivery.objects.filter(status=Status.RECEIVED).values_list(
            "pk", flat=True
        ):
            processing.delivery_process(delivery_id=pk)

    # when: a recruiter moves, archives and hires the candidate in Lever
    started = time.monotonic()
    lever.move_stage(opportunity_id, "offer")
    process_all()
    candidacy.refresh_from_db()
    assert (candidacy.ats_stage_id, candidacy.ats_stage_name) == ("offer", "Offer")

    lever.hire(opportunity_id)
    process_all()
    elapsed = time.monotonic() - started

    # then
    candidacy.refresh_from_db()
    assert candidacy.ats_hired is True
    assert candidacy.ats_archived is True
    kinds = list(candidacy.events.order_by("id").values_list("kind", flat=True))
    assert kinds == [
        CandidacyEvent.Kind.ATS_STAGE_CHANGED,
        CandidacyEvent.Kind.ATS_ARCHIVED,
        CandidacyEvent.Kind.ATS_HIRED,
    ]
    sent = lever.deliveries()
    assert {d["event"] for d in sent} == set(WebhookEvent.values)
    assert all(d["lastStatus"] == 200 for d in sent)
    assert WebhookDelivery.objects.count() == len(sent)
    # Lever's test delivery on saving each webhook (data: {}) is recorded as ignored.
    tests = WebhookDelivery.objects.filter(payload__data={})
    assert set(tests.values_list("status", flat=True)) == {Status.IGNORED}
    others = WebhookDelivery.objects.exclude(pk__in=tests)
    assert set(others.values_list("status", flat=True)) == {Status.PROCESSED}
    assert elapsed < 10


@pytest.mark.django_db
def test_deliveries_during_a_broker_outage_are_answered_fast_then_all_processed(
    sandbox_integration: AtsIntegration,
    lever: SandboxServer,
    post_delivery: Any,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    opportunity_id = demo_opportunity_ids(1)[0]
    candidacy = CandidacyFactory(role=RoleFactory(group=sandbox_integration.group))
    OpportunityLink.objects.create(
        integration=sandbox_integration, candidacy=candidacy, opportunity_id=opportunity_id
    )
    lever.move_stage(opportunity_id, "offer")
    use_broker(
        "redis://127.0.0.1:1/0",
        {"socket_timeout": 1.0, "socket_connect_timeout": 1.0, "max_retries": 1},
    )

    timings = []
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(10):
            started = time.monotonic()
            response = post_delivery(make_delivery(opportunity_id=opportunity_id))
            timings.append(time.monotonic() - started)
            assert response.status_code == 200

    assert max(timings) < 1.0
    assert WebhookDelivery.objects.filter(status=Status.RECEIVED).count() == 10

    # the broker comes back; the sweeper publishes everything left behind
    enqueue.pending.join()  # the publisher thread tried the dead broker and gave up
    use_broker("memory://")
    MemoryChannel.queues.clear()
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 0
    requeued = processing.delivery_sweep().requeued
    published = _published_ids()
    assert sorted(published) == sorted(requeued)
    assert len(published) == 10
    delivery_process_many(published)  # what the worker runs for the published message

    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {Status.PROCESSED}
    assert candidacy.events.count() == 1


def _published_ids() -> list[int]:
    """Delivery ids in the messages waiting in the in-memory broker (drains it)."""
    ids: list[int] = []
    queue = MemoryChannel.queues["urgent"]
    while not queue.empty():
        message = queue.get_nowait()
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, _kwargs, _embed = json.loads(body)
        ids += args[0]
    return ids


# --- a worker killed mid-processing ---------------------------------------------------------


@pytest.fixture
def stack_env(tmp_path: Path, lever: SandboxServer) -> dict[str, str]:
    """Environment for subprocesses sharing a file database and file broker under tmp_path."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"}
    }
    env |= {
        "KARATLEVER_VAR_DIR": str(tmp_path),
        "LEVER_API_BASE_URL": lever.api_url,
        "LEVER_READ_TIMEOUT": "60",
        "WEBHOOK_CLAIM_TIMEOUT_SECONDS": "2",
        "WEBHOOK_SWEEP_GRACE_SECONDS": "0",
        "DJANGO_SETTINGS_MODULE": "karatlever.settings",
        "PYTHONUNBUFFERED": "1",
    }
    return env


def _drive(env: dict[str, str], step: str, payload: dict[str, Any] | None = None) -> Any:
    return driver_run("tests.webhooks.live_driver", env, step, payload)


@pytest.fixture
def start_worker(
    stack_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    workers = Workers(stack_env, tmp_path)
    yield workers.start
    workers.stop_all()


def test_worker_killed_mid_processing_is_processed_exactly_once_after_restart(
    lever: SandboxServer,
    stack_env: dict[str, str],
    start_worker: Callable[[], subprocess.Popen[bytes]],
) -> None:
    # given: a linked candidacy and a stored delivery whose processing will hang on Lever
    opportunity_id = demo_opportunity_ids(1)[0]
    contact = lever.opportunity(opportunity_id)["contact"]
    ids = _drive(
        stack_env,
        "setup",
        {
            "api_key": DEMO_API_KEY,
            "tokens": dict(EXAMPLE_TOKENS),
            "opportunity_id": opportunity_id,
            "contact_id": contact,
        },
    )
    lever.move_stage(opportunity_id, "offer")
    lever.set_faults(hang_seconds=120, paths=["/v1/opportunities"], methods=["GET"])
    recorded = _drive(
        stack_env,
        "record",
        {"integration": ids["integration"], "body": make_delivery(opportunity_id=opportunity_id)},
    )
    assert recorded["outcome"] == "accepted"

    def state() -> dict[str, Any]:
        return _drive(stack_env, "state", {"candidacy": ids["candidacy"]})

    # when: the worker claims it, hangs on Lever, and is killed
    worker = start_worker()
    _wait(lambda: state()["deliveries"][0]["status"] == Status.PROCESSING, 60, "the claim")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    lever.reset_faults()
    assert state()["deliveries"][0]["status"] == Status.PROCESSING

    time.sleep(2.2)  # the claim times out
    swept = _drive(stack_env, "sweep")
    start_worker()

    # then
    final = _wait(
        lambda: (s := state())["deliveries"][0]["status"] == Status.PROCESSED and s,
        60,
        "processing",
    )
    assert swept["reclaimed"] == 1
    assert final["deliveries"][0]["attempts"] == 2
    assert final["stage"] == "offer"
    assert final["events"] == [CandidacyEvent.Kind.ATS_STAGE_CHANGED]
