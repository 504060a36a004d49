"""Wiring of the hiring team's console and API: the Settings section and its form, the REST
settings, the status page rows, and a role's followers on the Roles page and the role page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from integrations.features import FEATURES_BY_KEY, RECRUITER_FOLLOWS_OWNER, ROLE_FOLLOWERS_FROM_ATS
from integrations.hiring_team.health import (
    recruiter_follows_owner_health,
    role_followers_from_ats_health,
)
from integrations.models import AtsIntegration, AuditEntry, HiringTeamSettings
from karatlever.accounts.models import User
from karatlever.hiring.models import RoleFollower
from tests.factories import RoleFactory

pytestmark = pytest.mark.django_db


def _update_url(integration: AtsIntegration) -> str:
    return reverse("hiring-team:update", kwargs={"public_id": integration.public_id})


def _api_url(integration: AtsIntegration) -> str:
    return reverse("api-hiring-team-settings", kwargs={"public_id": integration.public_id})


def test_the_settings_page_shows_both_switches_off(
    admin_client: Client, integration: AtsIntegration
) -> None:
    page = admin_client.get(
        reverse("integrations:settings", kwargs={"public_id": integration.public_id})
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="hiring-team"' in html
    assert 'name="role_followers_enabled"' in html
    assert 'name="recruiter_follows_owner"' in html
    assert "checked" not in html.split('id="hiring-team"')[1].split("</section>")[0]


def test_an_admin_turns_them_on_and_it_is_audited(
    admin_client: Client, integration: AtsIntegration
) -> None:
    response = admin_client.post(
        _update_url(integration), {"role_followers_enabled": "on", "recruiter_follows_owner": "on"}
    )

    assert response.status_code == 302
    row = HiringTeamSettings.objects.get(integration=integration)
    assert row.role_followers_enabled
    assert row.recruiter_follows_owner
    assert AuditEntry.objects.filter(action=AuditEntry.Action.HIRING_TEAM_SETTINGS_CHANGED).exists()


def test_a_recruiter_may_not_change_them(
    recruiter_client: Client, integration: AtsIntegration
) -> None:
    response = recruiter_client.post(_update_url(integration), {"role_followers_enabled": "on"})

    assert response.status_code == 403
    assert not HiringTeamSettings.objects.filter(role_followers_enabled=True).exists()


def test_another_organizations_integration_is_404(
    outsider_client: Client, integration: AtsIntegration
) -> None:
    assert outsider_client.post(_update_url(integration), {}).status_code == 404
    assert outsider_client.get(_api_url(integration)).status_code == 404


def test_the_api_reads_and_changes_one_switch_at_a_time(
    token_client: Callable[[User], Client], admin_user: User, integration: AtsIntegration
) -> None:
    client = token_client(admin_user)
    assert client.get(_api_url(integration)).json() == {
        "role_followers_enabled": False,
        "recruiter_follows_owner": False,
        "followers_synced_at": None,
        "followers_not_in_karat": 0,
    }

    response = client.patch(
        _api_url(integration), {"recruiter_follows_owner": True}, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["recruiter_follows_owner"] is True
    assert response.json()["role_followers_enabled"] is False


def test_bad_api_input_is_a_clear_400_and_changes_nothing(
    token_client: Callable[[User], Client], admin_user: User, integration: AtsIntegration
) -> None:
    response = token_client(admin_user).patch(
        _api_url(integration),
        {"role_followers_enabled": "perhaps"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "role_followers_enabled" in response.content.decode()
    assert not HiringTeamSettings.objects.filter(role_followers_enabled=True).exists()


def test_both_features_are_on_the_status_page_and_off_is_never_working(
    integration: AtsIntegration,
) -> None:
    assert FEATURES_BY_KEY[ROLE_FOLLOWERS_FROM_ATS].health
    assert FEATURES_BY_KEY[RECRUITER_FOLLOWS_OWNER].health
    for health in (
        role_followers_from_ats_health(integration),
        recruiter_follows_owner_health(integration),
    ):
        assert health.label == "Off"
        assert not health.working


def test_a_refused_key_is_not_working(integration: AtsIntegration) -> None:
    HiringTeamSettings.objects.create(
        integration=integration, role_followers_enabled=True, recruiter_follows_owner=True
    )
    AtsIntegration.objects.filter(pk=integration.pk).update(
        key_status=AtsIntegration.KeyStatus.INVALID
    )
    integration.refresh_from_db()

    for health in (
        role_followers_from_ats_health(integration),
        recruiter_follows_owner_health(integration),
    ):
        assert not health.working


def test_the_roles_page_lists_followers_and_people_not_in_karat(
    admin_client: Client, admin_user: User, integration: AtsIntegration
) -> None:
    role = RoleFactory(group=integration.group, title="SRE")
    RoleFollower.objects.create(
        role=role, user=admin_user, email="admin@acme.test", name="Ada", from_ats=True
    )
    RoleFollower.objects.create(
        role=role,
        email="olga@elsewhere.example",
        name="<b>Olga</b>",
        from_ats=True,
        team_roles=["owner"],
    )

    html = admin_client.get(reverse("hiring:role-list")).content.decode()

    assert "Ada" in html
    assert "&lt;b&gt;Olga&lt;/b&gt; (Posting owner)" in html  # escaped: Lever's text
    assert "not in Karat" in html


def test_the_roles_page_gives_a_karat_follower_her_part_on_the_team_as_the_role_page_does(
    admin_client: Client, recruiter_user: User, integration: AtsIntegration
) -> None:
    role = RoleFactory(group=integration.group, title="SRE")
    RoleFollower.objects.create(
        role=role,
        user=recruiter_user,
        email="rae@acme.test",
        name="Rae Recruiter",
        from_ats=True,
        team_roles=["hiring_manager"],
    )

    listed = admin_client.get(reverse("hiring:role-list")).content.decode()
    own_page = admin_client.get(reverse("hiring:role-edit", args=[role.code])).content.decode()

    # The list showed her name alone; her role's page said what she is on the team.
    assert "Lever hiring team: Hiring manager" in own_page
    assert "Rae Recruiter (Hiring manager)</span>" in listed


def test_an_admin_adds_and_removes_a_manual_follower_on_the_role_page(
    admin_client: Client, recruiter_user: User, integration: AtsIntegration
) -> None:
    role = RoleFactory(group=integration.group)
    add = reverse("hiring:role-follower-add", args=[role.code])

    assert admin_client.post(add, {"user": recruiter_user.pk}).status_code == 302
    follower = RoleFollower.objects.get(role=role, user=recruiter_user)
    assert follower.manual
    assert not follower.from_ats
    page = admin_client.get(reverse("hiring:role-edit", args=[role.code])).content.decode()
    assert "rec@acme.test" in page

    remove = reverse("hiring:role-follower-remove", args=[role.code, follower.pk])
    assert admin_client.post(remove).status_code == 302
    assert not RoleFollower.objects.filter(role=role).exists()


def test_a_user_of_another_organization_cannot_be_added(
    admin_client: Client, outsider_user: User, integration: AtsIntegration
) -> None:
    role = RoleFactory(group=integration.group)

    response = admin_client.post(
        reverse("hiring:role-follower-add", args=[role.code]), {"user": outsider_user.pk}
    )

    assert response.status_code == 302  # back to the role page with the error
    assert not RoleFollower.objects.exists()


def test_another_organizations_role_and_follower_are_404(
    outsider_client: Client, admin_user: User, integration: AtsIntegration
) -> None:
    role = RoleFactory(group=integration.group)
    follower = RoleFollower.objects.create(
        role=role, user=admin_user, email="admin@acme.test", manual=True
    )

    add = reverse("hiring:role-follower-add", args=[role.code])
    remove = reverse("hiring:role-follower-remove", args=[role.code, follower.pk])
    assert outsider_client.post(add, {"user": admin_user.pk}).status_code == 404
    assert outsider_client.post(remove).status_code == 404
    assert RoleFollower.objects.filter(pk=follower.pk).exists()


def test_a_lever_follower_cannot_be_removed_by_hand(
    admin_client: Client, admin_user: User, integration: AtsIntegration
) -> None:
    role = RoleFactory(group=integration.group)
    follower = RoleFollower.objects.create(
        role=role, user=admin_user, email="admin@acme.test", from_ats=True
    )

    admin_client.post(reverse("hiring:role-follower-remove", args=[role.code, follower.pk]))

    assert RoleFollower.objects.filter(pk=follower.pk).exists()
