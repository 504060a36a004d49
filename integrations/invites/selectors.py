"""Reads for inviting: a user's recent batches, a batch of a group the user can see, its rows,
an opportunity's link."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from integrations import ats
from integrations.models import AtsIntegration, InviteBatch, InviteItem, OpportunityLink
from karatlever.accounts.selectors import group_list_visible

if TYPE_CHECKING:
    from karatlever.accounts.models import Group, User


@dataclass(frozen=True)
class RecentBatch:
    """One of the user's recent batches as the invite form lists it: the URLs pasted and what
    is left to do (``label``: "Ready to invite", "Nothing to invite", "2 invited", …)."""

    batch: InviteBatch
    url_count: int
    label: str


def _recent_label(batch: InviteBatch, *, ready: int, invited: int) -> str:
    if batch.status == InviteBatch.Status.PREVIEWED:
        # Read, not confirmed: only rows that can be invited make it "ready".
        return f"Ready to invite ({ready})" if ready else "Nothing to invite"
    if batch.status == InviteBatch.Status.DONE:
        return f"{invited} invited"
    return batch.get_status_display()


def invite_batch_list_recent(
    *, user: User, groups: Sequence[Group] | QuerySet[Group], limit: int = 5
) -> list[RecentBatch]:
    """The user's latest batches in ``groups``, newest first."""
    batches = (
        InviteBatch.objects.filter(group__in=groups, created_by=user)
        .select_related("group")
        .annotate(
            url_count=Count("items"),
            ready_count=Count("items", filter=Q(items__status=InviteItem.Status.READY)),
            invited_count=Count("items", filter=Q(items__status=InviteItem.Status.INVITED)),
        )
        # Explicit: Meta.ordering is not applied to an aggregate (GROUP BY) query.
        .order_by("-created_at", "-id")[:limit]
    )
    return [
        RecentBatch(
            batch=b,
            url_count=b.url_count,
            label=_recent_label(b, ready=b.ready_count, invited=b.invited_count),
        )
        for b in batches
    ]


def invite_batch_get(*, user: User, public_id: UUID | str) -> InviteBatch:
    """An invite batch of a group the user can see; Http404 otherwise (never 403)."""
    return get_object_or_404(
        InviteBatch.objects.filter(group__in=group_list_visible(user=user)).select_related(
            "group", "integration"
        ),
        public_id=public_id,
    )


def invite_items(*, batch: InviteBatch) -> QuerySet[InviteItem]:
    return batch.items.select_related("role", "candidacy").order_by("position")


def opportunity_link_get(*, organization_id: int, opportunity_id: str) -> OpportunityLink | None:
    """The organization's link of an ATS opportunity, whichever group invited it (at most one:
    the link's constraint), with its candidacy and that candidacy's group; None when none."""
    return (
        OpportunityLink.objects.filter(
            organization_id=organization_id, opportunity_id=opportunity_id
        )
        .select_related("candidacy__group")
        .first()
    )


def invite_batch_counts() -> dict[str, int]:
    """How many invite batches there are in each status (every status present, 0 when none),
    for the metrics endpoint (karatlever/observability/collector.py). One grouped query over
    all groups (a scrape, not a page: unscoped by design; only counts leave it)."""
    counts = dict.fromkeys(InviteBatch.Status.values, 0)
    for row in InviteBatch.objects.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


# Any valid opportunity id: only the host and path of the example link matter.
_EXAMPLE_ID = "00000000-0000-0000-0000-000000000000"


def candidate_url_example(*, integration: AtsIntegration) -> str:
    """The candidate link recruiters paste for ``integration``, as an example on its own host
    (``https://hire.sandbox.lever.co/candidates/…`` for Lever's sandbox region)."""
    url = ats.adapter_for(integration.ats).candidate_url(integration.region, _EXAMPLE_ID)
    return url.replace(_EXAMPLE_ID, "…")
