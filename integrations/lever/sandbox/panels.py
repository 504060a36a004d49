"""The sandbox's panels (scheduled interviews on an opportunity), with Lever's rules: panels
made through the API are ``externallyManaged`` and only those may be changed or deleted through
it; ``perform_as`` is required on writes (integrations/lever/README.md §16)."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from integrations.lever.sandbox.state import SandboxError, bad_request, not_found
from integrations.lever.sandbox.store import dumps

if TYPE_CHECKING:
    from integrations.lever.sandbox.state import Sandbox

FEEDBACK_REMINDERS = ("once", "daily", "frequently", "none")
# A panel of more than a day, or interviews longer than this, is refused as a typo.
DURATION_MAX_MINUTES = 24 * 60


def panels(sb: Sandbox, opportunity_id: str) -> list[dict[str, Any]]:
    """Every panel of the opportunity, oldest first (as stored, with private keys)."""
    rows = sb.store.query(
        "SELECT doc FROM panels WHERE opportunity_id = ? ORDER BY created_at, id",
        (opportunity_id,),
    )
    return [json.loads(r["doc"]) for r in rows]


def public_panel(panel: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in panel.items() if not k.startswith("_")}


def _panel(sb: Sandbox, opportunity_id: str, panel_id: str) -> dict[str, Any]:
    for panel in panels(sb, opportunity_id):
        if panel["id"] == panel_id:
            return panel
    raise not_found(f"panels {panel_id} was not found")


def _interviewer(sb: Sandbox, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        raise bad_request("each interviewer must be an object with a user id")
    user = sb.user(value["id"])
    if user is None:
        raise bad_request(f"interviewer {value['id']!r} was not found")
    return {
        "id": user["id"],
        "email": user.get("email"),
        "name": user.get("name"),
        "responseStatus": "needsAction",
        "feedbackTemplate": value.get("feedbackTemplate") or "no-feedback",
    }


def _body(sb: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """Lever's panel fields from a request body; raises Lever's 400 for a bad one."""
    time_zone = body.get("timezone")
    if not isinstance(time_zone, str) or not time_zone:
        raise bad_request("timezone is required")
    interviews = body.get("interviews")
    if not isinstance(interviews, list) or not interviews:
        raise bad_request("interviews is required and must be a non-empty array")
    reminder = body.get("feedbackReminder", "daily")
    if reminder not in FEEDBACK_REMINDERS:
        raise bad_request(f"feedbackReminder must be one of {', '.join(FEEDBACK_REMINDERS)}")
    out: list[dict[str, Any]] = []
    for item in interviews:
        if not isinstance(item, dict):
            raise bad_request("each interview must be an object")
        interviewers = item.get("interviewers")
        if not isinstance(interviewers, list) or not interviewers:
            raise bad_request("interviewers is required and must be a non-empty array")
        date, duration = item.get("date"), item.get("duration")
        if isinstance(date, bool) or not isinstance(date, int) or date < 0:
            raise bad_request("date is required (a timestamp in milliseconds)")
        if (
            isinstance(duration, bool)
            or not isinstance(duration, int)
            or not 0 < duration <= DURATION_MAX_MINUTES
        ):
            raise bad_request("duration is required (minutes)")
        for name in ("subject", "note", "location"):
            if item.get(name) is not None and not isinstance(item[name], str):
                raise bad_request(f"{name} must be a string")
        out.append(
            {
                "id": str(uuid.uuid4()),
                "date": date,
                "duration": duration,
                "feedbackReminder": item.get("feedbackReminder", reminder),
                "feedbackTemplate": item.get("feedbackTemplate") or "no-feedback",
                "interviewers": [_interviewer(sb, i) for i in interviewers],
                "location": item.get("location"),
                "note": item.get("note"),
                "subject": item.get("subject"),
            }
        )
    for name in ("note", "externalUrl"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise bad_request(f"{name} must be a string")
    start = min(i["date"] for i in out)
    end = max(i["date"] + i["duration"] * 60_000 for i in out)
    return {
        "timezone": time_zone,
        "interviews": out,
        "feedbackReminder": reminder,
        "note": body.get("note"),
        "externalUrl": body.get("externalUrl"),
        "start": start,
        "end": end,
    }


def _save(sb: Sandbox, panel: dict[str, Any]) -> None:
    with sb.store.tx() as c:
        c.execute(
            "INSERT INTO panels VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            (panel["id"], panel["_opportunityId"], panel["createdAt"], dumps(panel)),
        )


def create_panel(
    sb: Sandbox,
    opportunity_id: str,
    body: Any,
    *,
    user_id: str | None,
    externally_managed: bool = True,
) -> dict[str, Any]:
    """A new panel; through the API (``externally_managed``) ``perform_as`` is required.
    ``externally_managed=False`` is one a person made in Lever (the control page)."""
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    doc = sb.opportunity(opportunity_id)
    if externally_managed and not user_id:
        raise bad_request("perform_as is required to create a panel")
    at = sb.now()
    panel = {
        "id": str(uuid.uuid4()),
        "applications": [doc["_application"]["id"]] if doc.get("_application") else [],
        "canceledAt": None,
        "createdAt": at,
        "externallyManaged": externally_managed,
        "stage": doc["stage"],
        "user": user_id,
        **_body(sb, body),
        "_opportunityId": opportunity_id,
    }
    _save(sb, panel)
    return panel


def _api_managed(panel: dict[str, Any]) -> None:
    if not panel.get("externallyManaged"):
        # Lever's exact answer here is UNCONFIRMED (README §16); a 400 says "not this one".
        raise SandboxError(
            400,
            "BadRequestError",
            "Only panels created through the API (externallyManaged) can be changed through it",
        )


def update_panel(
    sb: Sandbox, opportunity_id: str, panel_id: str, body: Any, *, user_id: str | None
) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    sb.opportunity(opportunity_id)
    panel = _panel(sb, opportunity_id, panel_id)
    _api_managed(panel)
    if not user_id:
        raise bad_request("perform_as is required to update a panel")
    panel.update(_body(sb, body))
    _save(sb, panel)
    return panel


def delete_panel(
    sb: Sandbox, opportunity_id: str, panel_id: str, *, user_id: str | None, by_api: bool = True
) -> None:
    """Remove a panel: through the API only an externally managed one (``perform_as``
    required); ``by_api=False`` is a person deleting any panel in Lever (the control page)."""
    sb.opportunity(opportunity_id)
    panel = _panel(sb, opportunity_id, panel_id)
    if by_api:
        _api_managed(panel)
        if not user_id:
            raise bad_request("perform_as is required to delete a panel")
    with sb.store.tx() as c:
        c.execute("DELETE FROM panels WHERE id = ?", (panel["id"],))
