"""Email backends for tests: a mail server that fails the first sends, then works."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends import locmem


class FlakyEmailBackend(locmem.EmailBackend):
    """Django's locmem backend (``mail.outbox``) behind a mail server that raises ``error``
    for the next ``failures`` sends. Set both on the class in the test (``settings.
    EMAIL_BACKEND = "tests.mail_backends.FlakyEmailBackend"``); ``attempts`` counts every
    send, failed or not."""

    failures = 0
    attempts = 0
    error: Exception = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        cls = type(self)
        cls.attempts += 1
        if cls.failures > 0:
            cls.failures -= 1
            raise cls.error
        return super().send_messages(email_messages)
