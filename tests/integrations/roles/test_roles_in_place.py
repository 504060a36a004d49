"""The Roles pages (issue 20, item 8): the hiring Roles page leads to the postings and their
matching; Map and Create update their row in place (htmx) or return to it (no JavaScript); the
Candidacies column counts the posting's own candidacies; mapping and creating are audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from integrations.invites.services.create import invite_create
from integrations.invites.services.preview import invite_preview
from integrations.lever.sandbox import demo_data
from integrations.models import AtsIntegration, AtsPosting, AuditEntry, RoleMapping
from integrations.roles import selectors
from integrations.roles.matching import title_key
from integrations.roles.services import mappings
from integrations.roles.services.sync import postings_sync_request, postings_sync_run
from karatlever.accounts.models import Group, User
from karatlever.hiring.models import Candidacy, Role
from karatlever.hiring.services import role_create
from tests.factories import CandidacyFactory, IntegrationFactory
from tests.integrations.conftest import posting_of
from tests.integrations.invites.conftest import url_of

pytestmark = pytest.mark.django_db

Action = AuditEntry.Action


def url(integration: AtsIntegration, name: str = "roles") -> str:
    return reverse(f"integrations:{name}", kwargs={"public_id": integration.public_id})


def posting(integration: AtsIntegration, posting_id: str, title: str, *codes: str) -> AtsPosting:
    return AtsPosting.objects.create(
        integration=integration,
        posting_id=posting_id,
        title=title,
        title_key=title_key(title),
        state="published",
        requisition_codes=list(codes),
    )


@pytest.fixture
def roles_integration(integration: AtsIntegration, group: Group) -> AtsIntegration:
    AtsIntegration.objects.filter(pk=integration.pk).update(key_status="valid")
    integration.refresh_from_db()
    posting(integration, "post-1", "Backend Engineer", "ENG-1")
    posting(integration, "post-2", "Compiler Engineer")
    role_create(group=group, title="Backend", requisition_code="ENG-1")
    role_create(group=group, title="Platform")
    mappings.postings_match(integration=integration)
    return integration


# --- the hiring Roles page leads to the postings ----------------------------------------------


def test_the_hiring_roles_page_links_to_the_integrations_postings_and_matching(
    admin_client: Client, roles_integration: AtsIntegration, group: Group
) -> None:
    response = admin_client.get(reverse("hiring:role-list"), {"group": str(group.code)})

    assert response.status_code == 200
    page = response.content.decode()
    assert f'href="{url(roles_integration)}"' in page
    assert "Lever postings and matching" in page


def test_the_link_is_for_admins_and_only_to_the_shown_groups_integration(
    admin_client: Client,
    recruiter_client: Client,
    roles_integration: AtsIntegration,
    group: Group,
    second_group: Group,
) -> None:
    other = IntegrationFactory(group=second_group)

    recruiter_page = recruiter_client.get(reverse("hiring:role-list"), {"group": str(group.code)})
    second_page = admin_client.get(reverse("hiring:role-list"), {"group": str(second_group.code)})

    # The postings page is an admin's (Settings): a recruiter would only meet a 403 there.
    assert url(roles_integration) not in recruiter_page.content.decode()
    assert url(other) in second_page.content.decode()
    assert url(roles_integration) not in second_page.content.decode()


def test_a_group_without_an_integration_gets_no_link(
    admin_client: Client, second_group: Group
) -> None:
    response = admin_client.get(reverse("hiring:role-list"), {"group": str(second_group.code)})

    assert response.status_code == 200
    assert "postings and matching" not in response.content.decode()


# --- Map and Create update their row ----------------------------------------------------------


def test_an_htmx_map_answers_with_only_the_updated_row(
    admin_client: Client, roles_integration: AtsIntegration
) -> None:
    platform = Role.objects.get(title="Platform")

    response = admin_client.post(
        url(roles_integration, "roles-map"),
        {"posting": "post-2", "action": "map", "role": str(platform.code), "page": "1"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    row = response.content.decode().strip()
    assert row.startswith('<tr id="posting-post-2"')
    assert row.count("<tr") == 1
    assert "<html" not in row
    # Whatever is not out of band goes into the table with the row: nothing but the row.
    assert "<dt" not in row
    assert "Platform" in row
    assert "By an admin" in row
    assert "Mapped to Platform." in row
    # the whole-page counts follow, out of band
    assert 'id="count-matched" hx-swap-oob="true">2<' in row
    assert RoleMapping.objects.get(posting__posting_id="post-2").role == platform


def test_an_htmx_unmap_and_reset_answer_with_the_row(
    admin_client: Client, roles_integration: AtsIntegration
) -> None:
    unmapped = admin_client.post(
        url(roles_integration, "roles-map"),
        {"posting": "post-1", "action": "unmap"},
        HTTP_HX_REQUEST="true",
    )
    reset = admin_client.post(
        url(roles_integration, "roles-map"),
        {"posting": "post-1", "action": "automatic"},
        HTTP_HX_REQUEST="true",
    )

    assert unmapped.status_code == reset.status_code == 200
    assert "Left unmatched." in unmapped.content.decode()
    assert "Automatically, by requisition code" in reset.content.decode()
    assert reset.content.decode().strip().startswith('<tr id="posting-post-1"')


def test_an_htmx_create_answers_with_the_row_and_its_new_role(
    admin_client: Client, roles_integration: AtsIntegration, group: Group
) -> None:
    response = admin_client.post(
        url(roles_integration, "roles-create"), {"postings": "post-2"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    row = response.content.decode().strip()
    assert row.startswith('<tr id="posting-post-2"')
    assert row.count("<tr") == 1
    assert "Created the Karat role “Compiler Engineer”." in row
    role = Role.objects.get(group=group, title="Compiler Engineer")
    assert reverse("hiring:role-edit", args=[role.code]) in row


def test_bad_htmx_input_is_a_400_naming_the_problem_and_changes_nothing(
    admin_client: Client, roles_integration: AtsIntegration
) -> None:
    before = list(RoleMapping.objects.values_list("posting_id", "role_id", "method"))

    response = admin_client.post(
        url(roles_integration, "roles-map"),
        {"posting": "post-2", "action": "map"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "Choose the role to map this posting to." in body
    assert "<html" not in body
    assert list(RoleMapping.objects.values_list("posting_id", "role_id", "method")) == before


def test_without_javascript_map_and_create_return_to_the_row(
    admin_client: Client, roles_integration: AtsIntegration
) -> None:
    platform = Role.objects.get(title="Platform")

    mapped = admin_client.post(
        url(roles_integration, "roles-map"),
        {"posting": "post-2", "action": "map", "role": str(platform.code), "unmatched": "1"},
    )
    created = admin_client.post(
        url(roles_integration, "roles-create"), {"postings": "post-1", "page": "1"}
    )

    assert mapped.status_code == created.status_code == 302
    assert mapped["Location"] == url(roles_integration) + "?unmatched=1#posting-post-2"
    assert created["Location"] == url(roles_integration) + "?page=1#posting-post-1"
    followed = admin_client.get(mapped["Location"])
    assert "Mapped to Platform." in followed.content.decode()


def test_the_bulk_create_returns_to_the_page_without_an_anchor(
    admin_client: Client, roles_integration: AtsIntegration
) -> None:
    posting(roles_integration, "post-3", "Security Engineer")

    response = admin_client.post(
        url(roles_integration, "roles-create"), {"postings": ["post-2", "post-3"]}
    )

    assert response.status_code == 302
    assert response["Location"] == url(roles_integration)


# --- the Candidacies column -------------------------------------------------------------------


def test_a_posting_counts_the_candidacies_invited_from_it_not_its_roles(
    lever_integration: AtsIntegration, invitable: list[str], admin_user: User
) -> None:
    postings_sync_run(run_id=postings_sync_request(integration=lever_integration, kind="full").pk)
    opportunity_id = invitable[0]
    applied = posting_of(opportunity_id)["id"]
    draft = next(
        p["id"] for p in demo_data().postings if p["state"] == "draft" and p["id"] != applied
    )
    role = role_create(group=lever_integration.group, title="Shared role")
    for posting_id in (applied, draft):
        mappings.role_mapping_set(
            integration=lever_integration, posting_id=posting_id, role=role, actor=admin_user
        )
    # Candidacies of the role from before Karat remembered postings (or typed in by hand).
    CandidacyFactory.create_batch(3, role=role, group=role.group)

    preview = invite_preview(
        group=lever_integration.group, integration=lever_integration, url=url_of(opportunity_id)
    )
    outcome = invite_create(
        integration=lever_integration, preview=preview, role=role, actor=admin_user
    )

    assert outcome.invited, outcome.message
    assert outcome.candidacy is not None
    counts = {  # every page of postings (25 a page)
        row.posting.posting_id: row.candidacy_count
        for page in range(1, 5)
        for row in selectors.roles_page(integration=lever_integration, page=page).rows
    }
    assert counts[draft] == 0  # nobody applied to the draft, whatever its role has
    assert counts[applied] == 1
    assert Candidacy.objects.get(pk=outcome.candidacy.pk).ats_posting_id == applied


# --- the audit log ----------------------------------------------------------------------------


def _entries(integration: AtsIntegration) -> list[tuple[str, str, Any, dict[str, Any]]]:
    return [
        (e.action, e.summary, e.actor, e.detail)
        for e in AuditEntry.objects.filter(integration=integration).order_by("id")
    ]


def test_mapping_unmapping_and_resetting_are_audited(
    roles_integration: AtsIntegration, admin_user: User
) -> None:
    platform = Role.objects.get(title="Platform")

    mappings.role_mapping_set(
        integration=roles_integration, posting_id="post-2", role=platform, actor=admin_user
    )
    mappings.role_mapping_set(
        integration=roles_integration, posting_id="post-1", role=None, actor=admin_user
    )
    mappings.role_mapping_reset(
        integration=roles_integration, posting_id="post-1", actor=admin_user
    )

    backend = Role.objects.get(title="Backend")
    assert _entries(roles_integration) == [
        (
            Action.ROLE_MAPPED,
            "Posting “Compiler Engineer” mapped to the Karat role “Platform”",
            admin_user,
            {"posting_id": "post-2", "role": str(platform.code), "previous_role": None},
        ),
        (
            Action.ROLE_UNMAPPED,
            "Posting “Backend Engineer” left unmatched (was “Backend”)",
            admin_user,
            {"posting_id": "post-1", "role": None, "previous_role": str(backend.code)},
        ),
        (
            Action.ROLE_MAPPING_RESET,
            "Posting “Backend Engineer” matched automatically again: “Backend”",
            admin_user,
            {"posting_id": "post-1", "role": str(backend.code), "previous_role": None},
        ),
    ]


def test_creating_roles_from_postings_is_audited_once_per_role(
    admin_client: Client, roles_integration: AtsIntegration, admin_user: User
) -> None:
    posting(roles_integration, "post-3", "Security Engineer", "SEC-1")

    response = admin_client.post(
        url(roles_integration, "roles-create"), {"postings": ["post-2", "post-3"]}
    )

    assert response.status_code == 302
    compiler = Role.objects.get(title="Compiler Engineer")
    security = Role.objects.get(title="Security Engineer")
    assert _entries(roles_integration) == [
        (
            Action.ROLE_CREATED,
            "Karat role “Compiler Engineer” created from the posting “Compiler Engineer”",
            admin_user,
            {"posting_id": "post-2", "role": str(compiler.code), "requisition_code": ""},
        ),
        (
            Action.ROLE_CREATED,
            "Karat role “Security Engineer” created from the posting “Security Engineer”",
            admin_user,
            {"posting_id": "post-3", "role": str(security.code), "requisition_code": "SEC-1"},
        ),
    ]


def test_a_refused_mapping_or_creation_is_not_audited(
    admin_client: Client, roles_integration: AtsIntegration
) -> None:
    admin_client.post(url(roles_integration, "roles-map"), {"posting": "nope", "action": "unmap"})
    admin_client.post(url(roles_integration, "roles-create"), {"postings": ["post-2", "missing"]})

    assert _entries(roles_integration) == []
