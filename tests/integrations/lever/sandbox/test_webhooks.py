"""Webhook deliveries from the sandbox: signed like Lever, one per registered URL, retried on failure."""

from __future__ import annotations

import re
import time

import pytest
import requests

from integrations.lever.sandbox import DELIVERED_EVENTS, SandboxServer, demo_data, state
from integrations.lever.signatures import verify
from tests.integrations.lever.sandbox.conftest import Api, Receiver

DATA = demo_data()
HIRED_REASON = next(r["id"] for r in DATA.archive_reasons if r["type"] == "hired")
REJECT_REASON = next(
    r["id"] for r in DATA.archive_reasons if r["type"] == "non-hired" and r["status"] == "active"
)
OPPORTUNITY = next(o for o in DATA.opportunities if o["archived"] is None and o["_application"])
UUID_STAGE = DATA.stages[6]["id"]


@pytest.fixture(autouse=True)
def _test_deliveries_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test delivery Lever sends when a webhook is saved goes out a moment later; here, now.
    monkeypatch.setattr(state, "TEST_DELIVERY_DELAY_SECONDS", 0.0)


def _register(
    api: Api, url: str, event: str, *, receiver: Receiver | None = None, **configuration: object
) -> str:
    """Create a webhook through the API; with ``receiver``, its test delivery is awaited and
    then forgotten, so the test sees only what its own writes send."""
    body: dict = {"url": url, "event": event}
    if configuration:
        body["configuration"] = configuration
    response = api.post("/webhooks", json=body)
    assert response.status_code == 201
    if receiver is not None:
        assert any(_is_test(d["body"]) for d in receiver.wait_for(len(receiver.received) + 1))
        with receiver.lock:
            receiver.received.clear()
    return response.json()["data"]["configuration"]["signatureToken"]


def _is_test(body: dict) -> bool:
    return body["data"] == {}


def _event_deliveries(sandbox: SandboxServer) -> list[dict]:
    """The sandbox's deliveries of candidate changes (not the test sent on create)."""
    return [d for d in sandbox.deliveries() if not _is_test(d["body"])]


# --- the test delivery Lever sends when a webhook is saved ------------------------------------


def test_creating_a_webhook_through_the_api_sends_a_signed_test_delivery(
    api: Api, sandbox: SandboxServer, receiver: Receiver
) -> None:
    token = _register(api, receiver.url, "candidateHired")

    [delivery] = receiver.wait_for(1)

    body = delivery["body"]
    assert body["event"] == "candidateHired"
    assert body["data"] == {}
    assert verify(body, signature_tokens=[token])
    assert sandbox.wait_for_deliveries(5)
    [sent] = sandbox.deliveries()
    assert (sent["status"], sent["opportunityId"]) == ("delivered", None)


def test_the_test_delivery_waits_a_moment_so_the_token_can_be_stored_first(
    api: Api, sandbox: SandboxServer, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state, "TEST_DELIVERY_DELAY_SECONDS", 0.5)
    started = time.monotonic()

    _register(api, receiver.url, "candidateStageChange")

    assert receiver.received == []
    [delivery] = receiver.wait_for(1)
    assert time.monotonic() - started >= 0.4
    assert delivery["body"]["data"] == {}


def test_a_test_delivery_is_sent_even_when_the_event_is_switched_off(
    api: Api, sandbox: SandboxServer, receiver: Receiver
) -> None:
    sandbox.set_event_enabled("candidateStageChange", False)

    _register(api, receiver.url, "candidateStageChange")

    [delivery] = receiver.wait_for(1)
    assert delivery["body"]["data"] == {}


def test_adding_a_webhook_on_the_settings_page_sends_a_test_delivery(
    sandbox: SandboxServer, receiver: Receiver
) -> None:
    session = requests.Session()
    page = session.get(sandbox.url + "/settings/integrations/webhooks", timeout=5).text
    csrf = re.search(r"name='csrf' value='([^']+)'", page)
    assert csrf
    data = {"event": "candidateArchiveChange", "url": receiver.url, "csrf": csrf.group(1)}

    added = session.post(sandbox.url + "/settings/integrations/webhooks/add", data=data, timeout=5)

    assert added.status_code == 200
    assert "test delivery" in added.text
    token = re.search(r"<code id='signature-token'>([^<]+)</code>", added.text)
    assert token
    [delivery] = receiver.wait_for(1)
    assert delivery["body"]["event"] == "candidateArchiveChange"
    assert delivery["body"]["data"] == {}
    assert verify(delivery["body"], signature_tokens=[token.group(1)])


# --- deliveries of candidate changes ----------------------------------------------------------


def test_stage_move_delivers_a_signed_lever_shaped_body(api: Api, receiver: Receiver) -> None:
    token = _register(api, receiver.url, "candidateStageChange", receiver=receiver)

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
    token = _register(api, receiver.url, "candidateArchiveChange", receiver=receiver)

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
    hired_token = _register(api, receiver.url, "candidateHired", receiver=receiver)
    archive_token = _register(api, receiver.url, "candidateArchiveChange", receiver=receiver)

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
    _register(api, receiver.url, "candidateStageChange", receiver=receiver)
    url = f"/opportunities/{OPPORTUNITY['id']}/stage"

    api.put(url, json={"stage": UUID_STAGE})
    api.put(url, json={"stage": UUID_STAGE})

    assert sandbox.wait_for_deliveries(5)
    assert len(receiver.received) == 1
    assert sandbox.counters(OPPORTUNITY["id"])["stage_moves"] == 2


def test_control_page_actions_fire_webhooks_too(
    sandbox: SandboxServer, api: Api, receiver: Receiver
) -> None:
    _register(api, receiver.url, "candidateHired", receiver=receiver)

    sandbox.hire(OPPORTUNITY["id"])

    [delivery] = receiver.wait_for(1)
    assert delivery["body"]["event"] == "candidateHired"
    assert sandbox.counters(OPPORTUNITY["id"])["hires"] == 0  # only API writes are counted


def test_failing_receiver_is_retried_five_times_then_given_up(
    api: Api, sandbox: SandboxServer, receiver: Receiver
) -> None:
    token = _register(api, receiver.url, "candidateStageChange", receiver=receiver)
    receiver.statuses = [500, 503, 302, 404, 500, 500, 500]

    api.put(f"/opportunities/{OPPORTUNITY['id']}/stage", json={"stage": UUID_STAGE})

    assert sandbox.wait_for_deliveries(10)
    [delivery] = _event_deliveries(sandbox)
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
    _register(api, receiver.url, "candidateStageChange", receiver=receiver)
    receiver.statuses = [503, 503]

    api.put(f"/opportunities/{OPPORTUNITY['id']}/stage", json={"stage": UUID_STAGE})

    assert sandbox.wait_for_deliveries(5)
    [delivery] = _event_deliveries(sandbox)
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
    [delivery] = _event_deliveries(sandbox)
    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == 6
    assert all(a["statusCode"] is None and a["error"] for a in delivery["attempts"])


def test_event_switched_off_delivers_nothing(
    api: Api, sandbox: SandboxServer, receiver: Receiver
) -> None:
    _register(api, receiver.url, "candidateStageChange", receiver=receiver)
    sandbox.set_event_enabled("candidateStageChange", False)

    api.put(f"/opportunities/{OPPORTUNITY['id']}/stage", json={"stage": UUID_STAGE})

    assert sandbox.wait_for_deliveries(5)
    assert receiver.received == []
    assert _event_deliveries(sandbox) == []


def test_origin_conditions_filter_deliveries(
    api: Api, sandbox: SandboxServer, receiver: Receiver
) -> None:
    other_origin = next(
        o for o in ("applied", "sourced", "referred", "agency") if o != OPPORTUNITY["origin"]
    )
    _register(
        api,
        receiver.url,
        "candidateStageChange",
        receiver=receiver,
        conditions={"origins": [other_origin]},
    )

    api.put(f"/opportunities/{OPPORTUNITY['id']}/stage", json={"stage": UUID_STAGE})

    assert sandbox.wait_for_deliveries(5)
    assert receiver.received == []


def test_every_registered_url_gets_its_own_signed_copy(
    api: Api, sandbox: SandboxServer, receiver: Receiver
) -> None:
    first = _register(api, receiver.url, "candidateStageChange", receiver=receiver)
    second = _register(api, receiver.url + "?second=1", "candidateStageChange", receiver=receiver)

    api.put(f"/opportunities/{OPPORTUNITY['id']}/stage", json={"stage": UUID_STAGE})

    bodies = [d["body"] for d in receiver.wait_for(2)]
    assert len(bodies) == 2
    assert sorted(verify(b, signature_tokens=[first]) for b in bodies) == [False, True]
    assert sorted(verify(b, signature_tokens=[second]) for b in bodies) == [False, True]


@pytest.mark.parametrize("event", ["candidateStageChange", "candidateHired"])
def test_send_test_posts_empty_data(
    sandbox: SandboxServer, api: Api, receiver: Receiver, event: str
) -> None:
    token = _register(api, receiver.url, event, receiver=receiver)
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
