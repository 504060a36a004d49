"""Syncing an integration's postings from its ATS (then matching them: ``mappings``).

``postings_sync_request`` → task → ``postings_sync_run``: one ``PostingSyncRun`` row per sync.
The run reads the ATS page by page through the adapter; each page is stored with one bulk
upsert, in the same transaction as the run's cursor, so memory stays flat, queries per page
stay constant, and a run that fails part-way keeps what it read and continues from its cursor
when it is asked for again. A full run then marks the postings it did not find as removed
(deleted in the ATS); a changes-only run reads postings updated since the last successful run
began.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations import ats
from integrations.connection.services.outcomes import (
    integration_failure_record,
    integration_success_record,
)
from integrations.hiring_team.services import posting_teams_store, role_followers_sync
from integrations.models import AtsIntegration, AtsPosting, PostingSyncRun
from integrations.roles.matching import TITLE_MAX, title_key
from integrations.roles.services.mappings import postings_match
from integrations.status.refresh import status_refresh_request
from karatlever.observability.context import log_context

if TYPE_CHECKING:
    from karatlever.accounts.models import User

logger = logging.getLogger(__name__)

Kind = PostingSyncRun.Kind
Status = PostingSyncRun.Status

# A changes-only sync re-reads this much before the last successful sync began: clock skew
# between Karat and the ATS, and changes the ATS committed while that sync was reading.
INCREMENTAL_OVERLAP = timedelta(minutes=5)
# A failed run younger than this is continued from its cursor rather than started again.
RESUME_WITHIN = timedelta(hours=24)


def postings_sync_request(
    *, integration: AtsIntegration, actor: User | None = None, kind: str | None = None
) -> PostingSyncRun:
    """Ask for a sync of the integration's postings; the worker runs it after commit.

    Returns the run that will do it: the one already queued or running (one at a time per
    integration), the latest failed run continued from its cursor, or a new run. ``kind``
    None picks a full sync when none succeeded within ``POSTINGS_FULL_SYNC_HOURS``, else
    changes only. A run left active by a dead worker (untouched for ``STUCK_AFTER``) is
    queued again.
    """
    now = timezone.now()
    with transaction.atomic():
        # Serialises requests for one integration (the unique "one active run" constraint
        # is the backstop where SELECT … FOR UPDATE is a no-op).
        AtsIntegration.objects.select_for_update().filter(pk=integration.pk).first()
        active = PostingSyncRun.objects.filter(
            integration=integration, status__in=PostingSyncRun.ACTIVE
        ).first()
        if active is not None:
            if active.updated_at >= now - PostingSyncRun.STUCK_AFTER:
                return active
            logger.warning(
                "posting sync run=%s stuck: queued again",
                active.pk,
                extra={"integration_id": integration.public_id},
            )
            return _requeue(active, now)
        latest = PostingSyncRun.objects.filter(integration=integration).first()
        if (
            latest is not None
            and latest.status == Status.FAILED
            and latest.cursor
            and kind in (None, latest.kind)
            and latest.requested_at >= now - RESUME_WITHIN
        ):
            return _requeue(latest, now)
        kind = kind or _kind_due(integration, now)
        run = PostingSyncRun.objects.create(
            integration=integration,
            kind=kind,
            requested_by=actor,
            requested_at=now,
            updated_since_ms=_incremental_start_ms(integration)
            if kind == Kind.INCREMENTAL
            else None,
            postings_expected=AtsPosting.objects.filter(
                integration=integration, removed_at__isnull=True
            ).count(),
        )
        _enqueue(run.pk)
    logger.info(
        "posting sync requested run=%s kind=%s",
        run.pk,
        kind,
        extra={"integration_id": integration.public_id},
    )
    return run


def postings_sync_on_key_valid(*, integration_id: int) -> None:
    """After the current transaction commits, ask for a sync (the key was just found valid).

    Robust: a failure to ask is logged, never undoes the key check that called this.
    """

    def request() -> None:
        integration = AtsIntegration.objects.filter(pk=integration_id).first()
        if integration is not None and integration.enabled:
            postings_sync_request(integration=integration)

    transaction.on_commit(request, robust=True)


def postings_sync_due() -> int:
    """Periodic (beat, every ``POSTINGS_SYNC_INTERVAL_SECONDS``): a sync for every enabled
    integration with a valid key. Returns how many were asked for (running ones included)."""
    count = 0
    integrations = AtsIntegration.objects.enabled().filter(
        key_status=AtsIntegration.KeyStatus.VALID
    )
    for integration in integrations.iterator():
        postings_sync_request(integration=integration)
        count += 1
    return count


def postings_sync_run(*, run_id: int) -> str | None:
    """Run (or continue) one sync; the task body. Returns the run's status when this task
    stops — ``queued`` when a long list goes on in a new task after half the task soft time
    limit — or None when the run is gone or not queued (another worker has it: safe to call
    twice).

    ATS failures end the run ``failed`` with the message (key-level and "unreachable" ones
    also reach the integration's health), keeping every page stored so far and the cursor.
    """
    now = timezone.now()
    claimed = PostingSyncRun.objects.filter(pk=run_id, status=Status.QUEUED).update(
        status=Status.RUNNING,
        # The first start stays: a full run's "not seen since it began" is measured from it.
        started_at=Coalesce(F("started_at"), Value(now)),
        attempts=F("attempts") + 1,
        updated_at=now,
        finished_at=None,
    )
    if not claimed:
        return None
    run = PostingSyncRun.objects.select_related("integration").get(pk=run_id)
    with log_context(integration_id=run.integration.public_id):
        return _postings_sync_claimed(run)


def _postings_sync_claimed(run: PostingSyncRun) -> str | None:
    """``postings_sync_run`` once this caller has claimed the run."""
    integration = run.integration
    if not integration.enabled or not integration.api_key:
        _finish(run, Status.FAILED, error="The integration is disabled or has no API key.")
        return Status.FAILED
    adapter = ats.adapter_for(integration.ats, ats.Postings)
    account = ats.account_for(integration)
    cursor: str | None = run.cursor or None
    since = run.updated_since_ms if run.kind == Kind.INCREMENTAL else None
    deadline = time.monotonic() + _task_budget_seconds()
    try:
        while True:
            page = adapter.postings_page(
                account, cursor=cursor, updated_since_ms=since, profile=ats.WORKER
            )
            cursor = page.next_cursor
            _page_store(run, page)
            if cursor is None:
                break
            if time.monotonic() > deadline:
                # A long list continues in a new task from the stored cursor, well inside the
                # task time limit (a killed task would leave the run to the stuck check).
                _requeue(run, timezone.now())
                return Status.QUEUED
    except SoftTimeLimitExceeded:
        _finish(run, Status.FAILED, error="The sync took longer than a task may run.")
        return Status.FAILED
    except ats.AtsError as exc:
        _finish(run, Status.FAILED, error=exc.message)
        integration_failure_record(
            integration_id=integration.pk, context="Syncing postings", error=exc
        )
        logger.warning(
            "posting sync run=%s failed: %s",
            run.pk,
            exc.message,
            extra={"integration_id": integration.public_id},
        )
        return Status.FAILED
    removed = _removed_mark(run) if run.kind == Kind.FULL else 0
    postings_match(integration=integration)
    # Role followers follow the mapped postings' hiring teams (when an admin turned it on).
    role_followers_sync(integration=integration)
    _finish(run, Status.SUCCEEDED, removed=removed)
    integration_success_record(integration_id=integration.pk)
    return Status.SUCCEEDED


def _task_budget_seconds() -> float:
    """How long one task reads pages before handing the run to a new task: half the soft time
    limit, so a page that waits for the rate limit still ends inside it."""
    limit = float(settings.CELERY_TASK_SOFT_TIME_LIMIT or 0)
    return limit / 2 if limit > 0 else 300.0  # no soft limit: still hand over every 5 minutes


def _page_store(run: PostingSyncRun, page: ats.PostingPage) -> None:
    """One page: one bulk upsert of its postings and one update of the run (its cursor)."""
    now = timezone.now()
    rows: dict[str, AtsPosting] = {}
    for posting in page.postings:
        title = posting.title[:TITLE_MAX] or posting.posting_id
        rows[posting.posting_id] = AtsPosting(
            integration_id=run.integration_id,
            posting_id=posting.posting_id[:64],
            title=title,
            title_key=title_key(title),
            team=posting.team[:200],
            location=posting.location[:200],
            state=posting.state[:20],
            requisition_codes=list(posting.requisition_codes),
            confidential=posting.confidential,
            remote_updated_at_ms=posting.updated_at_ms,
            last_seen_run_id=run.pk,
            synced_at=now,
            removed_at=None,
        )
    with transaction.atomic():
        if rows:
            # One id twice in a page would make PostgreSQL's ON CONFLICT fail: keyed by id.
            AtsPosting.objects.bulk_create(
                list(rows.values()),
                update_conflicts=True,
                unique_fields=["integration", "posting_id"],
                update_fields=[
                    "title",
                    "title_key",
                    "team",
                    "location",
                    "state",
                    "requisition_codes",
                    "confidential",
                    "remote_updated_at_ms",
                    "last_seen_run",
                    "synced_at",
                    "removed_at",
                ],
            )
            # Each posting's hiring team came in the same read (integrations/hiring_team).
            posting_teams_store(integration_id=run.integration_id, postings=page.postings)
        changes: dict[str, object] = {
            "cursor": page.next_cursor or "",
            "pages_done": F("pages_done") + 1,
            "postings_seen": F("postings_seen") + len(rows),
            "updated_at": now,
        }
        if not page.confidential_included:
            changes["confidential_included"] = False
        elif run.confidential_included is None:
            changes["confidential_included"] = True
        PostingSyncRun.objects.filter(pk=run.pk).update(**changes)
    run.confidential_included = changes.get("confidential_included", run.confidential_included)  # type: ignore[assignment]


def _removed_mark(run: PostingSyncRun) -> int:
    """After a full run: postings not read since it first began are gone from the ATS.

    Compared by time, not by run: a changes-only run between a failed full run's attempts
    reads some postings too, and they are not gone.
    """
    started = run.started_at
    if started is None:  # pragma: no cover - a claimed run always has started_at
        run.refresh_from_db(fields=["started_at"])
        started = run.started_at
    return AtsPosting.objects.filter(
        integration_id=run.integration_id, removed_at__isnull=True, synced_at__lt=started
    ).update(removed_at=timezone.now())


def _finish(run: PostingSyncRun, status: str, *, error: str = "", removed: int = 0) -> None:
    now = timezone.now()
    PostingSyncRun.objects.filter(pk=run.pk).update(
        status=status, finished_at=now, updated_at=now, error=error[:2000], postings_removed=removed
    )
    # The status page's Roles match checks show the last sync: recompute them.
    status_refresh_request(
        integration_id=run.integration_id,
        reason="Posting sync finished" if status == Status.SUCCEEDED else "Posting sync failed",
    )


def _requeue(run: PostingSyncRun, now: object) -> PostingSyncRun:
    PostingSyncRun.objects.filter(pk=run.pk).update(status=Status.QUEUED, updated_at=now)
    run.status = Status.QUEUED
    _enqueue(run.pk)
    return run


def _enqueue(run_id: int) -> None:
    from integrations.tasks import postings_sync as postings_sync_task

    # After commit, so the worker sees the row; robust: a broker outage is logged and the
    # next hourly request (or "Sync now") queues the run again.
    transaction.on_commit(lambda: postings_sync_task.delay(run_id), robust=True)


def _kind_due(integration: AtsIntegration, now: object) -> str:
    hours = settings.POSTINGS_FULL_SYNC_HOURS
    last_full = (
        PostingSyncRun.objects.filter(
            integration=integration, kind=Kind.FULL, status=Status.SUCCEEDED
        )
        .values_list("started_at", flat=True)
        .first()
    )
    if last_full is None or last_full < now - timedelta(hours=hours):  # type: ignore[operator]
        return Kind.FULL
    return Kind.INCREMENTAL


def _incremental_start_ms(integration: AtsIntegration) -> int | None:
    started = (
        PostingSyncRun.objects.filter(integration=integration, status=Status.SUCCEEDED)
        .values_list("started_at", flat=True)
        .first()
    )
    if started is None:
        return None
    return int((started - INCREMENTAL_OVERLAP).timestamp() * 1000)
