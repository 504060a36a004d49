"""LeverClient against faked HTTP (responses) and a tiny real local server (for log capture)."""

from __future__ import annotations

import base64
import copy
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from integrations.lever.client import (
    API_BASE_URLS,
    RETRY_AFTER_MAX,
    LeverClient,
    base_url_for_region,
)
from integrations.lever.errors import (
    LeverAuthError,
    LeverBadRequest,
    LeverConnectionError,
    LeverError,
    LeverNotFound,
    LeverPermissionError,
    LeverRateLimited,
    LeverRedirected,
    LeverServerError,
    LeverTransientError,
)
from integrations.lever.ratelimit import RateLimiter, SqliteBucketStore

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "lever"
BASE = "https://api.lever.co/v1"
KEY = "lvk_test_0123456789abcdefWXYZ"
BASIC = base64.b64encode(f"{KEY}:".encode()).decode()
PERFORM_AS = "2b6f9e3a-7c1d-4a5e-9b08-6d4c3e2f1a07"
OPP_ID = "8f2c6a1e-4b7d-4c0e-9a35-2d1e7f6b9c40"
PAGE_TOKEN = "%5B4%2C1767139200000%2C%227e2a9c4f-1b3d-4f5e-8a6c-2d0b9e7f5c31%22%5D"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def opportunity_body() -> dict[str, Any]:
    return fixture("get-opportunity.json")


def make_client(**kwargs: Any) -> LeverClient:
    defaults: dict[str, Any] = {"api_key": KEY, "base_url": BASE, "backoff_base": 0.001}
    return LeverClient(**{**defaults, **kwargs})


def request_url(call: responses.Call) -> str:
    url = call.request.url
    assert url is not None
    return url


def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query, keep_blank_values=True)


def sent_json(call: Any) -> Any:
    return json.loads(call.request.body)


@pytest.fixture
def lever() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


# --- base URLs and repr ---------------------------------------------------------------------


def test_each_region_has_its_api_root_and_an_override_wins() -> None:
    assert base_url_for_region("us") == "https://api.lever.co/v1"
    assert base_url_for_region("eu") == "https://api.eu.lever.co/v1"
    assert base_url_for_region("sandbox") == "https://api.sandbox.lever.co/v1"
    assert base_url_for_region("global") == API_BASE_URLS["us"]
    assert base_url_for_region("eu", override="http://127.0.0.1:8001/v1/") == (
        "http://127.0.0.1:8001/v1"
    )


def test_an_override_with_a_region_placeholder_gives_each_region_its_own_root() -> None:
    override = "http://127.0.0.1:8001/{region}/v1"

    assert base_url_for_region("sandbox", override=override) == "http://127.0.0.1:8001/sandbox/v1"
    assert base_url_for_region("global", override=override) == "http://127.0.0.1:8001/us/v1"
    with pytest.raises(ValueError, match="unknown Lever region"):
        base_url_for_region("mars", override=override)


def test_unknown_region_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown Lever region"):
        base_url_for_region("mars")


def test_repr_shows_base_url_and_only_the_last_four_key_characters() -> None:
    client = make_client()

    assert repr(client) == f"LeverClient(base_url='{BASE}', key=…WXYZ)"
    assert KEY not in repr(client)
    assert BASIC not in repr(client)


def test_repr_of_a_short_key_shows_no_characters_at_all() -> None:
    assert repr(make_client(api_key="short-key")) == f"LeverClient(base_url='{BASE}', key=…)"


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="api_key"):
        make_client(api_key="")


# --- reads ----------------------------------------------------------------------------------


def test_get_opportunity_sends_basic_auth_and_returns_a_typed_opportunity(
    lever: responses.RequestsMock,
) -> None:
    lever.get(f"{BASE}/opportunities/{OPP_ID}", json=opportunity_body())

    opp = make_client().get_opportunity(OPP_ID, expand=["applications", "stage"])

    call = lever.calls[0]
    assert call.request.method == "GET"
    assert call.request.headers["Authorization"] == f"Basic {BASIC}"
    assert query(call) == {"expand": ["applications", "stage"]}
    assert opp.id == OPP_ID
    assert opp.name == "Priya Raman"
    assert opp.emails == ["priya.raman@example.com"]
    assert opp.stage_id == "3c8e5f1a-9d2b-4c7e-a6f0-8b1d2e3f4a56"
    assert opp.archived is None
    assert opp.applications[0].id == "a7d3e1f0-6b2c-4d9e-8f15-3c4b5a6d7e8f"
    assert opp.urls is not None
    assert opp.urls.show == f"https://hire.lever.co/candidates/{OPP_ID}"
    assert opp.updated_at == 1767258000125


def test_a_single_expand_string_is_sent_as_one_value(lever: responses.RequestsMock) -> None:
    lever.get(f"{BASE}/opportunities/{OPP_ID}", json=opportunity_body())

    make_client().get_opportunity(OPP_ID, expand="applications")

    assert query(lever.calls[0]) == {"expand": ["applications"]}


def test_expanded_stage_and_applications_are_read(lever: responses.RequestsMock) -> None:
    body = opportunity_body()
    body["data"]["stage"] = {"id": "applicant-new", "text": "New applicant"}
    body["data"]["applications"] = [{"id": "app-1", "posting": "post-1", "type": "posting"}]
    lever.get(f"{BASE}/opportunities/{OPP_ID}", json=body)

    opp = make_client().get_opportunity(OPP_ID, expand=["stage", "applications"])

    assert (opp.stage_id, opp.stage_name) == ("applicant-new", "New applicant")
    assert opp.posting_id == "post-1"


def test_archived_object_and_legacy_archive_fields_are_both_read(
    lever: responses.RequestsMock,
) -> None:
    current = opportunity_body()
    current["data"]["archived"] = {"reason": "reason-1", "archivedAt": 1767258000999}
    legacy = opportunity_body()
    del legacy["data"]["archived"]
    legacy["data"].update({"archivedAt": 1700000000000, "archiveReason": "reason-2"})
    lever.get(f"{BASE}/opportunities/a", json=current)
    lever.get(f"{BASE}/opportunities/b", json=legacy)
    client = make_client()

    archived_now, archived_legacy = client.get_opportunity("a"), client.get_opportunity("b")

    assert archived_now.archived is not None
    assert archived_now.archived.reason == "reason-1"
    assert archived_now.archived.archived_at == 1767258000999
    assert archived_legacy.archived is not None
    assert (archived_legacy.archived.reason, archived_legacy.archived.archived_at) == (
        "reason-2",
        1700000000000,
    )


def test_nulls_where_lists_are_expected_become_empty_lists(lever: responses.RequestsMock) -> None:
    lever.get(
        f"{BASE}/opportunities/x",
        json={
            "data": {"id": "x", "name": None, "emails": None, "tags": None, "applications": None}
        },
    )

    opp = make_client().get_opportunity("x")

    assert (opp.emails, opp.tags, opp.applications, opp.name) == ([], [], [], "")


def test_an_id_with_a_slash_cannot_change_the_route(lever: responses.RequestsMock) -> None:
    lever.get(f"{BASE}/opportunities/..%2Fusers", json=opportunity_body())

    make_client().get_opportunity("../users")

    assert urlsplit(lever.calls[0].request.url).path == "/v1/opportunities/..%2Fusers"


def test_an_empty_id_is_refused_before_any_request(lever: responses.RequestsMock) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        make_client().get_opportunity("")

    assert len(lever.calls) == 0


def test_a_response_without_the_data_wrapper_is_accepted(lever: responses.RequestsMock) -> None:
    lever.get(f"{BASE}/postings/p1", json={"id": "p1", "text": "Engineer"})

    assert make_client().get_posting("p1").text == "Engineer"


def test_a_response_that_does_not_fit_the_schema_is_a_lever_error(
    lever: responses.RequestsMock,
) -> None:
    lever.get(f"{BASE}/postings/p1", json={"data": {"text": "no id"}})

    with pytest.raises(LeverError, match="unexpected Posting shape") as info:
        make_client().get_posting("p1")

    assert not isinstance(info.value, LeverTransientError)


def test_a_2xx_that_is_not_json_is_a_server_error(lever: responses.RequestsMock) -> None:
    lever.get(f"{BASE}/postings/p1", body="<html>maintenance</html>", status=200)

    with pytest.raises(LeverServerError, match="not JSON"):
        make_client(max_retries=0).get_posting("p1")


def test_iter_postings_follows_next_passing_the_token_back_verbatim(
    lever: responses.RequestsMock,
) -> None:
    first = fixture("get-postings-page.json")
    assert first["next"] == PAGE_TOKEN
    second = {"data": [copy.deepcopy(first["data"][0]) | {"id": "last-one"}], "hasNext": False}
    lever.get(f"{BASE}/postings", json=first)
    lever.get(f"{BASE}/postings", json=second)

    postings = list(make_client().iter_postings())

    assert [p.id for p in postings][-1] == "last-one"
    assert len(postings) == len(first["data"]) + 1
    assert len(lever.calls) == 2
    assert "offset" not in request_url(lever.calls[0])
    second_url = request_url(lever.calls[1])
    assert second_url == f"{BASE}/postings?confidentiality=all&offset={PAGE_TOKEN}"
    assert "%25" not in second_url


def test_a_raw_page_token_is_sent_url_safe(lever: responses.RequestsMock) -> None:
    lever.get(
        f"{BASE}/stages",
        json={"data": [{"id": "a", "text": "A"}], "hasNext": True, "next": "0.14 1&x"},
    )
    lever.get(f"{BASE}/stages", json={"data": [{"id": "b", "text": "B"}], "hasNext": False})

    stages = make_client().list_stages()

    assert [s.id for s in stages] == ["a", "b"]
    assert request_url(lever.calls[1]).endswith("?offset=0.14%201%26x")


def test_the_first_page_of_the_fixture_parses_into_postings(lever: responses.RequestsMock) -> None:
    page = fixture("get-postings-page.json")
    page["hasNext"] = False
    del page["next"]  # Lever leaves it out on the last page
    lever.get(f"{BASE}/postings", json=page)

    postings = list(make_client().iter_postings())

    published = postings[0]
    assert published.text == "Senior Backend Engineer"
    assert published.state == "published"
    assert published.requisition_codes == ["ENG-101"]
    assert published.categories.team == "Platform"
    assert published.updated_at == 1766102300000
    assert postings[3].urls is None  # drafts have no public URLs


def test_a_repeated_page_token_raises_instead_of_looping_forever(
    lever: responses.RequestsMock,
) -> None:
    page = {"data": [{"id": "s", "text": "S"}], "hasNext": True, "next": "same-token"}
    lever.get(f"{BASE}/stages", json=page)

    with pytest.raises(LeverServerError, match="pagination token repeated"):
        make_client().list_stages()

    assert len(lever.calls) == 2


def _every_postings_page(client: LeverClient) -> None:
    """Page by page, as the posting sync reads them."""
    token: str | None = None
    while True:
        _, token = client.postings_page(offset=token)
        if token is None:
            return


# Every paged read, as (path, call): each must read a whole list or raise.
PAGED_READS: dict[str, tuple[str, Any]] = {
    "iter_postings": ("/postings", lambda c: list(c.iter_postings())),
    "postings_page": ("/postings", lambda c: _every_postings_page(c)),
    "iter_opportunities": ("/opportunities", lambda c: list(c.iter_opportunities())),
    "iter_notes": (f"/opportunities/{OPP_ID}/notes", lambda c: list(c.iter_notes(OPP_ID))),
    "list_stages": ("/stages", lambda c: c.list_stages()),
    "list_archive_reasons": ("/archive_reasons", lambda c: c.list_archive_reasons()),
    "iter_users": ("/users", lambda c: list(c.iter_users())),
    "list_webhooks": ("/webhooks", lambda c: c.list_webhooks()),
}
ITEM = {"id": "x-1", "text": "X", "createdAt": 1}
# Pages that contradict themselves or are cut short; each comes after a good page that said
# more follows ("tok-1"), asked for with that token.
INCONSISTENT_PAGES: dict[str, dict[str, Any]] = {
    "more follows, no next": {"data": [ITEM], "hasNext": True},
    "more follows, next null": {"data": [ITEM], "hasNext": True, "next": None},
    "more follows, next empty": {"data": [ITEM], "hasNext": True, "next": ""},
    "more follows, next not a string": {"data": [ITEM], "hasNext": True, "next": 7},
    "next without hasNext": {"data": [ITEM], "next": "tok-2"},
    "next on the last page": {"data": [ITEM], "hasNext": False, "next": "tok-2"},
    "hasNext not a boolean": {"data": [ITEM], "hasNext": "false"},
    "the token it was asked with": {"data": [ITEM], "hasNext": True, "next": "tok-1"},
    "data an object": {"data": {"0": ITEM}, "hasNext": False},
    "data null": {"data": None, "hasNext": False},
    "no data": {"hasNext": False},
}


@pytest.mark.parametrize("page", INCONSISTENT_PAGES.values(), ids=INCONSISTENT_PAGES.keys())
@pytest.mark.parametrize("read", PAGED_READS.values(), ids=PAGED_READS.keys())
def test_an_inconsistent_or_truncated_page_is_a_lever_error_never_the_end_of_the_list(
    lever: responses.RequestsMock, read: tuple[str, Any], page: dict[str, Any]
) -> None:
    path, call = read
    first = {"data": [ITEM | {"id": "x-0"}], "hasNext": True, "next": "tok-1"}
    lever.get(f"{BASE}{path}", json=first)
    lever.get(f"{BASE}{path}", json=page)

    with pytest.raises(LeverServerError) as info:
        call(make_client(max_retries=0))

    assert isinstance(info.value, LeverTransientError)  # Lever's side: try again later
    assert info.value.path == path
    assert len(lever.calls) == 2
    assert request_url(lever.calls[1]).endswith("offset=tok-1")


def test_a_first_page_that_says_more_follows_without_a_next_is_an_error(
    lever: responses.RequestsMock,
) -> None:
    lever.get(f"{BASE}/stages", json={"data": [{"id": "s", "text": "S"}], "hasNext": True})

    with pytest.raises(LeverServerError, match="more follows"):
        make_client().list_stages()


def test_a_page_without_paging_fields_is_a_whole_list(lever: responses.RequestsMock) -> None:
    # No wrapper or no hasNext/next at all: Lever's one-page answers in its docs.
    lever.get(f"{BASE}/stages", json={"data": [{"id": "s", "text": "S"}]})
    lever.get(f"{BASE}/archive_reasons", json=[{"id": "r", "text": "R", "type": "hired"}])

    assert [s.id for s in make_client().list_stages()] == ["s"]
    assert [r.id for r in make_client().list_archive_reasons()] == ["r"]


def test_a_list_endpoint_answering_an_object_is_an_error(lever: responses.RequestsMock) -> None:
    lever.get(f"{BASE}/stages", json={"data": {"id": "s"}})

    with pytest.raises(LeverServerError, match="expected a list"):
        make_client().list_stages()


def test_published_postings_ask_for_both_distribution_channels(
    lever: responses.RequestsMock,
) -> None:
    lever.get(f"{BASE}/postings", json={"data": [], "hasNext": False})

    list(make_client().iter_postings(states=["published", "internal"], confidentiality="all"))

    assert query(lever.calls[0]) == {
        "state": ["published", "internal"],
        "confidentiality": ["all"],
        "distributionChannel": ["public", "internal"],
    }


def test_incremental_postings_sync_sends_only_updated_at_start_and_confidentiality(
    lever: responses.RequestsMock,
) -> None:
    lever.get(f"{BASE}/postings", json={"data": [], "hasNext": False})

    list(make_client().iter_postings(updated_at_start=1767000000000, confidentiality="all"))

    assert query(lever.calls[0]) == {
        "confidentiality": ["all"],
        "updated_at_start": ["1767000000000"],
    }


def test_updated_at_start_with_a_state_filter_is_refused_as_lever_would(
    lever: responses.RequestsMock,
) -> None:
    with pytest.raises(ValueError, match="only be combined with confidentiality"):
        list(make_client().iter_postings(states=["published"], updated_at_start=1))

    assert len(lever.calls) == 0


def test_iter_opportunities_sends_repeated_filters(lever: responses.RequestsMock) -> None:
    lever.get(f"{BASE}/opportunities", json={"data": [opportunity_body()["data"]]})

    opps = list(
        make_client().iter_opportunities(
            contact_id=["c1", "c2"], expand=["applications"], archived=False, email="a@b.test"
        )
    )

    assert [o.id for o in opps] == [OPP_ID]
    assert query(lever.calls[0]) == {
        "archived": ["false"],
        "email": ["a@b.test"],
        "contact_id": ["c1", "c2"],
        "expand": ["applications"],
        "confidentiality": ["all"],
    }


def test_every_list_of_opportunities_or_postings_asks_for_confidential_records_too(
    lever: responses.RequestsMock,
) -> None:
    # Lever's lists leave confidential records out unless asked for all of them (issue #9).
    lever.get(f"{BASE}/opportunities", json={"data": [], "hasNext": False})
    lever.get(f"{BASE}/postings", json={"data": [], "hasNext": False})
    client = make_client()

    list(client.iter_opportunities())
    list(client.iter_opportunities(updated_at_start=5))
    list(client.iter_postings())
    list(client.iter_postings(states=["published"]))
    list(client.iter_postings(updated_at_start=5))

    assert [query(call)["confidentiality"] for call in lever.calls] == [["all"]] * 5


def test_the_key_check_probes_and_the_endpoint_probe_list_confidential_records_too(
    lever: responses.RequestsMock,
) -> None:
    from integrations.lever import calls, key_checks

    lever.get(f"{BASE}/opportunities", json={"data": [], "hasNext": False})
    lever.get(f"{BASE}/postings", json={"data": [], "hasNext": False})
    client = make_client()

    key_checks._PROBES["read_opportunities"](client)
    key_checks._PROBES["read_postings"](client)
    assert calls.record_level_forbidden(client, LeverPermissionError("403", status_code=403))

    assert [query(call)["confidentiality"] for call in lever.calls] == [["all"]] * 3


def test_iter_opportunities_refuses_filters_lever_does_not_have() -> None:
    with pytest.raises(TypeError, match="unknown opportunity filters: stage"):
        list(make_client().iter_opportunities(stage="x"))


def test_stages_keep_slug_ids_and_archive_reasons_filter_by_type(
    lever: responses.RequestsMock,
) -> None:
    lever.get(
        f"{BASE}/stages",
        json={"data": [{"id": "lead-new", "text": "New lead"}, {"id": "3c8e", "text": "Screen"}]},
    )
    lever.get(
        f"{BASE}/archive_reasons",
        json={"data": [{"id": "r1", "text": "Hired", "status": "active", "type": "hired"}]},
    )
    client = make_client()

    stages = client.list_stages()
    reasons = client.list_archive_reasons(type="hired")

    assert [s.id for s in stages] == ["lead-new", "3c8e"]
    assert reasons[0].is_hired
    assert query(lever.calls[1]) == {"type": ["hired"]}


def test_users_are_looked_up_by_email_and_can_include_deactivated(
    lever: responses.RequestsMock,
) -> None:
    user = {
        "id": "u1",
        "name": "Ada",
        "email": "ada@example.com",
        "accessRole": "super admin",
        "deactivatedAt": None,
    }
    lever.get(f"{BASE}/users", json={"data": [user]})
    lever.get(f"{BASE}/users/u1", json={"data": user | {"deactivatedAt": 1700000000000}})
    client = make_client()

    found = list(client.iter_users(email="ada@example.com", include_deactivated=True))
    fetched = client.get_user("u1")

    assert query(lever.calls[0]) == {"email": ["ada@example.com"], "includeDeactivated": ["true"]}
    assert found[0].access_role == "super admin"
    assert found[0].is_active
    assert not fetched.is_active


def test_iter_notes_reads_each_note(lever: responses.RequestsMock) -> None:
    note = {"id": "n1", "text": "Note", "fields": [{"value": "Karat: invited", "score": None}]}
    lever.get(f"{BASE}/opportunities/{OPP_ID}/notes", json={"data": [note], "hasNext": False})

    notes = list(make_client().iter_notes(OPP_ID))

    assert [(n.id, n.value) for n in notes] == [("n1", "Karat: invited")]


# --- writes ---------------------------------------------------------------------------------


def test_move_stage_puts_the_stage_with_perform_as_in_the_query(
    lever: responses.RequestsMock,
) -> None:
    lever.put(f"{BASE}/opportunities/{OPP_ID}/stage", json=opportunity_body())

    opp = make_client(perform_as=PERFORM_AS).move_stage(OPP_ID, "applicant-new")

    call = lever.calls[0]
    assert call.request.method == "PUT"
    assert query(call) == {"perform_as": [PERFORM_AS]}
    assert sent_json(call) == {"stage": "applicant-new"}
    assert call.request.headers["Content-Type"] == "application/json"
    assert call.request.headers["Authorization"] == f"Basic {BASIC}"
    assert opp.id == OPP_ID


def test_writes_without_perform_as_have_no_query_string(lever: responses.RequestsMock) -> None:
    lever.post(f"{BASE}/opportunities/{OPP_ID}/addTags", json=opportunity_body())

    make_client().add_tags(OPP_ID, ["karat:invited"])

    assert lever.calls[0].request.url == f"{BASE}/opportunities/{OPP_ID}/addTags"


def test_tags_and_links_are_posted_as_lists(lever: responses.RequestsMock) -> None:
    for action in ("addTags", "removeTags", "addLinks"):
        lever.post(f"{BASE}/opportunities/{OPP_ID}/{action}", json=opportunity_body())
    client = make_client(perform_as=PERFORM_AS)

    client.add_tags(OPP_ID, ("karat:invited", "karat:scheduled"))
    client.remove_tags(OPP_ID, ["karat:invited"])
    client.add_links(OPP_ID, ["https://karat.example/report/1"])

    assert [sent_json(c) for c in lever.calls] == [
        {"tags": ["karat:invited", "karat:scheduled"]},
        {"tags": ["karat:invited"]},
        {"links": ["https://karat.example/report/1"]},
    ]
    assert [c.request.method for c in lever.calls] == ["POST"] * 3


@pytest.mark.parametrize("tags", ["karat:invited", [], ["ok", ""], [None]])
def test_bad_tag_lists_are_refused_before_any_request(
    lever: responses.RequestsMock, tags: Any
) -> None:
    with pytest.raises((TypeError, ValueError)):
        make_client().add_tags(OPP_ID, tags)

    assert len(lever.calls) == 0


def test_add_note_posts_value_secret_and_score_and_reads_note_id(
    lever: responses.RequestsMock,
) -> None:
    lever.post(
        f"{BASE}/opportunities/{OPP_ID}/notes",
        status=201,
        json={
            "data": {
                "id": "full-note-id",
                "text": "Note",
                "fields": [{"type": "note", "value": "Karat: passed", "score": 4}],
                "secret": True,
                "noteId": "note-id",
            }
        },
    )

    note = make_client(perform_as=PERFORM_AS).add_note(
        OPP_ID, "Karat: passed", secret=True, score=4
    )

    call = lever.calls[0]
    assert query(call) == {"perform_as": [PERFORM_AS]}
    assert sent_json(call) == {"value": "Karat: passed", "secret": True, "score": 4}
    assert note.id == "note-id"
    assert note.value == "Karat: passed"


def test_add_note_reads_the_documented_note_id_only_reply(lever: responses.RequestsMock) -> None:
    lever.post(f"{BASE}/opportunities/{OPP_ID}/notes", status=201, json={"data": {"noteId": "n9"}})

    note = make_client().add_note(OPP_ID, "hello")

    assert note.id == "n9"
    assert sent_json(lever.calls[0]) == {"value": "hello", "secret": False}


@pytest.mark.parametrize(
    ("value", "score"), [("", None), ("   ", None), ("ok", 0), ("ok", 5), ("ok", True)]
)
def test_bad_notes_are_refused_before_any_request(
    lever: responses.RequestsMock, value: str, score: Any
) -> None:
    with pytest.raises(ValueError, match=r"note value|score"):
        make_client().add_note(OPP_ID, value, score=score)

    assert len(lever.calls) == 0


# --- webhooks -------------------------------------------------------------------------------


def test_create_webhook_sends_origins_and_returns_the_signature_token_hidden_from_repr(
    lever: responses.RequestsMock,
) -> None:
    token = "d2e4f6a8b0c1d3e5f7a9b1c3d5e7f9a0b2c4d6e8f0a1b3c5"
    lever.post(
        f"{BASE}/webhooks",
        status=201,
        json={
            "data": {
                "id": "wh1",
                "event": "candidateStageChange",
                "url": "https://karat.example/webhooks/lever/abc/",
                "configuration": {"conditions": {"origins": ["applied"]}, "signatureToken": token},
            }
        },
    )

    webhook = make_client(perform_as=PERFORM_AS).create_webhook(
        url="https://karat.example/webhooks/lever/abc/",
        event="candidateStageChange",
        origins=["applied"],
    )

    call = lever.calls[0]
    assert sent_json(call) == {
        "url": "https://karat.example/webhooks/lever/abc/",
        "event": "candidateStageChange",
        "configuration": {"conditions": {"origins": ["applied"]}},
    }
    assert query(call) == {}  # perform_as is not used on /webhooks
    assert webhook.signature_token == token
    assert webhook.origins == ["applied"]
    assert token not in repr(webhook)
    assert token not in str(webhook)


def test_create_webhook_accepts_the_double_data_wrapper_of_lever_doc_examples(
    lever: responses.RequestsMock,
) -> None:
    lever.post(
        f"{BASE}/webhooks",
        status=201,
        json={"data": {"data": {"id": "wh2", "configuration": {"signatureToken": "tok"}}}},
    )

    webhook = make_client().create_webhook(url="https://k.example/", event="candidateHired")

    assert (webhook.id, webhook.signature_token) == ("wh2", "tok")
    assert "configuration" not in sent_json(lever.calls[0])


def test_unknown_webhook_origins_are_refused(lever: responses.RequestsMock) -> None:
    with pytest.raises(ValueError, match="unknown webhook origins: website"):
        make_client().create_webhook(url="https://k.example/", event="x", origins=["website"])

    assert len(lever.calls) == 0


def test_list_update_and_delete_webhooks(lever: responses.RequestsMock) -> None:
    listed = {"id": "wh1", "event": "candidateHired", "url": "https://k.example/old"}
    lever.get(f"{BASE}/webhooks", json={"data": [listed], "hasNext": False})
    lever.put(
        f"{BASE}/webhooks",
        json={"data": [{"id": "other"}, listed | {"url": "https://k.example/new"}]},
    )
    lever.delete(f"{BASE}/webhooks/wh1", status=204)
    client = make_client()

    webhooks = client.list_webhooks()
    updated = client.update_webhook("wh1", url="https://k.example/new", origins=["sourced"])
    client.delete_webhook("wh1")

    assert webhooks[0].signature_token is None
    assert sent_json(lever.calls[1]) == {
        "data": [
            {
                "id": "wh1",
                "url": "https://k.example/new",
                "configuration": {"conditions": {"origins": ["sourced"]}},
            }
        ]
    }
    assert updated.url == "https://k.example/new"
    assert lever.calls[2].request.method == "DELETE"


def test_update_webhook_reply_without_that_webhook_is_an_error(
    lever: responses.RequestsMock,
) -> None:
    lever.put(f"{BASE}/webhooks", json={"data": [{"id": "other"}]})

    with pytest.raises(LeverError, match="did not include the webhook"):
        make_client().update_webhook("wh1", url="https://k.example/")


# --- error mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class", "retryable"),
    [
        (400, LeverBadRequest, False),
        (401, LeverAuthError, False),
        (403, LeverPermissionError, False),
        (404, LeverNotFound, False),
        (409, LeverBadRequest, False),
        (422, LeverBadRequest, False),
        (429, LeverRateLimited, True),
        (500, LeverServerError, True),
        (503, LeverServerError, True),
    ],
)
def test_each_status_maps_to_its_error_with_lever_code_and_message(
    lever: responses.RequestsMock, status: int, error_class: type[LeverError], retryable: bool
) -> None:
    lever.get(
        f"{BASE}/opportunities/{OPP_ID}",
        status=status,
        json={"code": "SomeCode", "message": "explained"},
    )

    with pytest.raises(error_class) as info:
        make_client(max_retries=0).get_opportunity(OPP_ID, expand=["stage"])

    error = info.value
    assert type(error) is error_class
    assert (error.status_code, error.code, error.message) == (status, "SomeCode", "explained")
    assert (error.method, error.path) == ("GET", f"/opportunities/{OPP_ID}")
    assert isinstance(error, LeverTransientError) is retryable
    assert str(error) == f"{status} SomeCode: explained (GET /opportunities/{OPP_ID})"
    assert "expand" not in str(error)


def test_a_403_is_also_an_auth_error() -> None:
    assert issubclass(LeverPermissionError, LeverAuthError)
    assert issubclass(LeverRateLimited, LeverTransientError)


def test_an_error_without_a_json_body_still_maps(lever: responses.RequestsMock) -> None:
    lever.get(f"{BASE}/users/u1", status=502, body="<html>Bad gateway</html>")

    with pytest.raises(LeverServerError) as info:
        make_client(max_retries=0).get_user("u1")

    assert (info.value.status_code, info.value.code, info.value.message) == (502, None, "HTTP 502")


def test_an_oversized_error_message_is_clipped(lever: responses.RequestsMock) -> None:
    lever.get(f"{BASE}/users/u1", status=400, json={"code": "BadRequest", "message": "x" * 10_000})

    with pytest.raises(LeverBadRequest) as info:
        make_client().get_user("u1")

    assert len(info.value.message) <= 300


def test_a_429_keeps_retry_after_seconds(lever: responses.RequestsMock) -> None:
    lever.get(f"{BASE}/users/u1", status=429, headers={"Retry-After": "7"}, json={})

    with pytest.raises(LeverRateLimited) as info:
        make_client(max_retries=0).get_user("u1")

    assert info.value.retry_after == 7.0
    assert info.value.status_code == 429


def test_a_429_retry_after_http_date_becomes_seconds(lever: responses.RequestsMock) -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    lever.get(
        f"{BASE}/users/u1", status=429, headers={"Retry-After": format_datetime(when, usegmt=True)}
    )

    with pytest.raises(LeverRateLimited) as info:
        make_client(max_retries=0).get_user("u1")

    assert info.value.retry_after is not None
    assert 27 <= info.value.retry_after <= 31


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3600", RETRY_AFTER_MAX),
        ("86400", RETRY_AFTER_MAX),
        ("-5", 0.0),
        ("soon", None),
        ("nan", None),
        (None, None),
    ],
)
def test_a_429_retry_after_is_capped_and_garbage_ignored(
    lever: responses.RequestsMock, header: str | None, expected: float | None
) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    lever.get(f"{BASE}/users/u1", status=429, headers=headers)

    with pytest.raises(LeverRateLimited) as info:
        make_client(max_retries=0).get_user("u1")

    assert info.value.retry_after == expected


def test_a_connection_error_becomes_lever_connection_error(lever: responses.RequestsMock) -> None:
    lever.get(f"{BASE}/users/u1", body=requests.ConnectionError("refused"))

    with pytest.raises(LeverConnectionError) as info:
        make_client(max_retries=0).get_user("u1")

    assert isinstance(info.value.__cause__, requests.ConnectionError)
    assert info.value.status_code is None
    assert isinstance(info.value, LeverTransientError)


@pytest.mark.parametrize("timeout", [requests.ReadTimeout("slow"), requests.ConnectTimeout("x")])
def test_a_timeout_becomes_lever_connection_error(
    lever: responses.RequestsMock, timeout: Exception
) -> None:
    lever.get(f"{BASE}/users/u1", body=timeout)

    with pytest.raises(LeverConnectionError, match="timed out") as info:
        make_client(max_retries=0).get_user("u1")

    assert info.value.__cause__ is timeout


# --- redirects: only the integration's own host answers ------------------------------------

ELSEWHERE = "https://login.elsewhere.test"


def test_a_read_follows_a_redirect_on_lever_s_own_host_with_the_key(
    lever: responses.RequestsMock,
) -> None:
    lever.get(f"{BASE}/postings/p1", status=301, headers={"Location": "/v1/postings/p2"})
    lever.get(f"{BASE}/postings/p2", json={"data": {"id": "p2", "text": "Moved"}})

    assert make_client().get_posting("p1").id == "p2"
    assert lever.calls[1].request.headers["Authorization"] == f"Basic {BASIC}"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_host_is_not_followed_and_names_that_host(
    lever: responses.RequestsMock, status: int
) -> None:
    lever.get(f"{BASE}/users", status=status, headers={"Location": f"{ELSEWHERE}/v1/users?x=1"})
    # What the other host would say: a 401, which must never count as Lever's.
    other = lever.get(f"{ELSEWHERE}/v1/users", status=401, json={"message": "who are you"})

    with pytest.raises(LeverRedirected) as info:
        list(make_client().iter_users())

    assert not isinstance(info.value, LeverAuthError)
    assert isinstance(info.value, LeverTransientError)  # not the key: try again later
    assert info.value.location_host == "login.elsewhere.test"
    assert "login.elsewhere.test" in str(info.value)
    assert "x=1" not in str(info.value)
    assert info.value.status_code == status
    assert other.call_count == 0
    assert len(lever.calls) == 1  # and not retried within the call


def test_the_same_host_on_another_port_is_another_host(lever: responses.RequestsMock) -> None:
    lever.get(f"{BASE}/stages", status=302, headers={"Location": "https://api.lever.co:8443/v1"})

    with pytest.raises(LeverRedirected, match=r"api\.lever\.co:8443"):
        make_client().list_stages()


def test_a_write_is_never_sent_again_on_a_redirect(lever: responses.RequestsMock) -> None:
    path = f"/opportunities/{OPP_ID}/addTags"
    lever.post(f"{BASE}{path}", status=307, headers={"Location": f"{BASE}{path}"})

    with pytest.raises(LeverRedirected, match="write"):
        make_client().add_tags(OPP_ID, ["karat"])

    assert len(lever.calls) == 1


def test_a_redirect_loop_or_a_redirect_without_location_is_an_error(
    lever: responses.RequestsMock,
) -> None:
    lever.get(f"{BASE}/stages", status=302, headers={"Location": f"{BASE}/stages"})
    lever.get(f"{BASE}/archive_reasons", status=302)

    with pytest.raises(LeverRedirected, match="more than 3 redirects"):
        make_client().list_stages()
    with pytest.raises(LeverRedirected, match="without a Location"):
        make_client().list_archive_reasons()


# --- retries --------------------------------------------------------------------------------


def test_get_retries_transient_errors_until_it_succeeds(lever: responses.RequestsMock) -> None:
    url = f"{BASE}/opportunities/{OPP_ID}"
    lever.get(url, status=503)
    lever.get(url, body=requests.ReadTimeout("slow"))
    lever.get(url, status=500)
    lever.get(url, json=opportunity_body())

    opp = make_client(max_retries=3).get_opportunity(OPP_ID)

    assert opp.id == OPP_ID
    assert len(lever.calls) == 4


def test_retries_stop_after_max_retries(lever: responses.RequestsMock) -> None:
    lever.get(f"{BASE}/users/u1", status=503)

    with pytest.raises(LeverServerError):
        make_client(max_retries=2).get_user("u1")

    assert len(lever.calls) == 3


def test_put_stage_is_retried(lever: responses.RequestsMock) -> None:
    url = f"{BASE}/opportunities/{OPP_ID}/stage"
    lever.put(url, status=502)
    lever.put(url, json=opportunity_body())

    make_client().move_stage(OPP_ID, "offer")

    assert len(lever.calls) == 2


@pytest.mark.parametrize("failure", [503, requests.ReadTimeout("lost reply")])
def test_post_note_is_never_retried(lever: responses.RequestsMock, failure: Any) -> None:
    url = f"{BASE}/opportunities/{OPP_ID}/notes"
    if isinstance(failure, int):
        lever.post(url, status=failure)
    else:
        lever.post(url, body=failure)
    lever.post(url, status=201, json={"data": {"noteId": "n1"}})

    with pytest.raises(LeverTransientError):
        make_client(max_retries=3).add_note(OPP_ID, "Karat: invited")

    assert len(lever.calls) == 1


def test_post_webhook_is_never_retried(lever: responses.RequestsMock) -> None:
    lever.post(f"{BASE}/webhooks", status=500)

    with pytest.raises(LeverServerError):
        make_client(max_retries=3).create_webhook(url="https://k.example/", event="candidateHired")

    assert len(lever.calls) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_permanent_errors_are_not_retried(lever: responses.RequestsMock, status: int) -> None:
    lever.get(f"{BASE}/users/u1", status=status)

    with pytest.raises(LeverError):
        make_client(max_retries=3).get_user("u1")

    assert len(lever.calls) == 1


def test_backoff_sleeps_stay_within_the_configured_caps(lever: responses.RequestsMock) -> None:
    lever.get(f"{BASE}/users/u1", status=503)
    started = time.monotonic()

    with pytest.raises(LeverServerError):
        make_client(max_retries=3, backoff_base=0.05, backoff_max=0.1).get_user("u1")

    # Full jitter: each sleep is in [0, min(0.1, 0.05 * 2**n)] → at most 0.05 + 0.1 + 0.1.
    assert time.monotonic() - started < 0.25 + 0.5
    assert len(lever.calls) == 4


def test_a_429_retry_after_is_slept_before_the_retry(lever: responses.RequestsMock) -> None:
    url = f"{BASE}/users/u1"
    lever.get(url, status=429, headers={"Retry-After": "0.4"})
    lever.get(url, json={"data": {"id": "u1"}})
    started = time.monotonic()

    user = make_client(max_retries=1).get_user("u1")

    assert user.id == "u1"
    assert time.monotonic() - started >= 0.4


def limiter(tmp_path: Path, *, rate: float = 1000.0, burst: int = 1000) -> RateLimiter:
    return RateLimiter(SqliteBucketStore(tmp_path / "rl.sqlite3"), "bucket", rate=rate, burst=burst)


def test_a_429_pauses_the_shared_limiter_then_retries(
    lever: responses.RequestsMock, tmp_path: Path
) -> None:
    url = f"{BASE}/users/u1"
    lever.get(url, status=429, headers={"Retry-After": "0.5"})
    lever.get(url, json={"data": {"id": "u1"}})
    shared = limiter(tmp_path)
    started = time.monotonic()

    make_client(max_retries=1, rate_limiter=shared).get_user("u1")

    assert time.monotonic() - started >= 0.5
    assert len(lever.calls) == 2


def test_a_retry_after_of_two_minutes_is_kept_whole_and_pauses_the_key_as_long(
    lever: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue #9: a Retry-After over 60 s was cut to 60, so the retry landed inside the penalty.
    lever.get(f"{BASE}/users/u1", status=429, headers={"Retry-After": "120"})
    shared = limiter(tmp_path)
    penalties: list[float] = []
    original = RateLimiter.penalize

    def spy(self: RateLimiter, seconds: float) -> None:
        penalties.append(seconds)
        original(self, seconds)

    monkeypatch.setattr(RateLimiter, "penalize", spy)
    sleeps: list[float] = []
    monkeypatch.setattr("integrations.lever.client.time.sleep", sleeps.append)

    with pytest.raises(LeverRateLimited) as info:
        make_client(max_retries=3, rate_limiter=shared).get_user("u1")

    assert RETRY_AFTER_MAX == 3600
    assert info.value.retry_after == 120
    assert penalties == [120]
    assert sleeps == []
    assert len(lever.calls) == 1


def test_a_long_retry_after_is_not_slept_but_blocks_every_process_sharing_the_key(
    lever: responses.RequestsMock, tmp_path: Path
) -> None:
    lever.get(f"{BASE}/users/u1", status=429, headers={"Retry-After": "30"})
    shared = limiter(tmp_path)
    started = time.monotonic()

    with pytest.raises(LeverRateLimited) as info:
        make_client(max_retries=3, rate_limiter=shared, backoff_max=5).get_user("u1")

    assert time.monotonic() - started < 5
    assert info.value.retry_after == 30
    assert len(lever.calls) == 1
    other_process_view = limiter(tmp_path)  # a fresh limiter on the same store file
    with pytest.raises(LeverRateLimited, match="local rate limit"):
        other_process_view.acquire(timeout=0.2)


def test_every_attempt_takes_a_limiter_token(lever: responses.RequestsMock, tmp_path: Path) -> None:
    url = f"{BASE}/users/u1"
    lever.get(url, status=503)
    lever.get(url, status=503)
    lever.get(url, json={"data": {"id": "u1"}})
    # Three tokens and (practically) no refill: the three attempts use them all.
    shared = limiter(tmp_path, rate=0.001, burst=3)

    make_client(max_retries=3, rate_limiter=shared).get_user("u1")

    assert len(lever.calls) == 3
    with pytest.raises(LeverRateLimited):
        shared.acquire(timeout=0)


def test_a_limiter_timeout_is_raised_with_the_request_and_nothing_is_sent(
    lever: responses.RequestsMock, tmp_path: Path
) -> None:
    shared = limiter(tmp_path, rate=0.001, burst=1)
    shared.acquire()

    with pytest.raises(LeverRateLimited) as info:
        make_client(rate_limiter=shared, acquire_timeout=0.05).get_user("u1")

    assert (info.value.status_code, info.value.method, info.value.path) == (
        None,
        "GET",
        "/users/u1",
    )
    assert len(lever.calls) == 0


# --- secrets never leak (real HTTP so urllib3 logs for real) --------------------------------


class _HostileLever(BaseHTTPRequestHandler):
    """Answers by path; error bodies echo the Authorization header back, as a worst case."""

    def do_GET(self) -> None:
        status = int(self.path.strip("/").split("/")[-1].split("?")[0])
        if status == 599:
            time.sleep(1.0)  # longer than the client's read timeout
            status = 200
        auth = self.headers.get("Authorization", "")
        body = json.dumps(
            {"code": f"Echo {auth}", "message": f"you sent {auth} {auth.split(' ')[-1]}"}
        )
        if status == 200:
            body = json.dumps({"data": {"id": "u1"}})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        try:
            self.wfile.write(body.encode())
        except (BrokenPipeError, ConnectionResetError):
            return  # the 599 case: the client gave up (timed out) on purpose

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def hostile_lever() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostileLever)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_the_key_never_reaches_logs_errors_or_reprs(
    hostile_lever: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    client = make_client(base_url=hostile_lever, max_retries=1, timeout=(1.0, 0.3))
    closed = make_client(base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=(0.5, 0.5))
    errors: list[BaseException] = []

    assert client.get_user("200").id == "u1"
    for status in (400, 401, 403, 404, 422, 429, 500, 503, 599):
        with pytest.raises(LeverError) as info:
            client.get_user(str(status))
        errors.append(info.value)
    with pytest.raises(LeverConnectionError) as info:
        closed.get_user("200")
    errors.append(info.value)

    assert any("urllib3" in r.name for r in caplog.records)  # urllib3 really logged
    assert {type(e) for e in errors} >= {
        LeverBadRequest,
        LeverAuthError,
        LeverPermissionError,
        LeverNotFound,
        LeverRateLimited,
        LeverServerError,
        LeverConnectionError,
    }
    texts = [caplog.text, repr(client), repr(closed)]
    for error in errors:
        texts += [
            str(error),
            repr(error),
            str(error.__cause__),
            repr(error.__cause__),
            str(error.args),
        ]
    for text in texts:
        assert KEY not in text
        assert BASIC not in text
    assert "[redacted]" in str(errors[1])  # the echoed header was scrubbed, not just absent


def test_a_key_echoed_across_the_message_cut_leaves_no_fragment(
    lever: responses.RequestsMock,
) -> None:
    # 290 characters of text, then the key: a clip at 300 before redaction would keep its head.
    message = "x" * 290 + KEY + " and the Basic form " + BASIC
    lever.get(f"{BASE}/users", json={"code": "BadRequest", "message": message}, status=400)

    with pytest.raises(LeverBadRequest) as info:
        list(make_client().iter_users())

    text = f"{info.value} {info.value!r} {info.value.message}"
    assert KEY[:8] not in text
    assert BASIC[:8] not in text
