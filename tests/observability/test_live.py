"""Real processes: a request id published with a task reaches the worker's log lines through
the broker's message headers, and the worker logs JSON with LOG_FORMAT=json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_stack import ROOT, Workers, wait_for

pytestmark = pytest.mark.live

_PUBLISH = """
import django
django.setup()
from karatlever.observability.context import log_context
from webhooks import tasks
with log_context(request_id="live-req-1"):
    tasks.delivery_process.delay(999999)
tasks.delivery_sweep.delay()
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A file database and file broker under tmp_path, migrated; JSON logs."""
    environment = {
        k: v
        for k, v in os.environ.items()
        # PROMETHEUS_MULTIPROC_DIR: this process set it (metrics.py) to its own var/metrics.
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR"}
    }
    environment |= {
        "KARATLEVER_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "karatlever.settings",
        "LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    }
    for command in (["init_local"], ["migrate", "-v0"]):
        subprocess.run(  # noqa: S603 - fixed argv
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=environment,
            check=True,
            capture_output=True,
            timeout=120,
        )
    return environment


@pytest.fixture
def workers(env: dict[str, str], tmp_path: Path) -> Iterator[Workers]:
    started = Workers(env, tmp_path)
    yield started
    started.stop_all()


def _lines(log: Path) -> list[dict[str, object]]:
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def test_the_request_id_travels_in_the_task_headers_to_the_worker(
    env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    workers.start()
    subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", _PUBLISH], cwd=ROOT, env=env, check=True, timeout=60
    )
    log = tmp_path / "worker-0.log"

    def finished() -> list[dict[str, object]]:
        ends = [
            line
            for line in _lines(log)
            if line.get("logger") == "celery.app.trace" and "succeeded" in str(line["message"])
        ]
        return ends if len(ends) == 2 else []

    process, sweep = sorted(
        wait_for(finished, 60, "both tasks to finish"), key=lambda line: str(line["message"])
    )
    assert "delivery_process" in str(process["message"])
    assert process["request_id"] == "live-req-1"
    # Published outside any request: the worker gave it an id of its own.
    assert sweep["request_id"] not in (None, "live-req-1")
    # The run times were counted into the worker's metrics folder (after the log line).
    wait_for(lambda: list((tmp_path / "metrics").glob("histogram_*.db")), 10, "the run times")
