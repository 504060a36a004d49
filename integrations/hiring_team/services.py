"""The hiring team from the ATS: its settings, storing each synced posting's team, bringing
role followers in line with the mapped postings' teams, and a candidacy's recruiter following
its opportunity's owner. Read-only with respect to the ATS: nothing here writes to it.

Both behaviours change Karat data by themselves, so each is off until an admin turns it on
(``HiringTeamSettings``); the posting teams are stored on every sync either way (they come in
the same request as the postings).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from integrations import ats
from integrations.connection.services.audit import audit_entry_record
from integrations.hiring_team.selectors import role_followers_not_in_karat
from integrations.models import (
    AtsIntegration,
    AtsPosting,
    AuditEntry,
    HiringTeamSettings,
    PostingHiringTeam,
    RoleMapping,
)
from integrations.status.refresh import status_refresh_request
from karatlever.hiring.models import Candidacy, Role
from karatlever.hiring.services import (
    RecruiterResult,
    TeamPerson,
    candidacy_recruiter_from_ats_owner,
    role_followers_from_ats_clear,
    role_followers_from_ats_set,
)

if TYPE_CHECKING:
    from karatlever.accounts.models import User

logger = logging.getLogger(__name__)

# A usable owner read is recorded for the status page at most this often (one write, not
# one per delivery).
OWNER_READ_RECORD_EVERY = timedelta(minutes=1)


def hiring_team_settings_get(*, integration: AtsIntegration) -> HiringTeamSettings:
    """The integration's settings row, made with defaults (both off) on first use."""
    found, _ = HiringTeamSettings.objects.get_or_create(integration=integration)
    return found


@transaction.atomic
def hiring_team_settings_update(
    *,
    integration: AtsIntegration,
    actor: User | None,
    role_followers_enabled: bool,
    recruiter_follows_owner: bool,
) -> HiringTeamSettings:
    """Turn either behaviour on or off (audited). Turning role followers on brings every role
    in line at once from the teams the last sync stored (no ATS call); turning it off drops
    the ATS-derived followers (manual ones stay). Turning the recruiter on acts from the next
    webhook or reconciliation read of each opportunity; turning it off leaves recruiters as
    they are. Idempotent."""
    row = HiringTeamSettings.objects.select_for_update().get(
        pk=hiring_team_settings_get(integration=integration).pk
    )
    before = (row.role_followers_enabled, row.recruiter_follows_owner)
    after = (role_followers_enabled, recruiter_follows_owner)
    if before == after:
        return row
    row.role_followers_enabled, row.recruiter_follows_owner = after
    row.updated_by = actor
    row.save(update_fields=["role_followers_enabled", "recruiter_follows_owner", "updated_by"])

    def word(on: bool) -> str:
        return "on" if on else "off"

    audit_entry_record(
        integration=integration,
        actor=actor,
        action=AuditEntry.Action.HIRING_TEAM_SETTINGS_CHANGED,
        summary=(
            f"Hiring team: role followers {word(role_followers_enabled)}, "
            f"recruiter follows the owner {word(recruiter_follows_owner)}"
        ),
        detail={
            "role_followers_enabled": role_followers_enabled,
            "recruiter_follows_owner": recruiter_follows_owner,
        },
    )
    if role_followers_enabled and not before[0]:
        role_followers_sync(integration=integration)
    elif not role_followers_enabled and before[0]:
        role_followers_from_ats_clear(group=integration.group)
        HiringTeamSettings.objects.filter(pk=row.pk).update(
            followers_synced_at=None, followers_not_in_karat=0
        )
    status_refresh_request(integration_id=integration.pk, reason="Hiring team settings changed")
    row.refresh_from_db()
    return row


def posting_teams_store(*, integration_id: int, postings: Sequence[ats.RemotePosting]) -> None:
    """Store the hiring teams of one page of synced postings (called inside the sync's page
    transaction, after the postings' upsert). A posting whose team the ATS did not say
    (``hiring_team`` None) keeps the team stored before and is marked incomplete. Three
    queries per page."""
    if not postings:
        return
    now = timezone.now()
    pks = dict(
        AtsPosting.objects.filter(
            integration_id=integration_id, posting_id__in=[p.posting_id[:64] for p in postings]
        ).values_list("posting_id", "pk")
    )
    complete: list[PostingHiringTeam] = []
    unknown: list[int] = []
    for posting in postings:
        pk = pks.get(posting.posting_id[:64])
        if pk is None:
            continue
        if posting.hiring_team is None:
            unknown.append(pk)
            continue
        members = [
            {
                "user_id": person.user_id,
                "name": person.name,
                "email": person.email,
                "team_roles": list(person.team_roles),
            }
            for person in posting.hiring_team
        ]
        complete.append(
            PostingHiringTeam(posting_id=pk, members=members, complete=True, read_at=now)
        )
    if complete:
        PostingHiringTeam.objects.bulk_create(
            complete,
            update_conflicts=True,
            unique_fields=["posting"],
            update_fields=["members", "complete", "read_at"],
        )
    if unknown:
        PostingHiringTeam.objects.bulk_create(
            [PostingHiringTeam(posting_id=pk, members=[], complete=False) for pk in unknown],
            ignore_conflicts=True,
        )
        PostingHiringTeam.objects.filter(posting_id__in=unknown).update(complete=False)


@dataclass(frozen=True)
class RoleFollowersSummary:
    roles: int
    added: int
    removed: int
    not_in_karat: int


def role_followers_sync(*, integration: AtsIntegration) -> RoleFollowersSummary | None:
    """Bring every role of the integration's group in line with the hiring teams of the
    postings mapped to it (not removed ones), from the stored teams: no ATS call. Roles with
    no mapped posting lose their ATS-derived followers; manual followers always stay. None
    when the feature is off. Called after every posting sync and when turned on."""
    found = HiringTeamSettings.objects.filter(integration=integration).first()
    if found is None or not found.role_followers_enabled or not integration.enabled:
        return None
    teams: dict[int, list[TeamPerson]] = {}
    mappings = RoleMapping.objects.filter(
        posting__integration=integration,
        posting__removed_at__isnull=True,
        role__isnull=False,
    ).values_list("role_id", "posting__hiring_team__members")
    for role_id, members in mappings:
        people = teams.setdefault(role_id, [])
        for member in members if isinstance(members, list) else []:
            if not isinstance(member, dict):
                continue
            # Stored by posting_teams_store after validation; checked again on the way out.
            people.append(
                TeamPerson(
                    email=ats.person_email_clean(member.get("email")),
                    name=ats.person_name_clean(member.get("name")),
                    team_roles=tuple(
                        r for r in member.get("team_roles") or () if isinstance(r, str)
                    ),
                )
            )
    added = removed = 0
    roles = Role.objects.filter(group_id=integration.group_id).select_related("group")
    for role in roles:
        result = role_followers_from_ats_set(role=role, people=teams.get(role.pk, []))
        added += result.added
        removed += result.removed
    # People, not role followers: someone on three roles' hiring teams is one person to invite.
    not_in_karat = (
        role_followers_not_in_karat(integration=integration).values("email").distinct().count()
    )
    HiringTeamSettings.objects.filter(pk=found.pk).update(
        followers_synced_at=timezone.now(), followers_not_in_karat=not_in_karat
    )
    logger.info(
        "role followers: %d added, %d removed, %d not in Karat",
        added,
        removed,
        not_in_karat,
        extra={"integration_id": integration.public_id},
    )
    return RoleFollowersSummary(
        roles=len(roles), added=added, removed=removed, not_in_karat=not_in_karat
    )


def candidacy_recruiter_follow(
    *,
    integration: AtsIntegration,
    candidacy: Candidacy,
    current: ats.OpportunityState,
    origin: dict[str, object],
    enabled: bool | None = None,
) -> RecruiterResult | None:
    """After a read of the candidacy's opportunity (a webhook or the reconciliation): its
    recruiter follows the opportunity's owner by email (``hiring.services
    .candidacy_recruiter_from_ats_owner``). None when the feature is off (``enabled``: the
    caller's answer, to read the settings once per poll) or when the read did not say who
    the owner is (expansion missing or malformed: nothing changes, the status page says so).
    """
    if enabled is None:
        found = HiringTeamSettings.objects.filter(integration=integration).first()
        enabled = bool(found and found.recruiter_follows_owner and integration.enabled)
    if not enabled:
        return None
    now = timezone.now()
    if not current.owner_known:
        HiringTeamSettings.objects.filter(integration=integration).update(owner_unreadable_at=now)
        logger.warning(
            "recruiter: owner of %r not readable, recruiter kept",
            current.opportunity_id[:64],
            extra={"integration_id": integration.public_id},
        )
        return None
    HiringTeamSettings.objects.filter(integration=integration).exclude(
        owner_read_at__gte=now - OWNER_READ_RECORD_EVERY
    ).update(owner_read_at=now)
    owner = current.owner
    person = (
        TeamPerson(email=ats.person_email_clean(owner.email), name=owner.name)
        if owner is not None
        else None
    )
    return candidacy_recruiter_from_ats_owner(candidacy=candidacy, owner=person, origin=origin)
