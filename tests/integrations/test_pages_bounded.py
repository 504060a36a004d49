"""Issue 23 §1: every console page that lists rows stays under ~100 kB and costs the same
queries with 10 rows as with 2,000 (bytes and queries, never time: bench/pages.py times them).

Each test measures its page with 10 rows of everything (tests/page_rows.py), adds 1,990, and
measures again in the same test."""

from __future__ import annotations

import re
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
    """The activity page at its last (oldest) page, a full one where there are enough rows."""
    url = reverse("webhooks-console:activity", args=[integration.public_id])
    rows = WebhookDelivery.objects.filter(integration=integration).order_by("received_at", "pk")
    # The row a full last page starts above (the 51st oldest), or the newest if fewer.
    second = rows[min(50, rows.count() - 1)]
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


def test_with_many_roles_a_row_searches_the_roles_instead_of_listing_them(
    admin_client: Client, lever_integration: AtsIntegration
) -> None:
    from integrations.roles.selectors import ROLE_MATCHES_MAX, ROLE_SELECT_MAX

    seed_rows(integration=lever_integration, postings=3, roles=ROLE_SELECT_MAX + 30)
    page = admin_client.get(reverse("integrations:roles", args=[lever_integration.public_id]))
    choose = reverse("integrations:roles-choose", args=[lever_integration.public_id])

    found = admin_client.get(choose, {"posting": "posting-00001", "q": "role 0007"})
    first = admin_client.get(choose, {"posting": "posting-00001"}, HTTP_HX_REQUEST="true")
    unknown = admin_client.get(choose, {"posting": "not-a-posting"})

    assert 'id="role-for-' not in page.content.decode()  # no drop-down of every role
    assert "Choose a role…" in page.content.decode()
    assert found.status_code == 200
    assert found.content.decode().count(">Map to Role 0007") == 10  # 00070…00079
    assert first.content.decode().count(">Map to Role") == ROLE_MATCHES_MAX
    assert "type more to narrow" in first.content.decode()
    assert unknown.status_code == 404


def test_the_candidates_role_filter_searches_when_there_are_many_roles(
    admin_client: Client, lever_integration: AtsIntegration
) -> None:
    from karatlever.hiring.forms import ROLE_SELECT_MAX

    seed_rows(integration=lever_integration, roles=ROLE_SELECT_MAX + 1, candidacies=60)
    url = reverse("hiring:candidate-list")

    response = admin_client.get(url, {"role": "REQ-00003"})

    page = response.content.decode()
    assert re.search(r"<input type=\"search\" name=\"role\"", page) or re.search(
        r"name=\"role\"[^>]*type=\"search\"|type=\"search\"[^>]*name=\"role\"", page
    )
    assert [c.candidate_name for c in response.context["candidacies"]] == [
        "Candidate 00054 Example",  # newest first; roles are dealt round, 51 of them
        "Candidate 00003 Example",
    ]
