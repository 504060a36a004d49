"""The Lever-like HTML pages: they render, escape, guard their forms, and their buttons work."""

from __future__ import annotations

import re

import pytest
import requests

from integrations.lever.sandbox import DEMO_API_KEY, KARAT_PERMISSIONS, SandboxServer, demo_data
from tests.integrations.lever.sandbox.conftest import Receiver

DATA = demo_data()
OPPORTUNITY = next(
    o for o in DATA.opportunities if o["archived"] is None and o["_application"] and o["emails"]
)
REJECT_REASON = next(
    r for r in DATA.archive_reasons if r["type"] == "non-hired" and r["status"] == "active"
)
UUID_STAGE = DATA.stages[4]


class SandboxSession(requests.Session):
    """A session that knows the sandbox's base URL."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base


@pytest.fixture
def browser(sandbox: SandboxServer) -> SandboxSession:
    return SandboxSession(sandbox.url)


def _csrf(html: str) -> str:
    match = re.search(r"name='csrf' value='([^']+)'", html)
    assert match, "page has no form token"
    return match.group(1)


def _captured(pattern: str, html: str) -> str:
    match = re.search(pattern, html)
    assert match, f"page has no {pattern}"
    return match.group(1)


def _post(browser: SandboxSession, page: str, action: str, **fields: str) -> requests.Response:
    token = _csrf(browser.get(browser.base + page, timeout=5).text)
    return browser.post(browser.base + action, data={"csrf": token, **fields}, timeout=5)


@pytest.mark.parametrize(
    "page",
    [
        "/",
        "/candidates",
        f"/candidates/{OPPORTUNITY['id']}",
        "/settings/integrations",
        "/settings/integrations/webhooks",
        "/settings/integrations/webhooks/deliveries",
    ],
)
def test_every_page_renders_as_html(browser: SandboxSession, page: str) -> None:
    response = browser.get(browser.base + page, timeout=5)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Lever sandbox" in response.text
    assert DEMO_API_KEY not in response.text


def test_candidates_page_lists_everyone_with_copyable_lever_urls(browser: SandboxSession) -> None:
    html = browser.get(browser.base + "/candidates", timeout=5).text

    assert html.count("https://hire.lever.co/candidates/") == len(DATA.opportunities)
    assert f"https://hire.lever.co/candidates/{OPPORTUNITY['id']}" in html


def test_names_are_escaped(browser: SandboxSession) -> None:
    html = browser.get(browser.base + "/candidates", timeout=5).text

    assert "<b>&amp;</b>" not in html
    assert "&lt;b&gt;&amp;amp;&lt;/b&gt;" in html


def test_candidate_page_shows_region_variants(browser: SandboxSession) -> None:
    html = browser.get(f"{browser.base}/candidates/{OPPORTUNITY['id']}", timeout=5).text

    for host in ("hire.lever.co", "hire.eu.lever.co", "hire.sandbox.lever.co"):
        assert f"https://{host}/candidates/{OPPORTUNITY['id']}" in html


def test_search_filters_the_list(browser: SandboxSession) -> None:
    html = browser.get(
        browser.base + "/candidates", params={"q": OPPORTUNITY["emails"][0]}, timeout=5
    ).text

    assert OPPORTUNITY["id"] in html
    assert html.count("https://hire.lever.co/candidates/") < 5


def test_move_archive_unarchive_and_hire_buttons_change_state(
    browser: SandboxSession, sandbox: SandboxServer
) -> None:
    page = f"/candidates/{OPPORTUNITY['id']}"

    moved = _post(browser, page, page + "/stage", stage=UUID_STAGE["id"])
    after_move = browser.get(browser.base + page, timeout=5).text
    _post(browser, page, page + "/archive", reason=REJECT_REASON["id"])
    after_archive = browser.get(browser.base + page, timeout=5).text
    _post(browser, page, page + "/unarchive")
    after_unarchive = sandbox.opportunity(OPPORTUNITY["id"])
    _post(browser, page, page + "/hire")
    after_hire = browser.get(browser.base + page, timeout=5).text

    assert moved.history[0].status_code == 303
    assert f"Stage: {UUID_STAGE['text']}" in after_move
    assert f"Archived: {REJECT_REASON['text']}" in after_archive
    assert after_unarchive["archived"] is None
    assert "State: Hired" in after_hire


def test_form_without_a_valid_token_is_refused_and_changes_nothing(
    browser: SandboxSession, sandbox: SandboxServer
) -> None:
    response = browser.post(
        f"{browser.base}/candidates/{OPPORTUNITY['id']}/stage",
        data={"stage": "offer", "csrf": "forged"},
        timeout=5,
    )

    assert response.status_code == 403
    assert sandbox.opportunity(OPPORTUNITY["id"])["stage"] == OPPORTUNITY["stage"]


def test_redirect_after_a_button_never_leaves_the_site(browser: SandboxSession) -> None:
    page = f"/candidates/{OPPORTUNITY['id']}"

    response = _post(browser, page, page + "/stage", stage="offer", next="//evil.example/")

    assert response.history[0].headers["Location"] == page


def test_bad_stage_from_a_form_is_a_400_page(browser: SandboxSession) -> None:
    page = f"/candidates/{OPPORTUNITY['id']}"

    response = _post(browser, page, page + "/stage", stage="<script>")

    assert response.status_code == 400
    assert "<script>" not in response.text


def test_generated_key_is_shown_once_and_has_the_chosen_permissions(
    browser: SandboxSession, sandbox: SandboxServer
) -> None:
    page = "/settings/integrations"
    token = _csrf(browser.get(browser.base + page, timeout=5).text)

    created = browser.post(
        browser.base + page + "/keys",
        data={"csrf": token, "label": "Read stages", "permissions": ["stages:read:admin"]},
        timeout=5,
    )
    key = _captured(r"id='new-api-key'>([^<]+)<", created.text)
    later = browser.get(browser.base + page, timeout=5).text

    assert key not in later
    assert f"…{key[-4:]}" in later
    assert requests.get(sandbox.api_url + "/stages", auth=(key, ""), timeout=5).status_code == 200
    assert requests.get(sandbox.api_url + "/users", auth=(key, ""), timeout=5).status_code == 403


def test_karat_tile_generates_a_key_with_karat_permissions(
    browser: SandboxSession, sandbox: SandboxServer
) -> None:
    created = _post(
        browser,
        "/settings/integrations",
        "/settings/integrations/keys",
        preset="karat",
        label="Karat",
    )
    key = _captured(r"id='new-api-key'>([^<]+)<", created.text)

    stored = next(k for k in sandbox.sandbox.api_keys() if k["label"] == "Karat")

    assert stored["permissions"] == sorted(KARAT_PERMISSIONS)
    assert requests.get(sandbox.api_url + "/webhooks", auth=(key, ""), timeout=5).status_code == 200


def test_key_without_permissions_is_refused(browser: SandboxSession) -> None:
    response = _post(browser, "/settings/integrations", "/settings/integrations/keys", label="none")

    assert response.status_code == 400


def test_webhooks_page_adds_a_webhook_toggles_events_and_sends_a_test(
    browser: SandboxSession, sandbox: SandboxServer, receiver: Receiver
) -> None:
    page = "/settings/integrations/webhooks"

    added = _post(browser, page, page + "/add", event="candidateStageChange", url=receiver.url)
    token = _captured(r"id='signature-token'>([^<]+)<", added.text)
    _post(browser, page, page + "/events/candidateStageChange", enabled="off")
    off_page = browser.get(browser.base + page, timeout=5).text
    hook_id = sandbox.sandbox.webhooks()[0]["id"]
    _post(browser, page, f"{page}/{hook_id}/test")
    [test_delivery] = receiver.wait_for(1)
    sandbox.wait_for_deliveries(5)
    deliveries_page = browser.get(browser.base + page + "/deliveries", timeout=5).text

    assert len(token) == 48
    assert token not in off_page
    assert sandbox.sandbox.event_toggles()["candidateStageChange"] is False
    assert "OFF" in off_page
    assert test_delivery["body"]["data"] == {}
    assert "(test)" in deliveries_page
    assert "delivered" in deliveries_page


def test_deliveries_page_shows_each_failed_attempt(
    browser: SandboxSession, sandbox: SandboxServer, receiver: Receiver
) -> None:
    sandbox.sandbox.create_webhook(
        url=receiver.url, event="candidateStageChange", origins=None, source="ui"
    )
    receiver.statuses = [500]

    sandbox.move_stage(OPPORTUNITY["id"], "offer")
    sandbox.wait_for_deliveries(5)
    html = browser.get(browser.base + "/settings/integrations/webhooks/deliveries", timeout=5).text

    assert "#1" in html
    assert "HTTP 500" in html
    assert "#2" in html


def test_bulk_move_moves_and_archives_that_many_active_candidates_firing_their_webhooks(
    browser: SandboxSession, sandbox: SandboxServer
) -> None:
    # given: the candidates page's bulk move, 3 candidates to offer, then archived
    active_before = [o["id"] for o in sandbox.sandbox.opportunities() if not o["archived"]]

    moved = _post(
        browser,
        "/candidates",
        "/candidates/bulk-move",
        count="3",
        stage="offer",
        reason=REJECT_REASON["id"],
    )

    # then: three of them are at offer and archived, the rest are untouched
    assert moved.history[0].status_code == 303
    assert "3 candidates moved" in moved.text
    changed = [
        o
        for o in sandbox.sandbox.opportunities()
        if o["id"] in active_before and o["archived"] is not None
    ]
    assert len(changed) == 3
    assert {o["stage"] for o in changed} == {"offer"}


@pytest.mark.parametrize("count", ["0", "501", "many"])
def test_bulk_move_with_a_bad_count_changes_nothing(
    browser: SandboxSession, sandbox: SandboxServer, count: str
) -> None:
    before = [(o["id"], o["stage"], o["archived"]) for o in sandbox.sandbox.opportunities()]

    answer = _post(browser, "/candidates", "/candidates/bulk-move", count=count, stage="offer")

    assert "Count must be 1 to 500" in answer.text
    assert [(o["id"], o["stage"], o["archived"]) for o in sandbox.sandbox.opportunities()] == before
