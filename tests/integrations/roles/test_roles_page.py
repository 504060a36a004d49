"""The roles page and the role-mappings API: who may use them, what they change, bad input,
and a query count that does not grow with the postings."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from integrations.models import AtsIntegration, AtsPosting, PostingSyncRun, RoleMapping
from integrations.roles.selectors import POSTINGS_PER_PAGE
from integrations.roles.services import mappings
from karatlever.accounts.models import Group, User
from karatlever.hiring.models import Role
from karatlever.hiring.services import candidacy_create, role_create

pytestmark = pytest.mark.django_db

Method = RoleMapping.Method


def add_postings(integration: AtsIntegration, count: int, *, start: int = 0) -> None:
    AtsPosting.objects.bulk_create(
        AtsPosting(
            integration=integration,
            posting_id=f"post-{i}",
            title=f"Engineer {i}",
            title_key=f"engineer {i}",
            state=("published", "internal", "closed")[i % 3],
            requisition_codes=[f"ENG-{i}"],
            team="Platform",
            location="Remote",
        )
        for i in range(start, start + count)
    )


def url(integration: AtsIntegration, name: str = "roles") -> str:
    return reverse(f"integrations:{name}", kwargs={"public_id": integration.public_id})


@pytest.fixture
def roles_integration(integration: AtsIntegration, group: Group) -> AtsIntegration:
    AtsIntegration.objects.filter(pk=integration.pk).update(key_status="valid")
    integration.refresh_from_db()
    add_postings(integration, 3)
    role_create(group=group, title="Engineer 0 role", requisition_code="ENG-0")
    role_create(group=group, title="Engineer 1")
    mappings.postings_match(integration=integration)
    return integration


ROUTES = [
    ("get", "roles", {}),
    ("get", "roles-sync-progress", {}),
    ("post", "roles-sync", {}),
    ("post", "roles-map", {"posting": "post-2", "action": "unmap"}),
    ("post", "roles-create", {"postings": "post-2"}),
]


@pytest.mark.parametrize(("method", "name", "data"), ROUTES)
def test_a_recruiter_gets_403_and_changes_nothing(
    recruiter_client: Client, roles_integration: AtsIntegration, method: str, name: str, data: Any
) -> None:
    response = getattr(recruiter_client, method)(url(roles_integration, name), data)

    assert response.status_code == 403
    assert RoleMapping.objects.filter(method__in=RoleMapping.MANUAL).count() == 0
    assert not PostingSyncRun.objects.exists()


@pytest.mark.parametrize(("method", "name", "data"), ROUTES)
def test_another_organizations_admin_gets_404(
    outsider_client: Client, roles_integration: AtsIntegration, method: str, name: str, data: Any
) -> None:
    response = getattr(outsider_client, method)(url(roles_integration, name), data)

    assert response.status_code == 404
    assert RoleMapping.objects.filter(method__in=RoleMapping.MANUAL).count() == 0


def test_the_page_lists_postings_roles_counts_and_how_each_matched(
    admin_client: Client, roles_integration: AtsIntegration
) -> None:
    response = admin_client.get(url(roles_integration))

    assert response.status_code == 200
    page_html = response.content.decode()
    for text in (
        "Engineer 0",
        "Automatically, by requisition code",
        "Engineer 1",
        "Automatically, by title",
        "Engineer 2",
        "Not matched",
        "ENG-2",
        "Platform",
        "Remote",
        "Unlisted (internal)",
    ):
        assert text in page_html
    page = response.context["page"]
    assert (page.postings_total, page.matched, page.unmatched_open) == (3, 2, 0)
    assert 'aria-current="page">Roles<' in page_html


def test_filters_narrow_the_list(admin_client: Client, roles_integration: AtsIntegration) -> None:
    unmatched = admin_client.get(url(roles_integration), {"unmatched": "1"})
    closed = admin_client.get(url(roles_integration), {"state": "closed"})
    unknown = admin_client.get(url(roles_integration), {"state": "nonsense"})

    assert [r.posting.posting_id for r in unmatched.context["page"].rows] == ["post-2"]
    assert [r.posting.posting_id for r in closed.context["page"].rows] == ["post-2"]
    assert unknown.status_code == 200
    assert len(unknown.context["page"].rows) == 3


def test_an_admin_maps_a_posting_and_the_choice_survives_matching(
    admin_client: Client, roles_integration: AtsIntegration, admin_user: User
) -> None:
    role = Role.objects.get(title="Engineer 1")

    response = admin_client.post(
        url(roles_integration, "roles-map"),
        {"posting": "post-2", "action": "map", "role": str(role.code), "unmatched": "1"},
    )

    assert response.status_code == 302
    assert response["Location"] == url(roles_integration) + "?unmatched=1#posting-post-2"
    mappings.postings_match(integration=roles_integration)
    m = RoleMapping.objects.get(posting__posting_id="post-2")
    assert (m.role, m.method, m.decided_by) == (role, Method.ADMIN, admin_user)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"posting": "post-2", "action": "map"}, "Choose the role to map this posting to."),
        (
            {"posting": "post-2", "action": "map", "role": "not-a-uuid"},
            "is not a valid UUID.",
        ),
        (
            {"posting": "post-2", "action": "map", "role": "00000000-0000-0000-0000-000000000000"},
            "Choose an active role of this integration's group.",
        ),
        ({"posting": "post-2", "action": "explode"}, "Choose map, unmap or automatic."),
        (
            {"posting": "nope", "action": "unmap"},
            "No posting 'nope' in this integration.",
        ),
        ({"action": "unmap"}, "Choose a posting."),
    ],
)
def test_bad_mapping_input_is_a_clear_400_and_changes_nothing(
    admin_client: Client, roles_integration: AtsIntegration, data: dict[str, str], error: str
) -> None:
    before = list(RoleMapping.objects.values_list("posting_id", "role_id", "method"))

    response = admin_client.post(url(roles_integration, "roles-map"), data)

    assert response.status_code == 400
    assert html.escape(error) in response.content.decode()
    assert list(RoleMapping.objects.values_list("posting_id", "role_id", "method")) == before


def test_another_groups_role_is_refused(
    admin_client: Client, roles_integration: AtsIntegration, second_group: Group
) -> None:
    foreign = role_create(group=second_group, title="Elsewhere")

    response = admin_client.post(
        url(roles_integration, "roles-map"),
        {"posting": "post-2", "action": "map", "role": str(foreign.code)},
    )

    assert response.status_code == 400
    assert not RoleMapping.objects.filter(posting__posting_id="post-2").exists()


def test_an_admin_creates_roles_from_postings_in_bulk(
    admin_client: Client, roles_integration: AtsIntegration, group: Group
) -> None:
    add_postings(roles_integration, 2, start=10)

    response = admin_client.post(
        url(roles_integration, "roles-create"), {"postings": ["post-10", "post-11"]}
    )

    assert response.status_code == 302
    created = Role.objects.filter(group=group, title__in=["Engineer 10", "Engineer 11"])
    assert sorted(created.values_list("requisition_code", flat=True)) == ["ENG-10", "ENG-11"]
    assert RoleMapping.objects.filter(method=Method.ADMIN).count() == 2


def test_creating_from_no_or_unknown_postings_is_a_400_and_creates_nothing(
    admin_client: Client, roles_integration: AtsIntegration
) -> None:
    before = Role.objects.count()

    empty = admin_client.post(url(roles_integration, "roles-create"), {})
    unknown = admin_client.post(
        url(roles_integration, "roles-create"), {"postings": ["post-2", "missing"]}
    )

    assert empty.status_code == unknown.status_code == 400
    assert "Choose at least one posting." in empty.content.decode()
    assert Role.objects.count() == before


@pytest.mark.parametrize("posting", ["\x00", "post-2\x00", "tab\there"])
def test_a_posting_id_with_a_control_character_is_a_400_and_creates_nothing(
    admin_client: Client, roles_integration: AtsIntegration, posting: str
) -> None:
    # A NUL reached PostgreSQL's text comparison (a 500 there) before the form refused it.
    before = Role.objects.count()

    response = admin_client.post(url(roles_integration, "roles-create"), {"postings": [posting]})

    assert response.status_code == 400
    assert "That is not a posting id." in response.content.decode()
    assert Role.objects.count() == before


def test_sync_now_queues_a_full_sync_and_shows_its_progress(
    admin_client: Client, roles_integration: AtsIntegration, memory_broker: Any
) -> None:
    response = admin_client.post(url(roles_integration, "roles-sync"), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    run = PostingSyncRun.objects.get()
    assert (run.kind, run.status) == ("full", "queued")
    partial = response.content.decode()
    assert 'hx-trigger="every 1s"' in partial
    assert "<progress" in partial

    polled = admin_client.get(
        url(roles_integration, "roles-sync-progress"), {"polling": "1"}, HTTP_HX_REQUEST="true"
    )
    assert polled.status_code == 200
    assert 'hx-trigger="every 1s"' in polled.content.decode()

    PostingSyncRun.objects.filter(pk=run.pk).update(status="succeeded")
    done = admin_client.get(
        url(roles_integration, "roles-sync-progress"), {"polling": "1"}, HTTP_HX_REQUEST="true"
    )
    assert done.headers["HX-Refresh"] == "true"


def test_sync_now_needs_a_valid_key(admin_client: Client, integration: AtsIntegration) -> None:
    response = admin_client.post(url(integration, "roles-sync"))

    assert response.status_code == 302
    assert not PostingSyncRun.objects.exists()


def test_the_page_runs_the_same_queries_for_5_or_120_postings(
    admin_client: Client,
    roles_integration: AtsIntegration,
    group: Group,
    django_assert_num_queries: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for i in range(3):
        role = role_create(group=group, title=f"Role {i}")
        candidacy_create(role=role, candidate_name="A", candidate_email=f"a{i}@example.com")
    add_postings(roles_integration, 2, start=100)
    mappings.postings_match(integration=roles_integration)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert admin_client.get(url(roles_integration)).status_code == 200

    add_postings(roles_integration, 115, start=200)
    for i in range(3, 20):
        role_create(group=group, title=f"Engineer {200 + i}", requisition_code=f"R{i}")
    mappings.postings_match(integration=roles_integration)

    with django_assert_num_queries(len(small.captured_queries)):
        response = admin_client.get(url(roles_integration))
    assert len(response.context["page"].rows) == POSTINGS_PER_PAGE  # paginated
    with django_assert_max_num_queries(len(small.captured_queries)):
        admin_client.get(url(roles_integration), {"page": "3", "unmatched": "1"})


# --- the API ----------------------------------------------------------------------------------


def api_url(integration: AtsIntegration, posting_id: str | None = None) -> str:
    base = f"/api/v1/integrations/{integration.public_id}/role-mappings/"
    return f"{base}{posting_id}/" if posting_id else base


def put(client: Client, path: str, body: Any) -> Any:
    return client.put(path, json.dumps(body), content_type="application/json")


def test_the_api_lists_postings_with_their_roles(
    roles_integration: AtsIntegration, admin_user: User, token_client: Callable[[User], Client]
) -> None:
    client = token_client(admin_user)

    response = client.get(api_url(roles_integration))
    unmatched = client.get(api_url(roles_integration), {"unmatched": "true"})

    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 3
    assert body["next"] is None
    first = body["results"][0]
    assert first["posting_id"] == "post-0"
    assert first["method"] == "requisition_code"
    assert first["role"]["title"] == "Engineer 0 role"
    assert first["requisition_codes"] == ["ENG-0"]
    assert [r["posting_id"] for r in unmatched.json()["results"]] == ["post-2"]


def test_the_api_maps_unmaps_and_resets_one_posting(
    roles_integration: AtsIntegration, admin_user: User, token_client: Callable[[User], Client]
) -> None:
    client = token_client(admin_user)
    role = Role.objects.get(title="Engineer 1")

    mapped = put(client, api_url(roles_integration, "post-0"), {"role": str(role.code)})
    assert mapped.status_code == 200
    assert (mapped.json()["method"], mapped.json()["role"]["code"]) == ("admin", str(role.code))
    assert mapped.json()["decided_by"] == admin_user.email

    unmapped = put(client, api_url(roles_integration, "post-0"), {"role": None})
    assert (unmapped.json()["method"], unmapped.json()["role"]) == ("unmapped", None)

    reset = put(client, api_url(roles_integration, "post-0"), {"automatic": True})
    assert reset.json()["method"] == "requisition_code"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"role": "not-a-uuid"},
        {"role": "00000000-0000-0000-0000-000000000000"},
        {"automatic": False},
        {"role": None, "automatic": True},
        ["role"],
    ],
)
def test_bad_api_input_is_a_400_and_changes_nothing(
    roles_integration: AtsIntegration,
    admin_user: User,
    token_client: Callable[[User], Client],
    body: Any,
) -> None:
    before = list(RoleMapping.objects.values_list("posting_id", "role_id", "method"))

    response = put(token_client(admin_user), api_url(roles_integration, "post-0"), body)

    assert response.status_code == 400
    assert "error" in response.json()
    assert list(RoleMapping.objects.values_list("posting_id", "role_id", "method")) == before


def test_the_api_is_404_for_an_unknown_posting_and_another_organization(
    roles_integration: AtsIntegration,
    admin_user: User,
    outsider_user: User,
    token_client: Callable[[User], Client],
) -> None:
    assert (
        put(
            token_client(admin_user), api_url(roles_integration, "nope"), {"role": None}
        ).status_code
        == 404
    )
    outsider = token_client(outsider_user)
    assert outsider.get(api_url(roles_integration)).status_code == 404
    assert put(outsider, api_url(roles_integration, "post-0"), {"role": None}).status_code == 404
    assert not RoleMapping.objects.filter(method__in=RoleMapping.MANUAL).exists()


@pytest.mark.parametrize("posting", ["%00", "post-2%00", "%1f"])
def test_a_posting_id_with_a_control_character_in_the_api_path_is_a_json_404(
    roles_integration: AtsIntegration,
    admin_user: User,
    token_client: Callable[[User], Client],
    posting: str,
) -> None:
    client = token_client(admin_user)
    path = f"{api_url(roles_integration)}{posting}/"

    got = client.get(path)
    changed = put(client, path, {"role": None})

    assert (got.status_code, changed.status_code) == (404, 404)
    assert "error" in got.json()
    assert not RoleMapping.objects.filter(method__in=RoleMapping.MANUAL).exists()


def test_the_api_refuses_recruiters(
    roles_integration: AtsIntegration,
    recruiter_user: User,
    token_client: Callable[[User], Client],
) -> None:
    client = token_client(recruiter_user)

    assert client.get(api_url(roles_integration)).status_code == 403
    assert put(client, api_url(roles_integration, "post-0"), {"role": None}).status_code == 403


def test_the_status_page_shows_the_posting_counts_and_links_the_roles_page(
    admin_client: Client, roles_integration: AtsIntegration
) -> None:
    PostingSyncRun.objects.create(integration=roles_integration, kind="full", status="succeeded")

    page = admin_client.get(url(roles_integration, "status")).content.decode()

    feature = page[page.index('id="feature-role_matching"') :]
    assert "<dt>Matched to a Karat role</dt><dd>2</dd>" in feature
    assert f'href="{url(roles_integration)}"' in feature
