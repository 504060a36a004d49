"""API key checks: each check is a ``KeyCheck`` row, asked for, run by a task, finished once.

A check request adds one row per key to check (the key in use, a pending replacement) and
queues ``tasks.api_key_validate`` on commit. The task runs each integration's latest unfinished
rows through the ATS adapter and writes a result only while its row is still the latest for
its subject and its key is still the one stored: a newer request (new key, region, User ID,
"Check again") supersedes an older running check, whose result then never lands. A row not
finished ``KeyCheck.STUCK_AFTER`` after it was requested was lost; the periodic resume task
asks again (a new row) a few times, then records it as unreachable.

``AtsIntegration.key_status`` / ``key_checked_at`` are a copy of the key in use's latest
finished row (plus "checking" while one runs), written only here, in the same transaction.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from integrations import ats
from integrations.connection.services.audit import audit_entry_record, key_detail
from integrations.connection.services.outcomes import (
    integration_failure_record,
    integration_success_record,
)
from integrations.feedback.selectors import feedback_enabled
from integrations.models import AtsIntegration, AuditEntry, KeyCheck, RegionSource
from integrations.roles.services.sync import postings_sync_on_key_valid
from integrations.status.refresh import status_refresh_request
from karatlever.observability.context import log_context

if TYPE_CHECKING:
    from karatlever.accounts.models import User

logger = logging.getLogger(__name__)

# A key check makes up to 7 GETs. It stops starting new ones after this many seconds; with one
# retry and a 5 s read timeout per call (ats.KEY_CHECK) it ends well inside the task's 60 s
# soft time limit.
KEY_CHECK_BUDGET_SECONDS = 20.0
# A lost check is asked for again this many times before it is recorded as unreachable.
KEY_CHECK_MAX_RESUMES = 3
KeyStatus = AtsIntegration.KeyStatus
Subject = KeyCheck.Subject
Outcome = KeyCheck.Outcome


class KeyCheckApplied(enum.StrEnum):
    """What writing one check's result did."""

    RECORDED = "recorded"  # the key in use's status was recorded
    PROMOTED = "promoted"  # the pending key passed and is now the key in use
    REJECTED = "rejected"  # the pending key failed and was dropped; the old key stays
    WAITING = "waiting"  # the ATS could not be asked about the pending key; it keeps waiting
    STALE = "stale"  # a newer check (or another key) owns the outcome: nothing was written


# --- asking for checks ------------------------------------------------------------------------


def _check_row(
    integration: AtsIntegration, subject: str, actor: User | None, *, pending: bool
) -> KeyCheck:
    """An unsaved check row for the key in use or the pending key (last 4 + fingerprint only)."""
    return KeyCheck(
        integration=integration,
        subject=subject,
        api_key_last4=integration.pending_api_key_last4 if pending else integration.api_key_last4,
        api_key_fingerprint=(
            integration.pending_api_key_fingerprint if pending else integration.api_key_fingerprint
        ),
        requested_by=actor,
    )


def key_checks_request(
    *, integration: AtsIntegration, actor: User | None, current: bool, pending: bool
) -> bool:
    """Add a check row for the key in use and/or the pending key, and queue the task on commit.

    Call inside a transaction holding ``integration`` (just saved). A row of the key in use
    marks ``key_status`` "checking". False when there is nothing to check.
    """
    rows = []
    if current and integration.has_api_key:
        rows.append(_check_row(integration, Subject.CURRENT, actor, pending=False))
        AtsIntegration.objects.filter(pk=integration.pk).update(key_status=KeyStatus.CHECKING)
        integration.key_status = KeyStatus.CHECKING
    if pending and integration.pending_api_key_last4:
        rows.append(_check_row(integration, Subject.PENDING, actor, pending=True))
    if not rows:
        return False
    for row in rows:
        row.save()
    _enqueue_key_check(integration.pk)
    return True


def api_key_check_request(*, integration: AtsIntegration, actor: User | None) -> bool:
    """Ask for the key (and a pending key) to be checked again ("Check again"). False if no key."""
    with transaction.atomic():
        current = AtsIntegration.objects.select_for_update().get(pk=integration.pk)
        asked = key_checks_request(integration=current, actor=actor, current=True, pending=True)
        if asked:
            AtsIntegration.objects.filter(pk=current.pk).update(updated_at=timezone.now())
    integration.key_status = current.key_status
    if asked:
        logger.info(
            "key check requested by user=%s",
            getattr(actor, "pk", None),
            extra={"integration_id": integration.public_id},
        )
    return asked


def _enqueue_key_check(integration_pk: int) -> None:
    from integrations.tasks import api_key_validate as api_key_validate_task

    # After commit: the worker must see the rows we just saved (a bare .delay() might not).
    # Robust: a broker outage is logged, never a 500 after the save; the resume task and
    # "Check again" retry.
    transaction.on_commit(lambda: api_key_validate_task.delay(integration_pk), robust=True)


# --- running checks ---------------------------------------------------------------------------


# The functions that hold a decrypted key hide all their locals (and their callees', the ATS
# client's among them) from error reports.
@sensitive_variables()
def api_key_check(*, integration: AtsIntegration, api_key: str) -> ats.KeyCheckResult:
    """Check ``api_key`` with the integration's ATS for its region and acting user; unless an
    admin chose the region, in the region whose API accepts the key (the result's ``region``).

    Read-only, and never raises for ATS trouble (that is the result's ``unreachable``). The
    key never appears in the result.
    """
    adapter = ats.adapter_for(integration.ats)
    account = ats.account_for(integration, api_key=api_key)
    result = adapter.key_check(
        account,
        budget_seconds=KEY_CHECK_BUDGET_SECONDS,
        detect_region=integration.region_source != RegionSource.CHOSEN,
    )
    return _with_feedback_lines(integration, account, result)


def _with_feedback_lines(
    integration: AtsIntegration, account: ats.AtsAccount, result: ats.KeyCheckResult
) -> ats.KeyCheckResult:
    """The feedback-form permissions, only while that option is on and the ATS accepted the
    key (integrations/feedback/): a failed line makes the result invalid, as any permission."""
    feedback = ats.capability(integration.ats, ats.FeedbackForms)
    if (
        feedback is None
        or result.status == ats.KeyCheckStatus.UNREACHABLE
        or result.refused
        or not feedback_enabled(integration=integration)
    ):
        return result
    if result.region and result.region != account.region:
        account = replace(account, region=result.region)
    lines = tuple(feedback.feedback_key_check(account, profile=ats.KEY_CHECK))
    failed = any(line.ok is False for line in lines)
    status = ats.KeyCheckStatus.INVALID if failed else result.status
    return replace(result, checks=(*result.checks, *lines), status=status)


def _too_long_result(integration: AtsIntegration) -> ats.KeyCheckResult:
    """The result of a check stopped by the task's soft time limit."""
    adapter = ats.adapter_for(integration.ats)
    host = f"{adapter.api_host(integration.region)} ({integration.region.upper()})"
    line = ats.PermissionCheck(
        "reachable",
        f"{adapter.label} reachable",
        False,
        f"The check took too long: {adapter.label} at {host} answered too slowly. "
        "Try again in a few minutes.",
    )
    return ats.KeyCheckResult(ats.KeyCheckStatus.UNREACHABLE, (line,), ats_label=adapter.label)


DID_NOT_FINISH = (
    "The check did not finish (Karat's background worker did not answer). "
    "Press Check again in a few minutes."
)


def _did_not_finish_result(integration: AtsIntegration) -> ats.KeyCheckResult:
    label = ats.adapter_for(integration.ats).label
    line = ats.PermissionCheck("reachable", f"{label} reachable", False, DID_NOT_FINISH)
    return ats.KeyCheckResult(ats.KeyCheckStatus.UNREACHABLE, (line,), ats_label=label)


@sensitive_variables()
def _api_key_check_in_time(*, integration: AtsIntegration, api_key: str) -> ats.KeyCheckResult:
    """api_key_check, but the task's soft time limit becomes an "unreachable" result that is
    recorded (leaving the row unfinished would show "checking" until the resume task)."""
    try:
        return api_key_check(integration=integration, api_key=api_key)
    except SoftTimeLimitExceeded:
        logger.warning(
            "key check: soft time limit", extra={"integration_id": integration.public_id}
        )
        return _too_long_result(integration)


@sensitive_variables()
def api_key_validate(*, integration_id: int) -> str | None:
    """Run the integration's latest unfinished checks (pending key first) and record them.

    Safe to run twice: a row is started once, so a duplicate delivery finds nothing to do.
    A pending key that passes replaces the key in use; one that fails is dropped and the old
    key stays; one the ATS could not be asked about stays pending. Returns the resulting key
    status, or None if the integration is gone.
    """
    integration = AtsIntegration.objects.filter(pk=integration_id).first()
    if integration is None:
        return None
    with log_context(integration_id=integration.public_id):
        return _api_key_validate(integration)


def _api_key_validate(integration: AtsIntegration) -> str | None:
    """``api_key_validate`` for an integration that exists."""
    integration_id = integration.pk
    pending = _live_unstarted(integration, Subject.PENDING)
    if pending is not None:
        result = _api_key_check_in_time(
            integration=integration, api_key=integration.pending_api_key
        )
        applied = key_check_result_apply(check=pending, result=result)
        if applied in {KeyCheckApplied.PROMOTED, KeyCheckApplied.STALE}:
            # Promoted: the key in use changed, its check is this one. Stale: a newer request
            # changed the settings and its own queued task decides.
            return _status_of(integration_id)
        integration.refresh_from_db()
    current = _live_unstarted(integration, Subject.CURRENT)
    if current is not None:
        result = _api_key_check_in_time(integration=integration, api_key=integration.api_key)
        key_check_result_apply(check=current, result=result)
    return _status_of(integration_id)


def _live_unstarted(integration: AtsIntegration, subject: str) -> KeyCheck | None:
    """The latest row for ``subject`` if it is for the key stored now and nobody started it;
    it is claimed (started) here, with a conditional UPDATE, so only one run checks it."""
    fingerprint = (
        integration.api_key_fingerprint
        if subject == Subject.CURRENT
        else integration.pending_api_key_fingerprint
    )
    row = KeyCheck.objects.filter(integration=integration, subject=subject).order_by("-id").first()
    if row is None or not fingerprint or row.api_key_fingerprint != fingerprint:
        return None
    claimed = KeyCheck.objects.filter(pk=row.pk, started_at__isnull=True).update(
        started_at=timezone.now()
    )
    return row if claimed else None


def _newer(check: KeyCheck) -> Exists:
    return Exists(
        KeyCheck.objects.filter(
            integration_id=check.integration_id, subject=check.subject, pk__gt=check.pk
        )
    )


def key_check_result_apply(
    *, check: KeyCheck, result: ats.KeyCheckResult, summary: str | None = None
) -> KeyCheckApplied:
    """Finish ``check`` with ``result`` and act on it, unless a newer check superseded it.

    ``summary`` replaces the result's own one-line summary (on the row and in last_error).

    The row is finished with a conditional UPDATE ("still unfinished and still the latest row
    for its subject"), so it holds even where SELECT … FOR UPDATE is a no-op (SQLite).
    """
    now = timezone.now()
    outcome = Outcome(str(result.status))
    summary = summary or result.summary()
    with transaction.atomic():
        integration = (
            AtsIntegration.objects.select_for_update().filter(pk=check.integration_id).first()
        )
        if integration is None:
            return KeyCheckApplied.STALE
        stored = (
            integration.api_key_fingerprint
            if check.subject == Subject.CURRENT
            else integration.pending_api_key_fingerprint
        )
        if not stored or stored != check.api_key_fingerprint:
            return KeyCheckApplied.STALE
        finished = (
            KeyCheck.objects.filter(pk=check.pk, finished_at__isnull=True)
            .exclude(_newer(check))
            .update(
                finished_at=now,
                outcome=outcome,
                checks=result.as_json(),
                summary=summary,
            )
        )
        if not finished:
            return KeyCheckApplied.STALE
        if check.subject == Subject.CURRENT or outcome == Outcome.VALID:
            # The key in use, or a pending key about to replace it: its region is the account's.
            _region_detected_record(integration, result.region)
        # Status page: a key check's verdict changes the integration's health; recompute the
        # status snapshot on commit (deduplicated).
        status_refresh_request(integration_id=integration.pk, reason="API key checked")
        if outcome == Outcome.VALID:
            # Role matching: a key that works syncs the integration's postings (after commit).
            postings_sync_on_key_valid(integration_id=integration.pk)
        if check.subject == Subject.CURRENT:
            _current_result_record(
                integration, check, result, outcome=outcome, summary=summary, now=now
            )
            return KeyCheckApplied.RECORDED
        return _pending_result_record(
            integration, check, result, outcome=outcome, summary=summary, now=now
        )


def _region_detected_record(integration: AtsIntegration, region: str) -> None:
    """The key check found the region whose API accepts the key: it becomes the
    integration's region, unless an admin chose one (their choice stays; the check only
    suggests). Call with ``integration`` locked."""
    if not region or integration.region_source == RegionSource.CHOSEN:
        return
    old = integration.region
    if old == region and integration.region_source == RegionSource.DETECTED:
        return
    integration.region, integration.region_source = region, RegionSource.DETECTED
    AtsIntegration.objects.filter(pk=integration.pk).update(
        region=region, region_source=RegionSource.DETECTED
    )
    label = integration.get_region_display()
    audit_entry_record(
        integration=integration,
        actor=None,
        action=AuditEntry.Action.SETTINGS_CHANGED,
        summary=f"Region detected from the API key: {label}",
        detail={"changes": {"region": [old, region]}, "region_source": RegionSource.DETECTED},
    )
    logger.info(
        "region detected region=%s (was %s)",
        region,
        old,
        extra={"integration_id": integration.public_id},
    )


def _current_result_record(
    integration: AtsIntegration,
    check: KeyCheck,
    result: ats.KeyCheckResult,
    *,
    outcome: str,
    summary: str,
    now: datetime,
) -> None:
    last4, fingerprint = check.api_key_last4, check.api_key_fingerprint
    AtsIntegration.objects.filter(pk=integration.pk).update(key_status=outcome, key_checked_at=now)
    if outcome == Outcome.VALID:
        integration_success_record(integration_id=integration.pk)
        audit_entry_record(
            integration=integration,
            actor=None,
            action=AuditEntry.Action.API_KEY_VALIDATED,
            summary=f"API key validated: ••••{last4}",
            detail=key_detail(last4=last4, fingerprint=fingerprint),
        )
        return
    integration_failure_record(
        integration_id=integration.pk, context=f"API key ••••{last4}", error=summary
    )
    if outcome == Outcome.INVALID:
        audit_entry_record(
            integration=integration,
            actor=None,
            action=AuditEntry.Action.API_KEY_REJECTED,
            summary=f"API key rejected: ••••{last4}",
            detail={
                **key_detail(last4=last4, fingerprint=fingerprint),
                "checks": _failed_codes(result),
            },
        )
    # Unreachable is not a verdict on the key, so it leaves no audit entry; the page shows it.


def _pending_result_record(
    integration: AtsIntegration,
    check: KeyCheck,
    result: ats.KeyCheckResult,
    *,
    outcome: str,
    summary: str,
    now: datetime,
) -> KeyCheckApplied:
    last4, fingerprint = check.api_key_last4, check.api_key_fingerprint
    key = key_detail(last4=last4, fingerprint=fingerprint)
    if outcome == Outcome.VALID:
        old_last4 = integration.api_key_last4
        integration.api_key = integration.pending_api_key
        integration.api_key_last4 = last4
        integration.api_key_fingerprint = fingerprint
        integration.api_key_set_at = now
        clear_pending(integration)
        integration.key_status = KeyStatus.VALID
        integration.key_checked_at = now
        integration.save(update_fields=[*KEY_FIELDS, "key_status", "key_checked_at", "updated_at"])
        integration_success_record(integration_id=integration.pk)
        audit_entry_record(
            integration=integration,
            actor=None,
            action=AuditEntry.Action.API_KEY_VALIDATED,
            summary=f"API key validated: ••••{last4} replaced ••••{old_last4}",
            detail={**key, "checks": _failed_codes(result)},
        )
        return KeyCheckApplied.PROMOTED
    if outcome == Outcome.INVALID:
        clear_pending(integration)
        integration.save(update_fields=[*PENDING_KEY_FIELDS, "updated_at"])
        integration_failure_record(
            integration_id=integration.pk,
            context=f"New API key ••••{last4} rejected",
            error=summary,
        )
        audit_entry_record(
            integration=integration,
            actor=None,
            action=AuditEntry.Action.API_KEY_REJECTED,
            summary=f"API key rejected: ••••{last4}; still using ••••{integration.api_key_last4}",
            detail={**key, "checks": _failed_codes(result)},
        )
        return KeyCheckApplied.REJECTED
    # Unreachable: the row says so and the key keeps waiting; "Check again" retries.
    return KeyCheckApplied.WAITING


PENDING_KEY_FIELDS = ("pending_api_key", "pending_api_key_last4", "pending_api_key_fingerprint")
# Every field that holds or names a key (the key in use, then the pending key).
KEY_FIELDS = (
    "api_key",
    "api_key_last4",
    "api_key_fingerprint",
    "api_key_set_at",
    *PENDING_KEY_FIELDS,
)


def clear_pending(integration: AtsIntegration) -> None:
    """Forget the pending key (on the instance; the caller saves)."""
    integration.pending_api_key = ""
    integration.pending_api_key_last4 = ""
    integration.pending_api_key_fingerprint = ""


def _failed_codes(result: ats.KeyCheckResult) -> list[str]:
    return [check.code for check in result.failed]


def _status_of(integration_id: int) -> str | None:
    return (
        AtsIntegration.objects.filter(pk=integration_id)
        .values_list("key_status", flat=True)
        .first()
    )


# --- lost checks ------------------------------------------------------------------------------


def key_checks_stuck_resume() -> int:
    """Ask again for checks lost on the way (broker down, worker died); returns how many.

    A stuck check is the latest row for its subject, for the key stored now, not finished
    ``KeyCheck.STUCK_AFTER`` after it was requested. It is asked for again (a new row, which
    supersedes it, so a straggler can't land) at most KEY_CHECK_MAX_RESUMES times; after that
    it is recorded as "could not reach" so nothing shows "checking" forever.
    """
    cutoff = timezone.now() - KeyCheck.STUCK_AFTER
    newer = KeyCheck.objects.filter(
        integration_id=OuterRef("integration_id"),
        subject=OuterRef("subject"),
        pk__gt=OuterRef("pk"),
    )
    stuck = (
        KeyCheck.objects.filter(finished_at__isnull=True, requested_at__lt=cutoff)
        .filter(
            Q(subject=Subject.CURRENT, api_key_fingerprint=F("integration__api_key_fingerprint"))
            | Q(
                subject=Subject.PENDING,
                api_key_fingerprint=F("integration__pending_api_key_fingerprint"),
            )
        )
        .exclude(Exists(newer))
        .select_related("integration")
    )
    handled = 0
    for row in stuck:
        integration = row.integration
        if row.attempt <= KEY_CHECK_MAX_RESUMES:
            with transaction.atomic():
                locked = AtsIntegration.objects.select_for_update().get(pk=integration.pk)
                if (
                    KeyCheck.objects.filter(pk=row.pk, finished_at__isnull=True)
                    .exclude(_newer(row))
                    .exists()
                ):
                    KeyCheck.objects.create(
                        integration=locked,
                        subject=row.subject,
                        api_key_last4=row.api_key_last4,
                        api_key_fingerprint=row.api_key_fingerprint,
                        requested_by=None,
                        attempt=row.attempt + 1,
                    )
                    _enqueue_key_check(locked.pk)
                    handled += 1
                    logger.warning(
                        "key check lost, queued again try=%s",
                        row.attempt,
                        extra={"integration_id": integration.public_id},
                    )
            continue
        applied = key_check_result_apply(
            check=row, result=_did_not_finish_result(integration), summary=DID_NOT_FINISH
        )
        if applied != KeyCheckApplied.STALE:
            handled += 1
            logger.warning(
                "key check lost %s times, gave up",
                row.attempt,
                extra={"integration_id": integration.public_id},
            )
    return handled


# --- periodic recheck -------------------------------------------------------------------------


def api_keys_recheck_due() -> int:
    """Beat: find keys revoked (or fixed) in the ATS without anyone pressing "Check again".

    For every enabled integration whose key in use was neither checked nor probed in the last
    ``API_KEY_RECHECK_MINUTES``: a valid key gets one cheap probe through the adapter (under
    the key's shared rate bucket); a probe the ATS refuses records the failure (which asks for
    a status recompute at once) and runs the full key check here, so the key status says
    "invalid" right away. A key whose last check could not reach the ATS is checked again in
    full. A probe that gets no answer changes nothing (the next run tries again). Returns how
    many keys were probed or checked.
    """
    minutes: int = settings.API_KEY_RECHECK_MINUTES
    cutoff = timezone.now() - timedelta(minutes=minutes)
    due = (
        AtsIntegration.objects.enabled()
        .exclude(api_key_last4="")
        .filter(key_status__in=[KeyStatus.VALID, KeyStatus.UNREACHABLE])
        .filter(Q(key_checked_at__isnull=True) | Q(key_checked_at__lt=cutoff))
        .filter(Q(key_probed_at__isnull=True) | Q(key_probed_at__lt=cutoff))
        .order_by("pk")
    )
    handled = 0
    for integration in due:
        if integration.key_status == KeyStatus.UNREACHABLE or _key_refused(integration):
            _key_check_now(integration)
        handled += 1
    return handled


@sensitive_variables()
def _key_refused(integration: AtsIntegration) -> bool:
    """Probe the key in use once; True when the ATS refused it (recorded as the integration's
    problem). A key the probe accepted is marked probed; no answer leaves it due."""
    adapter = ats.capability(integration.ats, ats.KeyChecks)
    if adapter is None:
        return False
    try:
        adapter.key_probe(ats.account_for(integration), profile=ats.KEY_CHECK)
    except ats.AtsKeyError as exc:
        logger.warning("key recheck: refused", extra={"integration_id": integration.public_id})
        integration_failure_record(
            integration_id=integration.pk,
            context=f"API key {integration.masked_api_key}",
            error=exc,
        )
        return True
    except ats.AtsError as exc:
        logger.info(
            "key recheck: no answer (%s)",
            exc.fault,
            extra={"integration_id": integration.public_id},
        )
        return False
    AtsIntegration.objects.filter(pk=integration.pk).update(key_probed_at=timezone.now())
    return False


def _key_check_now(integration: AtsIntegration) -> None:
    """Ask for a check of the key in use and run it in this task (the queued task then finds
    it done): the key status, the audit log and the status snapshot catch up at once."""
    if api_key_check_request(integration=integration, actor=None):
        api_key_validate(integration_id=integration.pk)
