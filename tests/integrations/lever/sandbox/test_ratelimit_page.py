"""The sandbox's Rate limit page: change Lever's limit, turn it off, inject a 429 by hand."""

from __future__ import annotations

import pytest
import requests

from integrations.lever.sandbox import SandboxServer
from tests.integrations.lever.sandbox.conftest import Api
from tests.integrations.lever.sandbox.test_control_pages import SandboxSession, _post


@pytest.fixture
def browser(sandbox: SandboxServer) -> SandboxSession:
    return SandboxSession(sandbox.url)


def test_the_page_shows_levers_limit(browser: SandboxSession, sandbox: SandboxServer) -> None:
    sandbox.set_rate_limit(10.0, burst=20)

    page = browser.get(browser.base + "/rate-limit", timeout=5)

    assert page.status_code == 200
    assert "10 requests/s per key, at most 20 in any one second" in page.text


def test_set_and_turn_off_the_limit(browser: SandboxSession, api: Api) -> None:
    assert _post(browser, "/rate-limit", "/rate-limit", rate="1", burst="1").status_code == 200
    assert [api.get("/stages").status_code for _ in range(2)] == [200, 429]

    assert _post(browser, "/rate-limit", "/rate-limit/off").status_code == 200
    assert {api.get("/stages").status_code for _ in range(30)} == {200}


def test_inject_a_429_with_a_chosen_retry_after(browser: SandboxSession, api: Api) -> None:
    assert _post(browser, "/rate-limit", "/rate-limit/429", retry_after="7").status_code == 200

    refused = api.get("/stages")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "7"
    assert api.get("/stages").status_code == 200


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("/rate-limit", {"rate": "fast", "burst": "20"}),
        ("/rate-limit", {"rate": "0", "burst": "20"}),
        ("/rate-limit", {"rate": "10", "burst": "0"}),
        ("/rate-limit/429", {"retry_after": "-1"}),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    browser: SandboxSession, sandbox: SandboxServer, action: str, fields: dict[str, str]
) -> None:
    sandbox.set_rate_limit(10.0, burst=20)

    response = _post(browser, "/rate-limit", action, **fields)

    assert response.status_code == 400
    assert "Lever sandbox" in response.text
    assert sandbox.faults["fail_next"] == []
    assert "at most 20 in any one second" in browser.get(browser.base + "/rate-limit").text


def test_a_form_without_its_token_is_refused(browser: SandboxSession) -> None:
    response = requests.post(browser.base + "/rate-limit/off", data={}, timeout=5)
    assert response.status_code == 403
