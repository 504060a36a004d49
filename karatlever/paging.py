"""Keyset (cursor) paging for console lists that grow without bound (e.g. webhook
deliveries): a page costs one indexed query whatever its depth, where offset paging reads
and skips every earlier row and counts them all.

A cursor names the edge row of the page it came from, as ``o<µs>.<id>`` (rows older than
that one) or ``n<µs>.<id>`` (newer), ``µs`` the row's timestamp in microseconds since the
epoch (UTC). It is untrusted input: anything else reads as no cursor (the first page)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from django.db.models import Model, Q, QuerySet

M = TypeVar("M", bound=Model)

_CURSOR = re.compile(r"^([on])(-?\d{1,20})\.(\d{1,20})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    """One page, newest first. ``next_cursor`` (older rows) and ``previous_cursor`` (newer
    rows) are None where there is nothing further that way; ``is_first`` is the newest page."""

    rows: list[M]
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_other_pages(self) -> bool:
        return self.next_cursor is not None or self.previous_cursor is not None

    @property
    def is_first(self) -> bool:
        return self.previous_cursor is None


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def _cursor(direction: str, row: Model, time_field: str) -> str:
    return f"{direction}{_micros(getattr(row, time_field))}.{row.pk}"


def keyset_page(
    queryset: QuerySet[M], *, cursor: str | None, per_page: int, time_field: str
) -> KeysetPage[M]:
    """The page of ``queryset`` (any filters, no ordering needed) at ``cursor``, ordered by
    ``time_field`` then the primary key, newest first. One query of ``per_page + 1`` rows
    (the extra row tells whether there is a page beyond); the caller's index on
    (filters…, ``time_field``) keeps it as cheap on the last page as on the first."""
    match = _CURSOR.match(cursor or "")
    newest_first = queryset.order_by(f"-{time_field}", "-pk")
    if match is None:
        rows = list(newest_first[: per_page + 1])
        older = rows[per_page - 1] if len(rows) > per_page else None
        rows = rows[:per_page]
        return KeysetPage(rows, _cursor("o", older, time_field) if older else None, None)
    direction, micros, pk = match.group(1), int(match.group(2)), int(match.group(3))
    try:
        at = _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        return keyset_page(queryset, cursor=None, per_page=per_page, time_field=time_field)
    if direction == "o":
        older_q = Q(**{f"{time_field}__lt": at}) | Q(**{time_field: at, "pk__lt": pk})
        # The redundant ``<=`` bound is a range the index can seek to (SQLite's planner does
        # not take one from the OR alone, and would walk every newer row first).
        bounded = newest_first.filter(**{f"{time_field}__lte": at})
        rows = list(bounded.filter(older_q)[: per_page + 1])
        has_more = len(rows) > per_page
        rows = rows[:per_page]
        return KeysetPage(
            rows,
            _cursor("o", rows[-1], time_field) if has_more else None,
            _cursor("n", rows[0], time_field) if rows else None,
        )
    newer_q = Q(**{f"{time_field}__gt": at}) | Q(**{time_field: at, "pk__gt": pk})
    oldest_first = (
        queryset.filter(**{f"{time_field}__gte": at}).filter(newer_q).order_by(time_field, "pk")
    )
    rows = list(oldest_first[: per_page + 1])
    has_more = len(rows) > per_page
    rows = list(reversed(rows[:per_page]))
    if not has_more:
        # Back at the newest rows: show the first page as the first page shows it (full, and
        # with no "newer" link), not a short page left by rows that arrived since.
        return keyset_page(queryset, cursor=None, per_page=per_page, time_field=time_field)
    return KeysetPage(
        rows,
        _cursor("o", rows[-1], time_field) if rows else None,
        _cursor("n", rows[0], time_field),
    )
