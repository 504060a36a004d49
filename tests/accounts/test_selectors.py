"""Tenancy: a user sees only their organization's groups, or the ones their membership names."""

from __future__ import annotations

import pytest

from karatlever.accounts.models import Group, User
from karatlever.accounts.selectors import group_list_visible
from tests.factories import GroupFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def test_member_sees_every_group_of_their_organization_only(
    admin_user: User, group: Group, second_group: Group, outsider_user: User
) -> None:
    assert list(group_list_visible(user=admin_user)) == [second_group, group]
    assert group not in group_list_visible(user=outsider_user)


def test_membership_limited_to_some_groups_sees_only_those(
    group: Group, second_group: Group
) -> None:
    membership = MembershipFactory(organization=group.organization, role="recruiter")
    membership.groups.add(second_group)

    assert list(group_list_visible(user=membership.user)) == [second_group]


def test_user_without_membership_sees_nothing(db: None) -> None:
    GroupFactory()
    user = User.objects.create_user("x@example.com", "pw")

    assert not group_list_visible(user=user).exists()
