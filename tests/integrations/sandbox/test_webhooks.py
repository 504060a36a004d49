"""Webhook deliveries from the sandbox: signed like Lever, one per registered URL, retried on failure."""

from __future__ import annotations

import time

import pytest
import requests

from integrations.lever.sandbox import DELIVERED_EVENTS, SandboxServer, demo_data
from integrations.lever.signatures import verify
from tests.integrations.sandbox.conftest import Api, Receiver

DATA = demo_data()
HIRED_REASON = next(r["id"] for r in DATA.archive_reasons if r["type"] == "hired")
REJECT_REASON = next(
    r["id"] for r in DATA.archive_reasons if r["type"] == "non-hired" and r["status"] == "active"
)
OPPORTUNITY = next(o for o in DATA.opportunities if o["archived"] is None and o["_application"])
UUID_STAGE = DATA.stages[6]["id"]


def _register(api: Api, url: str, event: str, **configuration: object) -> str:
    body: dict = {"url": url, "event": event}
    if configuration:
        body["configuration"] = configuration
    response = api.post("/webhooks", json=body)
    assert response.status_code == 201
    return response.json()["data"]["configuration"]["signatureToken"]


def test_stage_move_delivers_a_signed_lever_shaped_body(api: Api, receiver: Receiver) -> None:
    token = _register(api, receiver.url, "candidateStageChange")

    api.put(f"/opportunities/{OPPORTUNITY['id']}/stage", json={"stage": UUID_STAGE})

    [delivery] = receiver.wait_for(1)
    body = delivery["body"]
    assert delivery["headers"]["Content-Type"] == "application/json"
    assert delivery["headers"]["User-Agent"] == "Lever-Webhooks"
    assert delivery["path"] == "/webhooks/lever/test/"
    assert set(body) == {"triggeredAt", "event", "data", "token", "signature"}
    assert body["event"] == "candidateStageChange"
    assert len(body["token"]) == 48
    assert body["data"] == {
        "opportunityId": OPPORTUNITY["id"],
        "candidateId": OPPORTUNITY["_candidateId"],
        "contactId": OPPORTUNITY["contact"],
        "fromStageId": OPPORTUNITY["stage"],
        "toStageId": UUID_STAGE,
    }
    assert verify(body, signature_tokens=[token])
    assert not verify(body, signature_tokens=["another-token"])


def test_api_reply_does_not_wait_for_a_slow_receiver(api: Api, sandbox: SandboxServer) -> None:
    # A receiver that never answers: the API reply must still be immediate.
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    _register(api, f"http://127.0.0.1:{listener.getsockname()[1]}/", "candidateStageChange")

    started = time.monotonic()
    response = api.put(f"/opportunities/{OPPORTUNITY['id']}/stage", json={"stage": UUID_STAGE})

    assert response.status_code == 200
    assert time.monotonic() - started < 1.0
    listener.close()


def test_archive_sends_archive_change_with_from_and_to_archived(
    api: Api, receiver: Receiver
) -> None:
    token = _register(api, receiver.url, "candidateArchiveChange")

    api.put(f"/opportunities/{OPPORTUNITY['id']}/archived", json={"reason": REJECT_REASON})
    api.put(f"/opportunities/{OPPORTUNITY['id']}/archived", json={"reason": None})

    archived, unarchived = (d["body"] for d in receiver.wait_for(2))
    assert archived["data"]["fromArchived"] is None
    assert archived["data"]["toArchived"]["reason"] == REJECT_REASON
    assert isinstance(archived["data"]["toArchived"]["archivedAt"], int)
    assert unarchived["data"]["fromArchived"]["reason"] == REJECT_REASON
    assert unarchived["data"]["toArchived"] is None
    assert all(verify(b, signature_tokens=[token]) for b in (archived, unarchived))


def test_hiring_sends_both_candidate_hired_and_archive_change(
    api: Api, sandbox: SandboxServer, receiver: Receiver
) -> None:
    hired_token = _register(api, receiver.url, "candidateHired")
    archive_token = _register(api, receiver.url, "candidateArchiveChange")

    api.put(f"/opportunities/{OPPORTUNITY['id']}/archived", json={"reason": HIRED_REASON})

    bodies = {d["body"]["event"]: d["body"] for d in receiver.wait_for(2)}
    assert set(bodies) == {"candidateHired", "candidateArchiveChange"}
    assert bodies["candidateHired"]["data"]["opportunityId"] == OPPORTUNITY["id"]
    assert verify(bodies["candidateHired"], signature_tokens=[hired_token])
    assert verify(bodies["candidateArchiveChange"], signature_tokens=[archive_token])
    assert sandbox.counters(OPPORTUNITY["id"])["hires"] == 1


def test_repeating_the_same_write_fires_nothing_new(
    api: Api, sandbox: SandboxServer, receiver: Receiver
) -> None:
    _register(api, receiver.url, "candidateStageChange")
    url = f"/opportunities/{OPPORTUNITY['id']}/stage"

    api.put(url, json={"stage": UUID_STAGE})
    api.put(url, json={"stage": UUID_STAGE})

    assert sandbox.wait_for_deliveries(5)
    assert len(receiver.received) == 1
    assert sandbox.counters(OPPORTUNITY["id"])["stage_moves"] == 2


def test_control_page_actions_fire_webhooks_too(
    sandbox: SandboxServer, api: Api, receiver: Receiver
) -> None:
    _register(api, receiver.url, "candidateHired")

    sandbox.hire(OPPORTUNITY["id"])

    [delivery] = receiver.wait_for(1)
    assert delivery["body"]["event"] == "candidateHired"
    assert sandbox.counters(OPPORTUNITY["id"])["hires"] == 0  # only API writes are counted


def test_failing_receiver_is_retried_five_times_then_given_up(
    api: Api, sandbox: SandboxServer, receiver: Receiver
) -> None:
    token = _register(api, receiver.url, "candidateStageChange")
    receiver.statuses = [500, 503, 302, 404, 500, 500, 500]

    api.put(f"/opportunities/{OPPORTUNITY['id']}/stage", json={"stage": UUID_STAGE})

    assert sandbox.wait_for_deliveries(10)
    [delivery] = sandbox.deliveries()
    assert len(receiver.received) == 6
    assert delivery["status"] == "failed"
    assert [a["statusCode"] for a in delivery["attempts"]] == [500, 503, 302, 404, 500, 500]
    assert (
        len({r["body"]["token"] for r in receiver.received}) == 1
    )  # a retry resends the same body
    assert all(verify(r["body"], signature_tokens=[token]) for r in receiver.received)
    gaps = [
        b["at"] - a["at"]
        for a, b in zip(delivery["attempts"], delivery["attempts"][1:], strict=False)
    ]
    assert gaps[-1] > gaps[0]


def test_receiver_that_recovers_gets_the_delivery(
    api: Api, sandbox: SandboxServer, receiver: Receiver
) -> None:
    _register(api, receiver.url, "candidateStageChange")
    receiver.statuses = [503, 503]

    api.put(f"/opportunities/{OPPORTUNITY['id']}/stage", json={"stage": UUID_STAGE})

    assert sandbox.wait_for_deliveries(5)
    [delivery] = sandbox.deliveries()
    assert delivery["status"] == "delivered"
    assert [a["statusCode"] for a in delivery["attempts"]] == [503, 503, 200]


def test_unreachable_receiver_records_connection_errors(api: Api, sandbox: SandboxServer) -> None:
    import socket

    unused = socket.socket()
    unused.bind(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    unused.close()
    _register(api, f"http://127.0.0.1:{port}/", "candidateStageChange")

    api.put(f"/opportunities/{OPPORTUNITY['id']}/stage", json={"stage": UUID_STAGE})

    assert sandbox.wait_for_deliveries(10)
    [delivery] = sandbox.deliveries()
    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == 6
    assert all(a["statusCode"] is None and a["error"] for a in delivery["attempts"])


def test_event_switched_off_delivers_nothing(
    api: Api, sandbox: SandboxServer, receiver: Receiver
) -> None:
    _register(api, receiver.url, "candidateStageChange")
    sandbox.set_event_enabled("candidateStageChange", False)

    api.put(f"/opportunities/{OPPORTUNITY['id']}/stage", json={"stage": UUID_STAGE})

    assert sandbox.wait_for_deliveries(5)
    assert receiver.received == []
    assert sandbox.deliveries() == []


def test_origin_conditions_filter_deliveries(
    api: Api, sandbox: SandboxServer, receiver: Receiver
) -> None:
    other_origin = next(
        o for o in ("applied", "sourced", "referred", "agency") if o != OPPORTUNITY["origin"]
    )
    _register(api, receiver.url, "candidateStageChange", conditions={"origins": [other_origin]})

    api.put(f"/opportunities/{OPPORTUNITY['id']}/stage", json={"stage": UUID_STAGE})

    assert sandbox.wait_for_deliveries(5)
    assert receiver.received == []


def test_every_registered_url_gets_its_own_signed_copy(
    api: Api, sandbox: SandboxServer, receiver: Receiver
) -> None:
    first = _register(api, receiver.url, "candidateStageChange")
    second = _register(api, receiver.url + "?second=1", "candidateStageChange")

    api.put(f"/opportunities/{OPPORTUNITY['id']}/stage", json={"stage": UUID_STAGE})

    bodies = [d["body"] for d in receiver.wait_for(2)]
    assert len(bodies) == 2
    assert sorted(verify(b, signature_tokens=[first]) for b in bodies) == [False, True]
    assert sorted(verify(b, signature_tokens=[second]) for b in bodies) == [False, True]


@pytest.mark.parametrize("event", ["candidateStageChange", "candidateHired"])
def test_send_test_posts_empty_data(
    sandbox: SandboxServer, api: Api, receiver: Receiver, event: str
) -> None:
    token = _register(api, receiver.url, event)
    hook_id = api.get("/webhooks").json()["data"][0]["id"]

    sandbox.sandbox.send_test(hook_id)

    [delivery] = receiver.wait_for(1)
    assert delivery["body"]["data"] == {}
    assert delivery["body"]["event"] == event
    assert verify(delivery["body"], signature_tokens=[token])


def test_events_are_on_by_default_even_without_seeding() -> None:
    with SandboxServer(port=0, seed=False) as empty:
        key = empty.create_api_key(["webhooks:write:admin", "opportunities:read:admin"])
        response = requests.get(empty.api_url + "/opportunities", auth=(key, ""), timeout=5)

        assert empty.sandbox.event_toggles() == dict.fromkeys(DELIVERED_EVENTS, True)
        assert response.json() == {"data": [], "hasNext": False}
