"""REST API for integrations: access matrix, write-only key, same services as the pages, errors."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from integrations.models import AtsIntegration, AuditEntry, Region
from karatlever.accounts.models import Group, Organization, User
from tests.factories import GroupFactory, IntegrationFactory
from tests.integrations.conftest import API_KEY, OTHER_KEY, mark_valid

pytestmark = pytest.mark.django_db
KeyStatus = AtsIntegration.KeyStatus
LIST = "/api/v1/integrations/"


def _detail(integration: AtsIntegration) -> str:
    return f"/api/v1/integrations/{integration.public_id}/"


def _send(client: Client, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    if method in {"post", "patch"}:
        return getattr(client, method)(url, body or {}, content_type="application/json")
    return getattr(client, method)(url)


ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("get", "list", {}),
    ("post", "list", {"ats": "lever"}),
    ("get", "detail", {}),
    ("patch", "detail", {"region": "eu"}),
    ("delete", "detail", {}),
]
ROUTE_IDS = [f"{m.upper()} {name}" for m, name, _ in ROUTES]


def _call(client: Client, integration: AtsIntegration, route: tuple[str, str, dict]) -> Any:
    method, name, body = route
    if name == "list":
        body = {**body, "group": str(integration.group.code)} if method == "post" else body
        return _send(client, method, LIST, body)
    return _send(client, method, _detail(integration), body)


# --- access matrix ---------------------------------------------------------------------------


def test_the_routes_are_where_the_docs_say() -> None:
    assert reverse("api-integration-list") == LIST
    assert reverse("api-integration-detail", kwargs={"public_id": uuid.UUID(int=1)}) == (
        f"{LIST}{uuid.UUID(int=1)}/"
    )


@pytest.mark.parametrize(
    ("route", "expected"),
    [(ROUTES[0], 200), (ROUTES[1], 409), (ROUTES[2], 200), (ROUTES[3], 200), (ROUTES[4], 204)],
    ids=ROUTE_IDS,
)
def test_an_admin_can_use_every_route(
    admin_client: Client, integration: AtsIntegration, route: Any, expected: int
) -> None:
    # POST list: the group already has a Lever integration, hence the 409.
    assert _call(admin_client, integration, route).status_code == expected


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_a_recruiter_is_refused_everywhere(
    recruiter_client: Client, integration: AtsIntegration, route: Any
) -> None:
    response = _call(recruiter_client, integration, route)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    integration.refresh_from_db()
    assert integration.region == Region.US
    assert AuditEntry.objects.count() == 0


@pytest.mark.parametrize("route", ROUTES[2:], ids=ROUTE_IDS[2:])
def test_another_organizations_admin_gets_404_for_our_integration(
    outsider_client: Client, integration: AtsIntegration, route: Any
) -> None:
    response = _call(outsider_client, integration, route)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert AtsIntegration.objects.filter(pk=integration.pk, region=Region.US).exists()


def test_another_organizations_admin_lists_none_of_ours_and_cannot_create_in_our_group(
    outsider_client: Client, integration: AtsIntegration, second_group: Group
) -> None:
    assert outsider_client.get(LIST).json() == {"next": None, "previous": None, "results": []}

    response = _send(
        outsider_client, "post", LIST, {"group": str(second_group.code), "ats": "lever"}
    )

    assert response.status_code == 400
    assert "group" in response.json()["error"]["fields"]
    assert AtsIntegration.objects.count() == 1


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_anonymous_requests_are_refused(
    client: Client, integration: AtsIntegration, route: Any
) -> None:
    response = _call(client, integration, route)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "not_authenticated"
    assert AtsIntegration.objects.filter(pk=integration.pk, region=Region.US).exists()


def test_token_authentication_works(
    admin_user: User, integration: AtsIntegration, token_client: Callable[[User], Client]
) -> None:
    client = token_client(admin_user)

    response = client.get(LIST)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [str(integration.public_id)]


def test_session_writes_need_a_csrf_token(admin_user: User, integration: AtsIntegration) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = _send(client, "patch", _detail(integration), {"region": "eu"})

    assert response.status_code == 403
    integration.refresh_from_db()
    assert integration.region == Region.US


# --- behaviour ---------------------------------------------------------------------------------


def test_create_with_a_key_returns_only_its_last_four(
    admin_client: Client, admin_user: User, group: Group
) -> None:
    response = _send(
        admin_client,
        "post",
        LIST,
        {"group": str(group.code), "ats": "lever", "api_key": API_KEY, "region": "eu"},
    )

    assert response.status_code == 201
    body = response.json()
    integration = AtsIntegration.objects.get()
    assert body["id"] == str(integration.public_id)
    assert body["group"] == {"code": str(group.code), "name": group.name}
    assert body["api_key_set"] is True
    assert body["api_key_last4"] == API_KEY[-4:]
    assert body["region"] == "eu"
    assert body["key_status"] == KeyStatus.CHECKING
    assert "api_key" not in body
    assert API_KEY not in response.content.decode()
    assert integration.api_key == API_KEY
    actions = set(AuditEntry.objects.values_list("action", "actor"))
    assert (AuditEntry.Action.CREATED, admin_user.pk) in actions
    assert (AuditEntry.Action.API_KEY_SET, admin_user.pk) in actions


def test_create_without_settings_makes_an_empty_integration(
    admin_client: Client, group: Group
) -> None:
    response = _send(admin_client, "post", LIST, {"group": str(group.code), "ats": "lever"})

    assert response.status_code == 201
    assert response.json()["key_status"] == KeyStatus.NOT_SET


def test_a_duplicate_create_is_a_clear_409(
    admin_client: Client, integration: AtsIntegration
) -> None:
    response = _send(
        admin_client, "post", LIST, {"group": str(integration.group.code), "ats": "lever"}
    )

    assert response.status_code == 409
    assert "already has a Lever integration" in response.json()["error"]["message"]
    assert AtsIntegration.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ats": "greenhouse"}, "ats"),
        ({"ats": None}, "ats"),
        ({"group": str(uuid.uuid4())}, "group"),
        ({"group": "not-a-uuid"}, "group"),
        ({"api_key": "k" * 513}, "api_key"),
        ({"api_key": "lvr_TEST_abc\ndefghijklmnop"}, "api_key"),
        ({"api_key": 12345}, "api_key"),
        ({"region": "apac"}, "region"),
        ({"lever_user_id": "bob"}, "lever_user_id"),
    ],
)
def test_bad_create_input_is_a_400_naming_the_field(
    admin_client: Client, group: Group, body: dict[str, Any], field: str
) -> None:
    payload = {"group": str(group.code), "ats": "lever", **body}

    response = _send(admin_client, "post", LIST, payload)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert "defghijklmnop" not in response.content.decode()
    assert not AtsIntegration.objects.exists()


def test_malformed_json_is_a_400(admin_client: Client, group: Group) -> None:
    response = admin_client.post(LIST, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert not AtsIntegration.objects.exists()


def test_patch_changes_settings_and_keeps_the_key_when_none_is_sent(
    admin_client: Client, keyed_integration: AtsIntegration
) -> None:
    user_id = "f5057fee-4c3e-4459-82dd-21250b729601"

    response = _send(
        admin_client,
        "patch",
        _detail(keyed_integration),
        {"region": "sandbox", "lever_user_id": user_id},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["region"], body["lever_user_id"]) == ("sandbox", user_id)
    keyed_integration.refresh_from_db()
    assert keyed_integration.api_key == API_KEY


def test_patch_with_a_new_key_keeps_a_working_one_until_it_validates(
    admin_client: Client, keyed_integration: AtsIntegration
) -> None:
    mark_valid(keyed_integration)

    response = _send(admin_client, "patch", _detail(keyed_integration), {"api_key": OTHER_KEY})

    body = response.json()
    assert body["api_key_last4"] == API_KEY[-4:]
    assert body["pending_api_key_last4"] == OTHER_KEY[-4:]
    assert OTHER_KEY not in response.content.decode()


def test_patch_can_disable_and_enable(admin_client: Client, integration: AtsIntegration) -> None:
    assert (
        _send(admin_client, "patch", _detail(integration), {"enabled": False}).json()["enabled"]
        is False
    )
    assert (
        _send(admin_client, "patch", _detail(integration), {"enabled": True}).json()["enabled"]
        is True
    )
    assert AuditEntry.objects.count() == 2


@pytest.mark.parametrize(
    "body",
    [{"region": "apac"}, {"api_key": " a b c d e f g h i j "}, {"enabled": "maybe"}],
)
def test_bad_patch_input_changes_nothing(
    admin_client: Client, keyed_integration: AtsIntegration, body: dict[str, Any]
) -> None:
    before = AuditEntry.objects.count()

    response = _send(admin_client, "patch", _detail(keyed_integration), body)

    assert response.status_code == 400
    keyed_integration.refresh_from_db()
    assert (keyed_integration.api_key, keyed_integration.region) == (API_KEY, Region.US)
    assert keyed_integration.enabled is True
    assert AuditEntry.objects.count() == before


def test_delete_removes_it_and_keeps_the_audit_log(
    admin_client: Client, integration: AtsIntegration
) -> None:
    response = _send(admin_client, "delete", _detail(integration))

    assert response.status_code == 204
    assert not AtsIntegration.objects.exists()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.DELETED).exists()
    assert _send(admin_client, "get", _detail(integration)).status_code == 404


def test_unknown_methods_are_refused(admin_client: Client, integration: AtsIntegration) -> None:
    assert _send(admin_client, "put", _detail(integration)).status_code == 405
    assert _send(admin_client, "delete", LIST).status_code == 405


def test_the_openapi_schema_documents_the_integration_routes(admin_client: Client) -> None:
    response = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    schema = json.loads(response.content)

    paths = schema["paths"]
    assert set(paths["/api/v1/integrations/"]) >= {"get", "post"}
    assert set(paths["/api/v1/integrations/{public_id}/"]) >= {"get", "patch", "delete"}
    output = schema["components"]["schemas"]["IntegrationOutput"]["properties"]
    assert "api_key_last4" in output
    assert "api_key" not in output
    create = schema["components"]["schemas"]["IntegrationCreateInputRequest"]["properties"]
    assert create["api_key"]["writeOnly"] is True


# --- the invitations API's messages (its serializer lives in integrations/invites/api.py) -----


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"lever_urls": ["x"], "group": "nope"},
            "group",
            "Give the group's code (a UUID), as in GET /api/v1/integrations/ group.code.",
        ),
        # Not DRF's "Ensure this field has at least 1 elements."
        ({"lever_urls": []}, "lever_urls", "Give at least one Lever URL."),
    ],
)
def test_invitations_api_field_errors_say_what_is_expected(
    admin_client: Client,
    integration: AtsIntegration,
    body: dict[str, Any],
    field: str,
    message: str,
) -> None:
    response = _send(
        admin_client,
        "post",
        reverse("api-invitation-create"),
        {"group": str(integration.group.code), **body},
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {field: [message]}


def test_the_list_is_paged_by_cursor_in_group_order(
    admin_client: Client, organization: Organization
) -> None:
    groups = [GroupFactory(organization=organization, name=f"Team {n}") for n in (3, 1, 2)]
    made = {IntegrationFactory(group=group).public_id: group.name for group in groups}

    first = admin_client.get(LIST, {"page_size": 2}).json()
    rest = admin_client.get(first["next"]).json()
    listed = [row["id"] for row in first["results"] + rest["results"]]

    ours = [made[uuid.UUID(i)] for i in listed if uuid.UUID(i) in made]
    assert ours == sorted(ours)
    assert len(listed) == len(set(listed))
    assert rest["next"] is None
    assert admin_client.get(LIST, {"page_size": 0}).status_code == 400
