"""Issue 23 §1: every console page that lists rows stays under ~100 kB and costs the same
queries with 10 rows as with 2,000 (bytes and queries, never time: bench/pages.py times them).

Each test measures its page with 10 rows of everything (tests/page_rows.py), adds 1,990, and
measures again in the same test."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.models import AtsIntegration
from tests.page_rows import seed_rows
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

MAX_BYTES = 100_000
FEW, MANY = 10, 2_000

Url = Callable[[AtsIntegration], str]


def _oldest_page(integration: AtsIntegration) -> str:
    """The activity page at its last (oldest) page: the cursor of the second-oldest row."""
    url = reverse("webhooks-console:activity", args=[integration.public_id])
    rows = WebhookDelivery.objects.filter(integration=integration).order_by("received_at", "pk")
    second = rows[1]
    micros = int(second.received_at.timestamp() * 1_000_000)
    return f"{url}?cursor=o{micros}.{second.pk}"


PAGES: dict[str, Url] = {
    "integration roles (postings)": lambda i: reverse("integrations:roles", args=[i.public_id]),
    "automatic-invite settings": lambda i: reverse("auto-invite:edit", args=[i.public_id]),
    "hiring roles list": lambda i: reverse("hiring:role-list") + f"?group={i.group.code}",
    "integrations list": lambda i: reverse("integrations:list"),
    "activity, first page": lambda i: reverse("webhooks-console:activity", args=[i.public_id]),
    "activity, last page": _oldest_page,
    "candidates search": lambda i: reverse("hiring:candidate-list") + "?q=candidate+0000",
}


def _measure(client: Client, url: str) -> tuple[int, int]:
    """(bytes, queries) of a GET of ``url``, after one warm-up GET (caches of Lever's names)."""
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(response.content), len(queries.captured_queries)


@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_is_bounded_in_bytes_and_queries(
    name: str, admin_client: Client, lever_integration: AtsIntegration
) -> None:
    url_of = PAGES[name]

    # N of every kind of row; groups (with an integration each) only for the integrations
    # list, whose rows they are: elsewhere the group pickers list the organization's groups
    # (bench/pages.py runs the shape, 200 of them).
    def seed(start: int, n: int) -> None:
        seed_rows(
            integration=lever_integration,
            start=start,
            postings=n,
            roles=n,
            candidacies=n,
            deliveries=n,
            integrations=n if name == "integrations list" else 0,
        )

    seed(0, FEW)
    few_bytes, few_queries = _measure(admin_client, url_of(lever_integration))

    seed(FEW, MANY - FEW)
    many_bytes, many_queries = _measure(admin_client, url_of(lever_integration))

    assert many_bytes <= MAX_BYTES, f"{name}: {few_bytes} B at {FEW} rows, {many_bytes} at {MANY}"
    assert many_queries == few_queries, f"{name}: {few_queries} queries, then {many_queries}"
