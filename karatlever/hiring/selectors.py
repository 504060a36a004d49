"""Reads for the hiring domain, always scoped to groups the user may see."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from karatlever.accounts.models import Group, User
from karatlever.accounts.selectors import group_list_visible
from karatlever.hiring.models import Candidacy, Role


def group_get_visible(*, user: User, code: object) -> Group:
    return get_object_or_404(group_list_visible(user=user), code=code)


def role_list(*, group: Group) -> QuerySet[Role]:
    return Role.objects.filter(group=group).order_by("-active", "title")


def role_get(*, group: Group, code: object) -> Role:
    return get_object_or_404(Role.objects.filter(group=group), code=code)


def candidacy_list(*, user: User) -> QuerySet[Candidacy]:
    return (
        Candidacy.objects.filter(group__in=group_list_visible(user=user))
        .select_related("role", "group")
        .order_by("-created_at")
    )


def candidacy_get(*, user: User, code: object) -> Candidacy:
    return get_object_or_404(candidacy_list(user=user), code=code)
