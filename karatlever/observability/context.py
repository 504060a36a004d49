"""Request ids and the log context: which request, integration, webhook delivery or outbound
update a log line concerns.

Values live in ``contextvars``, so each thread, task and asyncio task has its own; a logging
filter (``LogContextFilter``, on the console handler) copies them onto every record. Services
set them where they start work on one thing (``log_context(integration_id=…)``); the request-id
middleware and the Celery signals (tasks.py) set the request id.

A line written outside such a block, or about another integration than its block's, passes the
field itself: ``logger.info("…", extra={"integration_id": integration.public_id})``. A field
passed on the call wins over the context's for that line; the context fills the others. Either
way the field is never written into the message text too (a plain line would show it twice).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType

# The fields a log line may carry, in the order the plain format prints them.
FIELDS = ("request_id", "integration_id", "delivery_id", "update_id")

# An incoming X-Request-ID is kept only if it is a short token of safe characters: it goes into
# log lines, task headers and a response header, so nothing that could forge a log line,
# inject a header or carry a payload (spaces, quotes, newlines, '=' …) gets through.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

# Never mutated, only replaced by a new mapping on each set (so the shared empty default is
# safe); MappingProxyType makes that hold.
_EMPTY: Mapping[str, str] = MappingProxyType({})
_context: ContextVar[Mapping[str, str]] = ContextVar("karatlever_log_context", default=_EMPTY)


def request_id_new() -> str:
    """A fresh request id: 32 lowercase hex characters (a random UUID)."""
    return uuid.uuid4().hex


def request_id_accept(value: str | None) -> str | None:
    """``value`` if it is a safe short token (1-64 of ``A-Z a-z 0-9 . _ -``, starting with a
    letter or digit), else None (the caller generates one)."""
    if value and _SAFE_REQUEST_ID.fullmatch(value):
        return value
    return None


def current() -> Mapping[str, str]:
    """The fields set in this context (a read-only view; empty outside any)."""
    return _context.get()


def request_id_get() -> str | None:
    """The request id of the work in progress, if any."""
    return _context.get().get("request_id")


def _added(fields: Mapping[str, object]) -> dict[str, str]:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown log context fields: {sorted(unknown)}")
    return {name: str(value) for name, value in fields.items() if value is not None}


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Add ``fields`` (names from ``FIELDS``; None values are skipped) to every log line written
    inside the block, on top of the enclosing context; restored on exit.

    Raises ValueError for a name not in ``FIELDS`` (a typo would silently log nothing).
    """
    token = _context.set({**_context.get(), **_added(fields)})
    try:
        yield
    finally:
        _context.reset(token)


def log_context_add(**fields: object) -> None:
    """Add ``fields`` to the current context, for hooks that cannot wrap the work in a block
    (the request-id middleware): they stay until the context is cleared or an enclosing
    ``log_context`` block ends. Raises as ``log_context``."""
    _context.set({**_context.get(), **_added(fields)})


def log_context_clear() -> None:
    """Forget every field (a web request ending: see middleware.py)."""
    _context.set(_EMPTY)


def log_context_push(**fields: object) -> Token[Mapping[str, str]]:
    """``log_context`` for hooks that start and end in two calls (Celery's task_prerun and
    task_postrun): returns the token ``log_context_pop`` takes. Raises as ``log_context``."""
    return _context.set({**_context.get(), **_added(fields)})


def log_context_pop(token: Token[Mapping[str, str]]) -> None:
    """Restore the context as it was before the ``log_context_push`` that returned ``token``."""
    _context.reset(token)


class LogContextFilter(logging.Filter):
    """Puts the context's fields on each record: one attribute per name in ``FIELDS`` (None
    when unset) and ``log_context``, the set ones as `` name=value`` pairs for the plain format
    ("" when none is set). Attached to the handler, so third-party loggers' lines get them too.

    A field the call passed itself (``extra={"integration_id": …}``: Python sets it on the
    record before any handler's filter runs) wins over the context's value for that record; the
    context fills the fields the call left out (or passed as None). Both kinds are converted
    with ``str()`` as ``log_context`` does, and the plain suffix keeps the ``FIELDS`` order.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        fields = {**_context.get(), **_added(_passed(record))}
        for name in FIELDS:
            setattr(record, name, fields.get(name))
        record.log_context = "".join(f" {name}={fields[name]}" for name in FIELDS if name in fields)
        return True


def _passed(record: logging.LogRecord) -> dict[str, object]:
    """The context fields set on ``record`` itself (by ``extra=``, or by this filter on an
    earlier handler: the same values again), None ones left out."""
    return {name: value for name in FIELDS if (value := getattr(record, name, None)) is not None}
