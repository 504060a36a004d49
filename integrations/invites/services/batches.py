"""The console's invite batches: a paste as rows, previewed and invited inline or in a task."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations import ats
from integrations.invites.services.create import InviteOutcome, invite_create, urls_clean
from integrations.invites.services.preview import (
    InviteCode,
    InviteInputError,
    InvitePreview,
    InviteRowsError,
    InviteWarning,
    email_refusal,
    integration_for_group,
    invite_preview,
    invited_elsewhere_message,
)
from integrations.models import InviteBatch, InviteItem
from karatlever.hiring.models import Candidacy, Role

if TYPE_CHECKING:
    from karatlever.accounts.models import Group, User

logger = logging.getLogger(__name__)


def invite_batch_start(*, group: Group, raw_urls: str, actor: User | None) -> InviteBatch:
    """Store a paste as a batch of pending rows and start its preview: inline for small
    batches (≤ INVITE_BACKGROUND_THRESHOLD URLs), otherwise in a Celery task enqueued on
    commit. Raises InviteInputError for an empty or too long paste."""
    urls = urls_clean(raw_urls)
    with transaction.atomic():
        batch = InviteBatch.objects.create(
            group=group,
            integration=integration_for_group(group=group),
            created_by=actor,
            status=InviteBatch.Status.PREVIEWING,
            total=len(urls),
        )
        InviteItem.objects.bulk_create(
            InviteItem(batch=batch, position=i, url=_storable(url[:4096]))
            for i, url in enumerate(urls)
        )
        inline = _enqueue_unless_small(batch, "preview")
    if inline:
        invite_batch_preview(batch_id=batch.pk, profile=ats.INTERACTIVE)
    batch.refresh_from_db()
    return batch


def _storable(line: str) -> str:
    """``line`` with its control characters (NUL …, which PostgreSQL text and JSON refuse) as
    U+FFFD, so the row is stored and its preview says what is wrong with the line."""
    return "".join(
        "\ufffd" if unicodedata.category(c) == "Cc" and not c.isspace() else c for c in line
    )


def batch_runs_in_background(batch: InviteBatch) -> bool:
    """Whether both phases (reading and inviting) of ``batch`` run in the worker: more pasted
    URLs than INVITE_BACKGROUND_THRESHOLD. Decided by the paste, not by how many rows were
    ticked, so a batch read in the worker is also invited (and its emails sent) there."""
    threshold: int = settings.INVITE_BACKGROUND_THRESHOLD
    return batch.items.count() > threshold


def _enqueue_unless_small(batch: InviteBatch, phase: str) -> bool:
    """True: small enough to run in the request (the caller runs it after its transaction).
    Otherwise the phase's task is enqueued on commit."""
    if not batch_runs_in_background(batch):
        return True
    from integrations.tasks import invite_batch_invite as invite_task
    from integrations.tasks import invite_batch_preview as preview_task

    task = preview_task if phase == "preview" else invite_task
    transaction.on_commit(partial(_publish, task, batch.pk))
    return False


def _publish(task: Any, batch_id: int) -> None:
    try:
        task.delay(batch_id)
    except Exception as exc:  # the page keeps showing the progress; the sweeper publishes again
        logger.error("invite batch %s could not be queued (%s)", batch_id, type(exc).__name__)


class _Lease:
    """The right to run a batch's current phase (``InviteBatch.lease_until``), renewed per
    row: one run at a time, whether in a request or a task. A run that died (a killed worker,
    a crashed web process) holds it at most one task time limit past its last row; then
    ``invite_batches_resume`` publishes the phase again."""

    def __init__(self, batch_id: int) -> None:
        self.rows = InviteBatch.objects.filter(pk=batch_id)
        self.until: datetime | None = None

    @staticmethod
    def _seconds() -> float:
        # No row takes longer than a whole task may run.
        return float(settings.CELERY_TASK_TIME_LIMIT)

    def take(self) -> bool:
        now = timezone.now()
        until = now + timedelta(seconds=self._seconds())
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        if self.rows.filter(free).update(lease_until=until, touched_at=now):
            self.until = until
        return self.until is not None

    def renew(self) -> bool:
        """Extend the lease; False when it was lost (it ran out and another run took it)."""
        now = timezone.now()
        until = now + timedelta(seconds=self._seconds())
        if self.until is None or not self.rows.filter(lease_until=self.until).update(
            lease_until=until, touched_at=now
        ):
            return False
        self.until = until
        return True

    def release(self) -> None:
        if self.until is not None:
            self.rows.filter(lease_until=self.until).update(
                lease_until=None, touched_at=timezone.now()
            )
            self.until = None


def invite_batches_resume(*, now: datetime | None = None) -> list[int]:
    """Publish the current phase again for every running batch (reading or inviting) that no
    run holds and nothing touched for INVITE_BATCH_STALL_SECONDS: its task was lost (broker
    down at publish, a worker killed mid-phase) or the request running it crashed. Each
    phase skips rows already done, so the batch goes on where it stopped. Returns the ids."""
    now = now or timezone.now()
    stalled_before = now - timedelta(seconds=settings.INVITE_BATCH_STALL_SECONDS)
    stalled = (
        InviteBatch.objects.filter(
            status__in=(InviteBatch.Status.PREVIEWING, InviteBatch.Status.INVITING),
            touched_at__lt=stalled_before,
        )
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("touched_at")
        .values_list("pk", "status", "touched_at")[:500]
    )
    from integrations.tasks import invite_batch_invite as invite_task
    from integrations.tasks import invite_batch_preview as preview_task

    resumed = []
    for pk, status, touched_at in stalled:
        # Touched first: the next sweep gives this publish a whole stall period to start.
        if InviteBatch.objects.filter(pk=pk, touched_at=touched_at).update(touched_at=now):
            logger.warning("invite batch %s stalled while %s: published again", pk, status)
            _publish(preview_task if status == InviteBatch.Status.PREVIEWING else invite_task, pk)
            resumed.append(pk)
    return resumed


def _row_error(phase: str) -> tuple[str, str]:
    """The code and reason of a row that failed unexpectedly (the caller logs the traceback;
    the row's own transaction rolled back, so nothing was created): it ends that row, not
    the batch."""
    return (
        InviteCode.INTERNAL_ERROR,
        f"Karat could not {phase} this candidate (an unexpected error, logged). Nothing was "
        "created: try again.",
    )


def invite_batch_preview(
    *, batch_id: int, profile: ats.CallProfile = ats.WORKER, limit: int | None = None
) -> bool:
    """Read pending rows' opportunities (at most ``limit``; None: all) and store each
    preview; once none is pending the batch is ``previewed``. Returns True while rows remain
    (the task runs again, so no run nears the task time limit). Safe to run twice: rows
    already previewed are skipped. A row whose ATS read failed for a passing reason (busy)
    keeps that reason."""
    batch = InviteBatch.objects.select_related("group", "integration").filter(pk=batch_id).first()
    if batch is None:
        logger.info("invite batch %s no longer exists", batch_id)
        return False
    lease = _Lease(batch.pk)
    if not lease.take():
        return False  # another run has this phase and goes on with it
    try:
        return _preview_rows(batch, lease, profile=profile, limit=limit)
    finally:
        lease.release()


def _preview_rows(
    batch: InviteBatch, lease: _Lease, *, profile: ats.CallProfile, limit: int | None
) -> bool:
    seen = set(
        batch.items.exclude(opportunity_id="")
        .exclude(status=InviteItem.Status.PENDING)
        .values_list("opportunity_id", flat=True)
    )
    pending = batch.items.filter(status=InviteItem.Status.PENDING).order_by("position")
    for item in pending[:limit] if limit is not None else pending:
        if not lease.renew():
            return False  # lost to another run, which goes on
        try:
            preview = invite_preview(
                group=batch.group, integration=batch.integration, url=item.url, profile=profile
            )
        except SoftTimeLimitExceeded:
            raise
        except Exception:
            logger.exception("invite batch %s row %s: reading failed", batch.pk, item.position)
            code, message = _row_error("read")
            preview = InvitePreview(url=item.url, ok=False, code=code, message=message)
        if preview.ok and preview.opportunity_id in seen:
            preview = InvitePreview(
                url=item.url,
                ok=False,
                code=InviteCode.DUPLICATE_URL,
                message="The same candidate appears earlier in this list.",
                opportunity_id=preview.opportunity_id,
            )
        seen.add(preview.opportunity_id)
        _item_store(item, preview)
        InviteBatch.objects.filter(pk=batch.pk).update(processed=F("processed") + 1)
    if batch.items.filter(status=InviteItem.Status.PENDING).exists():  # a fresh query
        return True
    InviteBatch.objects.filter(pk=batch.pk, status=InviteBatch.Status.PREVIEWING).update(
        status=InviteBatch.Status.PREVIEWED
    )
    return False


def _item_store(item: InviteItem, preview: InvitePreview) -> None:
    item.preview = preview.as_json()
    item.warnings = list(preview.warnings)
    item.opportunity_id = preview.opportunity_id
    item.code, item.message = preview.code, preview.message[:500]
    item.role_id = preview.role_id
    item.candidacy = None
    if not preview.ok:
        item.status = InviteItem.Status.ERROR
    elif preview.existing_candidacy:
        item.status = InviteItem.Status.ERROR
        item.code = InviteCode.ALREADY_INVITED
        item.message = "Already invited: nothing new will be created."
        item.candidacy = (
            Candidacy.objects.filter(code=preview.existing_candidacy)
            .select_related("group")
            .first()
        )
        if preview.existing_group and item.candidacy is not None:
            # Another group's candidacy: the page links it only for who may see that group.
            item.code = InviteCode.ALREADY_INVITED_ELSEWHERE
            item.message = invited_elsewhere_message(item.candidacy)[:500]
    elif not preview.email:
        item.status = InviteItem.Status.ERROR
        item.code = InviteCode.NO_EMAIL
        item.message = "No email address in the ATS: add one there, then invite again."
    elif refusal := email_refusal(preview.email):
        item.status = InviteItem.Status.ERROR
        item.code, item.message = refusal[0], refusal[1][:500]
    else:
        item.status = InviteItem.Status.READY
    item.save(
        update_fields=[
            "preview",
            "warnings",
            "opportunity_id",
            "code",
            "message",
            "role",
            "candidacy",
            "status",
        ]
    )


@dataclass(frozen=True)
class RowChoice:
    """What the recruiter chose for one ready row on the preview page."""

    include: bool
    role: Role | None = None
    confirm_recent: bool = False


def invite_batch_confirm(
    *, batch: InviteBatch, choices: dict[int, RowChoice], actor: User | None
) -> InviteBatch:
    """Mark the chosen ready rows for inviting (the others skipped) and start inviting:
    inline for a small batch, otherwise in a Celery task (``batch_runs_in_background``: by
    the URLs pasted, as for the preview). Only a previewed batch can be confirmed
    (InviteInputError otherwise, e.g. a second click). The invites are made in the name of
    the batch's creator (``actor`` is who confirmed; logged).

    A ticked row with no role (none matched and none chosen), or interviewed for its role in
    the last 6 months without ``confirm_recent``, raises InviteRowsError (row pk → reason)
    before anything changes: the batch stays previewed, to fix the rows and confirm again."""
    missing: dict[int, str] = {}
    for item in batch.items.filter(status=InviteItem.Status.READY):
        choice = choices.get(item.pk, RowChoice(include=False))
        if not choice.include:
            continue
        role_id = choice.role.pk if choice.role is not None else item.role_id
        if role_id is None:
            missing[item.pk] = (
                "Choose a Karat role for this candidate (no role matches the posting)."
            )
        elif (
            InviteWarning.RECENT_INTERVIEW in item.warnings
            and role_id == item.role_id
            and not choice.confirm_recent
        ):
            missing[item.pk] = (
                "Interviewed for this role in the last 6 months: tick “Invite again anyway”, "
                "or untick the row."
            )
    if missing and batch.status == InviteBatch.Status.PREVIEWED:
        raise InviteRowsError(missing)
    with transaction.atomic():
        claimed = InviteBatch.objects.filter(
            pk=batch.pk, status=InviteBatch.Status.PREVIEWED
        ).update(status=InviteBatch.Status.INVITING, processed=0, touched_at=timezone.now())
        if not claimed:
            if InviteBatch.objects.filter(
                pk=batch.pk, status=InviteBatch.Status.PREVIEWING
            ).exists():
                raise InviteInputError("Karat is still reading these candidates: wait for it.")
            raise InviteInputError("This list was already confirmed.")
        logger.info(
            "invite batch %s confirmed by user %s", batch.public_id, actor.pk if actor else None
        )
        selected = 0
        for item in batch.items.filter(status=InviteItem.Status.READY):
            choice = choices.get(item.pk, RowChoice(include=False))
            if choice.include:
                item.status = InviteItem.Status.SELECTED
                if choice.role is not None:
                    item.role = choice.role
                if choice.confirm_recent:
                    item.preview = {**item.preview, "confirm_recent": True}
                selected += 1
            else:
                item.status = InviteItem.Status.SKIPPED
                item.code = InviteCode.NOT_SELECTED
                item.message = "Not selected for inviting."
            item.save(update_fields=["status", "role", "preview", "code", "message"])
        InviteBatch.objects.filter(pk=batch.pk).update(total=selected)
        batch.refresh_from_db()
        inline = _enqueue_unless_small(batch, "invite")
    if inline:
        invite_batch_invite(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch


def invite_batch_invite(*, batch_id: int, limit: int | None = None) -> bool:
    """Invite selected rows (at most ``limit``; None: all) with ``invite_create`` from the
    stored preview (no ATS request); once none is left the batch is ``done``. Returns True
    while rows remain. Safe to run twice: invited rows are done, and an opportunity is never
    invited twice anyway."""
    batch = (
        InviteBatch.objects.select_related("group", "integration", "created_by")
        .filter(pk=batch_id)
        .first()
    )
    if batch is None:
        logger.info("invite batch %s no longer exists", batch_id)
        return False
    lease = _Lease(batch.pk)
    if not lease.take():
        return False  # another run has this phase and goes on with it
    try:
        return _invite_rows(batch, lease, limit=limit)
    finally:
        lease.release()


def _invite_rows(batch: InviteBatch, lease: _Lease, *, limit: int | None) -> bool:
    selected = batch.items.filter(status=InviteItem.Status.SELECTED).select_related("role")
    for item in selected[:limit] if limit is not None else selected:
        if not lease.renew():
            return False  # lost to another run, which goes on
        preview = InvitePreview.from_json(item.preview)
        if batch.integration is None:
            outcome = InviteOutcome(item.url, InviteCode.NO_INTEGRATION, "No ATS integration.")
        else:
            try:
                outcome = invite_create(
                    integration=batch.integration,
                    preview=preview,
                    role=item.role,
                    actor=batch.created_by,
                    confirm_recent=bool(item.preview.get("confirm_recent")),
                    via="console",
                )
            except SoftTimeLimitExceeded:
                raise
            except Exception:
                logger.exception("invite batch %s row %s: invite failed", batch.pk, item.position)
                outcome = InviteOutcome(item.url, *_row_error("invite"))
        item.status = InviteItem.Status.INVITED if outcome.invited else InviteItem.Status.SKIPPED
        item.code, item.message = outcome.code, outcome.message[:500]
        item.candidacy = outcome.candidacy
        item.save(update_fields=["status", "code", "message", "candidacy"])
        InviteBatch.objects.filter(pk=batch.pk).update(processed=F("processed") + 1)
    if batch.items.filter(status=InviteItem.Status.SELECTED).exists():
        return True
    InviteBatch.objects.filter(pk=batch.pk).update(
        status=InviteBatch.Status.DONE, finished_at=timezone.now()
    )
    return False
