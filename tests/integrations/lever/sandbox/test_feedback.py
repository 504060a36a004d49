"""The sandbox's feedback templates and forms: Lever's shapes and errors (missing perform_as,
missing permission, unknown template, deleted opportunity) and the control pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from integrations.lever.sandbox import ALL_PERMISSIONS, SandboxServer, demo_data
from tests.integrations.lever.sandbox.conftest import Api

DATA = demo_data()
OPPORTUNITY = DATA.opportunities[0]["id"]
USER = next(u["id"] for u in DATA.users if u["deactivatedAt"] is None)
FEEDBACK = f"/opportunities/{OPPORTUNITY}/feedback"
TEMPLATE = {
    "text": "Karat technical interview",
    "instructions": "ref-1",
    "fields": [
        {"type": "score-system", "text": "Karat recommendation", "required": True},
        {"type": "textarea", "text": "Summary"},
    ],
}


def _template(api: Api) -> dict[str, Any]:
    response = api.post("/feedback_templates", json=TEMPLATE)
    assert response.status_code == 201
    data: dict[str, Any] = response.json()["data"]
    return data


def _form_body(template: dict[str, Any], score: str = "3 - Hire") -> dict[str, Any]:
    score_id, summary_id = (f["id"] for f in template["fields"])
    return {
        "baseTemplateId": template["id"],
        "fieldValues": [{"id": score_id, "value": score}, {"id": summary_id, "value": "Good."}],
    }


def test_a_template_gets_lever_s_score_options_and_a_form_is_posted_updated_and_deleted(
    api: Api,
) -> None:
    template = _template(api)
    assert next(o["text"] for o in template["fields"][0]["options"]) == "4 - Strong Hire"

    created = api.post(FEEDBACK, params={"perform_as": USER}, json=_form_body(template))
    form = created.json()["data"]
    updated = api.put(
        f"{FEEDBACK}/{form['id']}",
        params={"perform_as": USER},
        json={"fieldValues": [{"id": template["fields"][0]["id"], "value": "1 - Strong No Hire"}]},
    )
    listed = api.get(FEEDBACK).json()
    deleted = api.delete(f"{FEEDBACK}/{form['id']}", params={"perform_as": USER})

    assert created.status_code == 201
    assert (form["user"], form["baseTemplateId"], form["type"]) == (
        USER,
        template["id"],
        "interview",
    )
    assert updated.status_code == 200
    assert listed["data"][0]["fields"][0]["value"] == "1 - Strong No Hire"
    assert listed["hasNext"] is False
    assert deleted.status_code == 204
    assert api.get(FEEDBACK).json()["data"] == []


def test_lever_s_errors_for_feedback(api: Api, sandbox: SandboxServer) -> None:
    template = _template(api)
    body = _form_body(template)

    no_user = api.post(FEEDBACK, json=body)
    unknown_template = api.post(
        FEEDBACK, params={"perform_as": USER}, json={**body, "baseTemplateId": "nope"}
    )
    bad_score = api.post(FEEDBACK, params={"perform_as": USER}, json=_form_body(template, "5"))
    unknown_form = api.put(f"{FEEDBACK}/nope", params={"perform_as": USER}, json={})
    # the opportunity is deleted in Lever
    sandbox.sandbox.delete_opportunity(OPPORTUNITY)
    gone = api.post(FEEDBACK, params={"perform_as": USER}, json=body)

    assert (no_user.status_code, no_user.json()["code"]) == (400, "BadRequestError")
    assert "perform_as" in no_user.json()["message"]
    assert unknown_template.status_code == 400
    assert "template" in unknown_template.json()["message"]
    assert bad_score.status_code == 400
    assert unknown_form.status_code == 404
    assert (gone.status_code, gone.json()["code"]) == (404, "ResourceNotFound")


def test_a_key_without_feedback_permissions_gets_403(sandbox: SandboxServer) -> None:
    key = sandbox.create_api_key(sorted(p for p in ALL_PERMISSIONS if not p.startswith("feedback")))
    session = requests.Session()
    session.auth = (key, "")

    templates = session.get(sandbox.api_url + "/feedback_templates", timeout=5)
    forms = session.post(
        sandbox.api_url + FEEDBACK, params={"perform_as": USER}, json={}, timeout=5
    )

    assert (templates.status_code, templates.json()["code"]) == (403, "ForbiddenError")
    assert "feedback_templates:read:admin" in templates.json()["message"]
    assert forms.status_code == 403


def test_the_control_page_shows_the_forms_and_its_buttons_delete_them(
    api: Api, sandbox: SandboxServer
) -> None:
    template = _template(api)
    form = api.post(FEEDBACK, params={"perform_as": USER}, json=_form_body(template)).json()["data"]
    browser = requests.Session()
    page = browser.get(f"{sandbox.url}/candidates/{OPPORTUNITY}/feedback", timeout=5)
    token = re.search(r"name='csrf' value='([^']+)'", page.text)
    assert token

    assert page.status_code == 200
    assert form["id"] in page.text
    assert "3 - Hire" in page.text
    assert (
        f"/candidates/{OPPORTUNITY}/feedback"
        in browser.get(f"{sandbox.url}/candidates/{OPPORTUNITY}", timeout=5).text
    )
    deleted = browser.post(
        f"{sandbox.url}/candidates/{OPPORTUNITY}/feedback/{form['id']}/delete",
        data={"csrf": token.group(1)},
        timeout=5,
    )
    assert deleted.status_code == 200  # followed the redirect back to the page
    assert api.get(FEEDBACK).json()["data"] == []
    templates_page = browser.get(f"{sandbox.url}/settings/feedback-templates", timeout=5)
    assert template["id"] in templates_page.text
    browser.post(
        f"{sandbox.url}/settings/feedback-templates/{template['id']}/delete",
        data={"csrf": token.group(1)},
        timeout=5,
    )
    assert api.get("/feedback_templates").json()["data"] == []
    browser.post(
        f"{sandbox.url}/candidates/{OPPORTUNITY}/delete", data={"csrf": token.group(1)}, timeout=5
    )
    assert api.get(f"/opportunities/{OPPORTUNITY}").status_code == 404
    # … as Lever deletes a candidate: listed as deleted, its forms gone with it.
    assert OPPORTUNITY in {d["id"] for d in sandbox.sandbox.deleted_opportunities()}
    assert not sandbox.sandbox.store.query(
        "SELECT 1 FROM feedback WHERE opportunity_id = ?", (OPPORTUNITY,)
    )


@pytest.mark.parametrize("path", ["/_control/feedback-templates"])
def test_the_json_control_lists_templates(sandbox: SandboxServer, api: Api, path: str) -> None:
    _template(api)

    assert len(requests.get(sandbox.url + path, timeout=5).json()["data"]) == 1
