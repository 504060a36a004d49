"""Reads for "Post candidacy updates": the activity list, preview candidacies and the status
page's counts. Always scoped to one integration the caller may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    When,
)
from django.db.models.functions import TruncHour
from django.shortcuts import get_object_or_404
from django.utils import timezone

from integrations.models import AtsIntegration, OpportunityLink, OutboundSettings, OutboundUpdate
from karatlever.hiring.models import Candidacy

Status = OutboundUpdate.Status
PerformAs = OutboundSettings.PerformAs


@dataclass(frozen=True)
class ActingUser:
    """Who Karat's changes in the ATS are made as (Lever's ``perform_as``), by the outbound
    setting "Post updates as": ``source`` is its value, ``user_id`` "" when nobody is set (the
    ATS decides), ``name`` and ``email`` as stored when the user was picked by email."""

    source: str
    user_id: str
    name: str = ""
    email: str = ""


def outbound_acting_user(
    *, integration: AtsIntegration, outbound: OutboundSettings | None
) -> ActingUser:
    """The one rule for who updates, panels and feedback forms are posted as; pages that say
    who Karat acts as read it too, so they can't disagree with what is sent. No query."""
    source = outbound.perform_as if outbound else PerformAs.INTEGRATION_USER
    if source == PerformAs.LEVER_USER and outbound is not None:
        return ActingUser(
            source,
            outbound.perform_as_user_id,
            outbound.perform_as_name,
            outbound.perform_as_email,
        )
    if source == PerformAs.INTEGRATION_USER:
        return ActingUser(source, integration.ats_user_id)
    return ActingUser(PerformAs.NONE, "")


def outbound_acting_user_find(*, integration: AtsIntegration) -> ActingUser:
    """``outbound_acting_user`` with the integration's outbound settings (one query)."""
    outbound = OutboundSettings.objects.filter(integration=integration).first()
    return outbound_acting_user(integration=integration, outbound=outbound)


def acting_user_label(*, acting: ActingUser) -> str:
    """Who Karat acts as, for people, from what Karat stored (no ATS call): the picked Lever
    user's name and email, or the integration's User ID; "" when nobody is set."""
    if not acting.user_id:
        return ""
    if acting.source == PerformAs.INTEGRATION_USER:
        return f"the integration's User ID ({acting.user_id}), set in Settings, Step 2"
    if acting.email:
        return f"{acting.name or acting.email} ({acting.email})"
    return f"the Lever user picked in Settings (User ID {acting.user_id})"


def outbound_update_list(
    *, integration: AtsIntegration, status: str = "", kind: str = "", milestone: str = ""
) -> QuerySet[OutboundUpdate]:
    """The integration's outbound updates, newest first, with their candidacy; each non-blank
    filter (a value the caller validated) narrows the list. Each row's ``linked`` says whether
    its opportunity is still linked (one deleted, anonymised or detached is never written to
    again, so it cannot be retried)."""
    updates = OutboundUpdate.objects.filter(integration=integration)
    filters = {"status": status, "kind": kind, "milestone": milestone}
    updates = updates.filter(**{name: value for name, value in filters.items() if value})
    linked = OpportunityLink.objects.filter(
        integration_id=OuterRef("integration_id"), opportunity_id=OuterRef("opportunity_id")
    )
    return updates.annotate(linked=Exists(linked)).select_related("candidacy").order_by("-id")


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
        # Feedback forms (opt-in) prove no tag, link or stage permission.
        others_sent=Count(
            "id",
            filter=Q(status=Status.SENT)
            & ~Q(
                kind__in=(
                    OutboundUpdate.Kind.NOTE,
                    OutboundUpdate.Kind.FEEDBACK,
                    OutboundUpdate.Kind.FEEDBACK_REMOVE,
                )
            ),
        ),
        last_sent=Max("sent_at"),
    )


def outbound_update_hourly(
    *, integration: AtsIntegration, since: datetime
) -> dict[str, dict[datetime, int]]:
    """The status page's share of "Post candidacy updates" (an ``ActivityProvider``): updates
    sent to the ATS per UTC hour (by when they were sent) from ``since`` on, and updates Karat
    gave up on (by when it did). One grouped query, however many updates."""
    moment = Case(
        When(status=Status.SENT, then=F("sent_at")),
        default=F("finished_at"),
        output_field=DateTimeField(),
    )
    rows = (
        OutboundUpdate.objects.filter(
            integration=integration, status__in=[Status.SENT, Status.DEAD]
        )
        .annotate(moment=moment)
        .filter(moment__gte=since)
        .annotate(hour=TruncHour("moment", tzinfo=UTC))
        .values("hour")
        .annotate(
            sent=Count("id", filter=Q(status=Status.SENT)),
            failed=Count("id", filter=Q(status=Status.DEAD)),
        )
        .order_by("hour")
    )
    counts: dict[str, dict[datetime, int]] = {"sent": {}, "failed": {}}
    for row in rows:
        counts["sent"][row["hour"]] = row["sent"]
        counts["failed"][row["hour"]] = row["failed"]
    return counts


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


@dataclass(frozen=True)
class OutboundBacklogRow:
    """One integration's outbox, for the metrics endpoint (karatlever/observability/
    collector.py). ``oldest_at``: creation time (UTC) of the oldest unsent update, or None."""

    integration_public_id: str
    unsent: int
    oldest_at: datetime | None
    dead: int


def outbound_backlog_by_integration() -> list[OutboundBacklogRow]:
    """Outbound updates not yet sent (pending, sending) and dead-lettered ones, per integration
    that has any. One grouped query over all integrations (a scrape, not a page: unscoped by
    design; only counts and the public id leave it)."""
    unsent = Q(status__in=OutboundUpdate.UNSENT)
    dead = Q(status=OutboundUpdate.Status.DEAD)
    rows = (
        OutboundUpdate.objects.filter(unsent | dead)
        .values("integration__public_id")
        .annotate(
            unsent=Count("id", filter=unsent),
            oldest_at=Min("created_at", filter=unsent),
            dead=Count("id", filter=dead),
        )
        .order_by("integration__public_id")
    )
    return [
        OutboundBacklogRow(
            integration_public_id=str(row["integration__public_id"]),
            unsent=row["unsent"],
            oldest_at=row["oldest_at"],
            dead=row["dead"],
        )
        for row in rows
    ]
