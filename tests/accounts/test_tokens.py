"""REST API tokens: hashed at rest, shown once, listed without the secret, revocable by their owner."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.models import AtsIntegration
from karatlever.accounts.models import ApiToken, User
from karatlever.accounts.tokens import TOKENS_PER_USER_MAX, api_token_create

pytestmark = pytest.mark.django_db
TOKENS = "/api/v1/tokens/"
INTEGRATIONS = "/api/v1/integrations/"


def _create(client: Client, **body: Any) -> Any:
    return client.post(TOKENS, body, content_type="application/json")


def _bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


def _every_stored_value() -> list[str]:
    """Every value of every row of every table, as text."""
    values: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            values.extend(str(value) for row in cursor.fetchall() for value in row)
    return values


def test_the_routes_are_where_the_docs_say() -> None:
    assert reverse("api-token-list") == TOKENS
    code = uuid.UUID(int=7)
    assert reverse("api-token-detail", kwargs={"code": code}) == f"{TOKENS}{code}/"
    assert reverse("api-token-revoke-all") == f"{TOKENS}revoke-all/"


def test_drf_authtoken_is_gone_and_knox_authenticates() -> None:
    assert "rest_framework.authtoken" not in settings.INSTALLED_APPS
    classes = list(settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] or [])
    assert "rest_framework.authentication.TokenAuthentication" not in classes
    assert "knox.auth.TokenAuthentication" in classes
    assert "authtoken_token" not in connection.introspection.table_names()


def test_a_created_token_is_shown_once_and_authenticates(
    admin_client: Client, admin_user: User, integration: AtsIntegration
) -> None:
    response = _create(admin_client, name="nightly sync", expires_in_days=30)

    assert response.status_code == 201
    body = response.json()
    token = body["token"]
    assert token.startswith("kl_")
    assert token.startswith(body["prefix"])
    assert body["name"] == "nightly sync"
    row = ApiToken.objects.get(code=body["id"])
    assert row.user == admin_user
    assert row.expiry is not None
    assert timedelta(days=29) < row.expiry - timezone.now() <= timedelta(days=30)

    listed = _bearer(token).get(INTEGRATIONS)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["results"]] == [str(integration.public_id)]


def test_the_database_holds_no_plaintext_token(admin_client: Client, admin_user: User) -> None:
    made_by_api = _create(admin_client).json()["token"]
    out = io.StringIO()
    call_command("create_api_token", admin_user.email, stdout=out, stderr=io.StringIO())
    made_by_command = out.getvalue().strip()

    rows = list(ApiToken.objects.filter(user=admin_user))
    assert len(rows) == 2
    stored = _every_stored_value()
    for token in (made_by_api, made_by_command):
        assert _bearer(token).get(TOKENS).status_code == 200
        assert not [value for value in stored if token in value]
        # Only the digest and a short prefix: the rest of the secret appears nowhere.
        assert not [value for value in stored if token[-32:] in value]
        digest = hashlib.sha512(token.encode()).hexdigest()
        assert digest in {row.digest for row in rows}


def test_the_list_shows_metadata_never_the_token_or_its_digest(
    admin_client: Client, admin_user: User, token_for: Callable[[User], str]
) -> None:
    token = token_for(admin_user)
    row = ApiToken.objects.get(user=admin_user)

    response = admin_client.get(TOKENS)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert response.json()["next"] is None
    assert rows == [
        {
            "id": str(row.code),
            "name": "",
            "prefix": row.token_key,
            "created": rows[0]["created"],
            "expiry": rows[0]["expiry"],
        }
    ]
    assert token not in response.content.decode()
    assert row.digest not in response.content.decode()


def test_the_list_shows_only_your_own_live_tokens(
    admin_client: Client,
    admin_user: User,
    recruiter_user: User,
    token_for: Callable[[User], str],
) -> None:
    token_for(admin_user)
    token_for(recruiter_user)
    expired = api_token_create(user=admin_user)[0]
    ApiToken.objects.filter(pk=expired.pk).update(expiry=timezone.now() - timedelta(seconds=1))

    ids = [item["id"] for item in admin_client.get(TOKENS).json()["results"]]

    live = ApiToken.objects.filter(user=admin_user).exclude(pk=expired.pk)
    assert len(ids) == 1
    assert ids == [str(code) for code in live.values_list("code", flat=True)]


def test_the_admin_shows_token_metadata_only(admin_user: User) -> None:
    superuser = User.objects.create_superuser("ops@karat.test", "pw-not-used-in-tests")
    staff = Client()
    staff.force_login(superuser)
    out = io.StringIO()
    call_command(
        "create_api_token", admin_user.email, "--name=ci", stdout=out, stderr=io.StringIO()
    )
    token = out.getvalue().strip()
    row = ApiToken.objects.get(user=admin_user)

    changelist = staff.get(reverse("admin:accounts_apitoken_changelist")).content.decode()
    change = staff.get(reverse("admin:accounts_apitoken_change", args=[row.pk])).content.decode()

    for page in (changelist, change):
        assert row.token_key in page  # the prefix, to tell tokens apart
        assert token not in page
        assert row.digest not in page
        assert row.digest[:16] not in page
    assert staff.get(reverse("admin:accounts_apitoken_add")).status_code == 403
    # The old plaintext token admin is gone.
    assert "/admin/authtoken/" not in staff.get(reverse("admin:index")).content.decode()


def test_revoking_a_token_stops_it_working(
    admin_user: User, token_for: Callable[[User], str]
) -> None:
    token = token_for(admin_user)
    row = ApiToken.objects.get(user=admin_user)
    client = _bearer(token)
    assert client.get(TOKENS).status_code == 200

    assert client.delete(f"{TOKENS}{row.code}/").status_code == 204

    refused = client.get(TOKENS)
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == "Token"
    assert refused.json()["error"]["code"] == "authentication_failed"
    assert not ApiToken.objects.filter(pk=row.pk).exists()


def test_another_users_token_cannot_be_revoked(
    admin_client: Client,
    outsider_user: User,
    recruiter_user: User,
    token_for: Callable[[User], str],
) -> None:
    theirs = token_for(outsider_user)
    colleague = token_for(recruiter_user)
    outsider_row = ApiToken.objects.get(user=outsider_user)
    colleague_row = ApiToken.objects.get(user=recruiter_user)

    # A session of another user, and another user's token: both a 404, as for no token at all.
    assert admin_client.delete(f"{TOKENS}{outsider_row.code}/").status_code == 404
    assert admin_client.delete(f"{TOKENS}{colleague_row.code}/").status_code == 404
    assert _bearer(theirs).delete(f"{TOKENS}{colleague_row.code}/").status_code == 404
    assert admin_client.delete(f"{TOKENS}{uuid.uuid4()}/").status_code == 404
    assert admin_client.delete(f"{TOKENS}{outsider_row.pk}/").status_code == 404  # not a code

    assert ApiToken.objects.count() == 2
    assert _bearer(theirs).get(TOKENS).status_code == 200
    assert _bearer(colleague).get(TOKENS).status_code == 200


def test_revoke_all_signs_out_every_token_of_yours_only(
    admin_user: User, recruiter_user: User, token_for: Callable[[User], str]
) -> None:
    first, second = token_for(admin_user), token_for(admin_user)
    others = token_for(recruiter_user)

    assert _bearer(first).post(f"{TOKENS}revoke-all/").status_code == 204

    assert _bearer(first).get(TOKENS).status_code == 401
    assert _bearer(second).get(TOKENS).status_code == 401
    assert _bearer(others).get(TOKENS).status_code == 200


def test_a_token_cannot_make_more_tokens(
    admin_user: User, token_for: Callable[[User], str]
) -> None:
    response = _create(_bearer(token_for(admin_user)))

    assert response.status_code == 403
    assert ApiToken.objects.filter(user=admin_user).count() == 1


def test_anonymous_requests_are_refused(client: Client) -> None:
    for response in (client.get(TOKENS), _create(client), client.post(f"{TOKENS}revoke-all/")):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert response.json()["error"]["code"] == "not_authenticated"
    assert not ApiToken.objects.exists()


def test_session_token_creation_needs_a_csrf_token(admin_user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    assert _create(client).status_code == 403
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("days", [0, 366, "soon"])
def test_a_bad_lifetime_is_a_400(admin_client: Client, days: Any) -> None:
    response = _create(admin_client, expires_in_days=days)

    assert response.status_code == 400
    assert "expires_in_days" in response.json()["error"]["fields"]


def test_tokens_per_user_are_capped(admin_client: Client, admin_user: User) -> None:
    for _ in range(TOKENS_PER_USER_MAX):
        api_token_create(user=admin_user)

    response = _create(admin_client)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "too_many_tokens"


def test_an_expired_token_is_refused(admin_user: User) -> None:
    out = io.StringIO()
    call_command("create_api_token", admin_user.email, "--days=1", stdout=out, stderr=io.StringIO())
    token = out.getvalue().strip()
    assert _bearer(token).get(TOKENS).status_code == 200

    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        assert _bearer(token).get(TOKENS).status_code in {401, 403}


def test_the_command_refuses_unknown_and_inactive_users(admin_user: User) -> None:
    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "nobody@acme.test", stdout=io.StringIO())
    admin_user.is_active = False
    admin_user.save()
    with pytest.raises(CommandError, match="deactivated"):
        call_command("create_api_token", admin_user.email, stdout=io.StringIO())
    assert not ApiToken.objects.exists()


def test_the_openapi_schema_documents_token_auth_and_routes(admin_client: Client) -> None:
    schema = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert set(schema["paths"][TOKENS]) >= {"get", "post"}
    assert "delete" in schema["paths"][f"{TOKENS}{{code}}/"]
    listed = schema["components"]["schemas"]["TokenOutput"]["properties"]
    assert "token" not in listed
    assert "digest" not in listed
    assert schema["components"]["securitySchemes"]["knoxApiToken"]["in"] == "header"
