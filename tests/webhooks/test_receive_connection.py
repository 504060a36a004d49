"""The receiver on a persistent PostgreSQL connection the server dropped while it was idle."""

from __future__ import annotations

import pytest
from django.db import close_old_connections, connection
from django.test import Client
from django.urls import reverse

from integrations.models import AtsIntegration
from webhooks.models import WebhookDelivery

from .conftest import make_delivery

pytestmark = pytest.mark.django_db(transaction=True)


def _terminate_backend(pid: int) -> None:
    import psycopg

    settings_dict = connection.settings_dict
    with psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"] or None,
        password=settings_dict["PASSWORD"] or None,
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_delivery_after_the_database_dropped_the_idle_connection_is_stored(
    webhook_integration: AtsIntegration,
) -> None:
    if connection.vendor != "postgresql" or not connection.settings_dict.get("CONN_HEALTH_CHECKS"):
        pytest.skip("needs PostgreSQL with CONN_HEALTH_CHECKS (the DATABASE_URL shape)")
    url = reverse(
        "webhooks:receive", kwargs={"ats": "lever", "public_id": webhook_integration.public_id}
    )
    client = Client()
    first = client.post(url, data=make_delivery(token="a" * 40), content_type="application/json")
    assert first.json() == {"status": "accepted"}

    # The server ends the session (restart, idle timeout) while the worker keeps the connection.
    _terminate_backend(connection.connection.info.backend_pid)
    close_old_connections()  # what request_started does at the start of the next request

    second = client.post(url, data=make_delivery(token="b" * 40), content_type="application/json")

    assert second.status_code == 200
    assert second.json() == {"status": "accepted"}
    assert sorted(WebhookDelivery.objects.values_list("token", flat=True)) == ["a" * 40, "b" * 40]
