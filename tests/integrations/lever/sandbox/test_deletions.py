"""The sandbox's deletions and anonymisation (integrations/lever/README.md §15): the buttons on a
candidate's page, the control API, ``GET /opportunities/deleted`` and the candidateDeleted
webhook."""

from __future__ import annotations

import re

import requests

from integrations.lever.sandbox import SandboxServer, demo_data
from integrations.lever.signatures import verify
from tests.integrations.lever.sandbox.conftest import Api, Receiver

DATA = demo_data()
OPPORTUNITIES = [o for o in DATA.opportunities if o["emails"] and o["name"]]


def _csrf(html: str) -> str:
    match = re.search(r"name='csrf' value='([^']+)'", html)
    assert match, "page has no form token"
    return match.group(1)


def _press(sandbox: SandboxServer, opportunity_id: str, button: str) -> requests.Response:
    """Press a button on the candidate's page, as a person in a browser does."""
    page = f"{sandbox.url}/candidates/{opportunity_id}"
    session = requests.Session()
    html = session.get(page, timeout=5).text
    assert f"/candidates/{opportunity_id}/{button}" in html
    return session.post(f"{page}/{button}", data={"csrf": _csrf(html)}, timeout=5)


def test_the_anonymize_button_erases_the_person_and_flags_the_opportunity(
    sandbox: SandboxServer, api: Api
) -> None:
    opportunity_id = OPPORTUNITIES[0]["id"]

    _press(sandbox, opportunity_id, "anonymize")

    doc = api.get(f"/opportunities/{opportunity_id}", params={"expand": "contact"}).json()["data"]
    assert doc["isAnonymized"] is True
    assert doc["contact"]["isAnonymized"] is True
    assert (doc["name"], doc["emails"], doc["phones"]) == ("", [], [])
    assert doc["updatedAt"] > OPPORTUNITIES[0]["updatedAt"]


def test_the_delete_button_deletes_the_candidate_as_lever_does(
    sandbox: SandboxServer, api: Api
) -> None:
    opportunity_id = OPPORTUNITIES[1]["id"]

    pressed = _press(sandbox, opportunity_id, "delete")

    assert pressed.url.endswith("/candidates?msg=Candidate%20deleted")
    assert api.get(f"/opportunities/{opportunity_id}").status_code == 404
    listed = api.get("/opportunities", params={"limit": 100, "confidentiality": "all"}).json()
    assert opportunity_id not in {o["id"] for o in listed["data"]}
    deleted = api.get("/opportunities/deleted").json()
    assert [d["id"] for d in deleted["data"]] == [opportunity_id]
    assert isinstance(deleted["data"][0]["deletedAt"], int)


def test_the_control_api_deletes_and_anonymizes(sandbox: SandboxServer, api: Api) -> None:
    first, second = OPPORTUNITIES[2]["id"], OPPORTUNITIES[3]["id"]

    deleted = requests.post(
        f"{sandbox.url}/_control/opportunities/{first}/delete", json={}, timeout=5
    )
    anonymized = requests.post(
        f"{sandbox.url}/_control/opportunities/{second}/anonymize", json={}, timeout=5
    )
    again = requests.post(f"{sandbox.url}/_control/opportunities/{first}/delete", timeout=5)

    assert deleted.status_code == 200
    assert deleted.json()["data"]["id"] == first
    assert anonymized.json()["data"]["isAnonymized"] is True
    assert again.status_code == 404  # deleted in between: Lever's NotFound


def test_deleting_a_candidate_fires_a_signed_candidate_deleted_webhook(
    api: Api, sandbox: SandboxServer, receiver: Receiver
) -> None:
    created = api.post("/webhooks", json={"url": receiver.url, "event": "candidateDeleted"}).json()[
        "data"
    ]
    token = created["configuration"]["signatureToken"]
    receiver.wait_for(1)  # the test delivery Lever sends when a webhook is saved
    opportunity = OPPORTUNITIES[4]

    sandbox.delete_candidate(opportunity["id"])

    deliveries = receiver.wait_for(2)
    body = deliveries[-1]["body"]
    assert body["event"] == "candidateDeleted"
    assert body["data"]["opportunityId"] == opportunity["id"]
    assert body["data"]["contactId"] == opportunity["contact"]
    assert verify(body, signature_tokens=[token])


def test_the_deleted_list_refuses_a_bad_range(api: Api) -> None:
    answer = api.get("/opportunities/deleted", params={"deleted_at_start": "yesterday"})

    assert answer.status_code == 400
    assert answer.json()["code"] == "BadRequestError"
