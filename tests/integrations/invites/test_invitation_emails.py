"""The invitation email is a row written in the invite's transaction and sent by the worker
after commit: retried with backoff when the mail server fails, sent once, failed with its
reason, on the candidacy's timeline; the sweeper publishes what was lost, and a batch whose
run died resumes by itself."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations import tasks
from integrations.invites.services import emails
from integrations.invites.services.batches import (
    RowChoice,
    invite_batch_confirm,
    invite_batch_invite,
    invite_batch_preview,
    invite_batch_start,
    invite_batches_resume,
)
from integrations.invites.services.create import invite_create
from integrations.invites.services.preview import InviteCode, invite_preview
from integrations.models import AtsIntegration, InvitationEmail, InviteBatch, InviteItem
from karatlever.accounts.models import User
from karatlever.hiring.models import Candidacy, CandidacyEvent, Role
from tests.brokers import queue_of
from tests.integrations.invites.conftest import url_of
from tests.mail_backends import FlakyEmailBackend

pytestmark = pytest.mark.django_db

Status = InvitationEmail.Status
SEND_TASK = "integrations.tasks.invitation_email_send"


@pytest.fixture
def flaky(settings: Any) -> Iterator[type[FlakyEmailBackend]]:
    settings.EMAIL_BACKEND = "tests.mail_backends.FlakyEmailBackend"
    default_error = FlakyEmailBackend.error
    FlakyEmailBackend.failures = FlakyEmailBackend.attempts = 0
    yield FlakyEmailBackend
    FlakyEmailBackend.failures = FlakyEmailBackend.attempts = 0
    FlakyEmailBackend.error = default_error


def invite(integration: AtsIntegration, role: Role, opportunity_id: str) -> Candidacy:
    preview = invite_preview(
        group=integration.group, integration=integration, url=url_of(opportunity_id)
    )
    outcome = invite_create(integration=integration, preview=preview, role=role, actor=None)
    assert outcome.code == InviteCode.INVITED, outcome
    assert outcome.candidacy is not None
    return outcome.candidacy


def published(app: Any, task: str) -> list[list[Any]]:
    """The arguments of every message for ``task`` waiting in the memory broker (taken)."""
    found = []
    with app.connection_for_read() as connection:
        queue = connection.SimpleQueue(queue_of(task))
        while queue.qsize():
            message = queue.get(timeout=1)
            message.ack()
            if message.headers["task"] == task:
                found.append(message.payload[0])
    return found


def the_email() -> InvitationEmail:
    return InvitationEmail.objects.get()


def test_the_email_is_sent_by_the_worker_after_commit_once_and_timelined(
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
    memory_broker: Any,
    django_capture_on_commit_callbacks: Any,
    recruiter_client: Client,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        candidacy = invite(lever_integration, roles[0], invitable[0])
        assert mail.outbox == []  # nothing leaves inside the invite's transaction

    email = the_email()
    assert email.status == Status.QUEUED
    assert email.to == candidacy.candidate_email
    assert published(memory_broker, SEND_TASK) == [[email.pk]]

    assert tasks.invitation_email_send(email.pk) == Status.SENT  # what the worker runs
    assert tasks.invitation_email_send(email.pk) is None  # a redelivered task: nothing more

    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == (Status.SENT, 1, "")
    assert email.sent_at is not None
    (message,) = mail.outbox
    assert message.to == [candidacy.candidate_email]
    assert message.subject == f"Your Karat interview with Acme Corp for {roles[0].title}"
    assert str(candidacy.code) in message.body
    assert isinstance(message, mail.EmailMultiAlternatives)
    assert message.alternatives[0][1] == "text/html"
    entry = candidacy.events.get(kind=CandidacyEvent.Kind.INVITE_EMAIL)
    assert entry.detail["status"] == "sent"
    page = recruiter_client.get(reverse("hiring:candidate-detail", args=[candidacy.code]))
    assert f"Invitation email sent to {candidacy.candidate_email}" in page.content.decode()


def test_a_failing_mail_server_is_retried_with_backoff_then_the_email_is_sent_once(
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
    flaky: type[FlakyEmailBackend],
    settings: Any,
) -> None:
    settings.INVITATION_EMAIL_RETRY_BASE_SECONDS = 60.0
    flaky.failures = 2
    candidacy = invite(lever_integration, roles[0], invitable[0])
    email = the_email()
    delays = []

    with time_machine.travel(timezone.now(), tick=False) as clock:
        for attempt in (1, 2):
            assert emails.invitation_email_send(email_id=email.pk) == Status.QUEUED
            email.refresh_from_db()
            assert email.attempts == attempt
            assert "SMTPServerDisconnected" in email.last_error
            delays.append((email.next_attempt_at - timezone.now()).total_seconds())
            assert emails.invitation_email_send(email_id=email.pk) is None  # not due yet
            clock.move_to(email.next_attempt_at)
        assert emails.invitation_email_send(email_id=email.pk) == Status.SENT

    email.refresh_from_db()
    assert (email.status, email.attempts) == (Status.SENT, 3)
    assert flaky.attempts == 3
    assert len(mail.outbox) == 1
    # Exponential with jitter: 60 s * 2^(attempt - 1), each between half and all of it.
    assert 30 <= delays[0] <= 60
    assert 60 <= delays[1] <= 120
    (entry,) = candidacy.events.filter(kind=CandidacyEvent.Kind.INVITE_EMAIL)
    assert entry.detail["status"] == "sent"


def test_after_the_last_attempt_the_email_is_failed_with_its_reason_on_the_timeline(
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
    flaky: type[FlakyEmailBackend],
    settings: Any,
) -> None:
    settings.INVITATION_EMAIL_MAX_ATTEMPTS = 2
    flaky.failures = 10
    candidacy = invite(lever_integration, roles[0], invitable[0])
    email = the_email()

    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert emails.invitation_email_send(email_id=email.pk) == Status.QUEUED
        email.refresh_from_db()
        clock.move_to(email.next_attempt_at)
        assert emails.invitation_email_send(email_id=email.pk) == Status.FAILED
        clock.shift(timedelta(days=1))
        assert emails.invitation_email_send(email_id=email.pk) is None
        assert emails.invitation_emails_sweep().published == []

    email.refresh_from_db()
    assert (email.status, email.attempts) == (Status.FAILED, 2)
    assert "SMTPServerDisconnected" in email.last_error
    assert mail.outbox == []
    entry = candidacy.events.get(kind=CandidacyEvent.Kind.INVITE_EMAIL)
    assert entry.detail["status"] == "failed"
    assert "could not be sent (2 attempts)" in entry.summary
    assert "Connection unexpectedly closed" in entry.summary


def test_a_permanent_refusal_fails_at_once(
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
    flaky: type[FlakyEmailBackend],
) -> None:
    candidacy = invite(lever_integration, roles[0], invitable[0])
    flaky.failures = 1
    flaky.error = smtplib.SMTPRecipientsRefused(
        {candidacy.candidate_email: (550, b"5.1.1 No such user")}
    )

    assert emails.invitation_email_send(email_id=the_email().pk) == Status.FAILED

    email = the_email()
    assert email.attempts == 1
    assert "No such user" in email.last_error


def test_the_email_is_not_sent_when_the_invite_transaction_rolls_back(
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
    memory_broker: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    def invite_then_fail() -> None:
        with transaction.atomic():
            invite(lever_integration, roles[0], invitable[0])
            raise RuntimeError("something after the invite failed")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        invite_then_fail()

    assert mail.outbox == []
    assert not Candidacy.objects.exists()
    assert not InvitationEmail.objects.exists()
    assert published(memory_broker, SEND_TASK) == []
    assert emails.invitation_emails_sweep().published == []


def test_an_unreachable_mail_server_never_holds_up_the_invite(
    lever_integration: AtsIntegration, roles: list[Role], invitable: list[str], settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens

    candidacy = invite(lever_integration, roles[0], invitable[0])
    status = emails.invitation_email_send(email_id=the_email().pk)

    assert Candidacy.objects.get() == candidacy
    assert status == Status.QUEUED
    assert "ConnectionRefusedError" in the_email().last_error


def test_the_sweeper_publishes_due_emails_and_frees_dead_senders_claims(
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
    memory_broker: Any,
) -> None:
    # No on-commit callbacks run here: as if the publish was lost with the broker.
    lost = the_email_of(invite(lever_integration, roles[0], invitable[0]))
    later = the_email_of(invite(lever_integration, roles[0], invitable[1]))
    dead = the_email_of(invite(lever_integration, roles[0], invitable[2]))
    now = timezone.now()
    InvitationEmail.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(minutes=5))
    InvitationEmail.objects.filter(pk=dead.pk).update(
        status=Status.SENDING, claimed_at=now - timedelta(hours=1), attempts=1
    )

    result = emails.invitation_emails_sweep()

    assert result.reclaimed == 1
    assert sorted(result.published) == sorted([lost.pk, dead.pk])
    assert sorted(published(memory_broker, SEND_TASK)) == sorted([[lost.pk], [dead.pk]])
    for email_id in result.published:
        assert tasks.invitation_email_send(email_id) == Status.SENT
    assert len(mail.outbox) == 2
    assert InvitationEmail.objects.get(pk=later.pk).status == Status.QUEUED


def the_email_of(candidacy: Candidacy) -> InvitationEmail:
    return InvitationEmail.objects.get(candidacy=candidacy)


# --- batches ----------------------------------------------------------------------------------


def confirmed_batch(
    integration: AtsIntegration, role: Role, opportunity_ids: list[str], actor: User
) -> InviteBatch:
    """A batch read and confirmed; its invite phase queued for the worker (not run)."""
    batch = invite_batch_start(
        group=integration.group,
        raw_urls="\n".join(url_of(o) for o in opportunity_ids),
        actor=actor,
    )
    invite_batch_preview(batch_id=batch.pk)
    choices = {
        item.pk: RowChoice(include=True, role=role)
        for item in batch.items.filter(status=InviteItem.Status.READY)
    }
    return invite_batch_confirm(batch=batch, choices=choices, actor=actor)


def test_a_batch_invites_every_row_while_the_mail_server_is_down(
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
    recruiter_user: User,
    settings: Any,
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens

    batch = confirmed_batch(lever_integration, roles[0], invitable[:3], recruiter_user)

    batch.refresh_from_db()
    assert batch.status == InviteBatch.Status.DONE  # small: invited in the request
    assert set(batch.items.values_list("status", flat=True)) == {InviteItem.Status.INVITED}
    assert InvitationEmail.objects.filter(status=Status.QUEUED).count() == 3


def test_a_batch_whose_worker_died_mid_invite_resumes_by_itself(
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
    recruiter_user: User,
    memory_broker: Any,
    settings: Any,
) -> None:
    settings.INVITE_BACKGROUND_THRESHOLD = 2
    batch = confirmed_batch(lever_integration, roles[0], invitable[:4], recruiter_user)
    assert batch.status == InviteBatch.Status.INVITING
    invite_batch_invite(batch_id=batch.pk, limit=1)  # the worker's first row, then it died…
    # … holding the batch's lease, and its task is gone.
    start = timezone.now()
    InviteBatch.objects.filter(pk=batch.pk).update(lease_until=start + timedelta(seconds=90))
    published(memory_broker, "integrations.tasks.invite_batch_invite")

    with time_machine.travel(start, tick=False) as clock:
        assert invite_batches_resume() == []  # the lease may still be a live run's
        assert invite_batch_invite(batch_id=batch.pk) is False  # a second run waits
        clock.shift(timedelta(seconds=settings.INVITE_BATCH_STALL_SECONDS + 1))
        assert invite_batches_resume() == [batch.pk]
        assert invite_batches_resume() == []  # published once, not every sweep
        assert published(memory_broker, "integrations.tasks.invite_batch_invite") == [[batch.pk]]
        tasks.invite_batch_invite(batch.pk)  # what the worker runs

    batch.refresh_from_db()
    assert batch.status == InviteBatch.Status.DONE
    assert set(batch.items.values_list("status", flat=True)) == {InviteItem.Status.INVITED}
    assert Candidacy.objects.count() == 4


def test_a_batch_whose_reading_task_was_lost_resumes_by_itself(
    lever_integration: AtsIntegration,
    roles: list[Role],
    invitable: list[str],
    recruiter_user: User,
    memory_broker: Any,
    settings: Any,
) -> None:
    settings.INVITE_BACKGROUND_THRESHOLD = 2
    batch = invite_batch_start(
        group=lever_integration.group,
        raw_urls="\n".join(url_of(o) for o in invitable[:3]),
        actor=recruiter_user,
    )
    assert batch.status == InviteBatch.Status.PREVIEWING

    later = timezone.now() + timedelta(seconds=settings.INVITE_BATCH_STALL_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert invite_batches_resume() == [batch.pk]
    assert published(memory_broker, "integrations.tasks.invite_batch_preview") == [[batch.pk]]
    tasks.invite_batch_preview(batch.pk)

    batch.refresh_from_db()
    assert batch.status == InviteBatch.Status.PREVIEWED


def test_the_email_names_the_organization_not_the_group(
    lever_integration: AtsIntegration, roles: list[Role], invitable: list[str]
) -> None:
    # Issue 20 item 6: "Data invites you … on behalf of Data"; candidates know the company.
    group = lever_integration.group
    group.name = "Data"
    group.save(update_fields=["name"])

    invite(lever_integration, roles[0], invitable[0])

    email = the_email()
    organization = group.organization.name  # "Acme Corp"
    assert email.subject == f"Your Karat interview with {organization} for {roles[0].title}"
    for body in (email.body, email.html_body):
        assert f"{organization} invites you to a technical interview with Karat" in body
        assert f"on behalf of {organization}" in body
        assert "on behalf of Data" not in body
        assert "Data invites you" not in body
        assert "the Data team" in body  # the group may appear, as the team
