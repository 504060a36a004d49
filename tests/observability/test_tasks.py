"""The request id follows a request into the tasks it publishes (message headers) and is
restored for the task's log lines; task run times are measured."""

from __future__ import annotations

from typing import Any

import pytest
from celery.signals import before_task_publish

from karatlever.observability.context import log_context, request_id_get
from karatlever.observability.tasks import HEADER
from tests.observability.conftest import Records, sample
from webhooks import tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def published() -> Any:
    """The headers of every message published meanwhile (a receiver after ours)."""
    seen: list[dict[str, Any]] = []

    def keep(headers: dict[str, Any] | None = None, **_: Any) -> None:
        seen.append(dict(headers or {}))

    before_task_publish.connect(keep, weak=False)
    yield seen
    before_task_publish.disconnect(keep)


def test_a_task_published_during_a_request_carries_its_id(published: list[dict[str, Any]]) -> None:
    with log_context(request_id="req-publish"):
        tasks.delivery_process.delay(123456789)

    assert [headers.get(HEADER) for headers in published] == ["req-publish"]


def test_a_task_published_outside_a_request_carries_none(published: list[dict[str, Any]]) -> None:
    tasks.delivery_process.delay(123456789)

    assert [headers.get(HEADER) for headers in published] == [None]


def test_the_worker_restores_the_id_for_the_tasks_log_lines(records: Records) -> None:
    # No such delivery: the task does nothing; Celery logs its end (in the task's context).
    tasks.delivery_process.apply(args=(123456789,), headers={HEADER: "req-worker"})

    lines = [r for r in records.records if r.name == "celery.app.trace"]
    assert lines
    assert {r.request_id for r in lines} == {"req-worker"}  # type: ignore[attr-defined]
    assert request_id_get() is None  # the task's context ended with it


def test_an_unsafe_id_in_the_headers_is_replaced(records: Records) -> None:
    tasks.delivery_process.apply(args=(123456789,), headers={HEADER: "bad id\nFAKE LINE"})

    ids = {r.request_id for r in records.records if r.name == "celery.app.trace"}  # type: ignore[attr-defined]
    assert len(ids) == 1
    (given,) = ids
    assert given
    assert "FAKE" not in given


def test_a_task_published_without_one_gets_its_own(records: Records) -> None:
    tasks.delivery_process.apply(args=(123456789,))

    (line,) = [r for r in records.records if r.name == "celery.app.trace"]
    assert line.request_id  # type: ignore[attr-defined]


def test_task_run_times_are_measured() -> None:
    labels = {"task": "webhooks.tasks.delivery_process", "state": "SUCCESS"}
    before = sample("karatlever_task_duration_seconds_count", labels)

    tasks.delivery_process.apply(args=(123456789,))

    assert sample("karatlever_task_duration_seconds_count", labels) == before + 1
