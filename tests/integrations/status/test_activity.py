"""The status page's last 24 hours (issue 20, item 13): deliveries received, updates sent and
failures per UTC hour, counted in one grouped query per table, stored in the snapshot and drawn
as an SVG chart on the server, with the numbers as a table for screen readers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from integrations.models import AtsIntegration, IntegrationStatus, OutboundUpdate
from integrations.status import selectors as status_selectors
from integrations.status import services as status
from karatlever.accounts.models import User
from tests.factories import CandidacyFactory, IntegrationFactory, RoleFactory
from tests.integrations.conftest import mark_valid, set_key
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 14, 25, tzinfo=UTC)
Delivery = WebhookDelivery.Status
Update = OutboundUpdate.Status
_numbers = count()
DASH = "\N{EN DASH}"  # between an hour's start and end on the page


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def _delivery(integration: AtsIntegration, at: datetime, status: str = Delivery.PROCESSED) -> None:
    delivery = WebhookDelivery.objects.create(
        integration=integration,
        event="candidateStageChange",
        token=f"activity-{next(_numbers)}",
        opportunity_id="opp-1",
        triggered_at_ms=1_700_000_000_000,
        status=status,
    )
    # received_at is auto_now_add: set the moment the test wants.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(received_at=at)


def _update(
    integration: AtsIntegration,
    status: str,
    *,
    sent_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> OutboundUpdate:
    candidacy = CandidacyFactory(role=RoleFactory(group=integration.group))
    return OutboundUpdate.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id=f"opp-{next(_numbers)}",
        milestone="invited",
        kind=OutboundUpdate.Kind.NOTE,
        sequence=1,
        status=status,
        created_at=NOW - timedelta(days=3),  # the hour counted is when it was sent or given up
        sent_at=sent_at,
        finished_at=finished_at,
    )


def _at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def _by_hour(integration: AtsIntegration) -> dict[str, tuple[int, int, int]]:
    rows = status_selectors.status_activity(integration=integration, now=NOW)
    return {row["hour"]: (row["received"], row["sent"], row["failed"]) for row in rows}


# --- the counts -------------------------------------------------------------------------------


def test_the_last_24_hours_are_counted_per_utc_hour_oldest_first(
    integration: AtsIntegration,
) -> None:
    # given: deliveries and updates at chosen moments, some outside the 24 hours
    _delivery(integration, _at(10, 14, 5))
    _delivery(integration, _at(10, 13, 59), Delivery.FAILED)
    _delivery(integration, _at(10, 13, 10), Delivery.DEAD)
    _delivery(integration, _at(10, 13, 30), Delivery.RETRY)
    _delivery(integration, _at(9, 15, 0))  # the first hour of the 24
    _delivery(integration, _at(9, 14, 59))  # 24 h 26 min ago: left out
    _delivery(IntegrationFactory(), _at(10, 14, 1))  # another integration
    _update(integration, Update.SENT, sent_at=_at(10, 12, 40), finished_at=_at(10, 12, 40))
    _update(integration, Update.SENT, sent_at=_at(10, 14, 1), finished_at=_at(10, 14, 1))
    _update(integration, Update.DEAD, finished_at=_at(10, 12, 50))
    _update(integration, Update.DEAD, finished_at=_at(9, 10, 0))  # too old
    _update(integration, Update.PENDING)
    _update(integration, Update.CANCELLED, finished_at=_at(10, 14, 2))

    # when
    rows = status_selectors.status_activity(integration=integration, now=NOW)
    counts = _by_hour(integration)

    # then: 24 hours, 15:00 yesterday to the current hour, every hour present
    assert len(rows) == 24
    assert rows[0]["hour"] == "2026-03-09T15:00:00+00:00"
    assert rows[-1]["hour"] == "2026-03-10T14:00:00+00:00"
    assert counts["2026-03-10T14:00:00+00:00"] == (1, 1, 0)
    assert counts["2026-03-10T13:00:00+00:00"] == (3, 0, 2)  # a retrying one is no failure yet
    assert counts["2026-03-10T12:00:00+00:00"] == (0, 1, 1)
    assert counts["2026-03-09T15:00:00+00:00"] == (1, 0, 0)
    assert sum(r["received"] for r in rows) == 5
    assert sum(r["sent"] for r in rows) == 2
    assert sum(r["failed"] for r in rows) == 3


def test_an_integration_with_nothing_has_24_empty_hours(integration: AtsIntegration) -> None:
    rows = status_selectors.status_activity(integration=integration, now=NOW)

    assert [(r["received"], r["sent"], r["failed"]) for r in rows] == [(0, 0, 0)] * 24


@pytest.mark.parametrize("rows", [1, 200])
def test_counting_takes_one_query_per_table_however_many_rows(
    integration: AtsIntegration, django_assert_max_num_queries: DjangoAssertNumQueries, rows: int
) -> None:
    for n in range(rows):
        moment = NOW - timedelta(minutes=7 * n)
        _delivery(integration, moment, Delivery.FAILED if n % 3 else Delivery.PROCESSED)
    candidacy = CandidacyFactory(role=RoleFactory(group=integration.group))
    OutboundUpdate.objects.bulk_create(
        OutboundUpdate(
            integration=integration,
            candidacy=candidacy,
            opportunity_id="opp-1",
            milestone="invited",
            kind=OutboundUpdate.Kind.NOTE,
            sequence=n + 1,
            status=Update.SENT if n % 4 else Update.DEAD,
            sent_at=NOW - timedelta(minutes=7 * n),
            finished_at=NOW - timedelta(minutes=7 * n),
        )
        for n in range(rows)
    )

    with django_assert_max_num_queries(2):
        activity = status_selectors.status_activity(integration=integration, now=NOW)

    in_window = min(rows, 24 * 60 // 7 + 1)
    assert sum(r["received"] for r in activity) == in_window


# --- the page ---------------------------------------------------------------------------------


@pytest.fixture
def connected(integration: AtsIntegration, admin_user: User) -> AtsIntegration:
    set_key(integration, admin_user)
    mark_valid(integration)
    return integration


def _page(client: Client, integration: AtsIntegration) -> str:
    status.integration_status_compute(integration_id=integration.pk)
    response = client.get(
        reverse("integrations:status", kwargs={"public_id": integration.public_id})
    )
    assert response.status_code == 200
    return response.content.decode()


def _section(page: str) -> str:
    found = re.search(
        r'<section class="card" aria-labelledby="activity-heading">.*?</section>', page, re.S
    )
    assert found, "no Last 24 hours section"
    return found.group(0)


def test_the_status_page_draws_the_last_24_hours_with_the_numbers_as_text(
    admin_client: Client, connected: AtsIntegration
) -> None:
    _delivery(connected, _at(10, 14, 5))
    _delivery(connected, _at(10, 14, 6))
    _delivery(connected, _at(10, 9, 0), Delivery.DEAD)
    _update(connected, Update.SENT, sent_at=_at(10, 11, 0), finished_at=_at(10, 11, 0))

    section = _section(_page(admin_client, connected))

    # A picture: bars drawn on the server, one per non-empty series and hour.
    assert '<svg class="activity-chart"' in section
    assert len(re.findall(r'<rect class="activity-bar activity-received"', section)) == 2
    assert len(re.findall(r'<rect class="activity-bar activity-sent"', section)) == 1
    assert len(re.findall(r'<rect class="activity-bar activity-failed"', section)) == 1
    assert f"<title>14:00{DASH}15:00 UTC: 2 received, 0 sent, 0 failed</title>" in section
    # CSP: no inline style, no script.
    assert "style=" not in section
    assert "<script" not in section
    # The text alternative: totals in the caption, every hour in a table.
    assert "<figcaption>" in section
    assert re.search(r"Webhook deliveries received: <strong>3</strong>", section)
    assert re.search(r"Updates sent to Lever: <strong>1</strong>", section)
    assert re.search(r"Failures: <strong>1</strong>", section)
    assert '<div class="sr-only"><table>' in section
    assert len(re.findall(r'<tr><th scope="row">', section)) == 24
    assert (
        f'<tr><th scope="row">2026-03-10 14:00{DASH}15:00</th><td>2</td><td>0</td><td>0</td></tr>'
        in section
    )
    assert (
        f'<tr><th scope="row">2026-03-10 09:00{DASH}10:00</th><td>1</td><td>0</td><td>1</td></tr>'
        in section
    )


def test_a_snapshot_stored_before_the_chart_existed_says_it_comes_with_the_next_check(
    admin_client: Client, connected: AtsIntegration
) -> None:
    status.integration_status_compute(integration_id=connected.pk)
    snapshot = IntegrationStatus.objects.get(integration=connected)
    IntegrationStatus.objects.filter(pk=snapshot.pk).update(
        basic={"acting_user": snapshot.basic["acting_user"]}
    )

    response = admin_client.get(
        reverse("integrations:status", kwargs={"public_id": connected.public_id})
    )

    section = _section(response.content.decode())
    assert "appears after the next check" in section
    assert "<svg" not in section
