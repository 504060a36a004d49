"""factory_boy factories for the core models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import factory
from django.db import models

from integrations.models import AtsIntegration
from karatlever.accounts.models import Group, Membership, Organization, User
from karatlever.hiring.models import Candidacy, Role

DEFAULT_PASSWORD = "correct horse battery staple"

_M = TypeVar("_M", bound=models.Model)


class ModelFactory(factory.django.DjangoModelFactory[_M]):
    """DjangoModelFactory whose call, `XFactory(...)`, is typed as the model it creates.

    factory_boy types `create()`/`build()` but not the call itself: its metaclass `__call__` is
    unannotated, so mypy types `XFactory(...)` as the factory (python/mypy#14122). The `__new__`
    below exists only for the type checker; at runtime the metaclass handles the call.
    """

    class Meta:
        abstract = True

    if TYPE_CHECKING:
        # mypy wants __new__ to return an instance of its class; here it returns the model.
        def __new__(cls, **kwargs: Any) -> _M: ...  # type: ignore[misc]


class OrganizationFactory(ModelFactory[Organization]):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")


class GroupFactory(ModelFactory[Group]):
    class Meta:
        model = Group

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Group {n}")


class UserFactory(ModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save()


class MembershipFactory(ModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.ADMIN


class RoleFactory(ModelFactory[Role]):
    class Meta:
        model = Role

    group = factory.SubFactory(GroupFactory)
    title = factory.Sequence(lambda n: f"Backend Engineer {n}")
    requisition_code = factory.Sequence(lambda n: f"ENG-{100 + n}")


class CandidacyFactory(ModelFactory[Candidacy]):
    class Meta:
        model = Candidacy

    role = factory.SubFactory(RoleFactory)
    group = factory.SelfAttribute("role.group")
    candidate_name = factory.Faker("name")
    candidate_email = factory.Sequence(lambda n: f"candidate{n}@example.com")


class IntegrationFactory(ModelFactory[AtsIntegration]):
    class Meta:
        model = AtsIntegration

    group = factory.SubFactory(GroupFactory)
    # An integration whose admin saved its region (as the migration marks existing ones);
    # tests of region detection create theirs with lifecycle.integration_create.
    region_source = "chosen"
