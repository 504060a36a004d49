"""The Lever adapter's posting pages against faked HTTP: what it asks Lever for, what it makes
of the answer, its cursor, and the (UNCONFIRMED) 403 for confidential postings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from integrations import ats
from integrations.lever.adapter import adapter

BASE = "https://api.lever.test/v1"
PAGE = json.loads(
    (
        Path(__file__).resolve().parents[2] / "fixtures" / "lever" / "get-postings-page.json"
    ).read_text()
)
ACCOUNT = ats.AtsAccount(
    integration_id=1,
    public_id="00000000-0000-0000-0000-000000000001",
    api_key="lvr_TEST_postings_page_0123456789abcdef",
    region="us",
    acting_user_id="",
    rate_per_second=1000.0,
    burst=100,
)


@pytest.fixture
def lever(settings: Any, tmp_path: Path) -> Iterator[responses.RequestsMock]:
    settings.LEVER_API_BASE_URL = BASE
    settings.LEVER_RATE_LIMIT_DIR = tmp_path
    with responses.RequestsMock() as mock:
        yield mock


def _query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def _page(**kwargs: Any) -> ats.PostingPage:
    return adapter.postings_page(ACCOUNT, profile=ats.INTERACTIVE, **kwargs)


def test_a_page_asks_for_every_state_and_confidential_postings(
    lever: responses.RequestsMock,
) -> None:
    lever.get(BASE + "/postings", json={**PAGE, "hasNext": True, "next": "%5B1%2C2%5D"})

    page = _page(cursor=None, updated_since_ms=None)

    query = _query(lever.calls[0])
    # No state: every state. The hiring team comes in the same request (README §17.1).
    assert query == {
        "confidentiality": ["all"],
        "limit": ["100"],
        "expand": ["owner", "hiringManager", "followers"],
    }
    assert page.next_cursor == "all %5B1%2C2%5D"
    assert page.confidential_included is True
    first = page.postings[0]
    source = PAGE["data"][0]
    assert first.posting_id == source["id"]
    assert first.title == source["text"].strip()
    assert first.state == source["state"]
    assert first.updated_at_ms == source["updatedAt"]
    assert all("" not in p.requisition_codes for p in page.postings)


def test_the_cursor_passes_lever_s_token_back_verbatim_with_updated_at_start(
    lever: responses.RequestsMock,
) -> None:
    lever.get(BASE + "/postings", json={"data": [], "hasNext": False})

    page = _page(cursor="all %5B1%2C2%5D", updated_since_ms=1_700_000_000_000)

    url = lever.calls[0].request.url or ""
    assert "offset=%5B1%2C2%5D" in url  # not re-encoded
    assert _query(lever.calls[0])["updated_at_start"] == ["1700000000000"]
    assert "state" not in _query(lever.calls[0])
    assert page.next_cursor is None


def test_a_403_for_confidential_data_lists_the_rest_and_says_so(
    lever: responses.RequestsMock,
) -> None:
    lever.get(
        BASE + "/postings",
        status=403,
        json={"code": "ForbiddenError", "message": "not authorized to access confidential data"},
    )
    lever.get(BASE + "/postings", json={**PAGE, "hasNext": True, "next": "tok"})

    page = _page(cursor=None, updated_since_ms=None)

    assert [_query(c)["confidentiality"] for c in lever.calls] == [["all"], ["non-confidential"]]
    assert page.confidential_included is False
    assert page.next_cursor == "non-confidential tok"
    assert page.postings


def test_any_other_403_is_the_key_s_problem(lever: responses.RequestsMock) -> None:
    lever.get(BASE + "/postings", status=403, json={"message": "Forbidden: postings"})

    with pytest.raises(ats.AtsKeyError):
        _page(cursor=None, updated_since_ms=None)


def test_a_repeated_token_is_an_error_not_the_end_of_the_list(
    lever: responses.RequestsMock,
) -> None:
    lever.get(BASE + "/postings", json={"data": [], "hasNext": True, "next": "same"})

    with pytest.raises(ats.AtsUnavailable):
        _page(cursor="all same", updated_since_ms=None)


def test_a_cursor_karat_did_not_make_is_refused_before_any_call(
    lever: responses.RequestsMock,
) -> None:
    with pytest.raises(ats.AtsRequestError):
        _page(cursor="everything tok", updated_since_ms=None)
    assert not lever.calls
