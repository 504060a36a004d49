"""Celery: the request id follows a request into the tasks it publishes, task run times are
measured, and the worker logs through Django's LOGGING (so LOG_FORMAT applies there too).

- ``before_task_publish`` puts the current request id into the message headers
  (``karatlever_request_id``), in whatever process publishes (web, worker, beat).
- ``task_prerun`` restores it for the task's log lines (a task published outside any request
  gets a fresh one, passed on to the tasks it publishes in turn); ``task_postrun`` ends the
  context and records the run time in ``karatlever_task_duration_seconds``.
- ``setup_logging``: having a receiver stops Celery from replacing the root logger's handlers
  with its own plain format; Django has already applied settings.LOGGING by then.
"""

from __future__ import annotations

import time
from contextvars import Token
from typing import Any

from celery import Task
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

from karatlever.observability import context

HEADER = "karatlever_request_id"

# task id -> (monotonic start, the context token to restore); one entry per running task.
_running: dict[str, tuple[float, Token[Any]]] = {}


def request_id_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """Add the current request id to an outgoing task message's headers, if there is one."""
    request_id = context.request_id_get()
    if request_id and headers is not None:
        headers.setdefault(HEADER, request_id)


def _incoming_request_id(task: Task[Any, Any]) -> str | None:
    request = task.request
    # A worker puts message headers on the request itself; Task.apply(headers=…) nests them.
    value = getattr(request, HEADER, None) or (getattr(request, "headers", None) or {}).get(HEADER)
    return context.request_id_accept(value if isinstance(value, str) else None)


def task_started(task_id: str | None = None, task: Task[Any, Any] | None = None, **_: Any) -> None:
    """Open the task's log context: the publisher's request id, else the one already current
    (a task applied in-process), else a new one."""
    if task_id is None or task is None:
        return
    request_id = _incoming_request_id(task) or context.request_id_get() or context.request_id_new()
    token = context.log_context_push(request_id=request_id)
    _running[task_id] = (time.monotonic(), token)


def task_finished(
    task_id: str | None = None,
    task: Task[Any, Any] | None = None,
    state: str | None = None,
    **_: Any,
) -> None:
    """Record the run time and restore the context the task started in."""
    started = _running.pop(task_id or "", None)
    if started is None or task is None:
        return
    # Imported here: this module loads with the Celery app, before Django's settings, which
    # the instruments need (their directory).
    from karatlever.observability import metrics

    began, token = started
    metrics.task_duration.labels(task.name, state or "UNKNOWN").observe(time.monotonic() - began)
    context.log_context_pop(token)


def logging_keep_django(**_: Any) -> None:
    """Celery's setup_logging: leave logging as Django configured it (see the module doc)."""


before_task_publish.connect(request_id_publish, weak=False)
task_prerun.connect(task_started, weak=False)
task_postrun.connect(task_finished, weak=False)
setup_logging.connect(logging_keep_django, weak=False)
