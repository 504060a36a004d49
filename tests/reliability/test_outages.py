"""Redis stopped and frozen, PostgreSQL stopped, while signed deliveries and milestones arrive.

One stack per module, on the suite's own PostgreSQL and Redis: the Lever sandbox, gunicorn
with two worker processes and two Celery workers (so every scenario also runs with two web
and two worker processes at once). Each scenario sends signed deliveries at a steady rate
through an outage, records Karat milestones during it, then runs the sweepers as beat would
until everything is finished, and asserts: every delivery answered (under 1 s while Redis is
away; 503 + Retry-After while PostgreSQL is), stored once, processed; every candidacy on
Lever's stage; every note in Lever exactly once (the sandbox's counters).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity_ids
from tests.integrations.outbound.test_live import MILESTONES, UPDATES_PER_CANDIDACY
from tests.live_stack import Workers, driver_run, wait_for
from tests.reliability.services import Gunicorn, Postgres, Redis, stack_env
from tests.webhooks.conftest import EXAMPLE_TOKENS, make_delivery

pytestmark = pytest.mark.reliability

STAGES = ["lead-new", "lead-reached-out", "lead-responded", "applicant-new", "offer"]
# Opportunities whose candidacies get milestones, per scenario (a milestone is recorded once).
MILESTONE_OPPORTUNITIES = 2
SCENARIOS = 3
DELIVERY_OPPORTUNITIES = 6
WARM_UP = 8


@dataclass
class Stack:
    env: dict[str, str]
    lever: SandboxServer
    postgres: Postgres
    redis: Redis
    web: Gunicorn
    integration: str
    candidacies: dict[str, int]
    delivery_opportunities: list[str]
    milestone_opportunities: list[list[str]]
    var_dir: Path
    notes_expected: dict[str, int] = field(default_factory=dict)

    def drive(self, step: str, payload: dict[str, Any] | None = None) -> Any:
        return driver_run("tests.reliability.driver", self.env, step, payload, timeout=120)


@pytest.fixture(scope="module")
def stack(
    postgres: Postgres, redis_server: Redis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    var_dir: Path = tmp_path_factory.mktemp("outages")
    database_url = postgres.create_database("reliability_outages")
    for db in (0, 1):
        redis.Redis.from_url(redis_server.url(db)).flushdb()
    opportunities = demo_opportunity_ids(
        DELIVERY_OPPORTUNITIES + SCENARIOS * MILESTONE_OPPORTUNITIES
    )
    with SandboxServer(port=0) as lever:
        env = stack_env(
            var_dir,
            database_url=database_url,
            broker_url=redis_server.url(0),
            redis_url=redis_server.url(1),
            lever_api_url=lever.api_url,
        )
        ids = driver_run(
            "tests.reliability.driver",
            env,
            "setup",
            {
                "api_key": DEMO_API_KEY,
                "tokens": dict(EXAMPLE_TOKENS),
                "opportunities": opportunities,
            },
            timeout=120,
        )
        web = Gunicorn(env, var_dir, workers=2)
        workers = Workers(env, var_dir)
        workers.start()
        workers.start()
        rest = opportunities[DELIVERY_OPPORTUNITIES:]
        try:
            _warm_up(web, ids["integration"], opportunities[0])
            wait_for(
                lambda: (
                    driver_run("tests.reliability.driver", env, "state")["deliveries"]
                    == {"processed": WARM_UP}
                ),
                60,
                "the warm-up deliveries processed",
                every=0.5,
            )
            yield Stack(
                env=env,
                lever=lever,
                postgres=postgres,
                redis=redis_server,
                web=web,
                integration=ids["integration"],
                candidacies=dict(zip(opportunities, ids["candidacies"], strict=True)),
                delivery_opportunities=opportunities[:DELIVERY_OPPORTUNITIES],
                milestone_opportunities=[
                    rest[i * MILESTONE_OPPORTUNITIES : (i + 1) * MILESTONE_OPPORTUNITIES]
                    for i in range(SCENARIOS)
                ],
                var_dir=var_dir,
            )
        finally:
            workers.stop_all()
            web.stop()


@dataclass
class Answer:
    started: float  # time.monotonic() when the request was sent
    status: int
    seconds: float
    retry_after: str | None
    body: bytes


def post(port: int, path: str, body: bytes) -> Answer:
    """One delivery on a new connection, as Lever sends them (10 s timeout)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        return Answer(
            started,
            response.status,
            time.monotonic() - started,
            response.getheader("Retry-After"),
            data,
        )
    finally:
        conn.close()


def _warm_up(web: Gunicorn, integration: str, opportunity_id: str) -> None:
    """A first request costs each gunicorn process its lazy imports (the URL conf, DRF):
    send some deliveries at once, so every process has answered one before a scenario times
    its answers."""
    bodies = [
        json.dumps(make_delivery(opportunity_id=opportunity_id)).encode() for _ in range(WARM_UP)
    ]
    path = f"/webhooks/lever/{integration}/"
    threads = [threading.Thread(target=post, args=(web.port, path, body)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


class Sender:
    """Moves an opportunity to the next stage in the sandbox, then posts Lever's signed
    stageChange delivery for it, ``rate`` times a second until stopped. Deliveries answered
    503 are kept for ``resend`` (as Lever sends them again)."""

    def __init__(self, stack: Stack, rate: float) -> None:
        self.stack, self.interval = stack, 1 / rate
        self.answers: list[Answer] = []
        self.refused: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._count = 0

    @property
    def path(self) -> str:
        return f"/webhooks/lever/{self.stack.integration}/"

    def one(self, *, dropped: bool = False) -> None:
        """The next stage move; ``dropped``: Lever's delivery of it never arrives."""
        opportunities = self.stack.delivery_opportunities
        opportunity_id = opportunities[self._count % len(opportunities)]
        stage = STAGES[(self._count // len(opportunities)) % len(STAGES)]
        self._count += 1
        self.stack.lever.move_stage(opportunity_id, stage)
        if dropped:
            return
        body = json.dumps(make_delivery(opportunity_id=opportunity_id)).encode()
        answer = post(self.stack.web.port, self.path, body)
        self.answers.append(answer)
        if answer.status == 503:
            self.refused.append(body)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.one()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def __enter__(self) -> Sender:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def resend(self) -> list[Answer]:
        return [post(self.stack.web.port, self.path, body) for body in self.refused]


def _milestones_in_background(stack: Stack, opportunities: list[str]) -> threading.Thread:
    """Record the three milestones on these candidacies from another process, now."""
    candidacies = [stack.candidacies[o] for o in opportunities]
    for o in opportunities:
        stack.notes_expected[o] = len(MILESTONES)
    thread = threading.Thread(
        target=stack.drive,
        args=("milestones", {"candidacies": candidacies, "milestones": MILESTONES}),
        daemon=True,
    )
    thread.start()
    return thread


def _settle(stack: Stack, sent: int, timeout: float = 90) -> tuple[dict[str, Any], float]:
    """Run the sweepers (as beat would) until every delivery is processed and every outbound
    update sent; the final state and the seconds it took."""
    started = time.monotonic()
    expected_updates = UPDATES_PER_CANDIDACY * len(stack.notes_expected)

    def done() -> dict[str, Any] | None:
        stack.drive("sweep")
        state = stack.drive("state")
        finished = state["deliveries"].get("processed", 0) == sent
        sent_updates = state["outbound"].get("sent", 0) == expected_updates
        return state if finished and sent_updates else None

    state = wait_for(done, timeout, "every delivery processed and every update sent", every=1)
    return state, time.monotonic() - started


def _assert_invariants(stack: Stack, state: dict[str, Any], sent: int) -> None:
    assert state["deliveries"] == {"processed": sent}, state["deliveries"]
    assert state["deliveries_stored_twice"] == 0
    for opportunity_id in stack.delivery_opportunities:
        lever_stage = stack.lever.opportunity(opportunity_id)["stage"]
        assert state["candidacies"][opportunity_id]["stage"] == lever_stage, opportunity_id
    for opportunity_id, notes in stack.notes_expected.items():
        counters = stack.lever.counters(opportunity_id)
        assert counters["notes"] == notes, (opportunity_id, counters)  # never twice, never lost
    assert set(state["outbound"]) == {"sent"}, state["outbound"]


def _latencies(answers: list[Answer]) -> dict[str, Any]:
    seconds = sorted(a.seconds for a in answers)
    return {
        "deliveries": len(answers),
        "p50_ms": round(seconds[len(seconds) // 2] * 1000, 1),
        "max_ms": round(seconds[-1] * 1000, 1),
    }


def _redis_away(
    stack: Stack,
    figures: Callable[..., None],
    scenario: int,
    outage: Callable[[], None],
    recover: Callable[[], None],
) -> None:
    before = stack.drive("state")["deliveries"].get("processed", 0)
    with Sender(stack, rate=4) as sender:
        time.sleep(3)
        outage()
        away_from = time.monotonic()
        milestones = _milestones_in_background(stack, stack.milestone_opportunities[scenario])
        time.sleep(20)
        recover()
        away = time.monotonic() - away_from
        time.sleep(3)
    milestones.join(timeout=60)
    assert not milestones.is_alive(), "recording milestones hung on the broker"
    slowest = max(sender.answers, key=lambda a: a.seconds)
    sent = before + len(sender.answers)
    state, settle_seconds = _settle(stack, sent)
    figures(
        redis_away_s=round(away, 1),
        **_latencies(sender.answers),
        slowest_sent_s_after_outage_began=round(slowest.started - away_from, 1),
        answers={str(s): sum(a.status == s for a in sender.answers) for s in {200}},
        settled_after_s=round(settle_seconds, 1),
        outbound=state["outbound"],
        max_delivery_attempts=state["max_attempts"],
    )
    assert [a.status for a in sender.answers] == [200] * len(sender.answers)
    assert max(a.seconds for a in sender.answers) < 1.0
    _assert_invariants(stack, state, sent)


def test_redis_stopped_20s_every_delivery_answered_fast_then_all_processed_once(
    stack: Stack, figures: Callable[..., None]
) -> None:
    _redis_away(stack, figures, 0, stack.redis.stop, stack.redis.start)


def test_redis_frozen_20s_every_delivery_answered_fast_then_all_processed_once(
    stack: Stack, figures: Callable[..., None]
) -> None:
    _redis_away(stack, figures, 1, stack.redis.freeze, stack.redis.thaw)


def test_postgres_stopped_10s_503_with_retry_after_then_everything_processed(
    stack: Stack, figures: Callable[..., None]
) -> None:
    before = stack.drive("state")["deliveries"].get("processed", 0)
    with Sender(stack, rate=4) as sender:
        time.sleep(3)
        stack.postgres.stop()
        down_from = time.monotonic()
        time.sleep(10)
        stack.postgres.start()
        down = time.monotonic() - down_from
        time.sleep(3)
    # what the milestones of this scenario (recorded after the outage) add
    _milestones_in_background(stack, stack.milestone_opportunities[2]).join(timeout=60)
    refused = [a for a in sender.answers if a.status == 503]
    resent = sender.resend()
    accepted = [a for a in sender.answers if a.status == 200]
    sent = before + len(accepted) + len(resent)
    state, settle_seconds = _settle(stack, sent)
    figures(
        postgres_down_s=round(down, 1),
        **_latencies(sender.answers),
        accepted=len(accepted),
        refused_503=len(refused),
        resent_accepted=sum(a.status == 200 for a in resent),
        settled_after_s=round(settle_seconds, 1),
    )
    assert {a.status for a in sender.answers} <= {200, 503}
    assert refused, "no delivery arrived while PostgreSQL was down"
    assert all(a.retry_after and int(a.retry_after) > 0 for a in refused)
    assert max(a.seconds for a in sender.answers) < 5.0
    assert [a.status for a in resent] == [200] * len(resent)
    # Nothing half-written: a 503 left no row (its resend is the one stored, once).
    _assert_invariants(stack, state, sent)


def test_ten_percent_of_webhooks_dropped_one_reconciliation_cycle_repairs_every_candidacy(
    stack: Stack, figures: Callable[..., None]
) -> None:
    # given: five rounds of stage moves on every opportunity, one delivery in ten never sent,
    # each round processed before the next (processing reads Lever's current state, so a later
    # delivery for the same opportunity would repair a drop before reconciliation could)
    before = stack.drive("state")["deliveries"].get("processed", 0)
    sender = Sender(stack, rate=1)
    per_round = len(stack.delivery_opportunities)
    moves = per_round * 5
    state: dict[str, Any] = {}
    for i in range(moves):
        sender.one(dropped=i % 10 == 9)
        if i % per_round == per_round - 1:
            state, _ = _settle(stack, before + len(sender.answers))
    behind = [
        o
        for o in stack.delivery_opportunities
        if state["candidacies"][o]["stage"] != stack.lever.opportunity(o)["stage"]
    ]

    # when: one reconciliation cycle
    result = stack.drive("reconcile")

    # then
    state = stack.drive("state")
    figures(moves=moves, dropped=moves - len(sender.answers), behind=len(behind), **result)
    assert behind, "no candidacy was left behind by the dropped deliveries"
    assert [a.status for a in sender.answers] == [200] * len(sender.answers)
    for opportunity_id in stack.delivery_opportunities:
        lever_stage = stack.lever.opportunity(opportunity_id)["stage"]
        assert state["candidacies"][opportunity_id]["stage"] == lever_stage, opportunity_id


def _redis_text(client: redis.Redis) -> str:
    """Every key and value of one Redis database, as text."""
    parts: list[str] = []
    for key in client.scan_iter():
        kind = client.type(key)
        value: Any = b""
        if kind == b"string":
            value = client.get(key)
        elif kind == b"hash":
            value = client.hgetall(key)
        elif kind == b"list":
            value = client.lrange(key, 0, -1)
        elif kind == b"set":
            value = client.smembers(key)
        elif kind == b"zset":
            value = client.zrange(key, 0, -1)
        parts.append(f"{key!r} {value!r}")
    return "\n".join(parts)


def test_secrets_canary_no_key_or_token_in_logs_redis_or_notes(
    stack: Stack, figures: Callable[..., None]
) -> None:
    """Last in the module: after every scenario above, no API key, signing token, Django
    secret key or field-encryption key in any process's log, any Redis key or value, or any
    note sent to Lever."""
    secrets = [DEMO_API_KEY, *EXAMPLE_TOKENS.values()]
    secrets += [stack.env[k] for k in ("DJANGO_SECRET_KEY",) if stack.env.get(k)]
    secrets += [k for k in stack.env.get("FIELD_ENCRYPTION_KEYS", "").split(",") if k]
    places: dict[str, str] = {
        str(path.name): path.read_text(errors="replace") for path in stack.var_dir.glob("*.log")
    }
    for db in (0, 1):
        places[f"redis db {db}"] = _redis_text(redis.Redis.from_url(stack.redis.url(db)))
    opportunities = list(stack.candidacies)
    places["notes sent to Lever"] = json.dumps([stack.lever.notes(o) for o in opportunities])
    leaks = [(name, i) for name, text in places.items() for i, s in enumerate(secrets) if s in text]
    figures(
        places=len(places),
        log_bytes=sum(len(t) for n, t in places.items() if n.endswith(".log")),
        secrets=len(secrets),
        leaks=len(leaks),
    )
    assert len(places["notes sent to Lever"]) > 100  # the notes were there to search
    assert leaks == []
