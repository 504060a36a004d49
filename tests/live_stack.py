"""Helpers for tests that run the product as real processes: Celery workers and a driver.

The live tests (tests/webhooks/test_live.py, tests/integrations/outbound/test_live.py) start
real workers against a file or Redis broker, drive the database from a separate process, and
kill workers with signals; this module is what they share.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def wait_for(condition: Callable[[], Any], timeout: float, what: str, *, every: float = 0.1) -> Any:
    """Poll ``condition`` every ``every`` seconds until it returns something truthy (returned);
    AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def driver_run(
    module: str,
    env: dict[str, str],
    step: str,
    payload: dict[str, Any] | None = None,
    *,
    timeout: float = 60,
) -> Any:
    """Run one step of a driver module (``python -m module step payload-json``) in its own
    process and return the JSON its last stdout line holds; fails the test on a non-zero exit."""
    completed = subprocess.run(  # noqa: S603 - fixed argv
        [PY, "-m", module, step, json.dumps(payload or {})],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


class Workers:
    """Celery workers started for one test, each logging to its own file under ``log_dir``;
    ``stop_all`` ends the ones still running (SIGTERM, then SIGKILL after 10 s)."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, pool: Sequence[str] = ("--pool=solo",)) -> subprocess.Popen[bytes]:
        """One worker process in its own session (so a signal reaches its pool children)."""
        log = (self.log_dir / f"worker-{len(self.started)}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            [
                PY,
                "-m",
                "celery",
                "-A",
                "karatlever",
                "worker",
                *pool,
                "-l",
                "info",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
