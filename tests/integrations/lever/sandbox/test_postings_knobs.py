"""Sandbox posting knobs: many postings at once, change and delete one, fail a list part-way."""

from __future__ import annotations

from collections import Counter

import requests

from integrations.lever.sandbox import SandboxServer
from tests.integrations.lever.sandbox.conftest import Api


def _all_postings(api: Api, **params: str) -> list[dict]:
    found, offset = [], None
    while True:
        query = {**params, "confidentiality": "all", **({"offset": offset} if offset else {})}
        body = api.get("/postings", params=query).json()
        found += body["data"]
        if not body.get("hasNext"):
            return found
        offset = body["next"]


def test_many_postings_are_added_at_once_in_every_state(sandbox: SandboxServer, api: Api) -> None:
    response = requests.post(
        sandbox.url + "/_control/postings",
        json={"count": 120, "confidential_every": 10},
        timeout=5,
    )

    assert response.status_code == 201
    generated = [p for p in _all_postings(api) if p["id"].startswith("gen-")]
    assert len(generated) == 120
    assert Counter(p["state"] for p in generated) == dict.fromkeys(
        ("published", "internal", "closed", "draft", "pending", "rejected"), 20
    )
    assert sum(p["confidentiality"] == "confidential" for p in generated) == 12
    assert generated[0]["requisitionCodes"] == ["GEN-1"]


def test_bad_knob_input_is_a_400_and_adds_nothing(sandbox: SandboxServer) -> None:
    before = len(sandbox.sandbox.postings())
    for body in ({"count": 0}, {"count": "5"}, {"count": 5, "confidential_every": -1}, {}):
        response = requests.post(sandbox.url + "/_control/postings", json=body, timeout=5)
        assert response.status_code == 400, body
    assert len(sandbox.sandbox.postings()) == before


def test_a_changed_posting_is_listed_as_changed_and_a_deleted_one_is_gone(
    sandbox: SandboxServer, api: Api
) -> None:
    first, second = (p["id"] for p in sandbox.sandbox.postings()[:2])
    before = api.get(f"/postings/{first}").json()["data"]["updatedAt"]

    changed = requests.post(
        f"{sandbox.url}/_control/postings/{first}",
        json={"text": "Renamed", "requisitionCodes": ["X-1"]},
        timeout=5,
    ).json()["data"]
    requests.delete(f"{sandbox.url}/_control/postings/{second}", timeout=5).raise_for_status()

    assert changed["updatedAt"] > before
    assert (changed["text"], changed["reqCode"]) == ("Renamed", "X-1")
    since = _all_postings(api, updated_at_start=str(changed["updatedAt"]))
    assert [p["id"] for p in since] == [first]
    assert api.get(f"/postings/{second}").status_code == 404
    assert second not in {p["id"] for p in _all_postings(api)}
    unknown = requests.post(
        f"{sandbox.url}/_control/postings/{first}", json={"owner": "x"}, timeout=5
    )
    assert unknown.status_code == 400


def test_fail_after_lets_requests_through_before_failing(sandbox: SandboxServer, api: Api) -> None:
    sandbox.set_faults(fail_after=2, fail_next=[503], paths=["/v1/postings"])

    statuses = [api.get("/postings").status_code for _ in range(4)]

    assert statuses == [200, 200, 503, 200]
