"""The shared per-key limiter, on the local SQLite store always and on Redis when it answers."""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from integrations.lever.errors import LeverRateLimited
from integrations.lever.ratelimit import (
    BucketStore,
    RateLimiter,
    RedisBucketStore,
    SqliteBucketStore,
    bucket_id_for,
    rate_limiter_for,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
KEY = "lvk_test_ratelimit_0123456789WXYZ"
RATE, BURST = 8.0, 10


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.2):
            pass
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=0.2).ping())
    except (OSError, redis.RedisError):
        return False


REDIS_UP = _redis_answers()
needs_redis = pytest.mark.skipif(
    not REDIS_UP, reason="Redis at 127.0.0.1:6379 is not answering; local store still tested"
)

# A store is described by plain values so a spawned process can rebuild it.
StoreSpec = tuple[str, str]


def build_store(spec: StoreSpec) -> BucketStore:
    kind, where = spec
    if kind == "redis":
        return RedisBucketStore(REDIS_URL, key_prefix=where)
    return SqliteBucketStore(Path(where) / "rl.sqlite3")


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=needs_redis)])
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSpec]:
    if request.param == "sqlite":
        yield ("sqlite", str(tmp_path))
        return
    prefix = f"test:karatlever:rl:{uuid.uuid4().hex}"
    yield ("redis", prefix)
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def limiter(spec: StoreSpec, bucket: str = "b", **kwargs: Any) -> RateLimiter:
    return RateLimiter(build_store(spec), bucket, **{"rate": RATE, "burst": BURST, **kwargs})


def grant_times(
    rl: RateLimiter, seconds: float, start: float | None = None, work: float = 0.0
) -> list[float]:
    """Acquire until `seconds` after `start` (spending `work` s per token, like an HTTP call);
    return the wall-clock grant times."""
    start = time.time() if start is None else start
    while time.time() < start:
        time.sleep(0.005)
    granted: list[float] = []
    while True:
        rl.acquire()
        now = time.time()
        if now >= start + seconds:
            return granted
        granted.append(now)
        time.sleep(work)


def busiest_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def test_a_fresh_bucket_gives_a_burst_at_once_then_makes_callers_wait(
    store_spec: StoreSpec,
) -> None:
    rl = limiter(store_spec)

    for _ in range(BURST):
        rl.acquire(timeout=0)  # a full bucket grants the whole burst without waiting

    with pytest.raises(LeverRateLimited) as info:
        rl.acquire(timeout=0)
    assert info.value.retry_after is not None
    assert info.value.retry_after > 0


def test_no_one_second_window_exceeds_the_burst_nor_the_total_the_rate_allows(
    store_spec: StoreSpec,
) -> None:
    rl = limiter(store_spec)

    times = grant_times(rl, 2.5)

    # Only upper bounds: a loaded machine grants fewer tokens, never more. The achieved rate
    # is measured by bench/outbound_rate.py, not asserted here.
    assert busiest_window(times) <= BURST
    assert 0 < len(times) <= BURST + RATE * 2.5


def _worker(spec: StoreSpec, ready: Any, seconds: float, out: Any) -> None:
    bucket = limiter(spec)
    # Both start together however long spawning took (seconds on a busy machine).
    ready.wait(timeout=60)
    out.put(grant_times(bucket, seconds, time.time(), work=0.02))


@pytest.mark.live  # real processes, on the real clock
def test_two_processes_sharing_one_bucket_stay_within_rate_and_burst_together(
    store_spec: StoreSpec,
) -> None:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    ready, seconds = ctx.Barrier(2), 1.5
    procs = [ctx.Process(target=_worker, args=(store_spec, ready, seconds, out)) for _ in range(2)]
    for proc in procs:
        proc.start()
    # Spawning (a fresh interpreter importing Django) may take most of the barrier's 60 s on a
    # busy machine; the wait here covers the barrier, then the run.
    results = [out.get(timeout=90) for _ in procs]
    for proc in procs:
        proc.join(timeout=10)

    combined = [t for result in results for t in result]
    assert all(proc.exitcode == 0 for proc in procs)
    assert all(result for result in results), "both processes got tokens"
    assert len(combined) <= BURST + RATE * seconds
    assert busiest_window(combined) <= BURST


def _acquire_and_time(spec: StoreSpec, ready: Any, go: Any, out: Any) -> None:
    bucket = limiter(spec)
    ready.set()
    go.wait(timeout=60)
    started = time.monotonic()
    bucket.acquire(timeout=10)
    out.put(time.monotonic() - started)


@pytest.mark.live  # a real process, on the real clock
def test_penalize_makes_another_process_wait(store_spec: StoreSpec) -> None:
    ctx = multiprocessing.get_context("spawn")
    out, ready, go = ctx.Queue(), ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_acquire_and_time, args=(store_spec, ready, go, out))
    proc.start()
    # The penalty starts once the child is up, so a slow spawn cannot use it up.
    assert ready.wait(timeout=60)
    limiter(store_spec).penalize(1.0)
    go.set()
    waited = out.get(timeout=60)
    proc.join(timeout=10)

    assert waited >= 0.5
    assert proc.exitcode == 0


def test_penalize_blocks_the_same_process_for_at_least_that_long(store_spec: StoreSpec) -> None:
    rl = limiter(store_spec)
    started = time.monotonic()

    rl.penalize(0.5)
    rl.acquire()

    assert time.monotonic() - started >= 0.5


def test_a_shorter_penalty_does_not_shorten_a_longer_one(store_spec: StoreSpec) -> None:
    rl = limiter(store_spec)

    rl.penalize(2.0)
    rl.penalize(0.1)

    with pytest.raises(LeverRateLimited):
        rl.acquire(timeout=0.5)


def test_acquire_gives_up_fast_with_a_local_rate_limited_error(store_spec: StoreSpec) -> None:
    rl = limiter(store_spec, rate=0.5, burst=1)
    rl.acquire()
    started = time.monotonic()

    with pytest.raises(LeverRateLimited, match="local rate limit") as info:
        rl.acquire(timeout=0.2)

    assert time.monotonic() - started < 0.5  # the wait is known to be ~1 s, so no sleeping
    assert info.value.status_code is None
    assert info.value.retry_after is not None
    assert 0 < info.value.retry_after <= 2.2  # 1 token at 0.5/s, refilled with 5 % slack


def test_keys_have_separate_buckets(store_spec: StoreSpec) -> None:
    first = limiter(store_spec, bucket="key-a", rate=0.001, burst=2)
    second = limiter(store_spec, bucket="key-b", rate=0.001, burst=2)
    first.acquire()
    first.acquire()

    second.acquire(timeout=0)
    with pytest.raises(LeverRateLimited):
        first.acquire(timeout=0)


def test_bad_settings_are_refused() -> None:
    store = SqliteBucketStore("/nonexistent-but-unused/rl.sqlite3")
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(store, "b", rate=0, burst=10)
    with pytest.raises(ValueError, match="burst"):
        RateLimiter(store, "b", rate=8, burst=0)


def test_the_bucket_is_named_by_a_hash_never_the_key(tmp_path: Path) -> None:
    rl = rate_limiter_for(KEY, rate=RATE, burst=BURST, redis_url=None, local_dir=tmp_path)
    rl.acquire()

    assert rl.bucket == bucket_id_for(KEY)
    assert KEY not in rl.bucket
    assert KEY not in repr(rl)
    assert bucket_id_for(KEY) != bucket_id_for(KEY + "x")
    assert isinstance(rl.store, SqliteBucketStore)
    assert (tmp_path / "lever-ratelimit.sqlite3").exists()
    assert KEY.encode() not in (tmp_path / "lever-ratelimit.sqlite3").read_bytes()


@needs_redis
def test_redis_keys_are_hashed_and_expire() -> None:
    prefix = f"test:karatlever:rl:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        rl = rate_limiter_for(
            KEY, rate=RATE, burst=BURST, redis_url=REDIS_URL, local_dir="/unused", key_prefix=prefix
        )
        rl.acquire()

        keys = [k.decode() for k in client.scan_iter(f"{prefix}:*")]
        assert isinstance(rl.store, RedisBucketStore)
        assert sorted(keys) == sorted(rl.store.keys_for(bucket_id_for(KEY)))
        assert all(KEY not in k for k in keys)
        assert all(0 < client.pttl(k) <= 120_000 for k in keys)
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)


def test_an_unreachable_redis_fails_closed_and_fast() -> None:
    rl = RateLimiter(RedisBucketStore("redis://127.0.0.1:1/0"), "b")
    started = time.monotonic()

    with pytest.raises(LeverRateLimited, match="store unavailable") as info:
        rl.acquire()

    assert time.monotonic() - started < 2.0
    assert isinstance(info.value.__cause__, redis.RedisError)


def test_a_corrupt_local_store_fails_closed(tmp_path: Path) -> None:
    (tmp_path / "rl.sqlite3").write_bytes(b"this is not a sqlite database" * 100)
    rl = RateLimiter(SqliteBucketStore(tmp_path / "rl.sqlite3"), "b")

    with pytest.raises(LeverRateLimited, match="store unavailable"):
        rl.acquire()


def test_many_first_uses_of_a_new_sqlite_store_at_once_all_get_their_token(
    tmp_path: Path,
) -> None:
    # Workers starting together each open the new file and put it in WAL mode; SQLite answers
    # a journal-mode change that races another with "database is locked" at once (no busy
    # wait), which used to fail that first token (and, in a spawned test worker, the worker).
    threads, rounds = 12, 50
    failed = 0
    for round_ in range(rounds):
        path = tmp_path / f"round-{round_}.sqlite3"
        barrier = threading.Barrier(threads)
        errors: list[BaseException] = []

        def first_token(
            path: Path = path,
            barrier: threading.Barrier = barrier,
            errors: list[BaseException] = errors,
        ) -> None:
            store = SqliteBucketStore(path)
            barrier.wait()
            try:
                store.take("key", rate=10.0, burst=20)
            except Exception as exc:  # counted, then asserted on
                errors.append(exc)

        workers = [threading.Thread(target=first_token) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)
        failed += bool(errors)

    assert failed == 0, f"{failed} of {rounds} rounds had a first token refused"
