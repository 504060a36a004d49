"""Control pages for an opportunity's panels: see them (which ones an integration manages),
remove one as a person would in Lever, add a person's own panel, or delete the opportunity,
to trigger each case an integration must handle by hand; plus the matching /_control calls."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from integrations.lever.sandbox import panels
from integrations.lever.sandbox.web import Request, Response

if TYPE_CHECKING:
    from integrations.lever.sandbox.control import Control


def _when(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def register(control: Control) -> None:
    """Add the pages and /_control calls to ``control``'s router."""
    sb = control.sb
    e = _escape

    def page(req: Request) -> Response:
        doc = sb.opportunity(req.params["id"])
        here = f"/candidates/{quote(doc['id'], safe='')}/panels"
        rows = "".join(
            "<tr>"
            f"<td><code>{e(p['id'])}</code></td>"
            f"<td>{e(_when(p.get('start')))} to {e(_when(p.get('end')))} ({e(p.get('timezone'))})</td>"
            f"<td>{'yes (an integration made it)' if p.get('externallyManaged') else 'no (a person made it)'}</td>"
            f"<td>{'<br>'.join(e(i.get('subject')) for i in p.get('interviews', []))}</td>"
            f"<td>{e(p.get('externalUrl') or '')}</td>"
            "<td>"
            + control._form(
                f"{here}/{quote(p['id'], safe='')}/delete",
                "",
                "Delete (as a person in Lever)",
                back=here,
            )
            + "</td></tr>"
            for p in (panels.public_panel(x) for x in panels.panels(sb, doc["id"]))
        )
        body = (
            f"<p>Opportunity <a href='/candidates/{quote(doc['id'], safe='')}'>{e(doc['name'])}</a>"
            f" <code>{e(doc['id'])}</code></p>"
            "<table><tr><th>Panel</th><th>When</th><th>Externally managed</th><th>Interviews</th>"
            f"<th>External URL</th><th></th></tr>{rows or '<tr><td colspan=6><i>none</i></td></tr>'}"
            "</table>"
            "<h2>Trigger a case by hand</h2><p>"
            + control._form(f"{here}/add", "", "Add a person's panel (tomorrow, 30 min)", back=here)
            + " "
            + control._form(
                f"/candidates/{quote(doc['id'], safe='')}/delete",
                "",
                "Delete this opportunity (reads answer 404 afterwards)",
                back="/candidates",
            )
            + "</p><p class='muted'>Only externally managed panels can be changed or deleted "
            "through the API; a person may delete any.</p>"
        )
        return Response.html(control._layout("Panels", body, req.arg("msg")))

    def form_delete(req: Request) -> Response:
        panels.delete_panel(
            sb, req.params["id"], req.params["panel_id"], user_id=None, by_api=False
        )
        return control._back(req, f"/candidates/{quote(req.params['id'], safe='')}/panels")

    def form_add(req: Request) -> Response:
        users = sb.users()
        start = (sb.now() // 3_600_000 + 24) * 3_600_000
        panels.create_panel(
            sb,
            req.params["id"],
            {
                "timezone": "UTC",
                "interviews": [
                    {
                        "subject": "Onsite (added by a person)",
                        "interviewers": [{"id": users[0]["id"]}] if users else [],
                        "date": start,
                        "duration": 30,
                    }
                ],
            },
            user_id=users[0]["id"] if users else None,
            externally_managed=False,
        )
        return control._back(req, f"/candidates/{quote(req.params['id'], safe='')}/panels")

    def c_list(req: Request) -> Response:
        sb.opportunity(req.params["id"])
        return Response.json(
            {"data": [panels.public_panel(p) for p in panels.panels(sb, req.params["id"])]}
        )

    def c_delete(req: Request) -> Response:
        panels.delete_panel(
            sb, req.params["id"], req.params["panel_id"], user_id=None, by_api=False
        )
        return Response.empty(204)

    for method, pattern, handler in (
        ("GET", "/candidates/{id}/panels", page),
        ("POST", "/candidates/{id}/panels/add", form_add),
        ("POST", "/candidates/{id}/panels/{panel_id}/delete", form_delete),
        ("GET", "/_control/opportunities/{id}/panels", c_list),
        ("DELETE", "/_control/opportunities/{id}/panels/{panel_id}", c_delete),
    ):
        control.router.add(method, pattern, handler)


def _escape(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)
