"""Generated input: hypothesis against the webhook receiver; every object route of the URL conf
asked for by another organization's admin; the secrets canary over every page, API answer and
log line.

In-process (Django's test client, the run's own test database): these need no outage, only
many inputs, and are fast.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.invites.services.emails import invitation_email_queue, invitation_email_send
from integrations.lever.adapter import WebhookEvent
from integrations.models import AtsIntegration, WebhookSubscription
from karatlever.accounts.models import Group
from karatlever.hiring.models import Candidacy
from tests.factories import RoleFactory
from tests.routes import all_routes, route_fill
from tests.test_no_server_errors import _roles_codes, ids  # noqa: F401 - the route ids fixture
from tests.webhooks.conftest import EXAMPLE_TOKENS, make_delivery
from webhooks.models import WebhookDelivery

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

OPPORTUNITY = "8f2c6a1e-4b7d-4c0e-9a35-2d1e7f6b9c40"


@pytest.fixture
def receiver(group: Group) -> str:
    """An integration with the three example tokens: its receiver path."""
    integration = AtsIntegration.objects.create(group=group)
    for event, token in EXAMPLE_TOKENS.items():
        WebhookSubscription.objects.create(
            integration=integration,
            event=event,
            signature_token=token,
            signature_token_last4=token[-4:],
        )
    return f"/webhooks/lever/{integration.public_id}/"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
DELIVERY_KEYS = ["triggeredAt", "event", "signature", "token", "data", "id"]


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    """Raw bytes, arbitrary JSON, or a signed delivery with one field changed or dropped."""
    kind = draw(st.sampled_from(["bytes", "json", "tampered", "dropped"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300)), draw(
            st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"])
        )
    if kind == "json":
        return json.dumps(draw(json_values)).encode(), "application/json"
    event = draw(st.sampled_from(list(WebhookEvent.values)))
    delivery = make_delivery(event, opportunity_id=OPPORTUNITY)
    key = draw(st.sampled_from([*sorted(delivery), *DELIVERY_KEYS]))
    if kind == "dropped":
        delivery.pop(key, None)
    else:
        delivery[key] = draw(json_values)
    return json.dumps(delivery).encode(), "application/json"


FUZZ_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,  # no example database left in the checkout
    suppress_health_check=[HealthCheck.too_slow],
)


def test_webhook_fuzz_never_a_5xx_and_never_a_row_for_a_rejected_request(
    receiver: str, figures: Callable[..., None]
) -> None:
    answers: Counter[int] = Counter()

    @FUZZ_SETTINGS
    @given(body=bodies())
    def post_one(body: tuple[bytes, str]) -> None:
        client = Client(REMOTE_ADDR="10.9.8.7")
        before = WebhookDelivery.objects.count()
        response = client.post(receiver, data=body[0], content_type=body[1])
        answers[response.status_code] += 1
        assert response.status_code < 500
        stored = WebhookDelivery.objects.count() - before
        if response.status_code != 200:
            assert stored == 0, (response.status_code, response.content)
        else:
            assert stored <= 1

    post_one()
    figures(requests=sum(answers.values()), answers=dict(sorted(answers.items())))


# --- tenant isolation, generated from the URL conf -------------------------------------------

PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def _object_routes() -> list[str]:
    """Every console and API route that names an object (the webhook receiver's are signed,
    Django's admin is for staff)."""
    return [
        r for r in all_routes() if PARAMETER.search(r) and not r.startswith(("admin/", "webhooks/"))
    ]


def test_every_object_route_is_a_404_for_another_organizations_admin(
    outsider_client: Client,
    ids: dict[str, str],  # noqa: F811 - the imported fixture
    figures: Callable[..., None],
) -> None:
    role_code = str(RoleFactory(group_id=AtsIntegration.objects.get().group_id).code)
    routes = _object_routes()
    assert len(routes) > 10
    failures = []
    answers: Counter[int] = Counter()
    for route in routes:
        url = route_fill(route, _roles_codes(route, ids, role_code))
        for method in ("get", "post"):
            response = getattr(outsider_client, method)(url)
            answers[response.status_code] += 1
            if response.status_code not in {404, 405}:
                failures.append(f"{method.upper()} {url} → {response.status_code}")
    figures(routes=len(routes), answers=dict(sorted(answers.items())))
    assert failures == []


# --- the secrets canary -----------------------------------------------------------------------

CANARY_KEY = "lvr_CANARY_KEY_reliability_0123456789abcdef"
CANARY_TOKEN = "sigtok_CANARY_TOKEN_reliability_0123456789ab"


def test_secrets_canary_on_every_page_api_answer_log_line_and_email(
    admin_client: Client,
    ids: dict[str, str],  # noqa: F811 - the imported fixture
    caplog: pytest.LogCaptureFixture,
    mailoutbox: list[Any],
    figures: Callable[..., None],
) -> None:
    integration = AtsIntegration.objects.get()
    integration.api_key, integration.api_key_last4 = CANARY_KEY, CANARY_KEY[-4:]
    integration.save(update_fields=["api_key", "api_key_last4"])
    for event in WebhookEvent.values:
        WebhookSubscription.objects.create(
            integration=integration,
            event=event,
            signature_token=CANARY_TOKEN,
            signature_token_last4=CANARY_TOKEN[-4:],
        )
    role_code = str(RoleFactory(group_id=integration.group_id).code)
    caplog.set_level(logging.DEBUG)
    leaks: list[str] = []
    answered = 0
    for route in all_routes():
        if route.startswith("admin/") or route.endswith(("delete/", "logout/")):
            continue
        url = route_fill(route, _roles_codes(route, ids, role_code))
        response: Any = admin_client.get(url)
        answered += response.status_code == 200
        content = b"".join(response.streaming_content) if response.streaming else response.content
        for secret in (CANARY_KEY, CANARY_TOKEN):
            if secret.encode() in content or secret[4:20].encode() in content:
                leaks.append(f"GET {url} shows {secret[:10]}…")
    # An outgoing email of the same organization: the candidate's invitation.
    candidacy = Candidacy.objects.get(code=ids["code"])
    email = invitation_email_queue(candidacy=candidacy)
    assert invitation_email_send(email_id=email.pk) == "sent"
    sent = [str(m.message()) for m in mailoutbox]
    for secret in (CANARY_KEY, CANARY_TOKEN):
        if secret in caplog.text:
            leaks.append(f"a log line holds {secret[:10]}…")
        if any(secret in text for text in sent):
            leaks.append(f"an email holds {secret[:10]}…")
    figures(routes_read=answered, log_records=len(caplog.records), emails=len(sent), leaks=leaks)
    assert len(sent) == 1
    assert answered > 10
    assert leaks == []
