"""Junk in every form field, query string and JSON body of every route: never a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from integrations.models import AtsIntegration
from karatlever.accounts.models import Group
from tests.factories import CandidacyFactory, RoleFactory
from tests.routes import all_routes, route_fill
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"

JUNK_VALUES = [
    "",
    " ",
    "x" * 100_000,
    "\x00",
    "'; DROP TABLE accounts_user; --",
    "<script>alert(1)</script>",
    "-1",
    "99999999999999999999999999",
    "NaN",
    "ﬁ𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]
# Every field name any form or API of the console reads, plus a few that none does.
FIELD_NAMES = [
    "group", "ats", "api_key", "lever_user_id", "ats_user_id", "region", "enabled", "confirm", "title",
    "requisition_code", "active", "status", "recommendation", "event", "outcome", "page", "q",
    "candidateStageChange", "candidateArchiveChange", "candidateHired", "username", "password",
    "next", "unknown_field",
    # The candidates page's filters, the milestone form and the progress events API.
    "role", "stage", "archived", "hired", "milestone", "scheduled_at", "summary", "report_url",
    "type", "event_id", "page_size",
    # The roles page and the role-mappings API.
    "posting", "postings", "action", "unmatched", "state", "automatic",
    # Post candidacy updates: the activity actions and the note preview.
    "update", "candidacy", "outbound-template_invited", "outbound-perform_as",
    # A Lever link attached to a candidacy later (its page's buttons and the API).
    "url", "check", "attach",
]  # fmt: skip


def _routes() -> list[str]:
    # Django's own admin is out of scope; the accounts routes are exercised as anonymous below.
    return [r for r in all_routes() if not r.startswith("admin/")]


@pytest.fixture
def ids(group: Group, admin_user: Any) -> dict[str, str]:
    integration = AtsIntegration.objects.create(group=group)
    role = RoleFactory(group=group)
    candidacy = CandidacyFactory(role=role)
    delivery = WebhookDelivery.objects.create(
        integration=integration, event="candidateHired", token="t" * 48, triggered_at_ms=1
    )
    return {
        "code": str(candidacy.code),
        "public_id": str(integration.public_id),
        "ats": integration.ats,
        "delivery_id": str(delivery.pk),
        "posting_id": "posting-1",
        # A role follower that does not exist: its routes answer 404.
        "follower_id": "999999",
    }


def _roles_codes(route: str, ids: dict[str, str], role_code: str) -> dict[str, str]:
    # /roles/<code>/ routes take a role's code, /candidates/<code>/ a candidacy's.
    return {**ids, "code": role_code} if route.startswith("roles/") else ids


@pytest.mark.parametrize("value", JUNK_VALUES, ids=range(len(JUNK_VALUES)))
def test_junk_input_on_every_route_never_gives_a_server_error(
    admin_client: Client, ids: dict[str, str], value: str
) -> None:
    role_code = str(RoleFactory(group_id=AtsIntegration.objects.get().group_id).code)
    payload = dict.fromkeys(FIELD_NAMES, value)
    failures = []

    # Deleting the integration would turn every later route into a 404: delete last.
    for route in sorted(_routes(), key=lambda r: r.endswith("delete/")):
        url = route_fill(route, _roles_codes(route, ids, role_code))
        if url == "/accounts/logout/":
            continue  # would end the admin's session for the routes after it
        for method, kwargs in (
            ("get", {"data": payload}),
            ("post", {"data": payload}),
            ("post", {"data": {"json": value}, "content_type": "application/json"}),
            ("post", {"data": value.encode(), "content_type": "application/json"}),
            # Bytes that are not UTF-8 at all, as a form body.
            ("post", {"data": b"\xff\xfe=\xfd" + value.encode(), "content_type": FORM}),
        ):
            response = getattr(admin_client, method)(url, **kwargs)
            if response.status_code >= 500:
                failures.append(f"{method.upper()} {url} → {response.status_code}")

    assert failures == []
