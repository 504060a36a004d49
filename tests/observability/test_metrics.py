"""GET /metrics: 404 without the bearer token; counters summed over processes; queue depths,
ages and dead letters read from the database at scrape time; never a key."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from django.db import connection
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from integrations.lever.client import LeverClient
from integrations.lever.errors import LeverRateLimited
from integrations.models import AtsIntegration, OutboundUpdate
from karatlever.hiring.models import Candidacy
from tests.factories import CandidacyFactory, IntegrationFactory
from tests.observability.conftest import sample
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def scraper(settings: Any) -> Client:
    settings.METRICS_BEARER_TOKEN = TOKEN
    return Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def _scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def test_without_a_token_setting_the_endpoint_does_not_exist(client: Client) -> None:
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "", f"Token {TOKEN}", f"Bearer {TOKEN}x", "Bearer wrong", f"bearer{TOKEN}"],
)
def test_without_the_right_token_it_is_404(
    settings: Any, client: Client, authorization: str | None
) -> None:
    settings.METRICS_BEARER_TOKEN = TOKEN
    headers = {} if authorization is None else {"Authorization": authorization}

    response = client.get("/metrics", headers=headers)

    assert response.status_code == 404
    assert TOKEN not in response.content.decode()


def test_only_get_is_answered(scraper: Client) -> None:
    assert scraper.post("/metrics").status_code == 405


def _delivery(integration: AtsIntegration, status: str, token: str, age: timedelta) -> None:
    delivery = WebhookDelivery.objects.create(
        integration=integration,
        event="candidateStageChange",
        token=token,
        triggered_at_ms=0,
        status=status,
    )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(received_at=timezone.now() - age)


def _update(
    integration: AtsIntegration, candidacy: Candidacy, status: str, sequence: int, age: timedelta
) -> None:
    OutboundUpdate.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id="opp-1",
        milestone="invited",
        kind=OutboundUpdate.Kind.NOTE,
        sequence=sequence,
        status=status,
        created_at=timezone.now() - age,
    )


def test_queue_depths_ages_and_dead_letters_come_from_the_database(scraper: Client) -> None:
    integration: AtsIntegration = IntegrationFactory()
    quiet: AtsIntegration = IntegrationFactory()
    _delivery(integration, "received", "t1", timedelta(minutes=10))
    _delivery(integration, "retry", "t2", timedelta(minutes=2))
    _delivery(integration, "dead", "t3", timedelta(days=1))
    _delivery(integration, "processed", "t4", timedelta(days=2))
    candidacy = CandidacyFactory(group=integration.group, role__group=integration.group)
    _update(integration, candidacy, OutboundUpdate.Status.PENDING, 1, timedelta(minutes=5))
    _update(integration, candidacy, OutboundUpdate.Status.SENDING, 2, timedelta(minutes=1))
    _update(integration, candidacy, OutboundUpdate.Status.DEAD, 3, timedelta(hours=3))
    _update(integration, candidacy, OutboundUpdate.Status.SENT, 4, timedelta(hours=4))

    found = _scrape(scraper)

    label = (("integration_id", str(integration.public_id)),)
    assert found[("karatlever_metrics_database_up", ())] == 1
    assert found[("karatlever_webhook_backlog", label)] == 2
    assert 600 <= found[("karatlever_webhook_backlog_oldest_age_seconds", label)] < 660
    assert found[("karatlever_webhook_dead_letters", label)] == 1
    assert found[("karatlever_outbound_backlog", label)] == 2
    assert 300 <= found[("karatlever_outbound_backlog_oldest_age_seconds", label)] < 360
    assert found[("karatlever_outbound_dead_letters", label)] == 1
    quiet_label = (("integration_id", str(quiet.public_id)),)
    assert ("karatlever_webhook_backlog", quiet_label) not in found
    assert found[("karatlever_invite_batches", (("status", "done"),))] >= 0


def test_webhook_answers_are_counted_by_outcome(scraper: Client) -> None:
    integration: AtsIntegration = IntegrationFactory()
    labels = {"ats": "lever", "outcome": "malformed"}
    before = sample("karatlever_webhook_requests_total", labels)

    response = scraper.post(
        f"/webhooks/lever/{integration.public_id}/", data="{", content_type="application/json"
    )

    assert response.status_code == 400
    assert sample("karatlever_webhook_requests_total", labels) == before + 1
    assert _scrape(scraper)[("karatlever_webhook_requests_total", tuple(sorted(labels.items())))]


def test_an_unknown_ats_in_the_url_is_one_label(scraper: Client) -> None:
    labels = {"ats": "unknown", "outcome": "unknown_integration"}
    before = sample("karatlever_webhook_requests_total", labels)

    for name in ("greenhouse-x", "made-up-ats"):
        scraper.post(f"/webhooks/{name}/{AtsIntegration().public_id}/", data={})

    assert sample("karatlever_webhook_requests_total", labels) == before + 2


@responses.activate
def test_lever_requests_and_429s_are_counted_per_key_last4_never_the_key(
    scraper: Client,
) -> None:
    api_key = "lever-key-for-metrics-test-9Zq7"
    base = "https://api.lever.example/v1"
    responses.get(f"{base}/stages", json={"data": [], "hasNext": False})
    responses.get(f"{base}/archive_reasons", status=429, headers={"Retry-After": "30"})
    client = LeverClient(api_key=api_key, base_url=base, max_retries=0)
    ok = {"key_last4": "9Zq7", "method": "GET", "status": "200"}
    limited = {"key_last4": "9Zq7"}
    before = (
        sample("karatlever_lever_requests_total", ok),
        sample("karatlever_lever_rate_limited_total", limited),
    )

    client.list_stages()
    with pytest.raises(LeverRateLimited):
        client.list_archive_reasons()

    assert sample("karatlever_lever_requests_total", ok) == before[0] + 1
    assert sample("karatlever_lever_rate_limited_total", limited) == before[1] + 1
    text = scraper.get("/metrics").content.decode()
    assert api_key not in text
    assert api_key[:-4] not in text


_COUNT_IN_ANOTHER_PROCESS = """
import django
django.setup()
from karatlever.observability import metrics
metrics.webhook_requests.labels("lever", "accepted").inc(5)
"""


def test_counters_of_other_processes_are_summed(scraper: Client) -> None:
    labels = {"ats": "lever", "outcome": "accepted"}
    before = _scrape(scraper).get(
        ("karatlever_webhook_requests_total", tuple(sorted(labels.items()))), 0.0
    )

    subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", _COUNT_IN_ANOTHER_PROCESS],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "karatlever.settings"},
        check=True,
        timeout=60,
    )

    after = _scrape(scraper)[("karatlever_webhook_requests_total", tuple(sorted(labels.items())))]
    assert after == before + 5


def test_a_database_that_cannot_be_read_still_answers_saying_so(scraper: Client) -> None:
    # A real failure of the scrape's queries: the inbox table is gone (rolled back after the
    # test; SQLite and PostgreSQL both undo DDL with the test's transaction).
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE webhooks_webhookdelivery RENAME TO webhooks_gone")

    response = scraper.get("/metrics")

    assert response.status_code == 200
    text = response.content.decode()
    assert "karatlever_metrics_database_up 0.0" in text
    assert "karatlever_webhook_backlog" not in text
    assert "webhooks_gone" not in text  # the reason stays in the server log
