"""One log line per database outage, not a traceback per request.

While PostgreSQL is down every request fails the same way; logging each one (with its
traceback) buries everything else. Callers that turn a database error into an answer (the
console's 503 page, the webhook receiver) report it here instead: the first failure logs a
warning, later ones are counted and logged at most once a minute while the outage lasts, and
the first success after it logs "database back". The state is per process (each web worker
logs its own outage).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# While an outage lasts, a line at most this often.
REPEAT_SECONDS = 60.0


@dataclass
class _Outage:
    started: float
    last_logged: float
    failures: int = 1  # requests failed during the whole outage
    unlogged: int = 0  # failures since the last line


_lock = threading.Lock()
_current: _Outage | None = None


def _now() -> float:
    return time.monotonic()


def _describe(exc: BaseException) -> str:
    """The error's class and first line (a driver's message can run to several lines)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}"[:300] if lines else type(exc).__name__


def database_outage_logged(exc: Exception, *, where: str) -> None:
    """Report a request that failed because the database is unreachable (``where``: who saw it,
    e.g. "console" or "webhooks"). Logs the first one, then at most once a minute."""
    global _current
    now = _now()
    with _lock:
        outage = _current
        if outage is None:
            _current = _Outage(started=now, last_logged=now)
        else:
            outage.failures += 1
            outage.unlogged += 1
            if now - outage.last_logged < REPEAT_SECONDS:
                return
            unlogged, outage.last_logged, outage.unlogged = outage.unlogged, now, 0
    if outage is None:
        logger.warning("database unavailable where=%s error=%s", where, _describe(exc))
    else:
        logger.warning(
            "database still unavailable where=%s for %d s, %d failed requests since the last "
            "line, error=%s",
            where,
            round(now - outage.started),
            unlogged,
            _describe(exc),
        )


class OutageAnswersFilter(logging.Filter):
    """Drops ``django.request``'s line for each 503 answer: an outage is logged once, here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) != 503


def database_outage_ongoing() -> bool:
    """Whether a failure was reported and no success since (cheap: no I/O)."""
    return _current is not None


def database_back_logged(*, where: str) -> None:
    """Report a request that used the database successfully; logs the end of an outage once."""
    global _current
    with _lock:
        outage, _current = _current, None
    if outage is not None:
        logger.warning(
            "database back where=%s after %d s unavailable, %d failed requests",
            where,
            round(_now() - outage.started),
            outage.failures,
        )
