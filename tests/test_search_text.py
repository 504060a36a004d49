"""Query-string text reaches queries without control characters (a NUL was a 500 on
PostgreSQL, found by tests/test_no_server_errors.py on the role search)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from integrations.models import AtsIntegration
from karatlever.search_text import search_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), ("", ""), ("  Data\x00 Eng\tineer \n", "Data Eng ineer"), ("a" * 300, "a" * 80)],
)
def test_search_text_is_one_clean_line(value: object, expected: str) -> None:
    assert search_text(value, max_length=80) == expected


@pytest.mark.django_db
def test_a_nul_in_the_role_search_or_posting_is_not_a_server_error(
    admin_client: Client, integration: AtsIntegration
) -> None:
    url = reverse("integrations:roles-choose", kwargs={"public_id": integration.public_id})

    response = admin_client.get(url, {"posting": "post\x00-1", "q": "Data\x00"})

    assert response.status_code == 404  # no such posting: a clear answer, not a 500
