"""Shared fixtures: a fixed cast (admin, recruiter, outsider) around one organization."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations.models import AtsIntegration
from karatlever.accounts.models import Group, Membership, Organization, User
from tests.factories import (
    GroupFactory,
    IntegrationFactory,
    MembershipFactory,
    OrganizationFactory,
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: object) -> None:
    """PBKDF2 is deliberately slow; tests don't need it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture
def organization(db: None) -> Organization:
    return OrganizationFactory(name="Acme Corp")


@pytest.fixture
def group(organization: Organization) -> Group:
    return GroupFactory(organization=organization, name="Engineering")


@pytest.fixture
def second_group(organization: Organization) -> Group:
    return GroupFactory(organization=organization, name="Data")


@pytest.fixture
def admin_user(organization: Organization) -> User:
    return MembershipFactory(
        organization=organization, role=Membership.Role.ADMIN, user__email="admin@acme.test"
    ).user


@pytest.fixture
def recruiter_user(organization: Organization) -> User:
    return MembershipFactory(
        organization=organization, role=Membership.Role.RECRUITER, user__email="rec@acme.test"
    ).user


@pytest.fixture
def outsider_user(db: None) -> User:
    """An admin of another organization: sees none of Acme's objects."""
    other = OrganizationFactory(name="Globex")
    GroupFactory(organization=other, name="Globex Engineering")
    return MembershipFactory(
        organization=other, role=Membership.Role.ADMIN, user__email="admin@globex.test"
    ).user


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin_user: User) -> Client:  # overrides pytest-django's superuser admin_client
    return _client_for(admin_user)


@pytest.fixture
def recruiter_client(recruiter_user: User) -> Client:
    return _client_for(recruiter_user)


@pytest.fixture
def outsider_client(outsider_user: User) -> Client:
    return _client_for(outsider_user)


@pytest.fixture
def integration(group: Group) -> AtsIntegration:
    return IntegrationFactory(group=group)
