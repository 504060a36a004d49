"""Invite fixtures: each test's own cache, rate buckets and memory broker, and the demo
opportunities' URLs. The Lever sandbox, the keyed integration, the roles and the invitable
opportunities are shared with the automatic invite's tests (tests/integrations/conftest.py)."""

from __future__ import annotations

import pytest
from django.core import mail

from integrations.invites.services.emails import invitation_email_send
from integrations.lever.sandbox.demo import demo_examples
from integrations.models import InvitationEmail


@pytest.fixture(autouse=True)
def _own_cache_and_broker(own_cache_and_broker: None) -> None:
    """Every test here (see ``own_cache_and_broker``)."""


def url_of(opportunity_id: str) -> str:
    return f"https://hire.lever.co/candidates/{opportunity_id}"


def unmailable_opportunity_id() -> str:
    """The demo's one otherwise invitable opportunity whose email has a non-ASCII local part."""
    return demo_examples()["email_unsupported"]


def queued_emails_send() -> list[mail.EmailMessage]:
    """Send every queued invitation email, as the worker does after the invite commits;
    returns ``mail.outbox``."""
    for email_id in InvitationEmail.objects.filter(
        status=InvitationEmail.Status.QUEUED
    ).values_list("pk", flat=True):
        invitation_email_send(email_id=email_id)
    return mail.outbox
