"""Reads of the feedback-form option: its settings row, who forms are posted as, the form a
candidacy has in the ATS, and the counts the status page shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q

from integrations.models import AtsIntegration, FeedbackSettings, OutboundUpdate
from integrations.outbound.selectors import acting_user_label, outbound_acting_user_find

Kind = OutboundUpdate.Kind
Status = OutboundUpdate.Status
FEEDBACK_KINDS = (Kind.FEEDBACK, Kind.FEEDBACK_REMOVE)


def feedback_settings_find(*, integration: AtsIntegration) -> FeedbackSettings | None:
    """The integration's feedback settings row, or None before anyone saved it (= off)."""
    return FeedbackSettings.objects.filter(integration=integration).first()


def feedback_enabled(*, integration: AtsIntegration) -> bool:
    return FeedbackSettings.objects.filter(integration=integration, enabled=True).exists()


def feedback_acting_user_id(*, integration: AtsIntegration) -> str:
    """Who forms are posted as: the outbound settings' "make changes as" user (Lever requires
    one for feedback, integrations/lever/README.md §18.3); "" when none is set. One query."""
    return outbound_acting_user_find(integration=integration).user_id


def feedback_acting_user_label(*, integration: AtsIntegration) -> str:
    """Who forms are posted as, for people (``acting_user_label``); "" when none is set (as
    ``feedback_acting_user_id``). One query."""
    return acting_user_label(acting=outbound_acting_user_find(integration=integration))


def feedback_form_id(*, row: OutboundUpdate) -> str:
    """The id in the ATS of the form ``row``'s candidacy has on its opportunity: the
    ``remote_id`` of the latest sent feedback row before ``row``, unless a later removal was
    sent; "" when it has none."""
    earlier = (
        OutboundUpdate.objects.filter(
            integration_id=row.integration_id,
            opportunity_id=row.opportunity_id,
            candidacy_id=row.candidacy_id,
            kind__in=FEEDBACK_KINDS,
            status=Status.SENT,
            sequence__lt=row.sequence,
        )
        .order_by("-sequence")
        .values("kind", "remote_id")
        .first()
    )
    if earlier is None or earlier["kind"] != Kind.FEEDBACK:
        return ""
    return str(earlier["remote_id"] or "")


def feedback_form_posted(*, integration_id: int, opportunity_id: str, candidacy_id: int) -> bool:
    """Whether a form is (or will be) on the opportunity for this candidacy: its latest
    feedback row, sent or waiting, posts one (not a removal, not given up)."""
    latest = (
        OutboundUpdate.objects.filter(
            integration_id=integration_id,
            opportunity_id=opportunity_id,
            candidacy_id=candidacy_id,
            kind__in=FEEDBACK_KINDS,
        )
        .exclude(status__in=(Status.DEAD, Status.CANCELLED))
        .order_by("-sequence")
        .values_list("kind", flat=True)
        .first()
    )
    return latest == Kind.FEEDBACK


def feedback_stats(*, integration: AtsIntegration, since: datetime) -> dict[str, Any]:
    """Feedback rows since ``since``: sent, given up, waiting; and the latest finished one's
    status, status code and error (for the status page). Two queries."""
    counts = OutboundUpdate.objects.filter(
        integration=integration, kind__in=FEEDBACK_KINDS, created_at__gte=since
    ).aggregate(
        sent=Count("id", filter=Q(status=Status.SENT)),
        dead=Count("id", filter=Q(status=Status.DEAD)),
        waiting=Count("id", filter=Q(status__in=OutboundUpdate.UNSENT)),
    )
    last = (
        OutboundUpdate.objects.filter(integration=integration, kind__in=FEEDBACK_KINDS)
        .filter(Q(status__in=(Status.SENT, Status.DEAD)) | ~Q(last_error=""))
        .order_by("-id")
        .values("status", "last_status_code", "last_error", "sent_at", "finished_at")
        .first()
    )
    return {**counts, "last": last}
