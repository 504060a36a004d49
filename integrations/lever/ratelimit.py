"""Per-API-key request limiter shared by every process: Redis or a local SQLite file."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import redis

from integrations.lever.errors import LeverRateLimited

logger = logging.getLogger(__name__)

# Why not pyrate-limiter: its buckets keep a sliding log of "N per window" rates and have no
# shared "blocked until" (what a 429 Retry-After needs), and its SQLite bucket serialises
# processes with a separate file lock. The whole algorithm below is ~30 lines, runs the same
# way on both stores, and needs no new dependency.
#
# Semantics, in Lever's own words ("about 10 requests/s steady, bursts up to 20/s"):
#   * `rate`  — tokens per second, refilled continuously (the steady rate);
#   * `burst` — bucket capacity AND the most requests allowed in any one-second window.
# A plain token bucket lets `burst + rate` through in the first second after a quiet spell;
# the short grant log caps every one-second window at `burst` as well.
DEFAULT_RATE = 10.0
DEFAULT_BURST = 20
# 1 s plus slack: Lever (and our benchmark) see send/arrival times, which trail our grant
# times by a few ms of scheduling and network jitter; their one-second windows must hold too.
WINDOW_SECONDS = 1.05
# Never sleep less than this between polls of the store (float rounding at window edges).
_MIN_WAIT = 0.001
# A penalty longer than this is a bug or a hostile header: the client's cap on Retry-After
# (RETRY_AFTER_MAX, one hour), so a long Retry-After pauses the key for every process in full.
_PENALTY_MAX = 3600.0
_REDIS_SOCKET_TIMEOUT = 0.25
_SQLITE_FILENAME = "lever-ratelimit.sqlite3"
KEY_PREFIX = "karatlever:lever:ratelimit"

# Adaptive pace (AIMD), shared through the same store as the bucket. `rate`/`burst` above are
# the ceiling (Lever's documented 10/s, burst 20: integrations/lever/README.md §6.2); the pace
# actually used starts there and:
#   * on a 429 from Lever drops multiplicatively to BACKOFF_FACTOR of what it was, and the key
#     is blocked for the whole Retry-After (`penalize`): no token for anyone inside it;
#   * recovers additively, RECOVERY_PER_SECOND requests/s for every second without a 429,
#     up to a remembered ceiling: CEILING_FACTOR of the pace at which the 429 came. That
#     ceiling creeps back to `rate` at CEILING_RECOVERY_PER_SECOND, so a pace that was once too
#     fast is retried only slowly (a plain AIMD would hit a 429 on every cycle);
#   * never goes below MIN_PACE_FRACTION of `rate`.
# Several 429s within HOLD_SECONDS (or the Retry-After, if longer) of a decrease are answers to
# requests already in flight when the first came: they count as one decrease.
# The bucket's capacity shrinks in proportion (burst * pace / rate, at least 1), so a slowed
# key doesn't fire a full saved-up burst; the one-second window stays capped at `burst`.
# Tokens refill at pace / WINDOW_SECONDS (0.95 of it): the same slack as the window, for the
# same reason. At exactly Lever's rate any send jitter that bunches two requests draws a 429
# (measured: one per run, in the first seconds), and a 429 can cost a caller that does not
# retry (a bulk invite) its answer.
BACKOFF_FACTOR = 0.5
CEILING_FACTOR = 0.9
RECOVERY_PER_SECOND = 0.5  # requests/s regained per second (from 5/s back to 9/s in 8 s)
CEILING_RECOVERY_PER_SECOND = 0.01  # the ceiling regains 1 request/s per 100 s
MIN_PACE_FRACTION = 0.05
HOLD_SECONDS = 1.0


class BucketStore(Protocol):
    """Where bucket state lives. Both operations are atomic across processes."""

    name: str

    def take(self, bucket: str, *, rate: float, burst: int) -> float:
        """Take one token if allowed and return 0.0; otherwise return seconds to wait."""
        ...

    def block(
        self,
        bucket: str,
        *,
        seconds: float,
        rate: float = DEFAULT_RATE,
        burst: int = DEFAULT_BURST,
    ) -> None:
        """Refuse every token for ``seconds`` (extends, never shortens, an existing block),
        and slow the key's pace (see BACKOFF_FACTOR) unless it was slowed within the hold."""
        ...

    def pace(self, bucket: str, *, rate: float) -> float:
        """The key's current pace in requests/s (``rate`` when nothing slowed it). Read only."""
        ...


def bucket_id_for(api_key: str) -> str:
    """A stable, non-reversible bucket name: never the key itself."""
    digest = hashlib.sha256(b"karatlever/lever-ratelimit\0" + api_key.encode()).hexdigest()
    return digest[:32]


class RateLimiter:
    """Token bucket for one API key, shared by every process that uses the same store."""

    def __init__(
        self,
        store: BucketStore,
        bucket: str,
        *,
        rate: float = DEFAULT_RATE,
        burst: int = DEFAULT_BURST,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            # With burst < rate the one-second window wins: the effective rate becomes burst/s.
            raise ValueError("burst must be at least 1")
        self.store = store
        self.bucket = bucket
        self.rate = float(rate)
        self.burst = int(burst)
        self._sleep = sleep
        self._clock = clock

    def acquire(self, timeout: float | None = None) -> None:
        """Block until a token is granted.

        Raises ``LeverRateLimited`` (status_code None, ``retry_after`` = the expected wait) when
        no token can be had within ``timeout`` seconds, or when the store cannot be reached.
        """
        deadline = None if timeout is None else self._clock() + timeout
        while True:
            wait = self.store.take(self.bucket, rate=self.rate, burst=self.burst)
            if wait <= 0:
                return
            if deadline is not None and self._clock() + wait > deadline:
                raise LeverRateLimited(
                    f"local rate limit: no token within {timeout:.2f}s", retry_after=wait
                )
            self._sleep(max(wait, _MIN_WAIT))

    def penalize(self, seconds: float) -> None:
        """Lever answered 429: make every process using this key wait ``seconds`` (Lever's
        Retry-After, or the client's backoff step) and slow the key's shared pace.

        Raises ``LeverRateLimited`` when the store cannot be reached.
        """
        seconds = min(max(float(seconds), 0.0), _PENALTY_MAX)
        self.store.block(self.bucket, seconds=seconds, rate=self.rate, burst=self.burst)

    def pace(self) -> float:
        """The pace (requests/s) every process currently uses for this key, ≤ ``rate``."""
        return self.store.pace(self.bucket, rate=self.rate)

    def __repr__(self) -> str:
        return (
            f"RateLimiter(bucket={self.bucket[:8]}…, rate={self.rate:g}/s, "
            f"burst={self.burst}, store={self.store.name})"
        )


def rate_limiter_for(
    api_key: str,
    *,
    rate: float = DEFAULT_RATE,
    burst: int = DEFAULT_BURST,
    redis_url: str | None,
    local_dir: str | Path,
    key_prefix: str = KEY_PREFIX,
) -> RateLimiter:
    """The limiter for one API key: Redis when ``redis_url`` is set, else a SQLite file."""
    store: BucketStore
    if redis_url:
        store = RedisBucketStore(redis_url, key_prefix=key_prefix)
    else:
        store = SqliteBucketStore(Path(local_dir) / _SQLITE_FILENAME)
    return RateLimiter(store, bucket_id_for(api_key), rate=rate, burst=burst)


# --- the algorithm (Python copy for SQLite; the Lua below is the same steps) -----------------


# (tokens, ts of last refill, blocked_until, grant log oldest-first with at most `burst` entries)
_State = tuple[float, float, float, list[float]]
# (pace in requests/s, ceiling in requests/s, ts of last pace update, hold_until); ts in s.
_Pace = tuple[float, float, float, float]


def _paced(pace: _Pace | None, now: float, rate: float) -> _Pace:
    """The pace at ``now``: additive recovery since the last update, capped by the ceiling."""
    if pace is None:
        return rate, rate, now, 0.0
    current, ceiling, ts, hold_until = pace
    # Recovery starts once the hold (and so the Retry-After) is over.
    elapsed = max(0.0, now - max(ts, hold_until))
    ceiling = min(rate, ceiling + elapsed * CEILING_RECOVERY_PER_SECOND)
    current = min(ceiling, current + elapsed * RECOVERY_PER_SECOND)
    # A lower configured rate (changed in Settings) applies at once.
    return min(current, rate), min(ceiling, rate), now, hold_until


def _capacity(pace: float, rate: float, burst: int) -> float:
    return max(1.0, burst * pace / rate)


def _take(
    state: _State | None, now: float, rate: float, burst: int, pace: _Pace | None = None
) -> tuple[float, _State | None]:
    """Return (wait, new_state); new_state is None when nothing needs saving."""
    current = _paced(pace, now, rate)[0]
    capacity = _capacity(current, rate, burst)
    tokens, ts, blocked_until, log = state if state else (capacity, now, 0.0, [])
    if blocked_until > now:
        return blocked_until - now, None
    refill = current / WINDOW_SECONDS
    tokens = min(capacity, tokens + max(0.0, now - ts) * refill)
    wait = (1.0 - tokens) / refill if tokens < 1.0 else 0.0
    if len(log) >= burst and now - log[-burst] < WINDOW_SECONDS:
        wait = max(wait, log[-burst] + WINDOW_SECONDS - now)
    if wait > 0:
        return wait, None
    return 0.0, (tokens - 1.0, now, blocked_until, [*log, now][-burst:])


def _block(state: _State | None, now: float, seconds: float) -> _State:
    _tokens, _ts, blocked_until, log = state if state else (0.0, now, 0.0, [])
    blocked_until = max(blocked_until, now + seconds)
    # Start from an empty bucket once the block ends: no saved-up burst right after a 429.
    return 0.0, blocked_until, blocked_until, log


def _slow_down(pace: _Pace | None, now: float, rate: float, blocked_until: float) -> _Pace:
    """The pace after a 429 at ``now`` (one decrease per hold; see BACKOFF_FACTOR)."""
    current, ceiling, _ts, hold_until = _paced(pace, now, rate)
    if now < hold_until:
        return current, ceiling, now, hold_until
    floor = rate * MIN_PACE_FRACTION
    ceiling = max(floor, min(ceiling, current * CEILING_FACTOR))
    current = max(floor, current * BACKOFF_FACTOR)
    return current, ceiling, now, max(now + HOLD_SECONDS, blocked_until)


class SqliteBucketStore:
    """Bucket rows in one SQLite file; ``BEGIN IMMEDIATE`` serialises processes."""

    name = "sqlite"

    def __init__(self, path: str | Path, *, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout = busy_timeout
        self._local = threading.local()

    def take(self, bucket: str, *, rate: float, burst: int) -> float:
        def step(
            state: _State | None, pace: _Pace | None, now: float
        ) -> tuple[float, _State | None, _Pace | None]:
            wait, new_state = _take(state, now, rate, burst, pace)
            return wait, new_state, None

        return self._transaction(bucket, step)

    def block(
        self,
        bucket: str,
        *,
        seconds: float,
        rate: float = DEFAULT_RATE,
        burst: int = DEFAULT_BURST,
    ) -> None:
        def step(
            state: _State | None, pace: _Pace | None, now: float
        ) -> tuple[float, _State | None, _Pace | None]:
            new_state = _block(state, now, seconds)
            return 0.0, new_state, _slow_down(pace, now, rate, new_state[2])

        self._transaction(bucket, step)

    def pace(self, bucket: str, *, rate: float) -> float:
        def step(
            _state: _State | None, pace: _Pace | None, now: float
        ) -> tuple[float, _State | None, _Pace | None]:
            return _paced(pace, now, rate)[0], None, None

        return self._transaction(bucket, step)

    def _transaction(
        self,
        bucket: str,
        step: Callable[
            [_State | None, _Pace | None, float], tuple[float, _State | None, _Pace | None]
        ],
    ) -> float:
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT tokens, ts, blocked_until, log FROM lever_bucket WHERE bucket = ?",
                    (bucket,),
                ).fetchone()
                state = (row[0], row[1], row[2], json.loads(row[3])) if row else None
                paced = conn.execute(
                    "SELECT pace, ceiling, ts, hold_until FROM lever_pace WHERE bucket = ?",
                    (bucket,),
                ).fetchone()
                pace = (paced[0], paced[1], paced[2], paced[3]) if paced else None
                # Read the clock inside the lock so grants are written in time order.
                result, new_state, new_pace = step(state, pace, time.time())
                if new_pace is not None:
                    conn.execute(
                        "INSERT INTO lever_pace (bucket, pace, ceiling, ts, hold_until)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(bucket) DO UPDATE SET"
                        " pace = excluded.pace, ceiling = excluded.ceiling,"
                        " ts = excluded.ts, hold_until = excluded.hold_until",
                        (bucket, *new_pace),
                    )
                if new_state is not None:
                    conn.execute(
                        "INSERT INTO lever_bucket (bucket, tokens, ts, blocked_until, log)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(bucket) DO UPDATE SET"
                        " tokens = excluded.tokens, ts = excluded.ts,"
                        " blocked_until = excluded.blocked_until, log = excluded.log",
                        (bucket, *new_state[:3], json.dumps(new_state[3])),
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except (sqlite3.Error, ValueError) as exc:
            # ValueError: a row whose grant log is not JSON. Start afresh on the next call.
            self._drop_connection()
            logger.warning("lever rate-limit store unavailable: %s", type(exc).__name__)
            raise LeverRateLimited("rate-limit store unavailable", retry_after=1.0) from exc
        return result

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
        try:
            self._wal_enable(conn)
            # Losing limiter state in a power cut is harmless; an fsync per token is not.
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS lever_bucket ("
                " bucket TEXT PRIMARY KEY, tokens REAL NOT NULL, ts REAL NOT NULL,"
                " blocked_until REAL NOT NULL, log TEXT NOT NULL)"
            )
            # A separate table, so files written before the adaptive pace keep working.
            conn.execute(
                "CREATE TABLE IF NOT EXISTS lever_pace ("
                " bucket TEXT PRIMARY KEY, pace REAL NOT NULL, ceiling REAL NOT NULL,"
                " ts REAL NOT NULL, hold_until REAL NOT NULL)"
            )
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    def _wal_enable(self, conn: sqlite3.Connection) -> None:
        """Put the file in WAL mode (once; it stays so). Two processes doing this at once on a
        new file (two workers' first token) may get "database is locked" at once: SQLite does
        not wait on the busy timeout for a journal mode change. So retry, within that timeout,
        and skip it when another process already did it. Raises sqlite3.OperationalError when
        the file stays locked past ``busy_timeout`` seconds."""
        deadline = time.monotonic() + self._busy_timeout
        delay = 0.01
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.2)

    def _drop_connection(self) -> None:
        cached = getattr(self._local, "conn", None)
        self._local.conn = None
        if cached is not None:
            cached[1].close()

    def _connection(self) -> sqlite3.Connection:
        # One connection per thread and process: sqlite3 connections must not cross either.
        cached = getattr(self._local, "conn", None)
        if cached is None or cached[0] != os.getpid():
            cached = (os.getpid(), self._connect())
            self._local.conn = cached
        return cached[1]


# KEYS[1] = bucket hash {tokens, ts, blocked_until, pace, ceiling, pace_ts, hold_until};
# KEYS[2] = grant log (newest first).
# ARGV = op ("take" | "block" | "pace"), rate, burst, window, seconds (block only), then the
# pace constants: BACKOFF_FACTOR, CEILING_FACTOR, RECOVERY_PER_SECOND,
# CEILING_RECOVERY_PER_SECOND, MIN_PACE_FRACTION, HOLD_SECONDS. The same steps as _paced,
# _take, _block and _slow_down above.
# Uses the Redis server clock so workers on different hosts agree on time.
_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local backoff, ceil_factor = tonumber(ARGV[6]), tonumber(ARGV[7])
local recovery, ceil_recovery = tonumber(ARGV[8]), tonumber(ARGV[9])
local min_fraction, hold = tonumber(ARGV[10]), tonumber(ARGV[11])
local ttl = math.ceil((burst / rate + window) * 1000) + 60000
local st = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'blocked_until',
  'pace', 'ceiling', 'pace_ts', 'hold_until')
local blocked = tonumber(st[3]) or 0
local pace = tonumber(st[4]) or rate
local ceiling = tonumber(st[5]) or rate
local pace_ts = tonumber(st[6]) or now
local hold_until = tonumber(st[7]) or 0
local pe = now - math.max(pace_ts, hold_until)
if pe < 0 then pe = 0 end
ceiling = math.min(rate, ceiling + pe * ceil_recovery)
pace = math.min(ceiling, pace + pe * recovery, rate)
-- A slower pace has time to recover: keep its state until it is back at `rate`.
local pace_ttl = math.ceil((rate - ceiling) / ceil_recovery * 1000)
if ARGV[1] == 'pace' then return tostring(pace) end
local capacity = math.max(1, burst * pace / rate)
local tokens = tonumber(st[1]) or capacity
local ts = tonumber(st[2]) or now
if ARGV[1] == 'block' then
  local untl = now + tonumber(ARGV[5])
  if untl > blocked then blocked = untl end
  if now >= hold_until then
    local floor = rate * min_fraction
    ceiling = math.max(floor, math.min(ceiling, pace * ceil_factor))
    pace = math.max(floor, pace * backoff)
    hold_until = math.max(now + hold, blocked)
    pace_ttl = math.ceil((rate - ceiling) / ceil_recovery * 1000)
  end
  redis.call('HSET', KEYS[1], 'tokens', 0, 'ts', tostring(blocked), 'blocked_until',
    tostring(blocked), 'pace', tostring(pace), 'ceiling', tostring(ceiling),
    'pace_ts', tostring(now), 'hold_until', tostring(hold_until))
  redis.call('PEXPIRE', KEYS[1], ttl + math.ceil((blocked - now) * 1000) + pace_ttl)
  return '0'
end
if blocked > now then return tostring(blocked - now) end
local elapsed = now - ts
if elapsed < 0 then elapsed = 0 end
local refill = pace / window
tokens = math.min(capacity, tokens + elapsed * refill)
local wait = 0
if tokens < 1 then wait = (1 - tokens) / refill end
local oldest = tonumber(redis.call('LINDEX', KEYS[2], burst - 1))
if oldest and now - oldest < window then
  wait = math.max(wait, oldest + window - now)
end
if wait > 0 then return tostring(wait) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'ts', tostring(now))
redis.call('LPUSH', KEYS[2], tostring(now))
redis.call('LTRIM', KEYS[2], 0, burst - 1)
local keep = redis.call('PTTL', KEYS[1])
if keep < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
redis.call('PEXPIRE', KEYS[2], ttl)
return '0'
"""

_PACE_CONSTANTS = (
    BACKOFF_FACTOR,
    CEILING_FACTOR,
    RECOVERY_PER_SECOND,
    CEILING_RECOVERY_PER_SECOND,
    MIN_PACE_FRACTION,
    HOLD_SECONDS,
)

_redis_clients: dict[str, redis.Redis] = {}
_redis_lock = threading.Lock()


class RedisBucketStore:
    """Bucket state in Redis, changed only by one Lua script (atomic, one round trip)."""

    name = "redis"

    def __init__(
        self,
        redis_url: str,
        *,
        key_prefix: str = KEY_PREFIX,
        socket_timeout: float = _REDIS_SOCKET_TIMEOUT,
    ) -> None:
        self.key_prefix = key_prefix
        self._redis = _redis_client(redis_url, socket_timeout)
        self._script = self._redis.register_script(_LUA)

    def take(self, bucket: str, *, rate: float, burst: int) -> float:
        return self._run(bucket, "take", rate, burst, 0.0)

    def block(
        self,
        bucket: str,
        *,
        seconds: float,
        rate: float = DEFAULT_RATE,
        burst: int = DEFAULT_BURST,
    ) -> None:
        self._run(bucket, "block", rate, burst, seconds)

    def pace(self, bucket: str, *, rate: float) -> float:
        return self._run(bucket, "pace", rate, DEFAULT_BURST, 0.0)

    def keys_for(self, bucket: str) -> list[str]:
        return [f"{self.key_prefix}:{bucket}", f"{self.key_prefix}:{bucket}:log"]

    def _run(self, bucket: str, op: str, rate: float, burst: int, seconds: float) -> float:
        try:
            result = self._script(
                keys=self.keys_for(bucket),
                args=[
                    op,
                    repr(float(rate)),
                    int(burst),
                    repr(WINDOW_SECONDS),
                    repr(seconds),
                    *(repr(c) for c in _PACE_CONSTANTS),
                ],
            )
        except redis.RedisError as exc:
            # Fail closed: sending without a token could break the limit for every worker.
            logger.warning("lever rate-limit store unavailable: %s", type(exc).__name__)
            raise LeverRateLimited("rate-limit store unavailable", retry_after=1.0) from exc
        return float(result)


def _redis_client(url: str, socket_timeout: float) -> redis.Redis:
    # One pool per URL per process; redis-py resets pools itself after a fork.
    with _redis_lock:
        client = _redis_clients.get(url)
        if client is None:
            client = redis.Redis.from_url(
                url,
                socket_timeout=socket_timeout,
                socket_connect_timeout=socket_timeout,
                health_check_interval=30,
            )
            _redis_clients[url] = client
        return client


# --- shares of a key's budget (appended; the bucket algorithm above is unchanged) -------------


class ShareLimitedRateLimiter(RateLimiter):
    """A key's limiter for one kind of use that may spend only a share of the key's budget.

    Each acquire first takes a token from the share's own bucket (``share``: the same store,
    bucket ``<key bucket>:<name>``, a fraction of the key's rate and burst), then one from the
    key's bucket as every other caller does. So this kind of use never exceeds its share,
    however many of its requests wait, and the rest of the key's budget stays for the others
    (webhook re-reads under a bulk move in Lever leave outbound writes their part). A 429
    still penalises the key's bucket (``penalize`` is the key's): Lever limits the key.
    """

    def __init__(self, *args: object, share: RateLimiter, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.share = share

    def acquire(self, timeout: float | None = None) -> None:
        """Block until both the share and the key grant a token (``timeout`` covers both).

        Raises ``LeverRateLimited`` as ``RateLimiter.acquire`` does. A share token taken when
        the key's bucket then times out is spent: it only delays this kind of use a little.
        """
        started = self._clock()
        self.share.acquire(timeout)
        remaining = None if timeout is None else max(0.0, timeout - (self._clock() - started))
        super().acquire(remaining)


def rate_limiter_share(limiter: RateLimiter, *, name: str, fraction: float) -> RateLimiter:
    """``limiter`` for a use that may spend at most ``fraction`` (0 < fraction ≤ 1) of its
    rate and burst (at least one token of burst). 1 returns ``limiter`` itself."""
    if not 0 < fraction <= 1:
        raise ValueError("a share is a fraction in (0, 1]")
    if fraction == 1:
        return limiter
    share = RateLimiter(
        limiter.store,
        f"{limiter.bucket}:{name}",
        rate=limiter.rate * fraction,
        burst=max(1, int(limiter.burst * fraction)),
        sleep=limiter._sleep,
        clock=limiter._clock,
    )
    return ShareLimitedRateLimiter(
        limiter.store,
        limiter.bucket,
        rate=limiter.rate,
        burst=limiter.burst,
        sleep=limiter._sleep,
        clock=limiter._clock,
        share=share,
    )
