"""Reads for "Post candidacy updates": the activity list, preview candidacies and the status
page's counts. Always scoped to one integration the caller may see."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Max, Min, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from integrations.models import AtsIntegration, OutboundSettings, OutboundUpdate
from karatlever.hiring.models import Candidacy

Status = OutboundUpdate.Status


def outbound_update_list(*, integration: AtsIntegration) -> QuerySet[OutboundUpdate]:
    """The integration's outbound updates, newest first, with their candidacy."""
    return (
        OutboundUpdate.objects.filter(integration=integration)
        .select_related("candidacy")
        .order_by("-id")
    )


def outbound_update_get(*, integration: AtsIntegration, update_id: object) -> OutboundUpdate:
    """One update of this integration; Http404 for another integration's or a bad id."""
    try:
        pk = int(str(update_id))
    except ValueError:
        pk = 0
    return get_object_or_404(outbound_update_list(integration=integration), pk=pk)


def preview_candidacies(*, integration: AtsIntegration, limit: int = 50) -> list[Candidacy]:
    """Recent candidacies of the integration's group to preview notes with (linked first)."""
    return list(
        Candidacy.objects.filter(group_id=integration.group_id)
        .select_related("role")
        .order_by("-created_at")[:limit]
    )


def preview_candidacy_get(*, integration: AtsIntegration, code: object) -> Candidacy | None:
    """A candidacy of the integration's group by its code, or None (never another group's)."""
    try:
        return (
            Candidacy.objects.select_related("role")
            .filter(group_id=integration.group_id, code=str(code))
            .first()
        )
    except Exception:  # a malformed UUID: not a candidacy of this group
        return None


def outbound_stats(*, integration: AtsIntegration) -> dict[str, object]:
    """Counts for the status page, in one query: the last 24 hours by status, the backlog
    (waiting now, oldest), dead-lettered, and per-kind sent counts."""
    since = timezone.now() - timedelta(hours=24)
    recent = Q(created_at__gte=since)
    return OutboundUpdate.objects.filter(integration=integration).aggregate(
        sent=Count("id", filter=recent & Q(status=Status.SENT)),
        dead=Count("id", filter=recent & Q(status=Status.DEAD)),
        cancelled=Count("id", filter=recent & Q(status=Status.CANCELLED)),
        backlog=Count("id", filter=Q(status__in=OutboundUpdate.UNSENT)),
        oldest=Min("created_at", filter=Q(status__in=OutboundUpdate.UNSENT)),
        notes_sent=Count("id", filter=Q(status=Status.SENT, kind=OutboundUpdate.Kind.NOTE)),
        others_sent=Count("id", filter=Q(status=Status.SENT) & ~Q(kind=OutboundUpdate.Kind.NOTE)),
        last_sent=Max("sent_at"),
    )


def outbound_pause_fixed(*, integration: AtsIntegration, outbound: OutboundSettings) -> bool:
    """The queue was paused by a refused key and the key was fixed since: the key in use passed
    a check after the pause, or another key was set. The drain resumes such a queue; the
    status page already counts it as resumed."""
    paused_at = outbound.paused_at
    if paused_at is None:
        return False
    return (
        integration.key_status == AtsIntegration.KeyStatus.VALID
        and integration.key_checked_at is not None
        and integration.key_checked_at > paused_at
    ) or (integration.api_key_set_at is not None and integration.api_key_set_at > paused_at)
