"""Reads for the hiring team feature: its settings as saved, and what it left to look at."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db.models import QuerySet

from integrations import ats
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


def _key_refused_for(integration: AtsIntegration, read: Callable[[ats.AtsAccount], object]) -> str:
    """The ATS's message when it refuses the key for ``read`` (a missing permission, or the
    key itself), else "" (it answered, or could not be asked: not the key's fault). Never
    raises for ATS trouble."""
    try:
        read(ats.account_for(integration))
    except ats.AtsKeyError as exc:
        return exc.message
    except ats.AtsError:
        return ""
    return ""


def posting_teams_key_refusal(*, integration: AtsIntegration) -> str:
    """Why the ATS refuses the key the postings read the hiring teams come with, or "". One
    read of the postings changed from now on (next to nothing): for the status page after a
    failed posting sync, whose stored error can't tell a refused key from an ATS outage."""
    adapter = ats.capability(integration.ats, ats.Postings)
    if adapter is None:
        return ""
    now_ms = int(time.time() * 1000)
    return _key_refused_for(
        integration,
        lambda account: adapter.postings_page(
            account, cursor=None, updated_since_ms=now_ms, profile=ats.INTERACTIVE
        ),
    )


def opportunity_owners_key_refusal(*, integration: AtsIntegration) -> str:
    """Why the ATS refuses the key the opportunity reads the owners come with, or "". One read
    of the opportunities changed from now on (next to nothing): for the status page after a
    failure recorded since the last owner read."""
    adapter = ats.capability(integration.ats, ats.Opportunities)
    if adapter is None:
        return ""
    now_ms = int(time.time() * 1000)
    return _key_refused_for(
        integration,
        lambda account: next(
            iter(
                adapter.opportunities_changed(
                    account, since_ms=now_ms, contact_ids=None, profile=ats.INTERACTIVE
                )
            ),
            None,
        ),
    )
