"""Reads for the interview panels: the setting, the panels Karat made, and what the last day of
panel writes says (for the status page and the API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from integrations.models import AtsIntegration, InterviewPanel, OutboundSettings, OutboundUpdate

PANEL_KIND_VALUES = (
    OutboundUpdate.Kind.PANEL_CREATE,
    OutboundUpdate.Kind.PANEL_UPDATE,
    OutboundUpdate.Kind.PANEL_DELETE,
)
# A refused permission shows on the status page for this long after the last refusal.
PERMISSION_WINDOW = timedelta(days=1)


def panel_settings_find(*, integration: AtsIntegration) -> OutboundSettings | None:
    """The integration's outbound settings row (which holds ``panels_enabled``), or None before
    the first use (then everything is at its default: panels off)."""
    return OutboundSettings.objects.filter(integration=integration).first()


def panels_enabled(*, integration: AtsIntegration) -> bool:
    found = panel_settings_find(integration=integration)
    return bool(found and found.panels_enabled)


def interview_panel_list(*, integration: AtsIntegration, limit: int = 50) -> list[InterviewPanel]:
    """The integration's newest panels, with their candidacies (one query)."""
    return list(
        InterviewPanel.objects.filter(integration=integration)
        .select_related("candidacy")
        .order_by("-id")[:limit]
    )


@dataclass(frozen=True)
class PanelStats:
    """The last 24 hours of panel writes, and the panels by state (all time)."""

    sent: int
    dead: int
    waiting: int
    # The newest write the ATS refused for a missing permission (403), within PERMISSION_WINDOW,
    # and whether any panel write was accepted after it.
    refused_message: str
    accepted_ever: bool
    by_state: dict[str, int]


def panel_stats(*, integration: AtsIntegration) -> PanelStats:
    """Three queries."""
    since = timezone.now() - timedelta(hours=24)
    rows = OutboundUpdate.objects.filter(integration=integration, kind__in=PANEL_KIND_VALUES)
    Status = OutboundUpdate.Status
    counts = rows.aggregate(
        sent=Count("id", filter=Q(status=Status.SENT, finished_at__gte=since)),
        dead=Count("id", filter=Q(status=Status.DEAD, finished_at__gte=since)),
        waiting=Count("id", filter=Q(status__in=OutboundUpdate.UNSENT)),
        accepted=Count("id", filter=Q(status=Status.SENT)),
    )
    last = (
        rows.filter(status__in=(Status.SENT, Status.DEAD))
        .exclude(finished_at__isnull=True)
        .order_by("-finished_at", "-id")
        .values("status", "last_status_code", "last_error", "finished_at")
        .first()
    )
    refused = ""
    if (
        last is not None
        and last["status"] == Status.DEAD
        and last["last_status_code"] == 403
        and last["finished_at"] is not None
        and last["finished_at"] >= timezone.now() - PERMISSION_WINDOW
    ):
        refused = str(last["last_error"])
    by_state = dict(
        InterviewPanel.objects.filter(integration=integration)
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    return PanelStats(
        sent=counts["sent"],
        dead=counts["dead"],
        waiting=counts["waiting"],
        refused_message=refused,
        accepted_ever=bool(counts["accepted"]),
        by_state=by_state,
    )
