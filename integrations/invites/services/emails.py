"""Invitation emails: a row written in the invite's transaction, sent after commit by a worker,
retried with backoff when the mail server fails, its outcome on the candidacy's timeline."""

from __future__ import annotations

import logging
import random
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from integrations.models import InvitationEmail
from karatlever.email_headers import address_problem, header_text
from karatlever.hiring.models import Candidacy, CandidacyEvent
from karatlever.hiring.services import candidacy_event_add

logger = logging.getLogger(__name__)

Status = InvitationEmail.Status

# Retries due within this many seconds are published with a countdown (a shortcut only: the
# row's next_attempt_at is the truth and the sweeper publishes anything due). Longer waits
# stay out of the broker, whose visibility timeout must outlast any countdown.
COUNTDOWN_MAX_SECONDS = 30
SWEEP_BATCH = 500


class InvitationAddressError(ValueError):
    """The candidacy's email is not exactly one plain address (``address_problem``)."""


def scheduling_url(candidacy: Candidacy) -> str:
    """The candidate's scheduling link, from KARAT_SCHEDULING_URL_TEMPLATE."""
    template: str = settings.KARAT_SCHEDULING_URL_TEMPLATE
    return template.replace("{candidacy}", str(candidacy.code))


def invitation_email_queue(*, candidacy: Candidacy) -> InvitationEmail:
    """Render the invitation email (text and HTML) and store it as a queued row; its send is
    published after commit. Call inside the invite's transaction: if it rolls back there is
    no row and nothing is sent. Raises InvitationAddressError for an address that is not
    exactly one plain address (the invite flow checks it first: ``email_refusal``)."""
    problem = address_problem(candidacy.candidate_email)
    if problem:
        raise InvitationAddressError(problem)
    context = {
        "candidacy": candidacy,
        "role": candidacy.role,
        # Candidates know the company, not Karat's group inside it (that is only the team).
        "organization": candidacy.group.organization,
        "group": candidacy.group,
        "scheduling_url": scheduling_url(candidacy),
    }
    email = InvitationEmail.objects.create(
        candidacy=candidacy,
        to=candidacy.candidate_email,
        subject=header_text(
            f"Your Karat interview with {candidacy.group.organization.name} "
            f"for {candidacy.role.title}"
        )[:300],
        body=render_to_string("integrations/invites/email.txt", context),
        html_body=render_to_string("integrations/invites/email.html", context),
    )
    transaction.on_commit(partial(invitation_email_publish, email.pk))
    return email


def invitation_email_publish(email_id: int, countdown: float | None = None) -> bool:
    """Publish the send of one email; False (logged) if the broker fails — the row is durable
    and the sweeper publishes it again."""
    from integrations.tasks import invitation_email_send as invitation_email_send_task

    try:
        if countdown:
            invitation_email_send_task.apply_async((email_id,), countdown=countdown)
        else:
            invitation_email_send_task.apply_async((email_id,))
    except Exception as exc:  # any broker failure: the sweeper publishes later
        logger.warning("could not publish invitation email %s (%s)", email_id, type(exc).__name__)
        return False
    return True


def _claim(email_id: int, now: datetime) -> InvitationEmail | None:
    """Take the row for this sender: one conditional UPDATE, so of two workers (or a task
    that runs twice) exactly one sends."""
    claimed = InvitationEmail.objects.filter(
        pk=email_id, status=Status.QUEUED, next_attempt_at__lte=now
    ).update(status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    return InvitationEmail.objects.select_related("candidacy").get(pk=email_id)


def _permanent(exc: Exception) -> bool:
    """A failure that sending again won't fix: the server refused the address or the message
    for good (5xx), or the message itself can't be built."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return isinstance(exc, ValueError)


def _backoff(attempt: int) -> float:
    step: float = min(
        settings.INVITATION_EMAIL_RETRY_MAX_SECONDS,
        settings.INVITATION_EMAIL_RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0),
    )
    # Jitter keeps a mail-server outage's backlog from retrying in lockstep.
    return step * random.uniform(0.5, 1.0)  # noqa: S311


def invitation_email_send(*, email_id: int) -> str | None:
    """Send one queued, due invitation email; returns its status afterwards, or None when
    there was nothing to do (gone, not due, or another sender has it).

    Safe to run twice: the row is claimed with a conditional UPDATE. A mail-server failure
    (``smtplib.SMTPException``, ``OSError``: refused, timed out) queues it again after a
    backoff until INVITATION_EMAIL_MAX_ATTEMPTS; a permanent refusal (5xx) or the last attempt
    fails it. Sent and failed each add one timeline entry to the candidacy."""
    now = timezone.now()
    email = _claim(email_id, now)
    if email is None:
        return None
    message = EmailMultiAlternatives(
        subject=email.subject, body=email.body, to=[email.to], from_email=None
    )
    if email.html_body:
        message.attach_alternative(email.html_body, "text/html")
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        return _failed(email, exc)
    with transaction.atomic():
        done = InvitationEmail.objects.filter(pk=email.pk, status=Status.SENDING).update(
            status=Status.SENT,
            sent_at=timezone.now(),
            finished_at=timezone.now(),
            claimed_at=None,
            last_error="",
        )
        if done:
            _timeline(email, status="sent", summary=f"Invitation email sent to {email.to}.")
    logger.info(
        "invitation email %s sent candidacy %s attempt %s",
        email.pk,
        email.candidacy.code,
        email.attempts,
    )
    return Status.SENT


def _failed(email: InvitationEmail, exc: Exception) -> str:
    reason = f"{type(exc).__name__}: {header_text(str(exc))}"[:500]
    final = _permanent(exc) or email.attempts >= settings.INVITATION_EMAIL_MAX_ATTEMPTS
    rows = InvitationEmail.objects.filter(pk=email.pk, status=Status.SENDING)
    if not final:
        delay = _backoff(email.attempts)
        rows.update(
            status=Status.QUEUED,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            claimed_at=None,
            last_error=reason,
        )
        logger.warning(
            "invitation email %s failed (attempt %s), retry in %.0f s: %s",
            email.pk,
            email.attempts,
            delay,
            type(exc).__name__,
        )
        if delay <= COUNTDOWN_MAX_SECONDS:
            invitation_email_publish(email.pk, countdown=delay)
        return Status.QUEUED
    with transaction.atomic():
        if rows.update(
            status=Status.FAILED, finished_at=timezone.now(), claimed_at=None, last_error=reason
        ):
            _timeline(
                email,
                status="failed",
                summary=f"Invitation email to {email.to} could not be sent "
                f"({email.attempts} attempt{'s' if email.attempts != 1 else ''}): {reason}",
            )
    logger.warning(
        "invitation email %s failed for good after %s attempt(s): %s",
        email.pk,
        email.attempts,
        type(exc).__name__,
    )
    return Status.FAILED


def _timeline(email: InvitationEmail, *, status: str, summary: str) -> None:
    candidacy_event_add(
        candidacy=email.candidacy,
        kind=CandidacyEvent.Kind.INVITE_EMAIL,
        source=CandidacyEvent.Source.KARAT,
        summary=summary,
        detail={
            "status": status,
            "to": email.to,
            "attempts": email.attempts,
            "error": email.last_error if status == "failed" else "",
        },
    )


@dataclass
class EmailSweep:
    reclaimed: int = 0
    published: list[int] = field(default_factory=list)


def invitation_emails_sweep(*, now: datetime | None = None) -> EmailSweep:
    """Queue again the emails whose sender died (a claim older than
    INVITATION_EMAIL_CLAIM_TIMEOUT_SECONDS; the email may have left, so a crash can send it
    twice, never zero times) and publish a send for every due queued email (its on-commit
    publish may have been lost with the broker or the process)."""
    now = now or timezone.now()
    result = EmailSweep()
    stale_before = now - timedelta(seconds=settings.INVITATION_EMAIL_CLAIM_TIMEOUT_SECONDS)
    result.reclaimed = InvitationEmail.objects.filter(
        status=Status.SENDING, claimed_at__lt=stale_before
    ).update(
        status=Status.QUEUED,
        next_attempt_at=now,
        claimed_at=None,
        last_error="The worker stopped while sending this email; it is sent again.",
    )
    due = InvitationEmail.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now)
    for email_id in due.order_by("next_attempt_at", "id").values_list("pk", flat=True)[
        :SWEEP_BATCH
    ]:
        if invitation_email_publish(email_id):
            result.published.append(email_id)
    if result.reclaimed or result.published:
        logger.info(
            "invitation email sweep: %d claims freed, %d sends published",
            result.reclaimed,
            len(result.published),
        )
    return result
