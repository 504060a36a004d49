"""The sandbox's hiring team controls (integrations/lever/README.md §17): users with emails,
a posting's owner and hiring manager and an opportunity's owner changed by hand or through
/_control, the expansions the API gives, and the bad_expand knob."""

from __future__ import annotations

import re

import requests

from integrations.lever.sandbox import SandboxServer, demo_data
from tests.integrations.lever.sandbox.conftest import Api

DATA = demo_data()
POSTING = DATA.postings[1]
OPPORTUNITY = DATA.opportunities[0]


def _post_form(sandbox: SandboxServer, page: str, action: str, **fields: str) -> requests.Response:
    session = requests.Session()
    html = session.get(sandbox.url + page, timeout=5).text
    match = re.search(r"name='csrf' value='([^']+)'", html)
    assert match
    return session.post(sandbox.url + action, data={"csrf": match.group(1), **fields}, timeout=5)


def test_users_page_adds_a_user_with_any_email_and_escapes_it(sandbox: SandboxServer) -> None:
    response = _post_form(sandbox, "/users", "/users", name="Rae", email="<b>rae</b>@acme.test")

    assert response.status_code == 200
    assert "&lt;b&gt;rae&lt;/b&gt;@acme.test" in response.text
    assert "<b>rae</b>" not in response.text
    assert any(u["email"] == "<b>rae</b>@acme.test" for u in sandbox.sandbox.users())


def test_postings_page_changes_the_hiring_manager_and_the_api_expands_it(
    sandbox: SandboxServer, api: Api
) -> None:
    user = sandbox.sandbox.add_user(name="Hana Manager", email="hana@acme.test")
    before = sandbox.sandbox.store.doc("postings", POSTING["id"])
    assert before is not None

    response = _post_form(
        sandbox,
        "/postings",
        f"/postings/{POSTING['id']}/team",
        owner=before["owner"] or "",
        hiringManager=user["id"],
    )

    assert response.status_code == 200
    page = api.get(
        "/postings", params={"expand": ["owner", "hiringManager", "followers"], "limit": 100}
    ).json()
    posting = next(p for p in page["data"] if p["id"] == POSTING["id"])
    assert posting["hiringManager"]["email"] == "hana@acme.test"
    assert isinstance(posting["owner"], dict)
    assert all(isinstance(f, dict) for f in posting["followers"])
    assert posting["updatedAt"] > before["updatedAt"]


def test_candidate_page_changes_the_owner_and_the_api_expands_it(
    sandbox: SandboxServer, api: Api
) -> None:
    user = sandbox.sandbox.add_user(name="Olga Owner", email="olga@acme.test")
    page = f"/candidates/{OPPORTUNITY['id']}"

    response = _post_form(sandbox, page, f"{page}/owner", owner=user["id"])

    assert response.status_code == 200
    assert "Olga Owner" in response.text
    data = api.get(f"/opportunities/{OPPORTUNITY['id']}", params={"expand": "owner"}).json()
    assert data["data"]["owner"]["email"] == "olga@acme.test"


def test_control_api_sets_teams_and_owners_and_refuses_unknown_users(
    sandbox: SandboxServer,
) -> None:
    user = sandbox.sandbox.add_user(name="U", email="u@acme.test")
    control = sandbox.url + "/_control"

    ok = requests.post(
        f"{control}/postings/{POSTING['id']}/team",
        json={"hiringManager": user["id"], "followers": [user["id"]]},
        timeout=5,
    )
    bad = requests.post(
        f"{control}/opportunities/{OPPORTUNITY['id']}/owner", json={"owner": "nobody"}, timeout=5
    )
    unknown = requests.post(
        f"{control}/postings/{POSTING['id']}/team", json={"state": "closed"}, timeout=5
    )

    assert ok.status_code == 200
    assert ok.json()["data"]["followers"] == [user["id"]]
    assert bad.status_code == 400
    assert unknown.status_code == 400
    added = requests.post(f"{control}/users", json={"name": "V", "email": "v@x"}, timeout=5)
    assert added.status_code == 201
    assert requests.post(f"{control}/users", json={"name": ""}, timeout=5).status_code == 400


def test_bad_expand_gives_ids_or_junk_instead_of_users(sandbox: SandboxServer, api: Api) -> None:
    expand: dict[str, object] = {"expand": ["owner", "hiringManager", "followers"]}
    sandbox.set_faults(bad_expand="ids", paths=["/v1/postings"])
    listed = api.get("/postings", params={**expand, "limit": 100}).json()["data"]
    ids = next(p for p in listed if p["id"] == POSTING["id"])
    sandbox.set_faults(bad_expand="malformed")
    junk = api.get(f"/opportunities/{OPPORTUNITY['id']}", params={"expand": "owner"}).json()

    assert isinstance(ids["owner"], str)
    assert all(isinstance(f, str) for f in ids["followers"])
    assert junk["data"]["owner"] == 42
