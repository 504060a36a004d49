"""Hiring selectors: everything is scoped to the groups a user may see."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, TypedDict, cast

import pytest
from django.http import Http404
from django.utils import timezone

from karatlever.accounts.models import Group, User
from karatlever.hiring import selectors
from karatlever.hiring.models import CandidacyEvent, KaratStatus, Role
from tests.factories import CandidacyFactory, GroupFactory, MembershipFactory, RoleFactory

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

pytestmark = pytest.mark.django_db


class _CandidacyCount(TypedDict):
    candidacy_count: int


def test_role_list_with_counts_counts_candidacies_and_puts_active_roles_first(group: Group) -> None:
    busy = RoleFactory(group=group, title="Backend")
    RoleFactory(group=group, title="Archive", active=False)
    CandidacyFactory.create_batch(3, role=busy)

    # The selector returns QuerySet[Role]; its docstring, not its type, promises the annotation.
    roles = cast(
        "list[WithAnnotations[Role, _CandidacyCount]]",
        list(selectors.role_list_with_counts(group=group)),
    )

    assert [(r.title, r.candidacy_count) for r in roles] == [("Backend", 3), ("Archive", 0)]


def test_role_get_visible_refuses_another_organizations_role(admin_user: User) -> None:
    foreign = RoleFactory()

    with pytest.raises(Http404):
        selectors.role_get_visible(user=admin_user, code=foreign.code)


def test_malformed_group_code_is_a_404_not_a_crash(admin_user: User, group: Group) -> None:
    with pytest.raises(Http404):
        selectors.group_get_visible(user=admin_user, code="not-a-uuid")
    with pytest.raises(Http404):
        selectors.group_get_visible(user=admin_user, code=uuid.uuid4())


def test_default_group_is_the_first_visible_group_by_name(
    admin_user: User, group: Group, second_group: Group
) -> None:
    assert selectors.group_get_default(user=admin_user) == second_group  # "Data" < "Engineering"
    assert selectors.group_get_default(user=admin_user, code=str(group.code)) == group


def test_recruiter_limited_to_one_group_sees_only_that_groups_candidacies(
    organization: object, group: Group, second_group: Group
) -> None:
    membership = MembershipFactory(organization=organization, role="recruiter")
    membership.groups.add(group)
    mine = CandidacyFactory(role=RoleFactory(group=group))
    CandidacyFactory(role=RoleFactory(group=second_group))

    assert list(selectors.candidacy_list(user=membership.user)) == [mine]
    with pytest.raises(Http404):
        selectors.group_get_visible(user=membership.user, code=second_group.code)


def test_candidacy_filters_combine_group_status_and_search(
    admin_user: User, group: Group, second_group: Group
) -> None:
    role = RoleFactory(group=group)
    ada = CandidacyFactory(role=role, candidate_name="Ada Lovelace", candidate_email="ada@x.test")
    CandidacyFactory(role=role, candidate_name="Grace Hopper", karat_status=KaratStatus.SCHEDULED)
    CandidacyFactory(role=RoleFactory(group=second_group), candidate_name="Ada Other")

    found = selectors.candidacy_list_filtered(
        user=admin_user, group=group, karat_status=KaratStatus.INVITED, search="  ADA "
    )

    assert list(found) == [ada]
    assert list(selectors.candidacy_list_filtered(user=admin_user, search="ada@x")) == [ada]


def test_timeline_is_newest_first(group: Group) -> None:
    candidacy = CandidacyFactory(role=RoleFactory(group=group))
    now = timezone.now()
    for minutes, summary in ((10, "old"), (0, "new"), (5, "middle")):
        CandidacyEvent.objects.create(
            candidacy=candidacy,
            kind=CandidacyEvent.Kind.STATUS_CHANGED,
            source=CandidacyEvent.Source.KARAT,
            summary=summary,
            occurred_at=now - timedelta(minutes=minutes),
        )

    summaries = [e.summary for e in selectors.candidacy_event_list(candidacy=candidacy)]

    assert summaries == ["new", "middle", "old"]


def test_requisition_code_taken_ignores_blank_codes_and_the_role_itself(group: Group) -> None:
    role = RoleFactory(group=group, requisition_code="ENG-1")
    RoleFactory(group=group, requisition_code="")

    assert selectors.role_requisition_code_taken(group=group, requisition_code="ENG-1")
    assert not selectors.role_requisition_code_taken(
        group=group, requisition_code="ENG-1", exclude=role
    )
    assert not selectors.role_requisition_code_taken(group=group, requisition_code="")
    assert not selectors.role_requisition_code_taken(
        group=GroupFactory(organization=group.organization), requisition_code="ENG-1"
    )


def test_candidacy_filters_by_role_stage_archived_and_hired(admin_user: User, group: Group) -> None:
    backend, data = RoleFactory(group=group), RoleFactory(group=group)
    ada = CandidacyFactory(role=backend, ats_stage_name="Offer", ats_archived=True, ats_hired=True)
    grace = CandidacyFactory(role=backend, ats_stage_name="Offer", ats_archived=True)
    alan = CandidacyFactory(role=data, ats_stage_name="Phone screen")

    def found(**filters: object) -> set[str]:
        rows = selectors.candidacy_list_filtered(user=admin_user, **filters)  # type: ignore[arg-type]
        return {c.candidate_name for c in rows}

    assert found(role=data) == {alan.candidate_name}
    assert found(ats_stage_name="Offer") == {ada.candidate_name, grace.candidate_name}
    assert found(ats_archived=False) == {alan.candidate_name}
    assert found(ats_archived=True, ats_hired=False) == {grace.candidate_name}
    assert found(ats_hired=None, ats_archived=None) == {
        ada.candidate_name,
        grace.candidate_name,
        alan.candidate_name,
    }


def test_a_foreign_role_passed_to_the_filter_still_finds_nothing_outside_the_users_groups(
    admin_user: User,
) -> None:
    foreign = CandidacyFactory()

    assert list(selectors.candidacy_list_filtered(user=admin_user, role=foreign.role)) == []


def test_stage_names_are_distinct_sorted_non_blank_and_scoped(
    admin_user: User, group: Group
) -> None:
    from karatlever.accounts.selectors import group_list_visible

    role = RoleFactory(group=group)
    for stage in ("On-site", "Offer", "On-site", ""):
        CandidacyFactory(role=role, ats_stage_name=stage)
    CandidacyFactory(ats_stage_name="Another organization's stage")

    groups = group_list_visible(user=admin_user)

    assert selectors.candidacy_stage_names(groups=groups) == ["Offer", "On-site"]


def test_role_list_for_filters_holds_the_groups_roles_inactive_too(
    admin_user: User, group: Group
) -> None:
    from karatlever.accounts.selectors import group_list_visible

    active = RoleFactory(group=group, title="B")
    inactive = RoleFactory(group=group, title="A", active=False)
    RoleFactory(title="Foreign")

    roles = list(selectors.candidacy_role_list(groups=group_list_visible(user=admin_user)))

    assert roles == [inactive, active]
