"""Role followers from the Lever hiring team (issue #21 §2), against the Lever sandbox: matched
by email, "not in Karat" people listed and never created, manual followers kept, and the
failure paths (off, Lever down mid-sync, expansions missing or malformed, hostile emails)."""

from __future__ import annotations

import pytest

from integrations.features import ROLE_FOLLOWERS_FROM_ATS
from integrations.hiring_team import services
from integrations.hiring_team.health import role_followers_from_ats_health
from integrations.lever.sandbox import KARAT_PERMISSIONS, SandboxServer
from integrations.lever.sandbox.demo import demo_data
from integrations.models import (
    AtsIntegration,
    AuditEntry,
    IntegrationStatus,
    PostingHiringTeam,
    PostingSyncRun,
)
from integrations.roles.services.mappings import role_mapping_set
from integrations.roles.services.sync import postings_sync_request, postings_sync_run
from integrations.status.services import integration_status_compute
from karatlever.accounts.models import Membership, User
from karatlever.demo.management.commands.seed_demo import RECRUITER_EMAIL
from karatlever.hiring.models import Role, RoleFollower
from karatlever.hiring.services import role_create, role_follower_add
from tests.factories import MembershipFactory

from .conftest import POSTING, lever_user, team_set

pytestmark = pytest.mark.django_db


def sync(integration: AtsIntegration, kind: str = PostingSyncRun.Kind.FULL) -> PostingSyncRun:
    run = postings_sync_request(integration=integration, kind=kind)
    postings_sync_run(run_id=run.pk)
    run.refresh_from_db()
    return run


def ada_is_the_hiring_manager(lever: SandboxServer) -> str:
    """The posting's team in Lever: Ada (admin@acme.test, a Karat admin) as its hiring
    manager, no owner, no followers. Returns her Lever user id."""
    manager = lever_user(lever, "Ada Admin", "admin@acme.test")
    team_set(lever, owner=None, hiringManager=manager, followers=[])
    return manager


def turn_on(integration: AtsIntegration, actor: User | None = None) -> None:
    services.hiring_team_settings_update(
        integration=integration,
        actor=actor,
        role_followers_enabled=True,
        recruiter_follows_owner=False,
    )


def followers(role: Role) -> dict[str, tuple[bool, bool, bool]]:
    """email -> (in Karat, from Lever, manual)."""
    return {
        f.email: (f.user_id is not None, f.from_ats, f.manual)
        for f in RoleFollower.objects.filter(role=role)
    }


def test_off_by_default_the_sync_stores_teams_but_changes_no_follower(
    synced_integration: AtsIntegration, lever_sandbox: SandboxServer, role: Role
) -> None:
    run = sync(synced_integration)

    assert run.status == PostingSyncRun.Status.SUCCEEDED
    team = PostingHiringTeam.objects.get(posting__posting_id=POSTING["id"])
    assert team.complete
    assert team.members
    assert not RoleFollower.objects.exists()
    assert role_followers_from_ats_health(synced_integration).label == "Off"


def test_the_hiring_team_follows_the_role_matched_by_email_and_others_are_not_in_karat(
    synced_integration: AtsIntegration,
    lever_sandbox: SandboxServer,
    role: Role,
    admin_user: User,
) -> None:
    manager = lever_user(lever_sandbox, "Ada Admin", "Admin@Acme.TEST")  # case differs
    owner = lever_user(lever_sandbox, "Olga Owner", "olga@elsewhere.example")
    team_set(lever_sandbox, owner=owner, hiringManager=manager, followers=[])
    users_before = User.objects.count()
    turn_on(synced_integration)

    sync(synced_integration)

    assert followers(role) == {
        "admin@acme.test": (True, True, False),
        "olga@elsewhere.example": (False, True, False),
    }
    assert RoleFollower.objects.get(role=role, user=admin_user).team_roles == ["hiring_manager"]
    missing = RoleFollower.objects.get(role=role, user__isnull=True)
    assert (missing.name, missing.team_roles) == ("Olga Owner", ["owner"])
    assert User.objects.count() == users_before  # nobody is created
    health = role_followers_from_ats_health(synced_integration)
    assert health.label == "On"
    assert (
        "1 hiring team member" in next(c for c in health.checks if c.code == "not_in_karat").message
    )


def test_a_manual_follower_stays_when_the_lever_team_changes(
    synced_integration: AtsIntegration,
    lever_sandbox: SandboxServer,
    role: Role,
    admin_user: User,
    recruiter_user: User,
) -> None:
    ada_is_the_hiring_manager(lever_sandbox)
    turn_on(synced_integration)
    role_follower_add(role=role, user=recruiter_user, actor=admin_user)
    sync(synced_integration)
    assert set(followers(role)) == {"admin@acme.test", "rec@acme.test"}

    team_set(lever_sandbox, hiringManager=None)
    sync(synced_integration, PostingSyncRun.Kind.INCREMENTAL)

    assert followers(role) == {"rec@acme.test": (True, False, True)}


def test_a_manual_follower_on_the_lever_team_is_both_and_stays_manual_when_lever_drops_them(
    synced_integration: AtsIntegration,
    lever_sandbox: SandboxServer,
    role: Role,
    admin_user: User,
) -> None:
    ada_is_the_hiring_manager(lever_sandbox)
    turn_on(synced_integration)
    role_follower_add(role=role, user=admin_user, actor=admin_user)
    sync(synced_integration)
    assert followers(role) == {"admin@acme.test": (True, True, True)}

    team_set(lever_sandbox, hiringManager=None)
    sync(synced_integration)

    assert followers(role) == {"admin@acme.test": (True, False, True)}


def test_lever_down_mid_sync_keeps_the_followers_and_the_status_says_so(
    synced_integration: AtsIntegration,
    lever_sandbox: SandboxServer,
    role: Role,
    admin_user: User,
) -> None:
    ada_is_the_hiring_manager(lever_sandbox)
    turn_on(synced_integration)
    sync(synced_integration)
    team_set(lever_sandbox, hiringManager=None)
    lever_sandbox.set_faults(fail_next=[503] * 8, paths=["/v1/postings"])

    run = sync(synced_integration)

    assert run.status == PostingSyncRun.Status.FAILED
    assert followers(role) == {"admin@acme.test": (True, True, False)}
    health = role_followers_from_ats_health(synced_integration)
    assert health.level == "warn"
    assert health.label == "Needs attention"
    assert "last posting sync failed" in health.checks[0].message


@pytest.mark.parametrize("kind", ["ids", "malformed"])
def test_a_missing_or_malformed_expansion_keeps_the_team_known_before(
    synced_integration: AtsIntegration,
    lever_sandbox: SandboxServer,
    role: Role,
    admin_user: User,
    kind: str,
) -> None:
    ada_is_the_hiring_manager(lever_sandbox)
    turn_on(synced_integration)
    sync(synced_integration)
    # Lever's team changed, but its answer won't say so usably.
    team_set(lever_sandbox, hiringManager=None, owner=lever_user(lever_sandbox, "N", "n@x.test"))
    lever_sandbox.set_faults(bad_expand=kind, paths=["/v1/postings"])

    run = sync(synced_integration)

    assert run.status == PostingSyncRun.Status.SUCCEEDED  # the postings themselves are fine
    team = PostingHiringTeam.objects.get(posting__posting_id=POSTING["id"])
    assert team.complete is False
    assert followers(role) == {"admin@acme.test": (True, True, False)}
    health = role_followers_from_ats_health(synced_integration)
    assert health.level == "warn"
    assert (
        "did not send the hiring team"
        in next(c for c in health.checks if c.code == "teams_complete").message
    )


@pytest.mark.parametrize(
    "email",
    [
        "admin@acme.test\r\nBcc: victim@example.org",
        "admin@acme.test, other@example.org",
        "<script>alert(1)</script>@acme.test",
        "not-an-email",
        "a" * 250 + "@acme.test",
    ],
)
def test_a_hostile_or_broken_lever_email_never_matches_nor_is_stored(
    synced_integration: AtsIntegration,
    lever_sandbox: SandboxServer,
    role: Role,
    admin_user: User,
    email: str,
) -> None:
    manager = lever_user(lever_sandbox, "Eve", email)
    team_set(lever_sandbox, owner=None, hiringManager=manager, followers=[])
    turn_on(synced_integration)

    sync(synced_integration)

    team = PostingHiringTeam.objects.get(posting__posting_id=POSTING["id"])
    assert [m["email"] for m in team.members] == [""]
    # No usable email: nothing to match or list.
    assert not RoleFollower.objects.filter(role=role).exists()


def test_turning_it_off_drops_lever_followers_and_keeps_manual_ones_and_is_audited(
    synced_integration: AtsIntegration,
    lever_sandbox: SandboxServer,
    role: Role,
    admin_user: User,
    recruiter_user: User,
) -> None:
    ada_is_the_hiring_manager(lever_sandbox)
    sync(synced_integration)  # teams stored while off
    turn_on(synced_integration, admin_user)  # applied at once from the stored teams
    assert "admin@acme.test" in followers(role)
    role_follower_add(role=role, user=recruiter_user, actor=admin_user)

    services.hiring_team_settings_update(
        integration=synced_integration,
        actor=admin_user,
        role_followers_enabled=False,
        recruiter_follows_owner=False,
    )

    assert followers(role) == {"rec@acme.test": (True, False, True)}
    assert (
        AuditEntry.objects.filter(
            integration=synced_integration, action=AuditEntry.Action.HIRING_TEAM_SETTINGS_CHANGED
        ).count()
        == 2
    )


def test_a_role_whose_posting_is_unmapped_loses_its_lever_followers(
    synced_integration: AtsIntegration,
    lever_sandbox: SandboxServer,
    role: Role,
    admin_user: User,
) -> None:
    ada_is_the_hiring_manager(lever_sandbox)
    turn_on(synced_integration)
    sync(synced_integration)
    lever_sandbox.sandbox.delete_posting(POSTING["id"])

    sync(synced_integration)

    assert not RoleFollower.objects.filter(role=role).exists()


def test_an_admin_mapping_a_posting_to_another_role_moves_the_followers_at_once(
    synced_integration: AtsIntegration,
    lever_sandbox: SandboxServer,
    role: Role,
    admin_user: User,
) -> None:
    ada_is_the_hiring_manager(lever_sandbox)
    turn_on(synced_integration)
    sync(synced_integration)
    other = role_create(group=synced_integration.group, title="Platform Engineer")

    role_mapping_set(
        integration=synced_integration, posting_id=POSTING["id"], role=other, actor=admin_user
    )

    assert not RoleFollower.objects.filter(role=role).exists()
    assert followers(other) == {"admin@acme.test": (True, True, False)}


def test_a_person_on_several_roles_teams_is_counted_once_as_not_in_karat(
    synced_integration: AtsIntegration, lever_sandbox: SandboxServer, role: Role
) -> None:
    other_posting = demo_data().postings[0]  # "Senior Backend Engineer", ENG-101
    other = role_create(
        group=synced_integration.group,
        title="Senior Backend Engineer",
        requisition_code=other_posting["requisitionCodes"][0],
    )
    owner = lever_user(lever_sandbox, "Olga Owner", "olga@elsewhere.example")
    for posting in (POSTING, other_posting):
        lever_sandbox.sandbox.set_posting_team(
            posting["id"], {"owner": owner, "hiringManager": None, "followers": []}
        )
    turn_on(synced_integration)

    sync(synced_integration)

    assert followers(role) == {"olga@elsewhere.example": (False, True, False)}
    assert followers(other) == {"olga@elsewhere.example": (False, True, False)}
    message = next(
        c.message
        for c in role_followers_from_ats_health(synced_integration).checks
        if c.code == "not_in_karat"
    )
    assert message.startswith("1 hiring team member of mapped postings")


def test_a_key_without_the_postings_permission_keeps_the_followers_and_the_status_says_why(
    synced_integration: AtsIntegration,
    lever_sandbox: SandboxServer,
    role: Role,
    admin_user: User,
) -> None:
    # given: followers from a sync that worked, then Lever's team changes and the key in use
    # loses the permission to read postings
    ada_is_the_hiring_manager(lever_sandbox)
    turn_on(synced_integration)
    sync(synced_integration)
    team_set(lever_sandbox, hiringManager=None)
    key = lever_sandbox.create_api_key(
        [p for p in KARAT_PERMISSIONS if p != "postings:read:admin"], label="no postings"
    )
    synced_integration.api_key, synced_integration.api_key_last4 = key, key[-4:]
    synced_integration.save(update_fields=["api_key", "api_key_last4"])

    run = sync(synced_integration)

    # then: nothing read, nothing lost, and the feature's row says it is not working and why
    assert run.status == PostingSyncRun.Status.FAILED
    assert followers(role) == {"admin@acme.test": (True, True, False)}
    team = PostingHiringTeam.objects.get(posting__posting_id=POSTING["id"])
    assert [m["email"] for m in team.members] == ["admin@acme.test"]
    integration_status_compute(integration_id=synced_integration.pk)
    row = next(
        f
        for f in IntegrationStatus.objects.get(integration=synced_integration).features
        if f["key"] == ROLE_FOLLOWERS_FROM_ATS
    )
    assert (row["level"], row["label"]) == ("bad", "Not working")
    teams_read = next(c for c in row["checks"] if c["code"] == "teams_read")
    assert teams_read["level"] == "bad"
    assert "permission" in teams_read["message"]
    assert teams_read["fix_url"]


def test_the_demo_recruiter_is_on_a_demo_postings_hiring_team_and_matched_at_once(
    synced_integration: AtsIntegration, lever_sandbox: SandboxServer, role: Role
) -> None:
    """`make run`: the sandbox's Rae Recruiter shares her email with the Karat demo's
    recruiter (seed_demo), so turning the feature on shows a real match, set up by nobody."""
    rae = next(u for u in demo_data().users if u["email"] == RECRUITER_EMAIL)
    assert POSTING["hiringManager"] == rae["id"]
    karat_rae = MembershipFactory(
        organization=synced_integration.group.organization,
        role=Membership.Role.RECRUITER,
        user__email=RECRUITER_EMAIL,
    ).user
    sync(synced_integration)

    turn_on(synced_integration)

    follower = RoleFollower.objects.get(role=role, email=RECRUITER_EMAIL)
    assert (follower.user, follower.from_ats, follower.team_roles) == (
        karat_rae,
        True,
        ["hiring_manager"],
    )
