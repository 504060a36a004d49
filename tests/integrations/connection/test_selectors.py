"""Integration selectors: always scoped to the user's organization and visible groups."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.utils import timezone

from integrations.connection import selectors
from integrations.connection.services import keys, lifecycle
from integrations.models import AtsIntegration, AuditEntry, KeyCheck
from integrations.status import selectors as status_selectors
from karatlever.accounts.models import Group, Membership, User
from tests.factories import GroupFactory, IntegrationFactory, MembershipFactory, UserFactory
from tests.integrations.conftest import OTHER_KEY, latest_check, mark_valid, set_key

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
        # Issue #14's four answers: nothing works without a key, so it is "Not working".
        (True, False, KeyStatus.NOT_SET, "Not working"),
        (True, True, KeyStatus.CHECKING, "Checking"),
        (True, True, KeyStatus.INVALID, "Not working"),
        (True, True, KeyStatus.UNREACHABLE, "Needs attention"),
        (True, True, KeyStatus.VALID, "Active"),
    ],
)
def test_overall_status_follows_enabled_and_key_status(
    integration: AtsIntegration, enabled: bool, has_key: bool, key_status: str, label: str
) -> None:
    integration.enabled = enabled
    integration.api_key_last4 = "1234" if has_key else ""
    integration.key_status = key_status

    assert status_selectors.integration_overall_status(integration=integration).label == label


def test_a_pending_key_being_checked_counts_as_a_check_in_progress(
    integration: AtsIntegration, admin_user: User
) -> None:
    set_key(integration, admin_user)
    integration.refresh_from_db()
    assert selectors.key_check_view(integration=integration)["in_progress"] is True

    mark_valid(integration)
    assert selectors.key_check_view(integration=integration)["in_progress"] is False

    set_key(integration, admin_user, OTHER_KEY)
    integration.refresh_from_db()
    view = selectors.key_check_view(integration=integration)
    assert view["in_progress"] is True
    assert view["pending"]["last4"] == OTHER_KEY[-4:]


# --- issue #10: a rejected replacement is shown only while its check is the latest word ---------


def _finish(check: KeyCheck, outcome: str) -> None:
    KeyCheck.objects.filter(pk=check.pk).update(
        started_at=timezone.now(), finished_at=timezone.now(), outcome=outcome
    )


def _rejected_replacement(integration: AtsIntegration, admin_user: User) -> None:
    """A working key, then a replacement Lever rejected (as keys.py leaves it)."""
    set_key(integration, admin_user)
    mark_valid(integration)
    set_key(integration, admin_user, OTHER_KEY)
    integration.refresh_from_db()
    _finish(latest_check(integration, "pending"), KeyCheck.Outcome.INVALID)
    AtsIntegration.objects.filter(pk=integration.pk).update(
        pending_api_key="", pending_api_key_last4="", pending_api_key_fingerprint=""
    )
    integration.refresh_from_db()


def test_a_rejected_replacement_is_shown_while_its_check_is_the_latest(
    integration: AtsIntegration, admin_user: User
) -> None:
    _rejected_replacement(integration, admin_user)

    view = selectors.key_check_view(integration=integration)

    assert view["rejected"]["last4"] == OTHER_KEY[-4:]


def test_a_later_check_of_the_key_in_use_makes_the_rejection_history(
    integration: AtsIntegration, admin_user: User
) -> None:
    _rejected_replacement(integration, admin_user)

    keys.api_key_check_request(integration=integration, actor=admin_user)  # "Check again"
    integration.refresh_from_db()
    running = selectors.key_check_view(integration=integration)
    _finish(latest_check(integration), KeyCheck.Outcome.VALID)
    done = selectors.key_check_view(integration=integration)

    assert running["rejected"] is None
    assert done["rejected"] is None


def test_saving_another_key_makes_the_rejection_history(
    integration: AtsIntegration, admin_user: User
) -> None:
    _rejected_replacement(integration, admin_user)
    AtsIntegration.objects.filter(pk=integration.pk).update(
        key_status=KeyStatus.INVALID  # the key in use stopped working: a new key replaces it
    )
    integration.refresh_from_db()

    set_key(integration, admin_user, "lvr_TEST_ffffeeeeddddccccbbbbaaaa99998888777766665555Qq99")
    integration.refresh_from_db()

    assert selectors.key_check_view(integration=integration)["rejected"] is None
