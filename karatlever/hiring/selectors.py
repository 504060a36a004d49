"""Reads for the hiring domain, always scoped to groups the user may see."""

from __future__ import annotations

import uuid

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from karatlever.accounts.models import Group, User
from karatlever.accounts.selectors import group_list_visible
from karatlever.hiring.models import Candidacy, CandidacyEvent, Role, RoleFollower


def _uuid_or_404(code: object) -> uuid.UUID:
    # A malformed code in a query string is a missing page, not a 500 from the UUID field.
    if isinstance(code, uuid.UUID):
        return code
    try:
        return uuid.UUID(str(code))
    except (TypeError, ValueError, AttributeError) as exc:
        raise Http404("No such group.") from exc


def group_get_visible(*, user: User, code: object) -> Group:
    return get_object_or_404(group_list_visible(user=user), code=_uuid_or_404(code))


def group_get_default(*, user: User, code: object | None = None) -> Group:
    """The group named by `code` (404 if not visible), else the user's first visible group."""
    if code:
        return group_get_visible(user=user, code=code)
    group = group_list_visible(user=user).first()
    if group is None:
        raise Http404("Your organization has no groups yet.")
    return group


def role_list(*, group: Group) -> QuerySet[Role]:
    return Role.objects.filter(group=group).order_by("-active", "title")


def role_list_with_counts(*, group: Group) -> QuerySet[Role]:
    """A group's roles, active first, each annotated with `candidacy_count`."""
    return role_list(group=group).annotate(candidacy_count=Count("candidacies"))


def role_get_visible(*, user: User, code: object) -> Role:
    """A role of a group the user may see; any other role is a 404."""
    return get_object_or_404(
        Role.objects.filter(group__in=group_list_visible(user=user)).select_related("group"),
        code=_uuid_or_404(code),
    )


def role_requisition_code_taken(
    *, group: Group, requisition_code: str, exclude: Role | None = None
) -> bool:
    if not requisition_code:
        return False
    roles = Role.objects.filter(group=group, requisition_code=requisition_code)
    if exclude is not None:
        roles = roles.exclude(pk=exclude.pk)
    return roles.exists()


def candidacy_list(*, user: User) -> QuerySet[Candidacy]:
    return (
        Candidacy.objects.filter(group__in=group_list_visible(user=user))
        .select_related("role", "group")
        .order_by("-created_at", "-id")
    )


def candidacy_list_filtered(
    *,
    user: User,
    group: Group | None = None,
    role: Role | None = None,
    karat_status: str = "",
    ats_stage_name: str = "",
    ats_archived: bool | None = None,
    ats_hired: bool | None = None,
    search: str = "",
    role_search: str = "",
) -> QuerySet[Candidacy]:
    """Visible candidacies narrowed by group, role, Karat status, Lever stage (by name, as
    shown), archived and hired (None: either), and a name/email search (case-insensitive,
    substring); ``role_search`` narrows to roles whose title or requisition code contains it
    (case-insensitive: the role filter of a group with many roles). Callers pass only objects they got from a visible-scoped selector; the
    result stays scoped to the user's groups whatever they pass."""
    candidacies = candidacy_list(user=user)
    if group is not None:
        candidacies = candidacies.filter(group=group)
    if role is not None:
        candidacies = candidacies.filter(role=role)
    if karat_status:
        candidacies = candidacies.filter(karat_status=karat_status)
    if ats_stage_name:
        candidacies = candidacies.filter(ats_stage_name=ats_stage_name)
    if ats_archived is not None:
        candidacies = candidacies.filter(ats_archived=ats_archived)
    if ats_hired is not None:
        candidacies = candidacies.filter(ats_hired=ats_hired)
    role_search = role_search.strip()
    if role_search:
        candidacies = candidacies.filter(
            Q(role__title__icontains=role_search) | Q(role__requisition_code__icontains=role_search)
        )
    search = search.strip()
    if search:
        candidacies = candidacies.filter(
            Q(candidate_name__icontains=search) | Q(candidate_email__icontains=search)
        )
    return candidacies


def candidacy_role_list(*, groups: QuerySet[Group]) -> QuerySet[Role]:
    """Roles of ``groups`` (the user's, from ``group_list_visible``) for the candidates filter,
    inactive ones too: their candidacies are still listed."""
    return (
        Role.objects.filter(group__in=groups)
        .select_related("group")
        .order_by("title", "group__name", "id")
    )


def candidacy_stage_names(*, groups: QuerySet[Group]) -> list[str]:
    """The distinct Lever stage names on the candidacies of ``groups`` (the user's, from
    ``group_list_visible``), sorted; one query."""
    names = (
        Candidacy.objects.filter(group__in=groups)
        .exclude(ats_stage_name="")
        .order_by("ats_stage_name")
        .values_list("ats_stage_name", flat=True)
        .distinct()
    )
    return list(names)


def candidacy_get(*, user: User, code: object) -> Candidacy:
    return get_object_or_404(candidacy_list(user=user), code=_uuid_or_404(code))


def candidacy_event_list(*, candidacy: Candidacy) -> QuerySet[CandidacyEvent]:
    """The candidacy's timeline, newest first."""
    return (
        CandidacyEvent.objects.filter(candidacy=candidacy)
        .select_related("actor")
        .order_by("-occurred_at", "-id")
    )


# --- role followers ---------------------------------------------------------------------------


def role_list_with_followers(*, group: Group, search: str = "") -> QuerySet[Role]:
    """``role_list_with_counts`` with each role's followers prefetched (``role.followers
    .all()``: Karat users first, then people not in Karat). Two queries in all. ``search``
    narrows to titles or requisition codes containing it (case-insensitive)."""
    followers = RoleFollower.objects.select_related("user").order_by("name", "email")
    roles = role_list_with_counts(group=group)
    search = search.strip()
    if search:
        roles = roles.filter(Q(title__icontains=search) | Q(requisition_code__icontains=search))
    return roles.order_by("-active", "title", "id").prefetch_related(
        Prefetch("followers", queryset=followers)
    )


def role_follower_list(*, role: Role) -> QuerySet[RoleFollower]:
    """The role's followers by name (``user`` null: on the ATS hiring team, not in Karat)."""
    return (
        RoleFollower.objects.filter(role=role)
        .select_related("user", "added_by")
        .order_by("name", "email")
    )


def role_follower_get(*, role: Role, follower_id: object) -> RoleFollower:
    """One follower of a role the caller already may see; another role's is a 404."""
    try:
        pk = int(str(follower_id))
    except ValueError as exc:
        raise Http404("No such follower.") from exc
    return get_object_or_404(RoleFollower, role=role, pk=pk)


def role_follower_candidates(*, role: Role) -> QuerySet[User]:
    """Active Karat users of the role's organization who don't follow it yet (the manual
    "Add follower" choices)."""
    following = RoleFollower.objects.filter(role=role, user__isnull=False).values("user_id")
    return (
        User.objects.filter(is_active=True, membership__organization_id=role.group.organization_id)
        .exclude(pk__in=following)
        .order_by("full_name", "email")
    )
