"""Fault knobs (latency, error rates, hangs, late writes, lost responses, broken list pages,
redirects to another host) and the per-key token bucket."""

from __future__ import annotations

import collections
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_STATUSES = frozenset({400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504})
# Longest Retry-After an injected 429 may carry (a day: enough to test any client cap).
RETRY_AFTER_MAX = 86_400
# How ``bad_page`` breaks a list page ({"data": [...], "hasNext": ..., "next": ...}).
BAD_PAGES = frozenset({"no_next", "no_has_next", "same_next", "not_a_list"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# How ``bad_expand`` breaks the user expansions (owner, hiringManager, followers) of posting
# and opportunity reads: ``ids`` (Lever ignored ``expand``: plain user ids), ``malformed``
# (not user objects at all).
BAD_EXPANDS = frozenset({"ids", "malformed"})


@dataclass
class FaultConfig:
    """What to break on ``/v1`` requests. All zero/empty = behave normally.

    - ``latency_ms``: sleep this long before handling every matching request.
    - ``error_rates``: ``{"503": 0.2}`` answers that share of requests with that status
      (before the request is applied, so a failed write changes nothing).
    - ``fail_next``: the next requests answer these statuses, one per request, in order.
    - ``fail_after``: let this many matching requests through before ``fail_next`` starts
      (fail a sync on its third page: ``fail_after=2``).
    - ``hang_seconds``: sleep this long before handling every matching request (to trigger
      client timeouts); a write is applied after the sleep, even if the client gave up.
    - ``hang_then_apply``: the next N matching *writes* sleep ``hang_then_apply_seconds`` and
      are then applied (the answer goes to a client that has probably timed out): Lever
      finishing a write after the caller gave up. Other requests are not slowed.
    - ``drop_after_apply``: the next N matching *writes* are applied, then the connection is
      closed without a response — the "did my note get created?" case.
    - ``paths`` / ``methods``: only requests whose path starts with one of ``paths`` (e.g.
      ``"/v1/opportunities"``) and whose method is in ``methods`` are affected (empty = all).
    - ``retry_after``: the ``Retry-After`` (whole seconds) an injected 429 carries.
    - ``seed``: seed for the error-rate dice, for reproducible benches.
    - ``bad_page``: break matching list pages (a 200 with ``data`` and ``hasNext``), after
      the handler ran: ``no_next`` (``hasNext: true`` with no ``next``: "more follows" and no
      way to get it), ``no_has_next`` (a ``next`` without ``hasNext``), ``same_next`` (``next``
      is the token the page was asked with; a first page, asked with none, is left alone),
      ``not_a_list`` (``data`` is an object). Empty = off; stays on until cleared.
    - ``bad_page_after``: let this many matching list pages through unbroken first (break a
      sync's second page: ``bad_page_after=1``).
    - ``redirect_to``: a base URL (``http://127.0.0.2:8002``) on another host; matching
      requests answer ``redirect_status`` with ``Location`` = that base + the request's path
      and query, before auth and before anything is applied (a proxy or a moved API).
    - ``redirect_status``: 301, 302 (default), 303, 307 or 308.
    """

    latency_ms: float = 0.0
    error_rates: dict[str, float] = field(default_factory=dict)
    fail_next: list[int] = field(default_factory=list)
    fail_after: int = 0
    hang_seconds: float = 0.0
    hang_then_apply: int = 0
    hang_then_apply_seconds: float = 20.0
    drop_after_apply: int = 0
    paths: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    retry_after: int = 1
    seed: int | None = None
    bad_page: str = ""
    bad_page_after: int = 0
    redirect_to: str = ""
    redirect_status: int = 302
    # ``bad_expand``: break the user expansions of matching GETs (a ``BAD_EXPANDS`` kind; the
    # hiring team's "expansion missing or malformed" case). Empty = off; stays on until cleared.
    bad_expand: str = ""

    @classmethod
    def from_json(cls, body: Any) -> FaultConfig:
        """Validate a JSON body; raises ValueError with a readable message."""
        if not isinstance(body, dict):
            raise ValueError("faults must be a JSON object")
        unknown = set(body) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault knobs: {', '.join(sorted(unknown))}")
        config = cls()
        config.latency_ms = _number(body.get("latency_ms", 0), "latency_ms", 0, 60_000)
        config.hang_seconds = _number(body.get("hang_seconds", 0), "hang_seconds", 0, 600)
        config.hang_then_apply = int(
            _number(body.get("hang_then_apply", 0), "hang_then_apply", 0, 10_000)
        )
        config.hang_then_apply_seconds = _number(
            body.get("hang_then_apply_seconds", 20), "hang_then_apply_seconds", 0, 600
        )
        config.drop_after_apply = int(
            _number(body.get("drop_after_apply", 0), "drop_after_apply", 0, 10_000)
        )
        config.fail_after = int(_number(body.get("fail_after", 0), "fail_after", 0, 1_000_000))
        config.retry_after = int(
            _number(body.get("retry_after", 1), "retry_after", 0, RETRY_AFTER_MAX)
        )
        rates = body.get("error_rates", {}) or {}
        if not isinstance(rates, dict):
            raise ValueError('error_rates must be an object like {"503": 0.2}')
        for status, rate in rates.items():
            code = _status(status)
            config.error_rates[str(code)] = _number(rate, f"error_rates[{status}]", 0, 1)
        fail_next = body.get("fail_next", []) or []
        if not isinstance(fail_next, list):
            raise ValueError("fail_next must be a list of status codes")
        config.fail_next = [_status(s) for s in fail_next]
        for name in ("paths", "methods"):
            values = body.get(name, []) or []
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValueError(f"{name} must be a list of strings")
            setattr(config, name, [v.upper() for v in values] if name == "methods" else values)
        seed = body.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed must be an integer")
        config.seed = seed
        bad_page = body.get("bad_page", "") or ""
        if not isinstance(bad_page, str) or (bad_page and bad_page not in BAD_PAGES):
            raise ValueError(f"bad_page must be one of {', '.join(sorted(BAD_PAGES))}")
        config.bad_page = bad_page
        config.bad_page_after = int(
            _number(body.get("bad_page_after", 0), "bad_page_after", 0, 1_000_000)
        )
        redirect_to = body.get("redirect_to", "") or ""
        if not isinstance(redirect_to, str) or (
            redirect_to and not redirect_to.startswith(("http://", "https://"))
        ):
            raise ValueError("redirect_to must be an http(s) base URL")
        config.redirect_to = redirect_to.rstrip("/")
        redirect_status = body.get("redirect_status", 302)
        if not isinstance(redirect_status, int) or redirect_status not in REDIRECT_STATUSES:
            raise ValueError(f"redirect_status must be one of {sorted(REDIRECT_STATUSES)}")
        config.redirect_status = int(redirect_status)
        bad_expand = body.get("bad_expand", "") or ""
        if not isinstance(bad_expand, str) or (bad_expand and bad_expand not in BAD_EXPANDS):
            raise ValueError(f"bad_expand must be one of {', '.join(sorted(BAD_EXPANDS))}")
        config.bad_expand = bad_expand
        return config

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"{name} must be a number")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}")
    return float(value)


def _status(value: Any) -> int:
    try:
        code = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a status code") from None
    if code not in FAULT_STATUSES:
        raise ValueError(f"status {code} is not one of {sorted(FAULT_STATUSES)}")
    return code


@dataclass(frozen=True)
class FaultDecision:
    delay: float = 0.0
    status: int | None = None
    drop_after_apply: bool = False
    retry_after: str = "1"
    # (status, base URL): answer with a redirect to the same path on that base.
    redirect: tuple[int, str] | None = None


class Faults:
    """Thread-safe holder of the current ``FaultConfig``; decides per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config = FaultConfig()
        self._rng = random.Random()  # noqa: S311 - fault dice, not security

    @property
    def config(self) -> FaultConfig:
        with self._lock:
            return FaultConfig.from_json(self._config.to_json())

    def set(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)  # noqa: S311

    def reset(self) -> None:
        self.set(FaultConfig())

    def decide(self, method: str, path: str, *, is_write: bool) -> FaultDecision:
        with self._lock:
            c = self._config
            if not self._matches(method, path):
                return FaultDecision()
            delay = c.latency_ms / 1000 + c.hang_seconds
            if c.redirect_to:
                return FaultDecision(delay=delay, redirect=(c.redirect_status, c.redirect_to))
            retry_after = str(c.retry_after)
            if c.fail_next and c.fail_after > 0:
                c.fail_after -= 1
            elif c.fail_next:
                return FaultDecision(
                    delay=delay, status=c.fail_next.pop(0), retry_after=retry_after
                )
            for status, rate in c.error_rates.items():
                if rate and self._rng.random() < rate:
                    return FaultDecision(delay=delay, status=int(status), retry_after=retry_after)
            if is_write and c.hang_then_apply > 0:
                c.hang_then_apply -= 1
                delay += c.hang_then_apply_seconds
            drop = False
            if is_write and c.drop_after_apply > 0:
                c.drop_after_apply -= 1
                drop = True
            return FaultDecision(delay=delay, drop_after_apply=drop)

    @property
    def breaks_pages(self) -> bool:
        """Whether ``bad_page`` is on (so the server parses list pages only then)."""
        with self._lock:
            return bool(self._config.bad_page)

    def bad_page(self, method: str, path: str, *, has_offset: bool) -> str | None:
        """How to break this list page (a ``BAD_PAGES`` kind), or None to leave it alone;
        counts down ``bad_page_after`` first."""
        with self._lock:
            c = self._config
            if not c.bad_page or not self._matches(method, path):
                return None
            if c.bad_page == "same_next" and not has_offset:
                return None
            if c.bad_page_after > 0:
                c.bad_page_after -= 1
                return None
            return c.bad_page

    def bad_expand(self, method: str, path: str) -> str:
        """How to break this read's user expansions (a ``BAD_EXPANDS`` kind), or ""."""
        with self._lock:
            c = self._config
            if not c.bad_expand or method.upper() != "GET" or not self._matches(method, path):
                return ""
            return c.bad_expand

    def _matches(self, method: str, path: str) -> bool:
        c = self._config
        if c.paths and not any(path.startswith(p) for p in c.paths):
            return False
        return not (c.methods and method.upper() not in c.methods)


class TokenBucket:
    """Per-key token buckets: ``rate`` tokens/s, at most ``burst`` saved. ``rate=None`` = off.

    Lever documents "about 10 requests/s steady, bursts up to 20/s" (integrations/lever/
    README.md §6): ``burst`` is also the most requests admitted in any one-second window. A bare
    token bucket would admit burst + rate (29-30) in the first second after a quiet spell, so a
    client that bursts past Lever's figure would go uncaught; the per-key log of the last
    ``burst`` admissions closes that gap.
    """

    # Lever's window: one second.
    WINDOW_SECONDS = 1.0

    def __init__(
        self,
        rate: float | None = 10.0,
        burst: int = 20,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock  # seconds; a fake clock in tests
        self._buckets: dict[str, tuple[float, float]] = {}
        self._admitted: dict[str, collections.deque[float]] = {}
        self.configure(rate, burst)

    def configure(self, rate: float | None, burst: int) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (or None to disable)")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        with self._lock:
            self.rate = rate
            self.burst = burst
            self._buckets.clear()
            self._admitted.clear()

    def take(self, key: str) -> int | None:
        """Take one token; None when allowed, else the whole seconds to wait (≥ 1)."""
        with self._lock:
            if self.rate is None:
                return None
            now = self._clock()
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            admitted = self._admitted.setdefault(key, collections.deque(maxlen=self.burst))
            window_full = len(admitted) >= self.burst and now - admitted[0] < self.WINDOW_SECONDS
            if tokens >= 1 and not window_full:
                self._buckets[key] = (tokens - 1, now)
                admitted.append(now)
                return None
            self._buckets[key] = (tokens, now)
            wait = (1 - tokens) / self.rate if tokens < 1 else 0.0
            if window_full:
                wait = max(wait, admitted[0] + self.WINDOW_SECONDS - now)
            return max(1, math.ceil(wait))
