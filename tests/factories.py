"""factory_boy factories for the core models."""

from __future__ import annotations

import factory

from integrations.models import AtsIntegration
from karatlever.accounts.models import Group, Membership, Organization, User
from karatlever.hiring.models import Candidacy, Role

DEFAULT_PASSWORD = "correct horse battery staple"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Group {n}")


class UserFactory(factory.django.DjangoModelFactory):
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


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.ADMIN


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Role

    group = factory.SubFactory(GroupFactory)
    title = factory.Sequence(lambda n: f"Backend Engineer {n}")
    requisition_code = factory.Sequence(lambda n: f"ENG-{100 + n}")


class CandidacyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Candidacy

    role = factory.SubFactory(RoleFactory)
    group = factory.SelfAttribute("role.group")
    candidate_name = factory.Faker("name")
    candidate_email = factory.Sequence(lambda n: f"candidate{n}@example.com")


class IntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AtsIntegration

    group = factory.SubFactory(GroupFactory)
