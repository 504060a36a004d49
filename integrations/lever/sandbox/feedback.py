"""The sandbox's feedback templates and feedback forms: Lever's endpoints and their errors,
plus the control page of the forms on one opportunity (integrations/lever/README.md §18).

Rules imitated (Lever's docs, or a sandbox choice where Lever says nothing, marked so):
``perform_as`` is required on every feedback write (400 without it); templates need
``feedback_templates:*`` and forms ``feedback:*`` permissions (403 without); an unknown
``baseTemplateId`` is a 400 naming the template (sandbox choice: UNCONFIRMED); a deleted
opportunity is a 404; a score-system field takes one of Lever's four option texts.
"""

from __future__ import annotations

import html
import json
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from integrations.lever.sandbox.state import Sandbox, SandboxError, bad_request, not_found
from integrations.lever.sandbox.store import dumps
from integrations.lever.sandbox.web import Request, Response

if TYPE_CHECKING:
    from integrations.lever.sandbox.control import Control

# Lever's score-system options (best first) and the field types a template may have.
SCORE_OPTIONS = ("4 - Strong Hire", "3 - Hire", "2 - No Hire", "1 - Strong No Hire")
FIELD_TYPES = frozenset(
    {
        "text",
        "textarea",
        "score-system",
        "score",
        "dropdown",
        "multiple-choice",
        "multiple-select",
        "yes-no",
        "date",
        "currency",
    }
)


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


# --- state ------------------------------------------------------------------------------------


def templates(sb: Sandbox) -> list[dict[str, Any]]:
    return sb.store.docs("feedback_templates")


def template(sb: Sandbox, template_id: str) -> dict[str, Any] | None:
    return sb.store.doc("feedback_templates", template_id)


def forms(sb: Sandbox, opportunity_id: str) -> list[dict[str, Any]]:
    rows = sb.store.query(
        "SELECT doc FROM feedback WHERE opportunity_id = ? ORDER BY created_at, id",
        (opportunity_id,),
    )
    return [json.loads(r["doc"]) for r in rows]


def template_create(sb: Sandbox, body: Any, *, through_api: bool = True) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("text is required and must be a non-empty string")
    instructions = body.get("instructions", "")
    if not isinstance(instructions, str):
        raise bad_request("instructions must be a string")
    raw_fields = body.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise bad_request("fields is required and must be a non-empty list")
    fields = []
    for raw in raw_fields:
        if not isinstance(raw, dict):
            raise bad_request("each field must be an object")
        kind, label = raw.get("type"), raw.get("text")
        if kind not in FIELD_TYPES:
            raise bad_request(f"field type {kind!r} is not a feedback field type")
        if not isinstance(label, str) or not label.strip():
            raise bad_request("each field needs a text")
        field: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "type": kind,
            "text": label,
            "description": raw.get("description") or "",
            "required": bool(raw.get("required", False)),
        }
        if kind == "score-system":
            field["options"] = [{"text": o} for o in SCORE_OPTIONS]
        elif kind in ("dropdown", "multiple-choice", "multiple-select"):
            field["options"] = [{"text": str(o)} for o in raw.get("options") or []]
        fields.append(field)
    scores = [f for f in fields if f["type"] == "score-system"]
    if len(scores) > 1:
        raise bad_request("a feedback template has exactly one score-system field")
    if not scores:
        # Lever: every template has exactly one score-system field (sandbox: added first).
        fields.insert(
            0,
            {
                "id": str(uuid.uuid4()),
                "type": "score-system",
                "text": "Rating",
                "description": "",
                "required": True,
                "options": [{"text": o} for o in SCORE_OPTIONS],
            },
        )
    at = sb.now()
    doc = {
        "id": str(uuid.uuid4()),
        "text": text,
        "instructions": instructions,
        "group": None,
        "fields": fields,
        "stage": None,
        "createdAt": at,
        "updatedAt": at,
        "_throughApi": through_api,
    }
    with sb.store.tx() as c:
        c.execute("INSERT INTO feedback_templates VALUES (?, ?, ?)", (doc["id"], at, dumps(doc)))
    return doc


def template_delete(sb: Sandbox, template_id: str, *, through_api: bool) -> None:
    doc = template(sb, template_id)
    if doc is None:
        raise not_found(f"feedback_templates {template_id} was not found")
    if through_api and not doc.get("_throughApi"):
        raise SandboxError(
            403, "ForbiddenError", "Only templates created through the API can be deleted"
        )
    with sb.store.tx() as c:
        c.execute("DELETE FROM feedback_templates WHERE id = ?", (template_id,))


def _field_values(doc: dict[str, Any], raw: Any) -> dict[str, Any]:
    if not isinstance(raw, list):
        raise bad_request("fieldValues must be a list")
    by_id = {f["id"]: f for f in doc["fields"]}
    values: dict[str, Any] = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise bad_request("each of fieldValues needs an id")
        field = by_id.get(item["id"])
        if field is None:
            raise bad_request(f"field {item['id']} is not a field of this feedback form")
        value = item.get("value")
        if field["type"] == "score-system" and value not in SCORE_OPTIONS:
            raise bad_request(
                f"value for {field['text']} must be one of {', '.join(SCORE_OPTIONS)}"
            )
        if field["type"] in ("text", "textarea") and not isinstance(value, str):
            raise bad_request(f"value for {field['text']} must be a string")
        values[field["id"]] = value
    return values


def form_create(sb: Sandbox, opportunity_id: str, body: Any, *, user_id: str) -> dict[str, Any]:
    sb.opportunity(opportunity_id)  # 404 for a deleted one
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    template_id = body.get("baseTemplateId")
    if not isinstance(template_id, str) or not template_id:
        raise bad_request("baseTemplateId is required")
    base = template(sb, template_id)
    if base is None:
        raise bad_request(f"baseTemplateId {template_id} is not a feedback template")
    if ("panel" in body) != ("interview" in body):
        raise bad_request("panel and interview must be given together")
    at = sb.now()
    fields = [dict(f, value=None) for f in base["fields"]]
    values = _field_values({"fields": fields}, body.get("fieldValues", []))
    for f in fields:
        f["value"] = values.get(f["id"])
    doc = {
        "id": str(uuid.uuid4()),
        "type": "interview",
        "text": base["text"],
        "instructions": base["instructions"],
        "fields": fields,
        "baseTemplateId": template_id,
        "interview": body.get("interview"),
        "panel": body.get("panel"),
        "user": user_id,
        "createdAt": at,
        "completedAt": body.get("completedAt") or at,
        "updatedAt": at,
        "deletedAt": None,
        "_opportunityId": opportunity_id,
    }
    with sb.store.tx() as c:
        c.execute(
            "INSERT INTO feedback VALUES (?, ?, ?, ?)",
            (doc["id"], opportunity_id, at, dumps(doc)),
        )
    return doc


def _form(sb: Sandbox, opportunity_id: str, feedback_id: str) -> dict[str, Any]:
    sb.opportunity(opportunity_id)
    for doc in forms(sb, opportunity_id):
        if doc["id"] == feedback_id:
            return doc
    raise not_found(f"feedback {feedback_id} was not found")


def form_update(sb: Sandbox, opportunity_id: str, feedback_id: str, body: Any) -> dict[str, Any]:
    doc = _form(sb, opportunity_id, feedback_id)
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    if "fieldValues" in body:
        values = _field_values(doc, body["fieldValues"])
        for f in doc["fields"]:
            if f["id"] in values:
                f["value"] = values[f["id"]]
    if body.get("completedAt") is not None:
        doc["completedAt"] = body["completedAt"]
    doc["updatedAt"] = sb.now()
    with sb.store.tx() as c:
        c.execute("UPDATE feedback SET doc = ? WHERE id = ?", (dumps(doc), feedback_id))
    return doc


def form_delete(sb: Sandbox, opportunity_id: str, feedback_id: str) -> None:
    _form(sb, opportunity_id, feedback_id)
    with sb.store.tx() as c:
        c.execute("DELETE FROM feedback WHERE id = ?", (feedback_id,))


# --- control pages ----------------------------------------------------------------------------


def page_forms(control: Control, req: Request) -> Response:
    """``/candidates/{id}/feedback``: the feedback forms on one opportunity, each with its
    values and a Delete button (as a Lever user would), and a button that deletes the
    opportunity itself (to try "deleted in between")."""
    sb: Sandbox = control.sb
    doc = sb.opportunity(req.params["id"])
    oid = quote(doc["id"], safe="")
    back = f"/candidates/{oid}/feedback"
    names = {u["id"]: u["name"] for u in sb.users()}
    items = []
    for form in forms(sb, doc["id"]):
        values = "".join(
            f"<dt>{e(f['text'])} <small>({e(f['type'])})</small></dt><dd><pre>{e(f.get('value'))}</pre></dd>"
            for f in form["fields"]
        )
        delete = control._form(
            f"/candidates/{oid}/feedback/{quote(form['id'], safe='')}/delete",
            "",
            "Delete form",
            back=back,
        )
        items.append(
            f"<li><b>{e(form['text'])}</b> <code>{e(form['id'])}</code> by "
            f"{e(names.get(form['user'], form['user']))}, template <code>{e(form['baseTemplateId'])}</code>"
            f"<dl>{values}</dl>{delete}</li>"
        )
    body = (
        f"<p><a href='/candidates/{oid}'>{e(doc['name'])}</a> · opportunity <code>{e(doc['id'])}</code></p>"
        f"<h2>Feedback forms</h2><ul>{''.join(items) or '<li><i>none</i></li>'}</ul>"
        "<h2>Try a failure</h2><p>Delete the opportunity (Lever answers 404 for it from now on): "
        + control._form(f"/candidates/{oid}/delete", "", "Delete opportunity", back="/candidates")
        + "</p><p><a href='/settings/feedback-templates'>Feedback templates</a> (delete Karat's to "
        "try an unknown template) · <a href='/settings/integrations'>API keys</a> (make a key "
        "without feedback permissions)</p>"
    )
    return Response.html(control._layout("Feedback forms", body, req.arg("msg")))


def page_templates(control: Control, req: Request) -> Response:
    """``/settings/feedback-templates``: every template, with Delete (as in Lever's UI)."""
    sb: Sandbox = control.sb
    rows = []
    for doc in templates(sb):
        fields = ", ".join(f"{f['text']} ({f['type']})" for f in doc["fields"])
        delete = control._form(
            f"/settings/feedback-templates/{quote(doc['id'], safe='')}/delete",
            "",
            "Delete",
            back="/settings/feedback-templates",
        )
        rows.append(
            f"<tr><td>{e(doc['text'])}<br><code>{e(doc['id'])}</code></td><td>{e(fields)}</td>"
            f"<td><small>{e(doc['instructions'])}</small></td><td>{delete}</td></tr>"
        )
    body = (
        "<table><tr><th>Template</th><th>Fields</th><th>Instructions</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return Response.html(control._layout("Feedback templates", body, req.arg("msg")))


def form_form_delete(control: Control, req: Request) -> Response:
    form_delete(control.sb, req.params["id"], req.params["feedback_id"])
    return control._back(req, f"/candidates/{quote(req.params['id'], safe='')}/feedback")


def form_template_delete(control: Control, req: Request) -> Response:
    template_delete(control.sb, req.params["id"], through_api=False)
    return control._back(req, "/settings/feedback-templates")


def c_forms(control: Control, req: Request) -> Response:
    """JSON control: ``GET /_control/opportunities/{id}/feedback`` (every form, as stored)."""
    return Response.json({"data": [public(f) for f in forms(control.sb, req.params["id"])]})


def c_templates(control: Control, req: Request) -> Response:
    return Response.json({"data": [public(t) for t in templates(control.sb)]})


def c_template_delete(control: Control, req: Request) -> Response:
    template_delete(control.sb, req.params["id"], through_api=False)
    return Response.empty(204)


def pages() -> list[tuple[str, str, str]]:
    """(method, pattern, handler name in this module) for the control's router."""
    return [
        ("GET", "/candidates/{id}/feedback", "page_forms"),
        ("POST", "/candidates/{id}/feedback/{feedback_id}/delete", "form_form_delete"),
        ("GET", "/settings/feedback-templates", "page_templates"),
        ("POST", "/settings/feedback-templates/{id}/delete", "form_template_delete"),
        ("GET", "/_control/opportunities/{id}/feedback", "c_forms"),
        ("GET", "/_control/feedback-templates", "c_templates"),
        ("DELETE", "/_control/feedback-templates/{id}", "c_template_delete"),
    ]
