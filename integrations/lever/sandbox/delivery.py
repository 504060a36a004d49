"""Background webhook delivery: POST the signed body, retry 5 times with growing gaps, log attempts."""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from integrations.lever.sandbox.store import Store, now_ms

logger = logging.getLogger(__name__)

USER_AGENT = "Lever-Webhooks"
MAX_RETRIES = 5  # Lever: "retries five times with growing gaps" → 6 attempts in all


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A 3xx is a failed delivery for Lever, so never follow it.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


class Dispatcher:
    """Delivers queued rows of ``deliveries`` from a few daemon threads.

    A row is claimed with a conditional UPDATE (pending → sending), so each attempt is made
    by one thread. Failure k (1-based) schedules the next attempt ``retry_base * 2**(k-1)``
    seconds later; after ``max_retries`` retries the row is ``failed``. Rows left ``sending``
    by a crash go back to ``pending`` on start.
    """

    def __init__(
        self,
        store: Store,
        *,
        retry_base: float = 2.0,
        max_retries: int = MAX_RETRIES,
        timeout: float = 10.0,
        workers: int = 2,
    ) -> None:
        self.store = store
        self.retry_base = retry_base
        self.max_retries = max_retries
        self.timeout = timeout
        self.workers = workers
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._signaled = False

    def start(self) -> None:
        with self.store.tx() as c:
            c.execute("UPDATE deliveries SET status = 'pending' WHERE status = 'sending'")
        self._stopping.clear()
        for i in range(self.workers):
            t = threading.Thread(target=self._run, name=f"lever-sandbox-delivery-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stopping.set()
        self.notify()
        for t in self._threads:
            t.join(timeout=self.timeout + 2)
        self._threads.clear()

    def notify(self) -> None:
        with self._wake:
            self._signaled = True
            self._wake.notify_all()

    def idle(self) -> bool:
        """True when nothing is being sent and nothing is due or waiting for a retry."""
        with self._wake:
            if self._busy:
                return False
        row = self.store.one(
            "SELECT COUNT(*) AS n FROM deliveries WHERE status IN ('pending', 'sending')"
        )
        return not row or row["n"] == 0

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.01)
        return self.idle()

    def _run(self) -> None:
        while not self._stopping.is_set():
            row = self._claim()
            if row is None:
                # Computed before taking _wake: _claim takes the store lock, then _wake.
                wait = self._next_wait()
                with self._wake:
                    if not self._signaled:
                        self._wake.wait(timeout=wait)
                    self._signaled = False
                continue
            try:
                self._attempt(row)
            except Exception:
                # Never let one bad row kill the thread; put it back for a later retry.
                logger.exception("lever sandbox: delivery %s crashed", row["id"])
                self._finish(row, status_code=None, error="sandbox error", duration_ms=0)
            finally:
                with self._wake:
                    self._busy -= 1

    def _next_wait(self) -> float:
        row = self.store.one(
            "SELECT MIN(next_attempt_at) AS due FROM deliveries WHERE status = 'pending'"
        )
        if not row or row["due"] is None:
            return 1.0
        return min(1.0, max(0.005, float(row["due"]) - time.time()))

    def _claim(self) -> Any:
        with self.store.tx() as c:
            row = c.execute(
                "SELECT * FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ? "
                "ORDER BY next_attempt_at, id LIMIT 1",
                (time.time(),),
            ).fetchone()
            if row is None:
                return None
            c.execute("UPDATE deliveries SET status = 'sending' WHERE id = ?", (row["id"],))
            with self._wake:
                self._busy += 1
            return row

    def _attempt(self, row: Any) -> None:
        request = urllib.request.Request(  # noqa: S310 - URL checked to be http(s) on create
            row["url"],
            data=row["body"].encode(),
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                response.read(65536)
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        except (OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        duration = int((time.monotonic() - started) * 1000)
        self._finish(row, status_code=status, error=error, duration_ms=duration)

    def _finish(
        self, row: Any, *, status_code: int | None, error: str | None, duration_ms: int
    ) -> None:
        attempt = row["attempts"] + 1
        ok = status_code is not None and 200 <= status_code < 300
        if ok:
            status, next_at = "delivered", None
        elif attempt > self.max_retries:
            status, next_at = "failed", None
        else:
            status, next_at = "pending", time.time() + self.retry_base * 2 ** (attempt - 1)
        if error is None and not ok:
            error = f"HTTP {status_code}"
        with self.store.tx() as c:
            c.execute(
                "INSERT INTO delivery_attempts (delivery_id, attempt, at, status_code, error, "
                "duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
                (row["id"], attempt, now_ms(), status_code, None if ok else error, duration_ms),
            )
            c.execute(
                "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, "
                "last_status = ?, last_error = ? WHERE id = ?",
                (status, attempt, next_at, status_code, None if ok else error, row["id"]),
            )
        if not ok:
            logger.info(
                "lever sandbox: delivery %s attempt %d to %s failed (%s)",
                row["id"],
                attempt,
                row["event"],
                error,
            )
