"""Reads for accounts: which groups a user may see."""

from __future__ import annotations

from django.db.models import QuerySet

from karatlever.accounts.models import Group, Membership, User


def membership_get(*, user: User) -> Membership | None:
    if not user.is_authenticated:
        return None
    try:
        return Membership.objects.select_related("organization").get(user=user)
    except Membership.DoesNotExist:
        return None


def group_list_visible(*, user: User) -> QuerySet[Group]:
    """Groups the user may see: their organization's, or only the ones their membership names."""
    membership = membership_get(user=user)
    if membership is None:
        return Group.objects.none()
    groups = Group.objects.filter(organization_id=membership.organization_id)
    if membership.groups.exists():
        groups = groups.filter(pk__in=membership.groups.values("pk"))
    return groups.order_by("name")
