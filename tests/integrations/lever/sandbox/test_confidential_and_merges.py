"""Issue #9 in the sandbox: confidential records the way Lever treats them, profile merges, and
the Retry-After an injected 429 carries."""

from __future__ import annotations

import re

import pytest
import requests

from integrations.lever.sandbox import KARAT_PERMISSIONS, SandboxServer, demo_data
from integrations.lever.sandbox.permissions import CONFIDENTIAL_ACCESS
from tests.integrations.lever.sandbox.conftest import Api

DATA = demo_data()
OPPORTUNITY = next(
    o for o in DATA.opportunities if o["archived"] is None and o["_application"] and o["emails"]
)
OTHER = next(o for o in DATA.opportunities if o["contact"] != OPPORTUNITY["contact"])
CONFIDENTIAL_POSTING = next(p for p in DATA.postings if p["confidentiality"] == "confidential")
WITHOUT_CONFIDENTIAL = [p for p in KARAT_PERMISSIONS if p != CONFIDENTIAL_ACCESS]


def _ids(response: requests.Response) -> set[str]:
    assert response.status_code == 200, response.text
    assert response.json()["hasNext"] is False
    return {d["id"] for d in response.json()["data"]}


@pytest.fixture
def no_confidential(sandbox: SandboxServer) -> Api:
    session = requests.Session()
    session.auth = (sandbox.create_api_key(WITHOUT_CONFIDENTIAL), "")
    return Api(sandbox.api_url, session)


# --- confidential data -----------------------------------------------------------------------


def test_the_karat_tile_asks_for_confidential_access() -> None:
    assert CONFIDENTIAL_ACCESS in KARAT_PERMISSIONS


def test_lists_leave_confidential_opportunities_out_unless_asked_for_all(
    sandbox: SandboxServer, api: Api
) -> None:
    sandbox.set_confidential(OPPORTUNITY["id"])
    params = {"contact_id": OPPORTUNITY["contact"]}

    default = _ids(api.get("/opportunities", params=params))
    everything = _ids(api.get("/opportunities", params={**params, "confidentiality": "all"}))
    only = _ids(api.get("/opportunities", params={**params, "confidentiality": "confidential"}))

    assert OPPORTUNITY["id"] not in default
    assert OPPORTUNITY["id"] in everything
    assert only == {OPPORTUNITY["id"]}


def test_a_key_without_confidential_access_gets_lever_403_on_a_confidential_opportunity(
    sandbox: SandboxServer, no_confidential: Api
) -> None:
    sandbox.set_confidential(OPPORTUNITY["id"])
    path = f"/opportunities/{OPPORTUNITY['id']}"

    read = no_confidential.get(path)
    notes = no_confidential.get(path + "/notes")
    moved = no_confidential.put(path + "/stage", json={"stage": "offer"})
    listed = _ids(
        no_confidential.get(
            "/opportunities",
            params={"contact_id": OPPORTUNITY["contact"], "confidentiality": "all"},
        )
    )

    assert [read.status_code, notes.status_code, moved.status_code] == [403, 403, 403]
    assert read.json() == {
        "code": "ForbiddenError",
        "message": "This API key is not authorized to access confidential data "
        f"(opportunities {OPPORTUNITY['id']})",
    }
    assert sandbox.opportunity(OPPORTUNITY["id"])["stage"] == OPPORTUNITY["stage"]
    assert OPPORTUNITY["id"] not in listed  # "all" = every record this key may read
    # Everything else still answers: only the confidential record is hidden.
    assert no_confidential.get(f"/opportunities/{OTHER['id']}").status_code == 200


def test_a_key_with_confidential_access_reads_and_writes_a_confidential_opportunity(
    sandbox: SandboxServer, api: Api
) -> None:
    sandbox.set_confidential(OPPORTUNITY["id"])
    path = f"/opportunities/{OPPORTUNITY['id']}"

    read = api.get(path)
    moved = api.put(path + "/stage", json={"stage": "offer"})

    assert read.status_code == 200
    assert read.json()["data"]["confidentiality"] == "confidential"
    assert moved.status_code == 200


def test_confidential_postings_follow_the_same_rules(
    sandbox: SandboxServer, api: Api, no_confidential: Api
) -> None:
    path = f"/postings/{CONFIDENTIAL_POSTING['id']}"

    assert CONFIDENTIAL_POSTING["id"] not in _ids(api.get("/postings"))
    assert CONFIDENTIAL_POSTING["id"] in _ids(
        api.get("/postings", params={"confidentiality": "all"})
    )
    assert CONFIDENTIAL_POSTING["id"] not in _ids(
        no_confidential.get("/postings", params={"confidentiality": "all"})
    )
    assert api.get(path).status_code == 200
    denied = no_confidential.get(path)
    assert denied.status_code == 403
    assert "not authorized to access confidential data" in denied.json()["message"]


def test_making_an_opportunity_confidential_moves_updated_at_and_can_be_undone(
    sandbox: SandboxServer,
) -> None:
    before = sandbox.opportunity(OPPORTUNITY["id"])

    confidential = sandbox.set_confidential(OPPORTUNITY["id"])
    again = requests.post(
        f"{sandbox.url}/_control/opportunities/{OPPORTUNITY['id']}/confidential",
        json={"confidential": False},
        timeout=5,
    )

    assert confidential["confidentiality"] == "confidential"
    assert confidential["updatedAt"] > before["updatedAt"]
    assert again.status_code == 200
    assert again.json()["data"]["confidentiality"] == "non-confidential"
    assert sandbox.deliveries() == []  # no webhook


def test_the_candidates_page_makes_an_opportunity_confidential(sandbox: SandboxServer) -> None:
    browser = requests.Session()
    page = f"/candidates/{OPPORTUNITY['id']}"
    html = browser.get(sandbox.url + page, timeout=5).text
    token = re.search(r"name='csrf' value='([^']+)'", html)
    assert token
    assert "Make confidential" in html

    browser.post(
        f"{sandbox.url}{page}/confidential",
        data={"csrf": token.group(1), "confidential": "on"},
        timeout=5,
    )

    after = browser.get(sandbox.url + page, timeout=5).text
    assert sandbox.opportunity(OPPORTUNITY["id"])["confidentiality"] == "confidential"
    assert "(confidential)" in after
    assert "Make non-confidential" in after


# --- profile merges --------------------------------------------------------------------------


def test_a_profile_merge_moves_every_opportunity_of_the_contact_and_their_updated_at(
    sandbox: SandboxServer, api: Api
) -> None:
    source = OPPORTUNITY["contact"]
    moved_ids = {o["id"] for o in DATA.opportunities if o["contact"] == source}
    before = sandbox.opportunity(OPPORTUNITY["id"])

    target = sandbox.merge_contact(OPPORTUNITY["id"], OTHER["contact"])

    after = sandbox.opportunity(OPPORTUNITY["id"])
    assert target == OTHER["contact"]
    assert after["contact"] == OTHER["contact"]
    assert after["updatedAt"] > before["updatedAt"]
    assert set(OTHER["emails"]) <= set(after["emails"])
    assert _ids(api.get("/opportunities", params={"contact_id": source})) == set()
    assert moved_ids | {OTHER["id"]} <= _ids(
        api.get("/opportunities", params={"contact_id": target})
    )
    assert sandbox.deliveries() == []  # no webhook


def test_a_merge_into_a_new_profile_through_the_control_api(sandbox: SandboxServer) -> None:
    response = requests.post(
        f"{sandbox.url}/_control/opportunities/{OPPORTUNITY['id']}/merge", json={}, timeout=5
    )

    contact = response.json()["data"]["contact"]
    assert response.status_code == 200
    assert contact not in {o["contact"] for o in DATA.opportunities}
    assert sandbox.opportunity(OPPORTUNITY["id"])["contact"] == contact


def test_merging_a_contact_into_itself_is_refused(sandbox: SandboxServer) -> None:
    response = requests.post(
        f"{sandbox.url}/_control/opportunities/{OPPORTUNITY['id']}/merge",
        json={"contact": OPPORTUNITY["contact"]},
        timeout=5,
    )

    assert response.status_code == 400


# --- Retry-After on injected 429s ------------------------------------------------------------


def test_an_injected_429_carries_the_configured_retry_after(
    sandbox: SandboxServer, api: Api
) -> None:
    default = sandbox.set_faults(fail_next=[429])
    first = api.get("/stages")
    sandbox.set_faults(fail_next=[429], retry_after=120)
    second = api.get("/stages")

    assert default.retry_after == 1
    assert (first.status_code, first.headers["Retry-After"]) == (429, "1")
    assert (second.status_code, second.headers["Retry-After"]) == (429, "120")
    assert sandbox.faults["retry_after"] == 120


@pytest.mark.parametrize("value", [-1, "120", True, 86_401])
def test_a_bad_retry_after_knob_is_refused(sandbox: SandboxServer, value: object) -> None:
    response = requests.post(
        sandbox.url + "/_control/faults", json={"retry_after": value}, timeout=5
    )

    assert response.status_code == 400
    assert sandbox.faults["retry_after"] == 1
