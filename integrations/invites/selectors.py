"""Reads for inviting: a batch of a group the user can see, its rows, an opportunity's link."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from integrations.models import InviteBatch, InviteItem, OpportunityLink
from karatlever.accounts.selectors import group_list_visible

if TYPE_CHECKING:
    from karatlever.accounts.models import User


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
