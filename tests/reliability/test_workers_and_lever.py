"""Workers SIGKILLed mid-processing and mid-send, and a Lever that throttles, fails, hangs and
drops answers, on the suite's own PostgreSQL + Redis.

The live tests that prove these on the embedded shape run here again unchanged (imported, so
never copied), with this module's fixtures: a fresh PostgreSQL database and this suite's Redis
for each. One scenario is this suite's own: Lever's 429 + Retry-After is obeyed by every
worker (no request with that key reaches Lever before the wait ends).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity_ids
from integrations.lever.sandbox.server import key_id_for
from tests.integrations.outbound.test_live import (
    MILESTONES,
    UPDATES_PER_CANDIDACY,
    _assert_exactly_once_in_order,
    drive,
    test_a_worker_killed_mid_send_leaves_no_duplicate_and_loses_nothing,
    test_faults_with_two_workers_every_update_reaches_lever_once_in_order,
)
from tests.live_stack import Workers, wait_for
from tests.reliability.services import Redis
from tests.reliability.services import stack_env as make_stack_env
from tests.webhooks.test_live import (
    test_worker_killed_mid_processing_is_processed_exactly_once_after_restart,
)

pytestmark = pytest.mark.reliability

# Collected here too (with the fixtures below): the imported scenarios.
__all__ = [
    "test_a_worker_killed_mid_send_leaves_no_duplicate_and_loses_nothing",
    "test_faults_with_two_workers_every_update_reaches_lever_once_in_order",
    "test_worker_killed_mid_processing_is_processed_exactly_once_after_restart",
]


@pytest.fixture
def lever() -> Iterator[SandboxServer]:
    # Lever's own limit (10/s, burst 20) stays on: our shared bucket must keep under it.
    with SandboxServer(port=0) as server:
        yield server


@pytest.fixture
def stack_env(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    lever: SandboxServer,
    fresh_database: Callable[[], str],
    redis_server: Redis,
) -> dict[str, str]:
    """The imported live tests' environment, on a fresh PostgreSQL database and this suite's
    Redis (databases 2 and 3, emptied)."""
    for db in (2, 3):
        redis.Redis.from_url(redis_server.url(db)).flushdb()
    env = make_stack_env(
        tmp_path,
        database_url=fresh_database(),
        broker_url=redis_server.url(2),
        redis_url=redis_server.url(3),
        lever_api_url=lever.api_url,
    )
    if request.function.__module__ == "tests.webhooks.test_live":
        # That test holds the worker in a hung Lever read until it is killed.
        env["LEVER_READ_TIMEOUT"] = "60"
    return env


@pytest.fixture
def start_worker(
    stack_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    workers = Workers(stack_env, tmp_path)

    def start(concurrency: int = 1) -> subprocess.Popen[bytes]:
        pool = ["--pool=solo"] if concurrency == 1 else ["--pool=prefork", f"-c{concurrency}"]
        return workers.start(pool)

    yield start
    workers.stop_all()


RETRY_AFTER = 2
# A request whose token was taken just before another worker's 429 came back may still arrive
# after it; later than this, every request of the key must wait for the Retry-After.
IN_FLIGHT_SLACK = 0.5


def test_lever_429_retry_after_no_request_of_the_key_before_the_wait_ends(
    lever: SandboxServer,
    stack_env: dict[str, str],
    start_worker: Callable[..., subprocess.Popen[bytes]],
    figures: Callable[..., None],
) -> None:
    # given: Lever answers a quarter of the writes 429 with Retry-After: 2, and 500 to some
    opportunities = demo_opportunity_ids(2)
    ids = drive(stack_env, "setup", {"api_keys": [DEMO_API_KEY], "opportunities": [opportunities]})
    lever.set_faults(
        error_rates={"429": 0.25, "500": 0.15},
        retry_after=RETRY_AFTER,
        seed=11,
        methods=["POST", "PUT"],
    )
    start_worker()
    start_worker()

    # when: three milestones on each candidacy, drained by two workers
    started = time.monotonic()
    drive(stack_env, "milestones", {"candidacies": ids["candidacies"][0], "milestones": MILESTONES})

    def done() -> bool:
        drive(stack_env, "sweep")
        sent = drive(stack_env, "state")["by_status"].get("sent", 0)
        return bool(sent == len(opportunities) * UPDATES_PER_CANDIDACY)

    wait_for(done, 150, "every update sent", every=1)
    seconds = time.monotonic() - started

    # then: 0 lost, 0 duplicate notes, in order; and no call inside a Retry-After window
    _assert_exactly_once_in_order(lever, stack_env, opportunities)
    key = key_id_for(DEMO_API_KEY)
    log = [entry for entry in lever.api_log() if entry["key"] == key]
    throttled = [entry for entry in log if entry["status"] == 429]
    early = [
        (entry["at"] - t["done"], entry["method"], entry["path"])
        for t in throttled
        for entry in log
        if t["done"] + IN_FLIGHT_SLACK < entry["at"] < t["done"] + RETRY_AFTER - 0.05
    ]
    stats = lever.request_stats()
    figures(
        seconds=round(seconds, 1),
        requests=len(log),
        answered_429=len(throttled),
        answered_500=stats.get("500", 0),
        notes=sum(lever.counters(o)["notes"] for o in opportunities),
        calls_inside_retry_after=len(early),
    )
    # the faults did happen
    assert throttled, stats
    assert stats.get("500", 0) > 0, stats
    assert early == []
