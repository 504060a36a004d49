"""Prometheus instruments counted in the process that sees the event.

Several web and worker processes run at once, so these use prometheus-client's multiprocess
mode: each process writes its values to its own memory-mapped files in ``METRICS_DIR``, and
whichever web process answers ``/metrics`` sums the files of every process (views.py). Why this
and not Redis or the database: counting is a memory write (no network hop or query on the
webhook receiver's hot path, nothing lost while Redis or the database is down), and it is
prometheus-client's documented way to run under gunicorn and Celery's prefork pool. The cost:
the processes must share the directory (one host, or one shared volume: docker-compose.yml),
and each process's files are named by host name and process id so containers sharing a volume
never write the same file. Values that live in the database (backlogs, ages, dead letters) are
not counted here at all: collector.py reads them at scrape time.

Every instrument has labels, so no value (and no file) exists before its first use. Only
counters and histograms live here (they sum correctly across processes, dead ones
included); no gauges, whose multiprocess semantics depend on processes being alive.

Label values are bounded and never secret: an ATS name, an outcome code, an HTTP status, a task
name, and for Lever requests the API key's last 4 characters (what the console shows), never
the key.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from django.conf import settings
from prometheus_client import Counter, Histogram, values


def _process_identifier() -> str:
    # prometheus-client names each process's files "<type>_<identifier>.db" and splits the name
    # on "_", so the host name (several containers may share the directory) loses its "_".
    return f"{socket.gethostname().replace('_', '-')}-{os.getpid()}"


def directory() -> Path:
    """Where every process writes its counters (settings.METRICS_DIR)."""
    return Path(settings.METRICS_DIR)


_made: set[Path] = set()


def _multiprocess_mode_enable() -> None:
    """Point prometheus-client at ``METRICS_DIR`` before any instrument exists (it reads the
    directory from the environment variable when each value is created). The folder is made
    when the first value is (a labelled instrument's first use), not on import: importing the
    app creates nothing on disk (tests/test_settings.py)."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory())
    mmaped = values.MultiProcessValue(  # type: ignore[no-untyped-call]
        process_identifier=_process_identifier
    )

    def value(*args: Any, **kwargs: Any) -> Any:
        folder = directory()
        if folder not in _made:
            folder.mkdir(parents=True, exist_ok=True)
            _made.add(folder)
        return mmaped(*args, **kwargs)

    values.ValueClass = value


_multiprocess_mode_enable()

_LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 90.0)

webhook_requests = Counter(
    "karatlever_webhook_requests",
    "Webhook requests answered by the receiver, by ATS and outcome: accepted, duplicate, test "
    "and ignored were received (2xx); every other outcome was rejected.",
    ["ats", "outcome"],
)
webhook_deliveries_processed = Counter(
    "karatlever_webhook_deliveries_processed",
    "Webhook deliveries a worker finished an attempt on, by resulting status (processed, "
    "ignored, failed, retry, dead).",
    ["status"],
)
webhook_processing_lag = Histogram(
    "karatlever_webhook_processing_lag_seconds",
    "Seconds from receiving a webhook delivery to its end, by status (processed, ignored).",
    ["status"],
    buckets=_LAG_BUCKETS,
)
lever_requests = Counter(
    "karatlever_lever_requests",
    "HTTP requests sent to Lever, by API key (last 4 characters), method and status code "
    '("error" when no answer came: timeout, connection refused).',
    ["key_last4", "method", "status"],
)
lever_rate_limited = Counter(
    "karatlever_lever_rate_limited",
    "429 answers from Lever, by API key (last 4 characters).",
    ["key_last4"],
)
outbound_attempts = Counter(
    "karatlever_outbound_attempts",
    "Attempts to write an outbound update to the ATS, by kind and resulting status.",
    ["kind", "status"],
)
task_duration = Histogram(
    "karatlever_task_duration_seconds",
    "Celery task run time in seconds, by task name and final state (SUCCESS, FAILURE, RETRY).",
    ["task", "state"],
    buckets=_DURATION_BUCKETS,
)
