"""SQLite persistence for the sandbox: one connection behind a lock, JSON documents per row."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from integrations.lever.sandbox.demo import DEMO_API_KEY, DEMO_API_KEY_LABEL, DemoData
from integrations.lever.sandbox.permissions import ALL_PERMISSIONS

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, created_at INTEGER, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stages (id TEXT PRIMARY KEY, position INTEGER, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS archive_reasons (id TEXT PRIMARY KEY, position INTEGER, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS postings (id TEXT PRIMARY KEY, created_at INTEGER, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS opportunities (
    id TEXT PRIMARY KEY, created_at INTEGER, contact TEXT, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS opportunities_contact ON opportunities (contact);
CREATE TABLE IF NOT EXISTS notes (
    id TEXT PRIMARY KEY, opportunity_id TEXT NOT NULL, created_at INTEGER, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS notes_opportunity ON notes (opportunity_id);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, label TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE, last4 TEXT NOT NULL,
    permissions TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER);
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY, event TEXT NOT NULL, url TEXT NOT NULL, signature_token TEXT NOT NULL,
    origins TEXT, source TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_events (event TEXT PRIMARY KEY, enabled INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, webhook_id TEXT NOT NULL, event TEXT NOT NULL,
    url TEXT NOT NULL, opportunity_id TEXT, body TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL, created_at INTEGER NOT NULL,
    last_status INTEGER, last_error TEXT);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS delivery_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, delivery_id INTEGER NOT NULL, attempt INTEGER NOT NULL,
    at INTEGER NOT NULL, status_code INTEGER, error TEXT, duration_ms INTEGER);
CREATE INDEX IF NOT EXISTS attempts_delivery ON delivery_attempts (delivery_id);
CREATE TABLE IF NOT EXISTS deleted_opportunities (
    id TEXT PRIMARY KEY, deleted_at INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (
    opportunity_id TEXT NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (opportunity_id, kind));
CREATE TABLE IF NOT EXISTS panels (
    id TEXT PRIMARY KEY, opportunity_id TEXT NOT NULL, created_at INTEGER, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS panels_opportunity ON panels (opportunity_id);
CREATE TABLE IF NOT EXISTS feedback_templates (
    id TEXT PRIMARY KEY, created_at INTEGER, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY, opportunity_id TEXT NOT NULL, created_at INTEGER, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_opportunity ON feedback (opportunity_id);
"""

_DATA_TABLES = (
    "users",
    "stages",
    "archive_reasons",
    "postings",
    "opportunities",
    "notes",
    "api_keys",
    "webhooks",
    "webhook_events",
    "deliveries",
    "delivery_attempts",
    "counters",
    "meta",
    "panels",
    # Feedback templates and forms (sandbox/feedback.py)
    "feedback_templates",
    "feedback",
    "deleted_opportunities",
)


def now_ms() -> int:
    return int(time.time() * 1000)


def hash_key(api_key: str) -> str:
    # Unsalted SHA-256 is enough here: keys are long random strings and this is a fake server.
    return hashlib.sha256(api_key.encode()).hexdigest()


def dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


class Store:
    """Thread-safe access to one SQLite database (a file in WAL mode, or ``:memory:``).

    Every read and write takes the same re-entrant lock; ``tx()`` wraps a write transaction.
    """

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = str(db_path)
        if self.db_path != ":memory:":
            Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._conn = sqlite3.connect(
            self.db_path, check_same_thread=False, isolation_level=None, timeout=10
        )
        self._conn.row_factory = sqlite3.Row
        if self.db_path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._depth = 0

    def close(self) -> None:
        with self.lock:
            self._conn.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (nested calls join the outer one)."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self._conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> sqlite3.Row | None:
        with self.lock:
            row: sqlite3.Row | None = self._conn.execute(sql, params).fetchone()
            return row

    # --- seeding --------------------------------------------------------------------------

    def is_seeded(self) -> bool:
        row = self.one("SELECT value FROM meta WHERE key = 'seeded'")
        return row is not None

    def wipe(self) -> None:
        with self.tx() as c:
            for table in _DATA_TABLES:
                c.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def seed(self, data: DemoData, *, seed_value: int) -> None:
        """Load the demo data into an empty database (one transaction)."""
        with self.tx() as c:
            for u in data.users:
                c.execute("INSERT INTO users VALUES (?, ?, ?)", (u["id"], u["createdAt"], dumps(u)))
            for i, s in enumerate(data.stages):
                c.execute("INSERT INTO stages VALUES (?, ?, ?)", (s["id"], i, dumps(s)))
            for i, r in enumerate(data.archive_reasons):
                c.execute("INSERT INTO archive_reasons VALUES (?, ?, ?)", (r["id"], i, dumps(r)))
            for p in data.postings:
                c.execute(
                    "INSERT INTO postings VALUES (?, ?, ?)", (p["id"], p["createdAt"], dumps(p))
                )
            for o in data.opportunities:
                c.execute(
                    "INSERT INTO opportunities VALUES (?, ?, ?, ?)",
                    (o["id"], o["createdAt"], o["contact"], dumps(o)),
                )
            self.insert_key(
                key_id="demo",
                label=DEMO_API_KEY_LABEL,
                api_key=DEMO_API_KEY,
                permissions=sorted(ALL_PERMISSIONS),
            )
            for event in ("candidateStageChange", "candidateArchiveChange", "candidateHired"):
                c.execute("INSERT OR IGNORE INTO webhook_events VALUES (?, 1)", (event,))
            c.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            c.execute("INSERT INTO meta VALUES ('seed', ?)", (str(seed_value),))
            c.execute("INSERT INTO meta VALUES ('seeded', ?)", (str(now_ms()),))

    # --- documents ------------------------------------------------------------------------

    def docs(self, table: str, order: str = "created_at, id") -> list[dict[str, Any]]:
        rows = self.query(f"SELECT doc FROM {table} ORDER BY {order}")  # noqa: S608 - internal names
        return [json.loads(r["doc"]) for r in rows]

    def doc(self, table: str, doc_id: str) -> dict[str, Any] | None:
        row = self.one(f"SELECT doc FROM {table} WHERE id = ?", (doc_id,))  # noqa: S608
        return json.loads(row["doc"]) if row else None

    def put_opportunity(self, doc: dict[str, Any]) -> None:
        with self.tx() as c:
            c.execute(
                "UPDATE opportunities SET doc = ?, contact = ? WHERE id = ?",
                (dumps(doc), doc["contact"], doc["id"]),
            )

    def opportunities_of_contact(self, contact: str) -> list[dict[str, Any]]:
        rows = self.query("SELECT doc FROM opportunities WHERE contact = ? ORDER BY id", (contact,))
        return [json.loads(r["doc"]) for r in rows]

    # --- api keys -------------------------------------------------------------------------

    def insert_key(self, *, key_id: str, label: str, api_key: str, permissions: list[str]) -> None:
        with self.tx() as c:
            c.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (key_id, label, hash_key(api_key), api_key[-4:], dumps(permissions), now_ms()),
            )

    def key_by_secret(self, api_key: str) -> sqlite3.Row | None:
        return self.one(
            "SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (hash_key(api_key),)
        )

    # --- counters -------------------------------------------------------------------------

    def bump_counter(self, opportunity_id: str, kind: str) -> None:
        with self.tx() as c:
            c.execute(
                "INSERT INTO counters VALUES (?, ?, 1) ON CONFLICT (opportunity_id, kind) "
                "DO UPDATE SET count = count + 1",
                (opportunity_id, kind),
            )
