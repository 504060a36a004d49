"""The Django admin for the webhook inbox: masked payloads, and a changelist that stays cheap."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.models import AtsIntegration
from karatlever.accounts.models import User
from webhooks.models import WebhookDelivery
from webhooks.services import intake

from .conftest import make_delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(db: None) -> Client:
    user = User.objects.create_superuser("ops@karat.test", "pw-not-used-in-tests")
    client = Client()
    client.force_login(user)
    return client


def _store(integration: AtsIntegration, n: int) -> list[int]:
    ids = []
    for i in range(n):
        result = intake.delivery_record(
            integration_public_id=integration.public_id,
            body=make_delivery(opportunity_id=f"opp-{i}"),
        )
        assert result.delivery_id is not None
        ids.append(result.delivery_id)
    return ids


def test_changelist_does_not_load_payloads_and_joins_the_integration_once(
    staff_client: Client, webhook_integration: AtsIntegration
) -> None:
    _store(webhook_integration, 3)
    url = reverse("admin:webhooks_webhookdelivery_changelist")
    staff_client.get(url)  # warm caches (content types, session) before counting

    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(url)

    assert response.status_code == 200
    deliveries = [q["sql"] for q in queries if 'FROM "webhooks_webhookdelivery"' in q["sql"]]
    assert deliveries
    assert not any('"webhooks_webhookdelivery"."payload"' in sql for sql in deliveries)
    # one row per delivery, each with its integration and group: no query per row
    assert not any(
        'FROM "integrations_atsintegration"' in q["sql"] and "WHERE" in q["sql"] for q in queries
    )


def test_detail_page_shows_the_payload_masked(
    staff_client: Client, webhook_integration: AtsIntegration
) -> None:
    (delivery_id,) = _store(webhook_integration, 1)
    token = WebhookDelivery.objects.get(pk=delivery_id).token

    response = staff_client.get(
        reverse("admin:webhooks_webhookdelivery_change", args=[delivery_id])
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "opportunityId" in html
    assert token not in html
