"""Integration selectors: always scoped to the user's organization and visible groups."""

from __future__ import annotations

import pytest
from django.http import Http404

from integrations import selectors
from integrations.models import AtsIntegration, AuditEntry
from integrations.services import lifecycle
from karatlever.accounts.models import Group, Membership, User
from tests.factories import GroupFactory, IntegrationFactory, MembershipFactory, UserFactory
from tests.integrations.conftest import OTHER_KEY, mark_valid, set_key

pytestmark = pytest.mark.django_db
KeyStatus = AtsIntegration.KeyStatus


@pytest.fixture
def other_org_integration(outsider_user: User) -> AtsIntegration:
    return IntegrationFactory(group=outsider_user.membership.organization.groups.get())


def test_list_shows_only_the_users_organization(
    integration: AtsIntegration, other_org_integration: AtsIntegration, admin_user: User
) -> None:
    assert list(selectors.integration_list(user=admin_user)) == [integration]


def test_list_respects_a_membership_limited_to_some_groups(
    integration: AtsIntegration, second_group: Group
) -> None:
    hidden = IntegrationFactory(group=second_group)
    limited = MembershipFactory(
        organization=integration.group.organization, role=Membership.Role.ADMIN
    )
    limited.groups.set([second_group])

    assert list(selectors.integration_list(user=limited.user)) == [hidden]
    with pytest.raises(Http404):
        selectors.integration_get(user=limited.user, public_id=integration.public_id)


def test_a_user_without_membership_sees_nothing(integration: AtsIntegration) -> None:
    loner = UserFactory()

    assert list(selectors.integration_list(user=loner)) == []


def test_get_finds_the_users_integration(integration: AtsIntegration, admin_user: User) -> None:
    found = selectors.integration_get(user=admin_user, public_id=integration.public_id)

    assert found == integration


def test_get_is_a_404_for_another_organizations_integration(
    other_org_integration: AtsIntegration, admin_user: User
) -> None:
    with pytest.raises(Http404):
        selectors.integration_get(user=admin_user, public_id=other_org_integration.public_id)


def test_get_is_a_404_for_an_unknown_id(admin_user: User) -> None:
    with pytest.raises(Http404):
        selectors.integration_get(user=admin_user, public_id="00000000-0000-0000-0000-000000000000")


def test_audit_entries_are_newest_first_and_only_this_integrations(
    integration: AtsIntegration, admin_user: User
) -> None:
    other = IntegrationFactory(group=GroupFactory(organization=integration.group.organization))
    lifecycle.integration_disable(integration=other, actor=admin_user)
    lifecycle.integration_disable(integration=integration, actor=admin_user)
    lifecycle.integration_enable(integration=integration, actor=admin_user)

    entries = list(selectors.audit_entry_list(integration=integration))

    assert [e.action for e in entries] == [AuditEntry.Action.ENABLED, AuditEntry.Action.DISABLED]


@pytest.mark.parametrize(
    ("enabled", "has_key", "key_status", "label"),
    [
        (False, True, KeyStatus.VALID, "Disabled"),
        (True, False, KeyStatus.NOT_SET, "Not set up"),
        (True, True, KeyStatus.CHECKING, "Checking"),
        (True, True, KeyStatus.INVALID, "Not working"),
        (True, True, KeyStatus.UNREACHABLE, "Could not reach Lever"),
        (True, True, KeyStatus.VALID, "Connected"),
    ],
)
def test_overall_status_follows_enabled_and_key_status(
    integration: AtsIntegration, enabled: bool, has_key: bool, key_status: str, label: str
) -> None:
    integration.enabled = enabled
    integration.api_key_last4 = "1234" if has_key else ""
    integration.key_status = key_status

    assert selectors.integration_overall_status(integration=integration).label == label


def test_a_pending_key_being_checked_counts_as_a_check_in_progress(
    integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user)
    integration.refresh_from_db()
    assert selectors.key_check_in_progress(integration=integration) is True

    mark_valid(integration)
    assert selectors.key_check_in_progress(integration=integration) is False

    set_key(integration, admin_user, OTHER_KEY)
    integration.refresh_from_db()
    view = selectors.key_check_view(integration=integration)
    assert view["in_progress"] is True
    assert view["pending"]["last4"] == OTHER_KEY[-4:]
