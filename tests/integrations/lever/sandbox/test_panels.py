"""The sandbox's panels over real HTTP, with Lever's shapes and errors (README §16), and the
control page that shows an opportunity's panels and triggers each case by hand."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from integrations.lever.sandbox import SandboxServer, demo_data
from integrations.lever.sandbox import panels as sandbox_panels
from tests.integrations.lever.sandbox.conftest import Api

DATA = demo_data()
ACTIVE_USER = next(u for u in DATA.users if u["deactivatedAt"] is None)
OPPORTUNITY = next(o for o in DATA.opportunities if o["archived"] is None)
PANELS = f"/opportunities/{OPPORTUNITY['id']}/panels"
AS_USER = {"perform_as": ACTIVE_USER["id"]}


def _body(**changes: Any) -> dict[str, Any]:
    interview = {
        "subject": "Karat interview",
        "note": "Join: https://karat.example/i/1",
        "interviewers": [{"id": ACTIVE_USER["id"]}],
        "date": 1_783_260_000_000,
        "duration": 60,
    }
    return {"timezone": "America/Los_Angeles", "interviews": [interview], **changes}


def test_create_answers_201_with_an_externally_managed_panel_in_lever_s_shape(api: Api) -> None:
    response = api.post(PANELS, params=AS_USER, json=_body(externalUrl="https://karat.example"))

    assert response.status_code == 201
    panel = response.json()["data"]
    assert panel["externallyManaged"] is True
    assert (panel["start"], panel["end"]) == (1_783_260_000_000, 1_783_263_600_000)
    assert panel["timezone"] == "America/Los_Angeles"
    assert panel["user"] == ACTIVE_USER["id"]
    [interview] = panel["interviews"]
    assert interview["interviewers"][0]["name"] == ACTIVE_USER["name"]
    assert interview["id"]
    assert interview["duration"] == 60
    listed = api.get(PANELS).json()
    assert [p["id"] for p in listed["data"]] == [panel["id"]]
    assert listed["hasNext"] is False


def test_update_replaces_the_panel_and_delete_answers_204(api: Api) -> None:
    panel = api.post(PANELS, params=AS_USER, json=_body()).json()["data"]

    moved = api.put(f"{PANELS}/{panel['id']}", params=AS_USER, json=_body(timezone="Europe/Berlin"))
    deleted = api.delete(f"{PANELS}/{panel['id']}", params=AS_USER)

    assert moved.status_code == 200
    assert moved.json()["data"]["timezone"] == "Europe/Berlin"
    assert deleted.status_code == 204
    assert api.get(PANELS).json()["data"] == []
    assert api.delete(f"{PANELS}/{panel['id']}", params=AS_USER).status_code == 404


@pytest.mark.parametrize(
    ("params", "body", "fragment"),
    [
        ({}, _body(), "perform_as is required"),
        (AS_USER, _body(timezone=None), "timezone is required"),
        (AS_USER, _body(interviews=[]), "interviews is required"),
        (AS_USER, {"timezone": "UTC", "interviews": [{"date": 1, "duration": 5}]}, "interviewers"),
        (AS_USER, _body(interviews=[{**_body()["interviews"][0], "date": "soon"}]), "date"),
        (AS_USER, _body(interviews=[{**_body()["interviews"][0], "duration": 0}]), "duration"),
        ({"perform_as": "nobody"}, _body(), "perform_as user"),
    ],
)
def test_bad_requests_are_lever_s_400(
    api: Api, params: dict[str, str], body: dict[str, Any], fragment: str
) -> None:
    response = api.post(PANELS, params=params, json=body)

    assert response.status_code == 400
    assert fragment in response.json()["message"]
    assert api.get(PANELS).json()["data"] == []


def test_a_person_s_panel_cannot_be_changed_through_the_api(
    api: Api, sandbox: SandboxServer
) -> None:
    theirs = sandbox_panels.create_panel(
        sandbox.sandbox, OPPORTUNITY["id"], _body(), user_id=None, externally_managed=False
    )

    assert api.put(f"{PANELS}/{theirs['id']}", params=AS_USER, json=_body()).status_code == 400
    assert api.delete(f"{PANELS}/{theirs['id']}", params=AS_USER).status_code == 400
    assert len(api.get(PANELS).json()["data"]) == 1


def test_an_unknown_opportunity_is_404_and_a_key_without_the_permission_403(
    api: Api, sandbox: SandboxServer
) -> None:
    assert api.post("/opportunities/nope/panels", params=AS_USER, json=_body()).status_code == 404
    key = sandbox.create_api_key(["opportunities:read:admin"])

    denied = requests.post(
        sandbox.api_url + PANELS, params=AS_USER, json=_body(), auth=(key, ""), timeout=5
    )

    assert denied.status_code == 403
    assert "panels:write:admin" in denied.json()["message"]


def _csrf(html: str) -> str:
    match = re.search(r"name='csrf' value='([^']+)'", html)
    assert match, "page has no form token"
    return match.group(1)


def test_the_control_page_shows_the_panels_and_its_buttons_trigger_each_case(
    api: Api, sandbox: SandboxServer
) -> None:
    ours = api.post(PANELS, params=AS_USER, json=_body()).json()["data"]
    page_url = f"{sandbox.url}/candidates/{OPPORTUNITY['id']}/panels"
    session = requests.Session()
    html = session.get(page_url, timeout=5).text
    assert ours["id"] in html
    assert "an integration made it" in html

    # A person deletes our panel in Lever.
    session.post(
        f"{page_url}/{ours['id']}/delete", data={"csrf": _csrf(html), "next": ""}, timeout=5
    )
    assert api.get(PANELS).json()["data"] == []
    # A person adds their own panel.
    session.post(f"{page_url}/add", data={"csrf": _csrf(html)}, timeout=5)
    [theirs] = api.get(PANELS).json()["data"]
    assert theirs["externallyManaged"] is False
    # The opportunity is deleted.
    session.post(
        f"{sandbox.url}/candidates/{OPPORTUNITY['id']}/delete",
        data={"csrf": _csrf(html)},
        timeout=5,
    )
    assert api.get(f"/opportunities/{OPPORTUNITY['id']}").status_code == 404
    # … as Lever deletes a candidate: listed as deleted, its panels gone with it.
    assert OPPORTUNITY["id"] in {d["id"] for d in sandbox.sandbox.deleted_opportunities()}
    assert not sandbox.sandbox.store.query(
        "SELECT 1 FROM panels WHERE opportunity_id = ?", (OPPORTUNITY["id"],)
    )


def test_the_control_json_api_lists_and_deletes_panels(api: Api, sandbox: SandboxServer) -> None:
    ours = api.post(PANELS, params=AS_USER, json=_body()).json()["data"]
    base = f"{sandbox.url}/_control/opportunities/{OPPORTUNITY['id']}"

    listed = requests.get(base + "/panels", timeout=5).json()["data"]
    removed = requests.delete(f"{base}/panels/{ours['id']}", timeout=5)

    assert [p["id"] for p in listed] == [ours["id"]]
    assert removed.status_code == 204
    assert requests.delete(base, timeout=5).status_code == 204
    assert requests.get(base + "/panels", timeout=5).status_code == 404
