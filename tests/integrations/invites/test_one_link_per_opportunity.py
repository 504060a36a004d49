"""One live link per Lever opportunity in an organization: an opportunity already invited in
Engineering is refused in Data (preview, console, API, a race of both groups), and another
organization links the same opportunity id freely. The automatic invite's side is in
tests/integrations/auto_invites/test_auto_invite.py."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from integrations.invites.services.create import invite_create
from integrations.invites.services.preview import InvitePreview, invite_preview
from integrations.models import (
    AtsIntegration,
    InvitationEmail,
    InviteItem,
    OpportunityLink,
    OutboundUpdate,
)
from karatlever.accounts.models import User
from karatlever.hiring.models import Candidacy, Role
from tests.factories import CandidacyFactory, GroupFactory, OrganizationFactory, RoleFactory
from tests.integrations.conftest import roles_by_posting_title, sandbox_integration
from tests.integrations.invites.conftest import url_of

pytestmark = pytest.mark.django_db


def preview_in(integration: AtsIntegration, opportunity_id: str) -> InvitePreview:
    return invite_preview(
        group=integration.group, integration=integration, url=url_of(opportunity_id)
    )


def invite_in(integration: AtsIntegration, result: InvitePreview) -> Any:
    role = Role.objects.get(group=integration.group, pk=result.role_id or 0)
    return invite_create(integration=integration, preview=result, role=role, actor=None)


def invited_in(integration: AtsIntegration, opportunity_id: str) -> Candidacy:
    outcome = invite_in(integration, preview_in(integration, opportunity_id))
    assert outcome.code == "invited", outcome.message
    assert outcome.candidacy is not None
    return outcome.candidacy


def detail_url(candidacy: Candidacy) -> str:
    return reverse("hiring:candidate-detail", kwargs={"code": candidacy.code})


# --- preview and invite (services) ------------------------------------------------------------


def test_data_preview_of_an_opportunity_invited_in_engineering_names_that_candidacy(
    lever_integration: AtsIntegration,
    roles: list[Role],
    data_integration: AtsIntegration,
    data_roles: list[Role],
    invitable: list[str],
) -> None:
    engineering = invited_in(lever_integration, invitable[0])

    result = preview_in(data_integration, invitable[0])

    assert result.ok
    assert "already_invited_elsewhere" in result.warnings
    assert "already_invited" not in result.warnings
    assert result.existing_candidacy == str(engineering.code)
    assert result.existing_group == "Engineering"


def test_inviting_it_in_data_creates_no_second_candidacy_email_or_lever_update(
    lever_integration: AtsIntegration,
    roles: list[Role],
    data_integration: AtsIntegration,
    data_roles: list[Role],
    invitable: list[str],
) -> None:
    # given: Data's preview read before Engineering invited (the invite itself must check)
    stale = preview_in(data_integration, invitable[0])
    engineering = invited_in(lever_integration, invitable[0])
    emails, updates = InvitationEmail.objects.count(), OutboundUpdate.objects.count()

    # when
    outcome = invite_in(data_integration, stale)

    # then
    assert outcome.code == "already_invited_elsewhere"
    assert outcome.candidacy == engineering
    assert f"Already invited in Engineering: {engineering.candidate_name}" in outcome.message
    assert Candidacy.objects.get() == engineering
    assert OpportunityLink.objects.get().integration == lever_integration
    assert InvitationEmail.objects.count() == emails
    assert OutboundUpdate.objects.count() == updates
    assert not OutboundUpdate.objects.exclude(candidacy=engineering).exists()


# --- the console: the row says where, and links only for those who may see it -----------------


def paste(client: Client, integration: AtsIntegration, opportunity_id: str) -> InviteItem:
    response = client.post(
        reverse("invites:new"), {"urls": url_of(opportunity_id), "group": integration.group.code}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return InviteItem.objects.select_related("batch").latest("id")


@pytest.fixture
def data_recruiter_client(data_recruiter: User) -> Client:
    client = Client()
    client.force_login(data_recruiter)
    return client


def test_a_data_recruiter_sees_the_row_refused_with_the_group_and_candidate_but_no_link(
    lever_integration: AtsIntegration,
    roles: list[Role],
    data_integration: AtsIntegration,
    data_roles: list[Role],
    invitable: list[str],
    data_recruiter_client: Client,
) -> None:
    engineering = invited_in(lever_integration, invitable[0])

    item = paste(data_recruiter_client, data_integration, invitable[0])
    page = data_recruiter_client.get(reverse("invites:batch", args=[item.batch.public_id]))

    assert item.status == InviteItem.Status.ERROR
    assert item.code == "already_invited_elsewhere"
    text = page.content.decode().replace("&#x27;", "'")
    assert f"Already invited in Engineering: {engineering.candidate_name}" in text
    assert detail_url(engineering) not in text
    assert "Invite selected candidates" not in text
    assert Candidacy.objects.count() == 1


def test_an_admin_who_sees_engineering_gets_the_link_to_its_candidacy(
    admin_client: Client,
    lever_integration: AtsIntegration,
    roles: list[Role],
    data_integration: AtsIntegration,
    data_roles: list[Role],
    invitable: list[str],
) -> None:
    engineering = invited_in(lever_integration, invitable[0])

    item = paste(admin_client, data_integration, invitable[0])
    page = admin_client.get(reverse("invites:batch", args=[item.batch.public_id]))

    assert item.code == "already_invited_elsewhere"
    assert detail_url(engineering) in page.content.decode()


# --- the API ----------------------------------------------------------------------------------


def post_invitations(client: Client, integration: AtsIntegration, opportunity_id: str) -> Any:
    body = {"group": str(integration.group.code), "lever_urls": [url_of(opportunity_id)]}
    response = client.post(reverse("api-invitation-create"), body, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()["results"][0]


def test_api_answers_already_invited_elsewhere_with_the_candidacy_only_if_visible(
    token_client: Callable[[User], Client],
    admin_user: User,
    data_recruiter: User,
    lever_integration: AtsIntegration,
    roles: list[Role],
    data_integration: AtsIntegration,
    data_roles: list[Role],
    invitable: list[str],
) -> None:
    engineering = invited_in(lever_integration, invitable[0])
    emails = InvitationEmail.objects.count()

    as_recruiter = post_invitations(token_client(data_recruiter), data_integration, invitable[0])
    as_admin = post_invitations(token_client(admin_user), data_integration, invitable[0])

    assert as_recruiter["status"] == as_admin["status"] == "not_invited"
    assert as_recruiter["code"] == as_admin["code"] == "already_invited_elsewhere"
    assert "Already invited in Engineering" in as_recruiter["message"]
    assert as_recruiter["candidacy"] is None
    assert as_admin["candidacy"]["id"] == str(engineering.code)
    assert as_admin["candidacy"]["url"].endswith(detail_url(engineering))
    assert Candidacy.objects.count() == 1
    assert InvitationEmail.objects.count() == emails


# --- a race of both groups --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_engineering_and_data_inviting_at_once_give_one_candidacy(
    lever_integration: AtsIntegration,
    roles: list[Role],
    data_integration: AtsIntegration,
    data_roles: list[Role],
    invitable: list[str],
) -> None:
    previews = {
        integration: preview_in(integration, invitable[0])
        for integration in (lever_integration, data_integration)
    }
    barrier = threading.Barrier(4)
    codes: list[str] = []

    def invite(integration: AtsIntegration) -> None:
        try:
            barrier.wait()
            codes.append(invite_in(integration, previews[integration]).code)
        except Exception as exc:  # shown in the assertion below instead of lost in a thread
            codes.append(repr(exc))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=invite, args=(integration,))
        for integration in (lever_integration, data_integration) * 2
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert codes.count("invited") == 1, codes
    assert set(codes) <= {"invited", "already_invited", "already_invited_elsewhere"}, codes
    assert "already_invited_elsewhere" in codes
    assert Candidacy.objects.count() == 1
    assert OpportunityLink.objects.count() == 1
    assert InvitationEmail.objects.count() == 1  # queued once, sent by the worker


# --- the constraint: per organization ---------------------------------------------------------


def test_another_organization_can_invite_the_same_opportunity(
    lever_integration: AtsIntegration, roles: list[Role], invitable: list[str]
) -> None:
    engineering = invited_in(lever_integration, invitable[0])
    globex = sandbox_integration(GroupFactory(name="Globex Engineering"))
    roles_by_posting_title(globex.group)

    result = preview_in(globex, invitable[0])
    theirs = invited_in(globex, invitable[0])

    assert result.warnings == ()
    assert result.existing_candidacy == ""
    assert theirs != engineering
    assert OpportunityLink.objects.filter(opportunity_id=invitable[0]).count() == 2


def test_the_database_refuses_a_second_link_in_the_organization_not_in_another(
    integration: AtsIntegration, second_group: Any
) -> None:
    data = sandbox_integration(second_group)
    globex = sandbox_integration(GroupFactory(organization=OrganizationFactory(name="Globex")))

    def link(to: AtsIntegration) -> OpportunityLink:
        candidacy = CandidacyFactory(role=RoleFactory(group=to.group))
        return OpportunityLink.objects.create(
            integration=to, candidacy=candidacy, opportunity_id="opp-1"
        )

    first = link(integration)
    with pytest.raises(IntegrityError), transaction.atomic():
        link(data)
    theirs = link(globex)

    assert first.organization == integration.group.organization
    assert theirs.organization == globex.group.organization
    assert OpportunityLink.objects.filter(opportunity_id="opp-1").count() == 2


# --- the migration ----------------------------------------------------------------------------

BEFORE = [("integrations", "0010_neutral_ats_user_id")]
AFTER = [("integrations", "0011_one_live_link_per_opportunity")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_organization_and_keeps_the_first_of_duplicate_links() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    try:
        organization = old.get_model("accounts", "Organization").objects.create(name="Acme")
        other = old.get_model("accounts", "Organization").objects.create(name="Globex")
        group_model = old.get_model("accounts", "Group")
        integration_model = old.get_model("integrations", "AtsIntegration")
        role_model = old.get_model("hiring", "Role")
        candidacy_model = old.get_model("hiring", "Candidacy")
        link_model = old.get_model("integrations", "OpportunityLink")
        update_model = old.get_model("integrations", "OutboundUpdate")

        def linked(org: Any, name: str, opportunity_id: str) -> Any:
            group = group_model.objects.create(organization=org, name=name)
            integration = integration_model.objects.create(group=group)
            role = role_model.objects.create(group=group, title="Backend")
            candidacy = candidacy_model.objects.create(
                group=group, role=role, candidate_name=name, candidate_email="a@example.com"
            )
            link_model.objects.create(
                integration=integration, candidacy=candidacy, opportunity_id=opportunity_id
            )
            return candidacy

        first = linked(organization, "Engineering", "opp-1")
        duplicate = linked(organization, "Data", "opp-1")
        elsewhere = linked(other, "Globex Engineering", "opp-1")
        for status in ("pending", "sent"):
            update_model.objects.create(
                integration_id=link_model.objects.get(candidacy_id=duplicate.pk).integration_id,
                candidacy_id=duplicate.pk,
                opportunity_id="opp-1",
                milestone="invited",
                kind="note",
                sequence=1 if status == "pending" else 2,
                status=status,
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        # Then up to the latest migrations: a database left at AFTER breaks every later test
        # that uses a column added since (the test database is reused).
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    links = {link.candidacy_id: link for link in OpportunityLink.objects.all()}
    assert set(links) == {first.pk, elsewhere.pk}
    assert links[first.pk].organization_id == organization.pk
    assert links[elsewhere.pk].organization_id == other.pk
    assert Candidacy.objects.filter(pk=duplicate.pk).exists()
    statuses = dict(
        OutboundUpdate.objects.filter(candidacy_id=duplicate.pk).values_list("status", "last_error")
    )
    assert set(statuses) == {"cancelled", "sent"}
    assert "linked to another candidacy" in statuses["cancelled"]
