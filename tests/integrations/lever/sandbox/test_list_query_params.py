"""List filters the sandbox implements (source, snoozed, archived_posting_id, ...) and the 400
it answers for any query parameter it does not, instead of silently returning the full list."""

from __future__ import annotations

import re
import time

import pytest
import requests

from integrations.lever.client import OPPORTUNITY_FILTERS
from integrations.lever.sandbox import SandboxServer, demo_data
from integrations.lever.sandbox.api import LIST_PARAMS
from tests.integrations.lever.sandbox.conftest import Api

DATA = demo_data()
REJECT_REASON = next(
    r["id"] for r in DATA.archive_reasons if r["type"] == "non-hired" and r["status"] == "active"
)


def _ids(response: requests.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {o["id"] for o in response.json()["data"]}


def _all_opportunity_ids(api: Api, **params: object) -> set[str]:
    ids: set[str] = set()
    query: dict[str, object] = {"limit": 100, **params}
    while True:
        body = api.get("/opportunities", params=query).json()
        ids |= {o["id"] for o in body["data"]}
        if not body["hasNext"]:
            return ids
        query["offset"] = body["next"]


# --- implemented filters -------------------------------------------------------------------


def test_source_filter_is_repeatable_ored_and_case_sensitive(api: Api) -> None:
    sources = sorted({s for o in DATA.opportunities for s in o["sources"]})
    first, second = sources[0], sources[1]
    expected = {
        o["id"]
        for o in DATA.opportunities
        if {first, second} & set(o["sources"]) and o["confidentiality"] == "non-confidential"
    }

    found = _all_opportunity_ids(api, source=[first, second])
    wrong_case = api.get("/opportunities", params={"source": first.swapcase()})

    assert found == expected
    assert 0 < len(found) < len(DATA.opportunities)
    assert _ids(wrong_case) == set()


def test_archived_posting_id_lists_only_opportunities_archived_from_that_posting(
    api: Api, sandbox: SandboxServer
) -> None:
    active = next(
        o
        for o in DATA.opportunities
        if o["archived"] is None and o["_application"] and o["confidentiality"] != "confidential"
    )
    posting = active["_application"]["posting"]
    before = _ids(api.get("/opportunities", params={"archived_posting_id": posting}))

    sandbox.archive(active["id"], REJECT_REASON)
    after = _ids(api.get("/opportunities", params={"archived_posting_id": posting}))
    applied = _ids(api.get("/opportunities", params={"posting_id": posting}))

    assert active["id"] not in before
    assert active["id"] in after
    assert after <= applied
    assert all(
        o["archived"] is not None
        for o in api.get("/opportunities", params={"archived_posting_id": posting}).json()["data"]
    )


def test_snoozed_filter_follows_snoozed_until_in_the_future(
    api: Api, sandbox: SandboxServer
) -> None:
    opportunity = DATA.opportunities[0]
    now_ms = int(time.time() * 1000)

    none_snoozed = _ids(api.get("/opportunities", params={"snoozed": "true"}))
    sandbox.snooze(opportunity["id"], now_ms + 3_600_000)
    snoozed = _ids(api.get("/opportunities", params={"snoozed": "true"}))
    awake = _all_opportunity_ids(api, snoozed="false")
    sandbox.snooze(opportunity["id"], now_ms - 1)  # the snooze has run out
    expired = _ids(api.get("/opportunities", params={"snoozed": "true"}))

    assert none_snoozed == set()
    assert snoozed == {opportunity["id"]}
    assert opportunity["id"] not in awake
    assert len(awake) > 1
    assert expired == set()
    assert api.get("/opportunities", params={"snoozed": "later"}).status_code == 400


def test_snooze_control_endpoint_sets_and_clears_snoozed_until(sandbox: SandboxServer) -> None:
    oid = DATA.opportunities[1]["id"]
    url = f"{sandbox.url}/_control/opportunities/{oid}/snooze"
    until = int(time.time() * 1000) + 60_000

    snoozed = requests.post(url, json={"until": until}, timeout=5)
    bad = requests.post(url, json={"until": "tomorrow"}, timeout=5)
    woken = requests.post(url, json={"until": None}, timeout=5)

    assert snoozed.json()["data"]["snoozedUntil"] == until
    assert bad.status_code == 400
    assert woken.json()["data"]["snoozedUntil"] is None
    assert sandbox.opportunity(oid)["snoozedUntil"] is None


def test_users_external_directory_id_filter_matches_nobody_in_the_demo(api: Api) -> None:
    assert _ids(api.get("/users", params={"external_directory_id": "emp-1"})) == set()


# --- parameters the sandbox does not implement ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/opportunities", {"location": "London, UK"}, "location"),
        ("/opportunities", {"posting": "x"}, "posting"),
        ("/opportunities", {"stage": "applicant-new"}, "stage"),
        ("/postings", {"group": "team"}, "group"),
        ("/postings", {"states": "published"}, "states"),
        ("/stages", {"type": "hired"}, "type"),
        ("/archive_reasons", {"status": "active"}, "status"),
        ("/users", {"name": "x"}, "name"),
        ("/tags", {"limit": "5"}, "limit"),
        ("/webhooks", {"event": "candidateHired"}, "event"),
        (f"/opportunities/{DATA.opportunities[0]['id']}/notes", {"secret": "true"}, "secret"),
    ],
)
def test_unknown_or_unimplemented_list_parameter_is_400_naming_it(
    api: Api, path: str, params: dict[str, str], named: str
) -> None:
    response = api.get(path, params=params)

    assert response.status_code == 400
    assert response.json()["code"] == "BadRequestError"
    assert set(response.json()) == {"code", "message"}
    assert named in response.json()["message"]


def test_unimplemented_lever_filters_say_so(api: Api) -> None:
    location = api.get("/opportunities", params={"location": "Remote"}).json()["message"]
    group = api.get("/postings", params={"group": "team"}).json()["message"]

    assert "not implemented by the sandbox" in location
    assert "not implemented by the sandbox" in group


def test_several_unknown_parameters_are_all_named(api: Api) -> None:
    message = api.get("/opportunities", params={"zeta": "1", "alpha": "2"}).json()["message"]

    assert "alpha, zeta" in message


def test_unknown_parameter_check_comes_after_auth(sandbox: SandboxServer) -> None:
    response = requests.get(sandbox.api_url + "/opportunities?location=Remote", timeout=5)

    assert response.status_code == 401


def test_single_object_reads_are_not_checked(api: Api) -> None:
    oid = DATA.opportunities[0]["id"]

    assert api.get(f"/opportunities/{oid}", params={"unrelated": "1"}).status_code == 200


def test_every_filter_our_client_may_send_is_implemented() -> None:
    # The client refuses filters outside OPPORTUNITY_FILTERS; the sandbox must accept them all.
    assert LIST_PARAMS["/v1/opportunities"] >= OPPORTUNITY_FILTERS


def test_snooze_button_on_the_candidate_page_snoozes_then_wakes(sandbox: SandboxServer) -> None:
    oid = DATA.opportunities[2]["id"]
    page = f"{sandbox.url}/candidates/{oid}"
    session = requests.Session()

    def press() -> None:
        html = session.get(page, timeout=5).text
        token = re.search(r"name='csrf' value='([^']+)'", html)
        value = re.search(r"name='snooze' value='(on|off)'", html)
        assert token
        assert value
        session.post(
            page + "/snooze", data={"csrf": token.group(1), "snooze": value.group(1)}, timeout=5
        )

    press()
    snoozed_until = sandbox.opportunity(oid)["snoozedUntil"]
    press()

    assert snoozed_until > int(time.time() * 1000)
    assert sandbox.opportunity(oid)["snoozedUntil"] is None
