"""The one writer of an integration's health roll-up (last success, last error).

Everything else reports an outcome here (healthchecks writes ``Channel.last_error`` in one
place). Only key-level ATS failures and the key checks are problems of the integration: a
record-level failure (one confidential or deleted opportunity) ends that item with its reason
and never lands here; a busy or down ATS is retried by whoever called and lands here only as
"could not reach".
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from integrations.ats import AtsError, Fault
from integrations.models import AtsIntegration
from integrations.status.refresh import status_refresh_request

logger = logging.getLogger(__name__)

# Longest last_error kept: the column is for people; the log has the rest.
LAST_ERROR_MAX = 1000
# The integration row is hot: refresh last_success_at at most this often.
SUCCESS_RESOLUTION = timedelta(seconds=30)


def integration_success_record(*, integration_id: int) -> None:
    """A call to the ATS worked for this integration (written at most every 30 s)."""
    now = timezone.now()
    AtsIntegration.objects.filter(pk=integration_id).filter(
        Q(last_success_at__isnull=True) | Q(last_success_at__lt=now - SUCCESS_RESOLUTION)
    ).update(last_success_at=now)


def integration_failure_record(*, integration_id: int, context: str, error: AtsError | str) -> bool:
    """Record a problem of the integration as a whole: ``"<context>: <message>"``.

    ``context`` says what Karat was doing ("Processing a webhook"). An ``AtsError`` that is
    about one record is not the integration's problem: it is ignored and False is returned.
    True when the error was recorded.
    """
    if isinstance(error, AtsError):
        if error.fault == Fault.RECORD:
            return False
        message = error.message
    else:
        message = error
    text = f"{context}: {message}" if context else message
    if len(text) > LAST_ERROR_MAX:
        text = text[: LAST_ERROR_MAX - 1] + "…"
    AtsIntegration.objects.filter(pk=integration_id).update(
        last_error=text, last_error_at=timezone.now()
    )
    logger.warning("integration pk=%s problem: %s", integration_id, text)
    if isinstance(error, AtsError) and error.fault == Fault.KEY:
        # Status page: a key-level 401/403 while working changes the integration's health.
        status_refresh_request(integration_id=integration_id, reason=text[:200])
    return True
