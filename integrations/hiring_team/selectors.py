"""Reads for the hiring team feature: its settings as saved, and what it left to look at."""

from __future__ import annotations

from django.db.models import QuerySet

from integrations.models import AtsIntegration, HiringTeamSettings, PostingHiringTeam
from karatlever.hiring.models import Candidacy, RoleFollower


def hiring_team_settings_find(*, integration: AtsIntegration) -> HiringTeamSettings | None:
    """The integration's settings, or None when never saved (both off). One query."""
    return HiringTeamSettings.objects.filter(integration=integration).first()


def role_followers_enabled(*, integration: AtsIntegration) -> bool:
    found = hiring_team_settings_find(integration=integration)
    return bool(found and found.role_followers_enabled and integration.enabled)


def recruiter_follows_owner_enabled(*, integration: AtsIntegration) -> bool:
    found = hiring_team_settings_find(integration=integration)
    return bool(found and found.recruiter_follows_owner and integration.enabled)


def role_followers_not_in_karat(*, integration: AtsIntegration) -> QuerySet[RoleFollower]:
    """People on the hiring teams of the group's roles who have no Karat account."""
    return RoleFollower.objects.filter(
        role__group_id=integration.group_id, from_ats=True, user__isnull=True
    )


def posting_teams_incomplete_count(*, integration: AtsIntegration) -> int:
    """Postings (not removed) whose last read did not carry a usable hiring team."""
    return PostingHiringTeam.objects.filter(
        posting__integration=integration, posting__removed_at__isnull=True, complete=False
    ).count()


def candidacy_owner_not_in_karat(*, integration: AtsIntegration) -> QuerySet[Candidacy]:
    """Linked candidacies whose ATS owner has no Karat account (their recruiter stayed)."""
    return Candidacy.objects.filter(
        opportunity_link__integration=integration, ats_owner_not_in_karat=True
    )
