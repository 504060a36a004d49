"""Rate limiting, fault knobs and write counters, through Python and the /_control JSON API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer, demo_data
from integrations.lever.sandbox.faults import TokenBucket
from tests.integrations.lever.sandbox.conftest import Api

DATA = demo_data()
OPPORTUNITY = next(o for o in DATA.opportunities if o["archived"] is None and o["_application"])


@pytest.fixture
def limited() -> Iterator[SandboxServer]:
    with SandboxServer(port=0, rate_per_second=10.0, rate_burst=20) as server:
        yield server


def test_burst_above_the_bucket_gets_429_with_integer_retry_after(limited: SandboxServer) -> None:
    session = requests.Session()
    session.auth = (DEMO_API_KEY, "")

    statuses = [session.get(limited.api_url + "/stages", timeout=5) for _ in range(30)]

    limited_responses = [r for r in statuses if r.status_code == 429]
    assert sum(r.status_code == 200 for r in statuses) >= 20
    assert limited_responses
    first = limited_responses[0]
    assert int(first.headers["Retry-After"]) >= 1
    assert first.json()["code"] == "TooManyRequests"


def test_each_api_key_has_its_own_bucket(limited: SandboxServer) -> None:
    other = limited.create_api_key(["stages:read:admin"])
    for _ in range(25):
        requests.get(limited.api_url + "/stages", auth=(DEMO_API_KEY, ""), timeout=5)

    response = requests.get(limited.api_url + "/stages", auth=(other, ""), timeout=5)

    assert response.status_code == 200


def test_bucket_refills_over_time(limited: SandboxServer) -> None:
    # Burst = the most in any one second (like Lever), so the refill shows after that second.
    limited.set_rate_limit(50.0, burst=2)
    session = requests.Session()
    session.auth = (DEMO_API_KEY, "")
    [session.get(limited.api_url + "/stages", timeout=5) for _ in range(3)]

    time.sleep(1.0)

    assert session.get(limited.api_url + "/stages", timeout=5).status_code == 200


def test_error_rate_one_fails_every_request_before_applying_it(
    api: Api, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(error_rates={"503": 1.0})

    response = api.post(f"/opportunities/{OPPORTUNITY['id']}/addTags", json={"tags": ["x"]})

    assert response.status_code == 503
    assert response.json()["code"] == "ServiceUnavailable"
    assert sandbox.counters(OPPORTUNITY["id"])["tags_added"] == 0
    sandbox.reset_faults()
    assert api.get("/stages").status_code == 200


def test_fail_next_answers_the_listed_statuses_in_order_then_recovers(
    api: Api, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(fail_next=[500, 429, 502])

    statuses = [api.get("/stages").status_code for _ in range(4)]

    assert statuses == [500, 429, 502, 200]


def test_faults_can_be_limited_to_paths_and_methods(api: Api, sandbox: SandboxServer) -> None:
    sandbox.set_faults(error_rates={"500": 1.0}, paths=["/v1/opportunities"], methods=["POST"])

    assert api.get("/stages").status_code == 200
    assert api.get(f"/opportunities/{OPPORTUNITY['id']}").status_code == 200
    assert (
        api.post(f"/opportunities/{OPPORTUNITY['id']}/notes", json={"value": "x"}).status_code
        == 500
    )


def test_latency_and_hang_delay_the_answer(api: Api, sandbox: SandboxServer) -> None:
    sandbox.set_faults(latency_ms=150)
    started = time.monotonic()
    api.get("/stages")
    slow = time.monotonic() - started

    sandbox.set_faults(hang_seconds=2)
    with pytest.raises(requests.Timeout):
        api.session.get(sandbox.api_url + "/stages", timeout=0.3)

    assert slow >= 0.15


def test_hang_then_apply_applies_the_write_after_the_client_gave_up_and_only_the_next_n(
    api: Api, sandbox: SandboxServer
) -> None:
    notes = f"/opportunities/{OPPORTUNITY['id']}/notes"
    sandbox.set_faults(hang_then_apply=1, hang_then_apply_seconds=1)

    with pytest.raises(requests.Timeout):
        api.session.post(sandbox.api_url + notes, json={"value": "late"}, timeout=0.3)
    not_yet = sandbox.counters(OPPORTUNITY["id"])["notes"]
    read = api.get(notes)  # reads are not held up
    deadline = time.monotonic() + 5
    while not sandbox.counters(OPPORTUNITY["id"])["notes"] and time.monotonic() < deadline:
        time.sleep(0.05)
    on_time = api.post(notes, json={"value": "next"})  # only the next one write hangs

    assert not_yet == 0
    assert read.status_code == 200
    assert on_time.status_code == 201
    assert [n["fields"][0]["value"] for n in sandbox.notes(OPPORTUNITY["id"])] == ["late", "next"]
    assert sandbox.faults["hang_then_apply"] == 0


def test_hang_then_apply_knobs_are_validated(sandbox: SandboxServer) -> None:
    bad = requests.post(sandbox.url + "/_control/faults", json={"hang_then_apply": -1}, timeout=5)
    too_long = requests.post(
        sandbox.url + "/_control/faults", json={"hang_then_apply_seconds": 601}, timeout=5
    )

    assert (bad.status_code, too_long.status_code) == (400, 400)
    assert sandbox.faults["hang_then_apply"] == 0


def test_drop_after_apply_applies_the_write_but_sends_no_response(
    api: Api, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(drop_after_apply=1)

    with pytest.raises(requests.ConnectionError):
        api.post(f"/opportunities/{OPPORTUNITY['id']}/notes", json={"value": "Karat: invited"})
    again = api.post(f"/opportunities/{OPPORTUNITY['id']}/notes", json={"value": "second"})

    assert again.status_code == 201
    assert [n["fields"][0]["value"] for n in sandbox.notes(OPPORTUNITY["id"])] == [
        "Karat: invited",
        "second",
    ]
    assert sandbox.counters(OPPORTUNITY["id"])["notes"] == 2


def test_counters_count_each_kind_per_opportunity_and_in_total(
    api: Api, sandbox: SandboxServer
) -> None:
    url = f"/opportunities/{OPPORTUNITY['id']}"
    api.post(url + "/notes", json={"value": "n"})
    api.post(url + "/addTags", json={"tags": ["a"]})
    api.post(url + "/addLinks", json={"links": ["https://k.example/r"]})
    api.put(url + "/stage", json={"stage": "offer"})

    mine = sandbox.counters(OPPORTUNITY["id"])
    total = requests.get(sandbox.url + "/_control/counters", timeout=5).json()["total"]

    assert mine["notes"] == mine["tags_added"] == mine["links_added"] == mine["stage_moves"] == 1
    assert mine["archives"] == 0
    assert total["notes"] == 1
    requests.delete(sandbox.url + "/_control/counters", timeout=5)
    assert sandbox.counters(OPPORTUNITY["id"])["notes"] == 0


def test_control_faults_endpoint_sets_reads_and_resets(sandbox: SandboxServer, api: Api) -> None:
    control = sandbox.url + "/_control/faults"

    set_response = requests.post(control, json={"error_rates": {"503": 1}, "seed": 3}, timeout=5)
    failing = api.get("/stages").status_code
    current = requests.get(control, timeout=5).json()
    requests.delete(control, timeout=5)

    assert set_response.status_code == 200
    assert failing == 503
    assert current["error_rates"] == {"503": 1.0}
    assert api.get("/stages").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"latency_ms": -1},
        {"error_rates": {"200": 0.5}},
        {"error_rates": {"503": 2}},
        {"surprise": 1},
        [1],
        {"fail_next": "503"},
        {"bad_page": "sometimes"},
        {"bad_page": ["no_next"]},
        {"redirect_to": "ftp://elsewhere"},
        {"redirect_status": 200},
        {"redirect_status": [302]},
    ],
)
def test_control_faults_rejects_bad_knobs(sandbox: SandboxServer, body: object) -> None:
    response = requests.post(sandbox.url + "/_control/faults", json=body, timeout=5)

    assert response.status_code == 400
    assert sandbox.faults["error_rates"] == {}


def test_bad_page_breaks_list_pages_after_letting_some_through(
    api: Api, sandbox: SandboxServer
) -> None:
    requests.post(
        sandbox.url + "/_control/faults",
        json={"bad_page": "no_next", "bad_page_after": 1, "paths": ["/v1/stages"]},
        timeout=5,
    )

    first = api.get("/stages", params={"limit": 3}).json()
    second = api.get("/stages", params={"limit": 3, "offset": first["next"]}).json()
    other = api.get("/archive_reasons", params={"limit": 3}).json()

    assert first["hasNext"] is True
    assert first["next"]
    assert second["hasNext"] is True
    assert "next" not in second
    assert len(second["data"]) == 3
    assert other["next"]  # not a matching path


@pytest.mark.parametrize(
    ("kind", "broken"),
    [
        ("no_has_next", lambda page, token: "hasNext" not in page and page["next"]),
        ("same_next", lambda page, token: page["hasNext"] and page["next"] == token),
        ("not_a_list", lambda page, token: isinstance(page["data"], dict)),
    ],
)
def test_bad_page_kinds(api: Api, sandbox: SandboxServer, kind: str, broken: Any) -> None:
    token = api.get("/stages", params={"limit": 3}).json()["next"]
    sandbox.set_faults(bad_page=kind)

    page = api.get(f"/stages?limit=3&offset={token}").json()

    assert broken(page, token)


def test_redirect_to_answers_every_matching_request_with_a_redirect_to_the_other_base(
    api: Api, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(redirect_to="http://127.0.0.2:9/", redirect_status=307, methods=["GET"])

    response = api.get("/users", params={"email": "a b@x.io"}, allow_redirects=False)

    assert response.status_code == 307
    assert response.headers["Location"] == "http://127.0.0.2:9/v1/users?email=a%20b%40x.io"
    sandbox.reset_faults()
    assert api.get("/users").status_code == 200


def test_control_json_posts_require_a_json_content_type(sandbox: SandboxServer) -> None:
    response = requests.post(
        sandbox.url + "/_control/faults",
        data="error_rates=1",
        headers={"Content-Type": "text/plain"},
        timeout=5,
    )

    assert response.status_code == 415


def test_control_creates_keys_moves_opportunities_and_resets(sandbox: SandboxServer) -> None:
    key = requests.post(
        sandbox.url + "/_control/keys",
        json={"label": "ro", "permissions": ["stages:read:admin"]},
        timeout=5,
    ).json()["key"]
    moved = requests.post(
        f"{sandbox.url}/_control/opportunities/{OPPORTUNITY['id']}/stage",
        json={"stage": "offer"},
        timeout=5,
    ).json()["data"]

    requests.post(sandbox.url + "/_control/reset", timeout=5)

    assert moved["stage"] == "offer"
    assert sandbox.opportunity(OPPORTUNITY["id"])["stage"] == OPPORTUNITY["stage"]
    assert requests.get(sandbox.api_url + "/stages", auth=(key, ""), timeout=5).status_code == 401


def test_control_rate_limit_and_request_stats(sandbox: SandboxServer, api: Api) -> None:
    requests.post(
        sandbox.url + "/_control/rate-limit", json={"rate_per_second": 1, "burst": 1}, timeout=5
    )

    statuses = [api.get("/stages").status_code for _ in range(2)]
    stats = requests.get(sandbox.url + "/_control/requests", timeout=5).json()

    assert statuses == [200, 429]
    assert stats["429"] == 1
    assert (
        requests.post(
            sandbox.url + "/_control/rate-limit", json={"rate_per_second": -1}, timeout=5
        ).status_code
        == 400
    )


def test_the_bucket_admits_levers_burst_in_the_first_second_then_the_steady_rate() -> None:
    # A fake clock: a flood of 100 requests per second for 3 seconds on one key.
    clock = [0.0]
    bucket = TokenBucket(10.0, 20, clock=lambda: clock[0])
    admitted = []
    for i in range(300):
        clock[0] = i / 100
        if bucket.take("key") is None:
            admitted.append(clock[0])

    # Lever: "bursts up to 20/s", about 10/s steady. A bare token bucket admitted 29-30 here.
    assert sum(t < 1.0 for t in admitted) == 20
    assert max(sum(s <= t < s + 1.0 for t in admitted) for s in admitted) == 20
    # The tokens saved while the window was full go out in the next second (still ≤ 20),
    # then the steady 10/s; never more than the bucket allows (20 + 10/s).
    assert len(admitted) <= 20 + 10 * 3
    assert 9 <= sum(2.0 <= t < 3.0 for t in admitted) <= 11


def test_a_refused_request_is_told_to_wait_until_the_window_has_room() -> None:
    clock = [5.0]
    bucket = TokenBucket(100.0, 3, clock=lambda: clock[0])
    assert [bucket.take("key") for _ in range(4)] == [None, None, None, 1]

    clock[0] = 5.99
    assert bucket.take("key") == 1  # tokens galore, but the one-second window is full
    clock[0] = 6.0
    assert bucket.take("key") is None
