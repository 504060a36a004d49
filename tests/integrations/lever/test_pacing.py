"""Adaptive pacing (integrations/lever/README.md §6): start at Lever's 10/s, burst 20; halve on
a 429 and block the key for the whole Retry-After; recover additively. The algorithm is checked
on a fake clock against the sandbox's own bucket (Lever's 10/s, at most 20 in any second);
the stores are checked for the shared state only (no timing asserts)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from integrations.lever.ratelimit import (
    BACKOFF_FACTOR,
    CEILING_FACTOR,
    DEFAULT_BURST,
    DEFAULT_RATE,
    MIN_PACE_FRACTION,
    RECOVERY_PER_SECOND,
    RateLimiter,
    RedisBucketStore,
    SqliteBucketStore,
    _block,
    _Pace,
    _paced,
    _slow_down,
    _State,
    _take,
)
from integrations.lever.sandbox.faults import TokenBucket
from tests.integrations.lever.test_ratelimit import REDIS_URL, needs_redis

RATE, BURST = DEFAULT_RATE, DEFAULT_BURST


def test_the_defaults_are_levers_documented_rate_and_burst() -> None:
    assert (RATE, BURST) == (10.0, 20)
    assert _paced(None, 100.0, RATE)[0] == RATE


def test_a_429_halves_the_pace_once_per_hold_and_remembers_a_lower_ceiling() -> None:
    now = 1000.0
    pace = _slow_down(None, now, RATE, blocked_until=now + 1)

    assert pace[0] == RATE * BACKOFF_FACTOR
    assert pace[1] == pytest.approx(RATE * CEILING_FACTOR)
    # Answers to requests already in flight when the first 429 came: not a second halving.
    assert _slow_down(pace, now + 0.2, RATE, blocked_until=now + 1)[0] == pace[0]
    # A 429 after the hold is new information: halve again.
    again = _slow_down(pace, now + 1.5, RATE, blocked_until=now + 2.5)
    assert again[0] < pace[0]


def test_the_pace_recovers_additively_up_to_the_remembered_ceiling() -> None:
    now = 1000.0
    pace = _slow_down(None, now, RATE, blocked_until=now + 1)

    # Nothing inside the hold (the Retry-After, here 1 s); then +0.5/s per second.
    assert _paced(pace, now + 0.5, RATE)[0] == 5.0
    assert _paced(pace, now + 3, RATE)[0] == pytest.approx(5.0 + 2 * RECOVERY_PER_SECOND)
    # Long after: at the ceiling (9/s), which itself creeps back to the rate only slowly.
    assert _paced(pace, now + 31, RATE)[0] == pytest.approx(9.0 + 30 * 0.01)
    assert _paced(pace, now + 10_000, RATE)[0] == RATE


def test_the_pace_never_drops_below_its_floor() -> None:
    pace: _Pace | None = None
    for i in range(20):  # a 429 as soon as each hold ends
        pace = _slow_down(pace, 1000.0 + i, RATE, blocked_until=1000.0 + i + 1)
    assert pace is not None
    assert pace[0] == pytest.approx(RATE * MIN_PACE_FRACTION)


def test_no_token_is_granted_inside_a_retry_after_and_the_bucket_starts_empty() -> None:
    state: _State | None = None
    now = 1000.0
    for _ in range(BURST):
        _wait, state = _take(state, now, RATE, BURST)
    state = _block(state, now, 3.0)
    pace = _slow_down(None, now, RATE, blocked_until=now + 3.0)

    for t in (now, now + 1.0, now + 2.999):
        wait, new = _take(state, t, RATE, BURST, pace)
        assert new is None
        assert t + wait >= now + 3.0
    wait, _new = _take(state, now + 3.0, RATE, BURST, pace)
    assert wait > 0  # empty bucket: no saved-up burst right after a 429


def _drain(
    n: int, *, jitter: float, seed: int, lever_rate: float = 10.0, lever_burst: int = 20
) -> tuple[list[float], list[tuple[float, float]], list[float]]:
    """Send ``n`` requests on a fake clock: the client paces with _take/_block/_slow_down
    (4 workers' worth of polling is the same as one: the store serialises them), each request
    reaches the sandbox's bucket after 1-``jitter`` s of network time. Returns (arrival times,
    429 windows [received, retry-after end], send times)."""
    clock = [0.0]
    lever = TokenBucket(lever_rate, lever_burst, clock=lambda: clock[0])
    rng = random.Random(seed)
    state: _State | None = None
    pace: _Pace | None = None
    arrivals: list[float] = []
    windows: list[tuple[float, float]] = []
    sends: list[float] = []
    sent = 0
    while sent < n:
        now = clock[0]
        wait, new_state = _take(state, now, RATE, BURST, pace)
        if wait > 0:
            clock[0] = now + wait + 1e-6
            continue
        state = new_state
        sends.append(now)
        arrive = now + 0.001 + rng.random() * jitter
        clock[0] = arrive
        retry_after = lever.take("key")
        if retry_after is None:
            arrivals.append(arrive)
            sent += 1
            clock[0] = now  # the next grant may come before this one arrived
            continue
        received = arrive + 0.001
        windows.append((received, arrive + retry_after))
        state = _block(state, received, float(retry_after))
        pace = _slow_down(pace, received, RATE, blocked_until=state[2])
        clock[0] = received
    return arrivals, windows, sends


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_2000_request_backlog_uses_at_least_09_of_levers_rate_with_few_429s(seed: int) -> None:
    arrivals, windows, _sends = _drain(2000, jitter=0.03, seed=seed)

    rate = (len(arrivals) - BURST) / (arrivals[-1] - arrivals[BURST - 1])
    assert rate >= 0.9 * 10.0
    assert len(windows) <= 2  # ≤ 0.1 % of 2,000


def test_the_pace_backs_off_when_lever_is_slower_than_documented_and_429s_stay_rare() -> None:
    # Lever under load allows only 5/s: the client must find that pace, not hammer at 10/s.
    arrivals, windows, _sends = _drain(600, jitter=0.01, seed=4, lever_rate=5.0, lever_burst=10)

    rate = (len(arrivals) - BURST) / (arrivals[-1] - arrivals[BURST - 1])
    assert 0.7 * 5.0 <= rate <= 5.0 * 1.05
    assert 1 <= len(windows) <= 0.02 * 600


def test_never_a_request_sent_inside_a_retry_after() -> None:
    _arrivals, windows, sends = _drain(400, jitter=0.01, seed=5, lever_rate=4.0, lever_burst=8)

    assert windows
    for received, until in windows:
        assert not [t for t in sends if received <= t < until]


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=needs_redis)])
def limiter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RateLimiter]:
    if request.param == "sqlite":
        yield RateLimiter(SqliteBucketStore(tmp_path / "rl.sqlite3"), "b", rate=RATE, burst=BURST)
        return
    prefix = f"test:karatlever:pace:{uuid.uuid4().hex}"
    yield RateLimiter(RedisBucketStore(REDIS_URL, key_prefix=prefix), "b", rate=RATE, burst=BURST)
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def test_a_fresh_key_paces_at_the_configured_rate(limiter: RateLimiter) -> None:
    assert limiter.pace() == RATE
    for _ in range(BURST):
        limiter.acquire(timeout=0)  # the full documented burst, at once


def test_a_429_slows_the_pace_every_process_sees_and_in_flight_429s_count_once(
    limiter: RateLimiter,
) -> None:
    other = RateLimiter(limiter.store, limiter.bucket, rate=RATE, burst=BURST)  # another worker

    limiter.penalize(1.0)
    other.penalize(1.0)  # its request was in flight when the first 429 came

    # Recovery is additive and this runs within a second: at most +0.5/s on top of the half.
    assert RATE * BACKOFF_FACTOR <= other.pace() < RATE * BACKOFF_FACTOR + RECOVERY_PER_SECOND
    assert limiter.pace() == pytest.approx(other.pace(), abs=RECOVERY_PER_SECOND)


def test_a_lower_configured_rate_applies_at_once(limiter: RateLimiter) -> None:
    slower = RateLimiter(limiter.store, limiter.bucket, rate=3.0, burst=5)
    assert slower.pace() == 3.0
