"""Thin Celery tasks for integrations: take ids, call one service."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def api_key_validate(integration_id: int) -> str | None:
    """Check the integration's key (and any pending replacement) with Lever; see the service.

    Not auto-retried: "Lever unreachable" is itself a result the admin sees, with "Check again".
    """
    from integrations.connection.services import keys  # imported here: keys imports this module

    status = keys.api_key_validate(integration_id=integration_id)
    if status is None:
        logger.info("key check skipped: integration %s no longer exists", integration_id)
    return status


@shared_task(ignore_result=True)
def api_key_checks_resume() -> int:
    """Periodic (beat, every 5 minutes): ask again for lost key checks; see the service."""
    from integrations.connection.services import keys

    return keys.key_checks_stuck_resume()


# Rows handled per task run: a 200-URL batch is read in several runs, each well inside the
# task time limit even when the ATS is slow; each run queues the next.
INVITE_CHUNK = 40


# Not auto-retried: a row the ATS could not read keeps its reason ("busy, try again"), and
# the recruiter sees it in the summary; inviting reads nothing from the ATS.
@shared_task(ignore_result=True)
def invite_batch_preview(batch_id: int) -> None:
    """Read the next rows of a large invite batch from the ATS; see the service."""
    from integrations.invites.services import batches

    if batches.invite_batch_preview(batch_id=batch_id, limit=INVITE_CHUNK):
        invite_batch_preview.delay(batch_id)


@shared_task(ignore_result=True)
def invite_batch_invite(batch_id: int) -> None:
    """Invite the next chosen rows of a large invite batch; see the service."""
    from integrations.invites.services import batches

    if batches.invite_batch_invite(batch_id=batch_id, limit=INVITE_CHUNK):
        invite_batch_invite.delay(batch_id)


@shared_task(ignore_result=True)
def invite_batches_resume() -> int:
    """Periodic (beat, INVITE_SWEEP_INTERVAL_SECONDS): publish the phase of every running
    invite batch whose run died; see the service."""
    from integrations.invites.services import batches

    return len(batches.invite_batches_resume())


# Not auto-retried by Celery: the row holds the retries (next_attempt_at, attempts), so every
# attempt is visible in the admin, and the sweeper publishes anything due.
@shared_task(ignore_result=True)
def invitation_email_send(email_id: int) -> str | None:
    """Send one queued invitation email; see the service."""
    from integrations.invites.services import emails

    return emails.invitation_email_send(email_id=email_id)


@shared_task(ignore_result=True)
def invitation_emails_sweep() -> int:
    """Periodic (beat, INVITE_SWEEP_INTERVAL_SECONDS): free dead senders' claims and publish
    due invitation emails; see the service."""
    from integrations.invites.services import emails

    return len(emails.invitation_emails_sweep().published)


@shared_task(ignore_result=True)
def integration_status_compute(integration_id: int) -> None:
    """Compute and store the integration's status snapshot (and send its alerts); see the
    service. Not retried: the next request or the periodic refresh computes it again."""
    from integrations.status import services as status

    if status.integration_status_compute(integration_id=integration_id) is None:
        logger.info("status skipped: integration %s no longer exists", integration_id)


@shared_task(ignore_result=True)
def integration_statuses_refresh_all() -> int:
    """Periodic (beat, STATUS_REFRESH_INTERVAL_SECONDS): refresh every enabled integration."""
    from integrations.status import refresh

    return refresh.integration_statuses_refresh_all()


# --- role matching: posting sync --------------------------------------------------------------


@shared_task(ignore_result=True)
def postings_sync(run_id: int) -> str | None:
    """Run one posting sync (a ``PostingSyncRun`` row); see the service.

    Not auto-retried: a failed run keeps its cursor and the next request continues it (the
    hourly schedule, or "Sync now")."""
    from integrations.roles.services import sync

    status = sync.postings_sync_run(run_id=run_id)
    if status is None:
        logger.info("posting sync run %s skipped: gone or not queued", run_id)
    return status


@shared_task(ignore_result=True)
def postings_sync_due() -> int:
    """Periodic (beat, ``POSTINGS_SYNC_INTERVAL_SECONDS``): a sync for every working key."""
    from integrations.roles.services import sync

    return sync.postings_sync_due()


# --- Post candidacy updates (outbound) ---------------------------------------------------------


@shared_task(ignore_result=True)
def outbound_drain(integration_id: int) -> int:
    """Send the integration's due outbound updates for one time slice; see the service.

    Never auto-retried: every wait lives in the rows (next_attempt_at) and the sweeper
    publishes a drain for anything due.
    """
    from integrations.outbound.services import drain

    return drain.outbound_drain(integration_id=integration_id).sent


@shared_task(ignore_result=True)
def outbound_sweep() -> int:
    """Periodic (beat): free claims of killed workers, resume fixed queues, publish drains."""
    from integrations.outbound.services import drain

    return len(drain.outbound_sweep().published)


@shared_task(ignore_result=True)
def api_keys_recheck_due() -> int:
    """Periodic (beat, every minute): probe keys not checked for API_KEY_RECHECK_MINUTES, so a
    key revoked in the ATS is found without "Check again"; see the service."""
    from integrations.connection.services import keys

    return keys.api_keys_recheck_due()
