"""Point the Celery app's publishing at another broker for one test (one helper for all)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings

from karatlever.celery import app as celery_app

# The queues tasks are routed to (settings.CELERY_TASK_ROUTES; docs/operations.md).
QUEUE_NAMES: tuple[str, ...] = tuple(queue.name for queue in settings.CELERY_TASK_QUEUES)


def queue_of(task: str) -> str:
    """The queue ``task`` (its registered name) is published to."""
    return str(settings.CELERY_TASK_ROUTES[task]["queue"])


def use_broker(url: str, transport_options: dict[str, Any] | None = None) -> None:
    """Switch brokers now, dropping the cached connection and producer pools."""
    conf = celery_app.conf
    # Item assignment is what Celery's attribute assignment does; the stubs make `broker_url` a
    # read-only property.
    conf["broker_url"], conf["broker_transport_options"] = url, transport_options or {}
    # The embedded default's transport class (settings.CELERY_BROKER_TRANSPORT) serves only the
    # file broker: any other URL gets the transport its scheme names.
    conf["broker_transport"] = (
        getattr(settings, "CELERY_BROKER_TRANSPORT", None)
        if url.startswith("filesystem://")
        else None
    )
    # Celery's own reset (Celery._after_fork); celery-types doesn't declare these private caches.
    celery_app._pool = None  # type: ignore[attr-defined]
    celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]


@contextmanager
def broker(url: str, transport_options: dict[str, Any] | None = None) -> Iterator[Any]:
    """Use `url` inside the block. Celery reads CELERY_BROKER_URL from the environment before
    its configuration, so the variable is hidden meanwhile (CI's PostgreSQL + Redis run sets it)."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.broker_transport_options
    saved_env = os.environ.pop("CELERY_BROKER_URL", None)
    use_broker(url, transport_options)
    try:
        yield celery_app
    finally:
        if saved_env is not None:
            os.environ["CELERY_BROKER_URL"] = saved_env
        use_broker(*saved)
