"""Control surface: Lever-like HTML pages (candidates, API keys, webhooks) and the /_control JSON API."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from integrations.lever.sandbox import feedback as sandbox_feedback
from integrations.lever.sandbox import panel_pages
from integrations.lever.sandbox import ratelimit_page as sandbox_ratelimit
from integrations.lever.sandbox.api import public_note
from integrations.lever.sandbox.demo import CANDIDATE_HOSTS, candidate_url
from integrations.lever.sandbox.faults import FaultConfig
from integrations.lever.sandbox.permissions import KARAT_PERMISSIONS, PERMISSIONS
from integrations.lever.sandbox.state import (
    DELIVERED_EVENTS,
    EVENT_LABELS,
    SandboxError,
    bad_request,
)
from integrations.lever.sandbox.store import now_ms
from integrations.lever.sandbox.web import Request, Response, Router

if TYPE_CHECKING:
    from integrations.lever.sandbox.server import SandboxApp


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _when(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{background:#2b2d42;color:#fff;padding:8px 16px}header a{color:#fff;margin-right:16px}
main{padding:12px 16px}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f8}form.inline{display:inline}code{background:#f4f4f8;padding:1px 3px}
.msg{background:#e8f4ea;border:1px solid #9c9;padding:6px;margin-bottom:8px}
.secret{background:#fff4d6;border:1px solid #e0b84c;padding:8px;margin:8px 0}
.muted{color:#777}.on{color:#197a2b;font-weight:bold}.off{color:#a33;font-weight:bold}
fieldset{border:1px solid #ccc;margin:8px 0}small{color:#666}
"""


class Control:
    """HTML pages and the JSON control API, both writing through ``Sandbox``."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.sb = app.sandbox
        self.router: Router[Callable[[Request], Response]] = Router()
        pages: list[tuple[str, str, Callable[[Request], Response]]] = [
            ("GET", "/", self.home),
            ("GET", "/candidates", self.candidates),
            ("GET", "/candidates/{id}", self.candidate),
            ("POST", "/candidates/{id}/stage", self.form_stage),
            ("POST", "/candidates/{id}/archive", self.form_archive),
            ("POST", "/candidates/{id}/unarchive", self.form_unarchive),
            ("POST", "/candidates/{id}/hire", self.form_hire),
            ("POST", "/candidates/{id}/confidential", self.form_confidential),
            ("POST", "/candidates/{id}/snooze", self.form_snooze),
            ("POST", "/candidates/{id}/delete", self.form_delete),
            ("POST", "/candidates/{id}/anonymize", self.form_anonymize),
            ("POST", "/candidates/bulk-move", self.form_bulk_move),
            ("GET", "/settings/integrations", self.keys_page),
            ("POST", "/settings/integrations/keys", self.form_key_create),
            ("POST", "/settings/integrations/keys/{id}/revoke", self.form_key_revoke),
            ("GET", "/settings/integrations/webhooks", self.webhooks_page),
            ("POST", "/settings/integrations/webhooks/events/{event}", self.form_event_toggle),
            ("POST", "/settings/integrations/webhooks/add", self.form_webhook_add),
            ("POST", "/settings/integrations/webhooks/{id}/test", self.form_webhook_test),
            (
                "POST",
                "/settings/integrations/webhooks/{id}/regenerate",
                self.form_webhook_regenerate,
            ),
            ("POST", "/settings/integrations/webhooks/{id}/delete", self.form_webhook_delete),
            ("GET", "/settings/integrations/webhooks/deliveries", self.deliveries_page),
            ("GET", "/_control", self.c_index),
            ("GET", "/_control/health", self.c_health),
            ("GET", "/_control/faults", self.c_faults_get),
            ("POST", "/_control/faults", self.c_faults_set),
            ("DELETE", "/_control/faults", self.c_faults_reset),
            ("GET", "/_control/counters", self.c_counters),
            ("DELETE", "/_control/counters", self.c_counters_reset),
            ("GET", "/_control/requests", self.c_requests),
            ("DELETE", "/_control/requests", self.c_requests_reset),
            ("GET", "/_control/deliveries", self.c_deliveries),
            ("GET", "/_control/deliveries/wait", self.c_deliveries_wait),
            ("POST", "/_control/opportunities/{id}/{action}", self.c_opportunity_action),
            ("DELETE", "/_control/opportunities/{id}", self.c_opportunity_delete),
            ("POST", "/_control/keys", self.c_key_create),
            ("POST", "/_control/postings", self.c_postings_add),
            ("POST", "/_control/postings/{id}", self.c_posting_update),
            ("DELETE", "/_control/postings/{id}", self.c_posting_delete),
            ("GET", "/_control/webhook-events", self.c_events_get),
            ("POST", "/_control/webhook-events", self.c_events_set),
            ("POST", "/_control/rate-limit", self.c_rate_limit),
            ("POST", "/_control/reset", self.c_reset),
            # The hiring team (README §17): users with emails, posting teams, owners.
            ("GET", "/users", self.users_page),
            ("POST", "/users", self.form_user_add),
            ("GET", "/postings", self.postings_page),
            ("POST", "/postings/{id}/team", self.form_posting_team),
            ("POST", "/candidates/{id}/owner", self.form_owner),
            ("POST", "/_control/users", self.c_user_add),
            ("POST", "/_control/postings/{id}/team", self.c_posting_team),
        ]
        # Feedback forms on an opportunity, feedback templates (sandbox/feedback.py).
        pages += [
            (method, pattern, partial(getattr(sandbox_feedback, name), self))
            for method, pattern, name in sandbox_feedback.pages()
        ]
        for method, pattern, handler in pages:
            self.router.add(method, pattern, handler)
        # An opportunity's panels (integrations/lever/sandbox/panel_pages.py).
        panel_pages.register(self)
        # Lever's rate limit: change it, turn it off, inject a 429 (sandbox/ratelimit_page.py).
        sandbox_ratelimit.register(self)

    def handle(self, req: Request) -> Response:
        is_json = req.path.startswith("/_control")
        try:
            handler = self.router.resolve(req)
            if req.method != "GET":
                self._check_origin(req, is_json=is_json)
            return handler(req)
        except SandboxError as exc:
            if is_json:
                return Response.error(exc.status, exc.code, exc.message)
            body = f"<h1>{exc.status}</h1><p>{e(exc.message)}</p><p><a href='/'>Home</a></p>"
            return Response.html(self._layout("Error", body), exc.status)

    def _check_origin(self, req: Request, *, is_json: bool) -> None:
        # Cheap CSRF guard for a local tool: JSON control calls need a JSON content type
        # (a cross-site form can't send one without a CORS preflight we never answer), and
        # HTML forms carry this process's random form token.
        if is_json:
            if req.body and not req.headers.get("content-type", "").startswith("application/json"):
                raise SandboxError(
                    415, "UnsupportedMediaType", "send Content-Type: application/json"
                )
            return
        if req.context.setdefault("form", req.form()).get("csrf", [""])[-1] != self.app.form_token:
            raise SandboxError(
                403, "ForbiddenError", "form token missing or stale; reload the page"
            )

    # --- page helpers ---------------------------------------------------------------------

    def _layout(self, title: str, body: str, msg: str | None = None) -> str:
        flash = f"<div class='msg'>{e(msg)}</div>" if msg else ""
        return (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{e(title)} · Lever sandbox</title><style>{_CSS}</style></head><body>"
            "<header><b>Lever sandbox</b> &nbsp; <a href='/'>Home</a><a href='/candidates'>Candidates</a>"
            "<a href='/settings/integrations'>Settings → Integrations and API</a>"
            "<a href='/settings/integrations/webhooks'>Webhooks</a>"
            "<a href='/settings/integrations/webhooks/deliveries'>Deliveries</a>"
            "<a href='/postings'>Postings</a><a href='/users'>Users</a>"
            "<a href='/rate-limit'>Rate limit</a></header>"
            f"<main><h1>{e(title)}</h1>{flash}{body}</main></body></html>"
        )

    def _csrf(self) -> str:
        return f"<input type='hidden' name='csrf' value='{e(self.app.form_token)}'>"

    def _form(self, action: str, inner: str, button: str, *, back: str = "") -> str:
        nxt = f"<input type='hidden' name='next' value='{e(back)}'>" if back else ""
        return (
            f"<form class='inline' method='post' action='{e(action)}'>{self._csrf()}{nxt}"
            f"{inner}<button type='submit'>{e(button)}</button></form>"
        )

    def _field(self, req: Request, name: str) -> str:
        values = req.context.get("form") or req.form()
        return (values.get(name) or [""])[-1]

    def _back(self, req: Request, default: str) -> Response:
        target = self._field(req, "next")
        # Only same-site paths: never let a form bounce the browser elsewhere.
        if not target.startswith("/") or target.startswith("//"):
            target = default
        return Response.redirect(target)

    def _stage_names(self) -> dict[str, str]:
        return {s["id"]: s["text"] for s in self.sb.stages()}

    def _reason_map(self) -> dict[str, dict[str, Any]]:
        return {r["id"]: r for r in self.sb.archive_reasons()}

    def _state_label(self, doc: dict[str, Any], reasons: dict[str, dict[str, Any]]) -> str:
        suffix = " (confidential)" if doc["confidentiality"] == "confidential" else ""
        if not doc["archived"]:
            return "Active" + suffix
        reason = reasons.get(doc["archived"]["reason"], {})
        prefix = "Hired" if reason.get("type") == "hired" else "Archived"
        return f"{prefix}: {reason.get('text', doc['archived']['reason'])}{suffix}"

    def _action_forms(self, doc: dict[str, Any], back: str) -> str:
        oid = quote(doc["id"], safe="")
        stages = "".join(
            f"<option value='{e(s['id'])}'{' selected' if s['id'] == doc['stage'] else ''}>{e(s['text'])}</option>"
            for s in self.sb.stages()
        )
        reasons = "".join(
            f"<option value='{e(r['id'])}'>{e(r['text'])} ({e(r['type'])})</option>"
            for r in self.sb.archive_reasons()
            if r["status"] == "active"
        )
        parts = [
            self._form(
                f"/candidates/{oid}/stage",
                f"<select name='stage'>{stages}</select>",
                "Move",
                back=back,
            ),
            self._form(
                f"/candidates/{oid}/archive",
                f"<select name='reason'>{reasons}</select>",
                "Archive",
                back=back,
            ),
        ]
        if doc["archived"]:
            parts.append(self._form(f"/candidates/{oid}/unarchive", "", "Unarchive", back=back))
        parts.append(self._form(f"/candidates/{oid}/hire", "", "Hire", back=back))
        confidential = doc["confidentiality"] == "confidential"
        parts.append(
            self._form(
                f"/candidates/{oid}/confidential",
                f"<input type='hidden' name='confidential' value='{'off' if confidential else 'on'}'>",
                "Make non-confidential" if confidential else "Make confidential",
                back=back,
            )
        )
        snoozed = bool(doc.get("snoozedUntil")) and doc["snoozedUntil"] > now_ms()
        parts.append(
            self._form(
                f"/candidates/{oid}/snooze",
                f"<input type='hidden' name='snooze' value='{'off' if snoozed else 'on'}'>",
                "Wake" if snoozed else "Snooze 1 day",
                back=back,
            )
        )
        # Deletion and anonymisation (integrations/lever/README.md §19): Karat must honour both.
        parts.append(self._form(f"/candidates/{oid}/anonymize", "", "Anonymize", back=back))
        parts.append(self._form(f"/candidates/{oid}/delete", "", "Delete candidate"))
        return " ".join(parts)

    # --- pages ----------------------------------------------------------------------------

    def home(self, req: Request) -> Response:
        counts = {
            "opportunities": len(self.sb.opportunities()),
            "postings": len(self.sb.postings()),
            "webhooks": len(self.sb.webhooks()),
        }
        body = (
            f"<p>A local stand-in for Lever's Data API. API base URL: <code>{e(self.app.api_url)}</code>. "
            "Authenticate with HTTP Basic, API key as the username and an empty password. "
            "The demo key with every permission is <code>DEMO_API_KEY</code> in "
            "<code>integrations/lever/sandbox/demo.py</code> (demo only).</p>"
            f"<p>{counts['opportunities']} opportunities, {counts['postings']} postings, "
            f"{counts['webhooks']} webhooks. Candidate URLs use region <code>{e(self.sb.region)}</code>.</p>"
            "<ul><li><a href='/candidates'>Candidates</a>: copy a candidate URL into Karat's invite form; "
            "move stages, archive, unarchive, hire (fires webhooks).</li>"
            "<li><a href='/settings/integrations'>Settings → Integrations and API</a>: generate API keys.</li>"
            "<li><a href='/settings/integrations/webhooks'>Webhooks</a>: event toggles, URLs, test sends.</li>"
            "<li><a href='/_control'>/_control</a>: JSON knobs for tests and benches.</li></ul>"
        )
        return Response.html(self._layout("Lever sandbox", body, req.arg("msg")))

    def candidates(self, req: Request) -> Response:
        q = (req.arg("q") or "").strip().lower()
        stage_filter = req.arg("stage") or ""
        names = self._stage_names()
        reasons = self._reason_map()
        postings = {p["id"]: p for p in self.sb.postings()}
        docs = sorted(self.sb.opportunities(), key=lambda d: (-d["createdAt"], d["id"]))
        rows = []
        back = "/candidates" + (f"?q={quote(q)}" if q else "")
        for doc in docs:
            app = doc["_application"]
            posting = postings.get(app["posting"]) if app else None
            text = " ".join(
                [doc["name"], *doc["emails"], posting["text"] if posting else ""]
            ).lower()
            if q and q not in text and q != doc["id"]:
                continue
            if stage_filter and doc["stage"] != stage_filter:
                continue
            url = candidate_url(doc["id"], self.sb.region)
            rows.append(
                "<tr>"
                f"<td><a href='/candidates/{e(quote(doc['id'], safe=''))}'>{e(doc['name']) or '<i>(no name)</i>'}</a>"
                f"<br><small>{e(', '.join(doc['emails']))}</small></td>"
                f"<td>{e(posting['text']) if posting else '<i>general</i>'}</td>"
                f"<td>{e(names.get(doc['stage'], doc['stage']))}</td>"
                f"<td>{e(self._state_label(doc, reasons))}</td>"
                f"<td><code>{e(url)}</code></td>"
                f"<td>{self._action_forms(doc, back)}</td></tr>"
            )
        options = "".join(
            f"<option value='{e(sid)}'{' selected' if sid == stage_filter else ''}>{e(text)}</option>"
            for sid, text in names.items()
        )
        body = (
            "<form method='get'><input name='q' placeholder='name, email, posting or id' "
            f"value='{e(q)}'> <select name='stage'><option value=''>any stage</option>{options}</select> "
            f"<button>Filter</button></form><p class='muted'>{len(rows)} opportunities</p>"
            "<table><tr><th>Candidate</th><th>Posting</th><th>Stage</th><th>State</th>"
            "<th>Lever URL</th><th>Actions</th></tr>" + "".join(rows) + "</table>"
        )
        body += self._bulk_move_form(names)
        return Response.html(self._layout("Candidates", body, req.arg("msg")))

    # A bulk move as a recruiter does it in Lever: many candidates at once, each firing its own
    # deliveries (a stage change, then an archive change when a reason is picked), so several
    # deliveries for one opportunity wait together and Karat's reads are coalesced.
    BULK_MOVE_MAX = 500

    def _bulk_move_form(self, names: dict[str, str]) -> str:
        stages = "".join(
            f"<option value='{e(sid)}'>{e(text)}</option>" for sid, text in names.items()
        )
        reasons = "".join(
            f"<option value='{e(r['id'])}'>{e(r['text'])} ({e(r['type'])})</option>"
            for r in self.sb.archive_reasons()
            if r["status"] == "active"
        )
        inner = (
            f"<input name='count' type='number' min='1' max='{self.BULK_MOVE_MAX}' value='50'> "
            f"candidates (active, newest first) to <select name='stage'>{stages}</select>, then "
            f"<select name='reason'><option value=''>keep active</option>{reasons}</select> "
        )
        return "<h2>Bulk move</h2>" + self._form(
            "/candidates/bulk-move", inner, "Bulk move", back="/candidates"
        )

    def form_bulk_move(self, req: Request) -> Response:
        """Move ``count`` active candidates to ``stage`` (then archive them with ``reason``)."""
        try:
            count = int(self._field(req, "count"))
        except ValueError:
            count = 0
        if not 1 <= count <= self.BULK_MOVE_MAX:
            return Response.redirect(
                "/candidates?msg=" + quote(f"Count must be 1 to {self.BULK_MOVE_MAX}")
            )
        stage, reason = self._field(req, "stage"), self._field(req, "reason")
        docs = sorted(
            (d for d in self.sb.opportunities() if not d["archived"]),
            key=lambda d: (-d["createdAt"], d["id"]),
        )[:count]
        for doc in docs:
            self.sb.move_stage(doc["id"], stage, count=False)
            if reason:
                self.sb.set_archived(doc["id"], reason, count=False)
        return Response.redirect("/candidates?msg=" + quote(f"{len(docs)} candidates moved"))

    def candidate(self, req: Request) -> Response:
        doc = self.sb.opportunity(req.params["id"])
        names = self._stage_names()
        reasons = self._reason_map()
        app = doc["_application"]
        posting = self.sb.store.doc("postings", app["posting"]) if app else None
        back = f"/candidates/{quote(doc['id'], safe='')}"
        urls = "".join(
            f"<li>{e(region)}: <code>{e(candidate_url(doc['id'], region))}</code></li>"
            for region in CANDIDATE_HOSTS
        )
        history = "".join(
            f"<li>{e(_when(c['updatedAt']))}: {e(names.get(c['toStageId'], c['toStageId']))}</li>"
            for c in doc["stageChanges"]
        )
        notes = "".join(
            f"<li>{e(_when(n['createdAt']))} {'(secret) ' if n['secret'] else ''}"
            + "".join(f"<pre>{e(f['value'])}</pre>" for f in n["fields"])
            + "</li>"
            for n in (public_note(x) for x in self.sb.notes(doc["id"]))
        )
        body = (
            f"<p><b>{e(doc['name'])}</b> {e(', '.join(doc['emails']))}<br>"
            f"Opportunity <code>{e(doc['id'])}</code>, contact <code>{e(doc['contact'])}</code>, "
            f"origin {e(doc.get('origin'))}</p>"
            f"<p>Posting: {e(posting['text']) if posting else 'none'} "
            f"{'(' + e(posting['state']) + ')' if posting else ''}<br>"
            f"Stage: {e(names.get(doc['stage'], doc['stage']))}<br>"
            f"State: {e(self._state_label(doc, reasons))}<br>Updated: {e(_when(doc['updatedAt']))}</p>"
            f"<p>{self._action_forms(doc, back)}</p>"
            f"<p>Owner: {self._user_label(doc.get('owner'))} "
            + self._form(
                f"/candidates/{quote(doc['id'], safe='')}/owner",
                self._user_select("owner", doc.get("owner")),
                "Change owner",
                back=back,
            )
            + "</p>"
            f"<h2>Candidate URLs</h2><ul>{urls}</ul><p class='muted'>The API's urls.show uses "
            f"region {e(self.sb.region)}.</p>"
            f"<h2>Tags</h2><p>{e(', '.join(doc['tags'])) or '<i>none</i>'}</p>"
            f"<h2>Links</h2><p>{e(', '.join(doc['links'])) or '<i>none</i>'}</p>"
            f"<h2>Notes</h2><ul>{notes or '<li><i>none</i></li>'}</ul>"
            f"<h2>Panels</h2><p><a href='{back}/panels'>Scheduled interviews (panels)</a></p>"
            f"<p><a href='/candidates/{quote(doc['id'], safe='')}/feedback'>Feedback forms</a></p>"
            f"<h2>Stage history</h2><ul>{history}</ul>"
        )
        return Response.html(self._layout(doc["name"] or "(no name)", body, req.arg("msg")))

    def _default_back(self, req: Request) -> str:
        return f"/candidates/{quote(req.params['id'], safe='')}"

    def form_stage(self, req: Request) -> Response:
        self.sb.move_stage(req.params["id"], self._field(req, "stage"), count=False)
        return self._back(req, self._default_back(req))

    def form_archive(self, req: Request) -> Response:
        self.sb.set_archived(req.params["id"], self._field(req, "reason"), count=False)
        return self._back(req, self._default_back(req))

    def form_unarchive(self, req: Request) -> Response:
        self.sb.set_archived(req.params["id"], None, count=False)
        return self._back(req, self._default_back(req))

    def form_hire(self, req: Request) -> Response:
        self.sb.hire(req.params["id"])
        return self._back(req, self._default_back(req))

    def form_confidential(self, req: Request) -> Response:
        self.sb.set_confidentiality(req.params["id"], self._field(req, "confidential") == "on")
        return self._back(req, self._default_back(req))

    def form_delete(self, req: Request) -> Response:
        """Delete the candidate: their page is gone, so back to the list."""
        self.sb.delete_opportunity(req.params["id"])
        return Response.redirect("/candidates?msg=" + quote("Candidate deleted"))

    def form_anonymize(self, req: Request) -> Response:
        self.sb.anonymize_opportunity(req.params["id"])
        return self._back(req, self._default_back(req))

    def form_snooze(self, req: Request) -> Response:
        # A day from now: ?snoozed=true lists it until then (Lever's snoozedUntil, ms).
        until = now_ms() + 86_400_000 if self._field(req, "snooze") == "on" else None
        self.sb.set_snoozed(req.params["id"], until)
        return self._back(req, self._default_back(req))

    def keys_page(
        self, req: Request, *, new_key: tuple[str, str, list[str]] | None = None
    ) -> Response:
        secret = ""
        if new_key:
            label, key, perms = new_key
            secret = (
                f"<div class='secret'>New key <b>{e(label)}</b> ({e(', '.join(perms))}):<br>"
                f"<code id='new-api-key'>{e(key)}</code><br>Copy it now: it will not be shown again.</div>"
            )
        karat = "".join(
            f"<li><code>{e(p)}</code> — {e(PERMISSIONS[p])}</li>" for p in KARAT_PERMISSIONS
        )
        boxes = "".join(
            f"<label><input type='checkbox' name='permissions' value='{e(p)}'> <code>{e(p)}</code> "
            f"<small>{e(text)}</small></label><br>"
            for p, text in PERMISSIONS.items()
        )
        rows = "".join(
            f"<tr><td>{e(k['label'])}</td><td>…{e(k['last4'])}</td><td>{e(', '.join(k['permissions']))}</td>"
            f"<td>{e(_when(k['createdAt']))}</td><td>"
            + (
                f"revoked {e(_when(k['revokedAt']))}"
                if k["revokedAt"]
                else self._form(
                    f"/settings/integrations/keys/{quote(k['id'], safe='')}/revoke", "", "Revoke"
                )
            )
            + "</td></tr>"
            for k in self.sb.api_keys()
        )
        body = (
            secret
            + "<h2>Karat</h2><fieldset><p>Turn on the Karat integration to generate a key with "
            f"the permissions it needs:</p><ul>{karat}</ul>"
            + self._form(
                "/settings/integrations/keys",
                "<input type='hidden' name='preset' value='karat'>"
                "<input type='hidden' name='label' value='Karat'>",
                "Generate new key",
            )
            + "</fieldset><h2>API credentials</h2><fieldset><form method='post' action='/settings/integrations/keys'>"
            + self._csrf()
            + "<p>Label <input name='label' value='Custom key'></p>"
            + boxes
            + "<p><small>A write permission also grants the matching read.</small></p>"
            "<button type='submit'>Generate new key</button></form></fieldset>"
            "<table><tr><th>Label</th><th>Key</th><th>Permissions</th><th>Created</th><th></th></tr>"
            + rows
            + "</table>"
        )
        return Response.html(self._layout("Settings → Integrations and API", body, req.arg("msg")))

    def form_key_create(self, req: Request) -> Response:
        form = req.context["form"]
        if self._field(req, "preset") == "karat":
            perms = list(KARAT_PERMISSIONS)
        else:
            perms = form.get("permissions", [])
        if not perms:
            raise bad_request("choose at least one permission")
        label = self._field(req, "label")
        _, key = self.sb.create_key(label=label, permissions=perms)
        # Rendered directly (no redirect) so the key is shown exactly once.
        return self.keys_page(req, new_key=(label or "API key", key, sorted(set(perms))))

    def form_key_revoke(self, req: Request) -> Response:
        self.sb.revoke_key(req.params["id"])
        return Response.redirect("/settings/integrations?msg=" + quote("Key revoked"))

    def webhooks_page(
        self,
        req: Request,
        *,
        new_token: tuple[str, str] | None = None,
        test_sent: bool = False,
    ) -> Response:
        secret = ""
        if new_token:
            url, token = new_token
            secret = (
                f"<div class='secret'>Signature token for <code>{e(url)}</code>:<br>"
                f"<code id='signature-token'>{e(token)}</code><br>Copy it now."
                + (
                    " Lever sends this URL a test delivery (<code>data: {}</code>) in a moment: "
                    "see <a href='/settings/integrations/webhooks/deliveries'>Deliveries</a>."
                    if test_sent
                    else ""
                )
                + "</div>"
            )
        toggles = self.sb.event_toggles()
        hooks = self.sb.webhooks()
        sections = []
        for event in DELIVERED_EVENTS:
            on = toggles[event]
            flip = self._form(
                f"/settings/integrations/webhooks/events/{event}",
                f"<input type='hidden' name='enabled' value='{'off' if on else 'on'}'>",
                "Turn off" if on else "Turn on",
            )
            rows = "".join(
                f"<tr><td><code>{e(h['url'])}</code></td><td>{e(h['source'])}</td>"
                f"<td>{e(', '.join(json.loads(h['origins'])) if h['origins'] else 'all origins')}</td><td>"
                + self._form(
                    f"/settings/integrations/webhooks/{quote(h['id'], safe='')}/test",
                    "",
                    "Send test",
                )
                + " "
                + self._form(
                    f"/settings/integrations/webhooks/{quote(h['id'], safe='')}/regenerate",
                    "",
                    "Regenerate token",
                )
                + " "
                + self._form(
                    f"/settings/integrations/webhooks/{quote(h['id'], safe='')}/delete",
                    "",
                    "Delete",
                )
                + "</td></tr>"
                for h in hooks
                if h["event"] == event
            )
            add = self._form(
                "/settings/integrations/webhooks/add",
                f"<input type='hidden' name='event' value='{e(event)}'>"
                "<input name='url' size='50' placeholder='https://…'> ",
                "+ Add webhook",
            )
            sections.append(
                f"<fieldset><legend><b>{e(EVENT_LABELS[event])}</b> <code>{e(event)}</code> "
                f"<span class='{'on' if on else 'off'}'>{'ON' if on else 'OFF'}</span></legend>{flip}"
                f"<table><tr><th>URL</th><th>Created via</th><th>Conditions</th><th></th></tr>{rows}</table>"
                f"<p>{add}</p></fieldset>"
            )
        others = [h for h in hooks if h["event"] not in DELIVERED_EVENTS]
        if others:
            sections.append(
                "<p class='muted'>Also registered (never fired by the sandbox): "
                + e(", ".join(f"{h['event']} → {h['url']}" for h in others))
                + "</p>"
            )
        body = secret + "".join(sections)
        return Response.html(self._layout("Webhooks", body, req.arg("msg")))

    def form_event_toggle(self, req: Request) -> Response:
        self.sb.set_event_enabled(req.params["event"], self._field(req, "enabled") == "on")
        return Response.redirect("/settings/integrations/webhooks")

    def form_webhook_add(self, req: Request) -> Response:
        row = self.sb.create_webhook(
            url=self._field(req, "url").strip(),
            event=self._field(req, "event"),
            origins=None,
            source="ui",
        )
        return self.webhooks_page(
            req, new_token=(row["url"], row["signature_token"]), test_sent=True
        )

    def form_webhook_test(self, req: Request) -> Response:
        self.sb.send_test(req.params["id"])
        return Response.redirect(
            "/settings/integrations/webhooks/deliveries?msg=" + quote("Test queued")
        )

    def form_webhook_regenerate(self, req: Request) -> Response:
        token = self.sb.regenerate_token(req.params["id"])
        row = next(h for h in self.sb.webhooks() if h["id"] == req.params["id"])
        return self.webhooks_page(req, new_token=(row["url"], token))

    def form_webhook_delete(self, req: Request) -> Response:
        self.sb.delete_webhook(req.params["id"], source="ui")
        return Response.redirect("/settings/integrations/webhooks?msg=" + quote("Webhook deleted"))

    def deliveries_page(self, req: Request) -> Response:
        rows = []
        for d in self.sb.deliveries(event=req.arg("event"), limit=200):
            attempts = "".join(
                f"<li>#{a['attempt']} {e(_when(a['at']))}: {e(a['statusCode'] or '')} {e(a['error'] or '')} "
                f"<small>{e(a['durationMs'])} ms</small></li>"
                for a in d["attempts"]
            )
            rows.append(
                f"<tr><td>{d['id']}</td><td>{e(d['event'])}{' (test)' if not d['body']['data'] else ''}</td>"
                f"<td><code>{e(d['url'])}</code></td><td>{e(d['opportunityId'] or '')}</td>"
                f"<td>{e(d['status'])}</td><td><ul>{attempts}</ul></td></tr>"
            )
        body = (
            "<p>Newest first (up to 200). Failed attempts are retried 5 times with growing gaps.</p>"
            "<table><tr><th>#</th><th>Event</th><th>URL</th><th>Opportunity</th><th>Status</th>"
            "<th>Attempts</th></tr>" + "".join(rows) + "</table>"
        )
        return Response.html(self._layout("Webhook deliveries", body, req.arg("msg")))

    # --- JSON control API -----------------------------------------------------------------

    def c_index(self, req: Request) -> Response:
        return Response.json(
            {
                "endpoints": [
                    "GET /_control/health",
                    "GET|POST|DELETE /_control/faults",
                    "GET|DELETE /_control/counters[?opportunity_id=]",
                    "GET|DELETE /_control/requests",
                    "GET /_control/deliveries[?event=&limit=]",
                    "GET /_control/deliveries/wait[?timeout=]",
                    "POST /_control/opportunities/{id}/stage|archive|unarchive|hire"
                    "|confidential|merge|snooze|delete|anonymize",
                    "POST /_control/keys",
                    "POST /_control/postings",
                    "POST|DELETE /_control/postings/{id}",
                    "GET|POST /_control/webhook-events",
                    "POST /_control/rate-limit",
                    "POST /_control/reset",
                ]
            }
        )

    def c_health(self, req: Request) -> Response:
        return Response.json({"ok": True, "api_url": self.app.api_url})

    def c_faults_get(self, req: Request) -> Response:
        return Response.json(self.app.faults.config.to_json())

    def c_faults_set(self, req: Request) -> Response:
        try:
            config = FaultConfig.from_json(req.json())
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        self.app.faults.set(config)
        return Response.json(config.to_json())

    def c_faults_reset(self, req: Request) -> Response:
        self.app.faults.reset()
        return Response.json(self.app.faults.config.to_json())

    def c_counters(self, req: Request) -> Response:
        return Response.json(self.sb.counters(req.arg("opportunity_id")))

    def c_counters_reset(self, req: Request) -> Response:
        self.sb.reset_counters()
        return Response.empty()

    def c_requests(self, req: Request) -> Response:
        return Response.json(self.app.request_stats())

    def c_requests_reset(self, req: Request) -> Response:
        self.app.reset_request_stats()
        return Response.empty()

    def c_deliveries(self, req: Request) -> Response:
        try:
            limit = int(req.arg("limit") or 200)
        except ValueError:
            raise bad_request("limit must be an integer") from None
        return Response.json(
            {"data": self.sb.deliveries(event=req.arg("event"), limit=max(1, min(limit, 1000)))}
        )

    def c_deliveries_wait(self, req: Request) -> Response:
        try:
            timeout = min(float(req.arg("timeout") or 10), 60.0)
        except ValueError:
            raise bad_request("timeout must be a number of seconds") from None
        return Response.json({"idle": self.app.dispatcher.wait_idle(timeout)})

    def c_opportunity_delete(self, req: Request) -> Response:
        """``DELETE /_control/opportunities/{id}``: the candidate deleted in Lever (as
        ``POST …/delete``, without a body), 204."""
        self.sb.delete_opportunity(req.params["id"])
        return Response.empty(204)

    def c_opportunity_action(self, req: Request) -> Response:
        body = req.json_object() if req.body else {}
        oid, action = req.params["id"], req.params["action"]
        if action == "stage":
            doc = self.sb.move_stage(oid, body.get("stage"), count=False)
        elif action == "archive":
            doc = self.sb.set_archived(oid, body.get("reason"), count=False)
        elif action == "unarchive":
            doc = self.sb.set_archived(oid, None, count=False)
        elif action == "hire":
            doc = self.sb.hire(oid, body.get("reason"))
        elif action == "confidential":
            confidential = body.get("confidential", True)
            if not isinstance(confidential, bool):
                raise bad_request("confidential must be true or false")
            doc = self.sb.set_confidentiality(oid, confidential)
        elif action == "owner":
            doc = self.sb.set_owner(oid, body.get("owner"))
        elif action == "delete":
            user = body.get("deletedBy")
            if user is not None and not isinstance(user, str):
                raise bad_request("deletedBy must be a user id")
            at = self.sb.delete_opportunity(oid, user_id=user)
            return Response.json({"data": {"id": oid, "deletedAt": at, "deletedBy": user}})
        elif action == "anonymize":
            doc = self.sb.anonymize_opportunity(oid)
        elif action == "merge":
            into = body.get("contact")
            if into is not None and (not isinstance(into, str) or not into):
                raise bad_request("contact must be a contact id (or absent for a new one)")
            self.sb.merge_contact(oid, into)
            doc = self.sb.opportunity(oid)
        elif action == "snooze":
            doc = self.sb.set_snoozed(oid, body.get("until"))
        else:
            raise SandboxError(404, "ResourceNotFound", f"unknown action {action!r}")
        return Response.json({"data": self.sb.public(doc)})

    def c_key_create(self, req: Request) -> Response:
        body = req.json_object()
        perms = body.get("permissions")
        if not isinstance(perms, list) or not all(isinstance(p, str) for p in perms):
            raise bad_request("permissions must be a list of permission names")
        key_id, key = self.sb.create_key(
            label=str(body.get("label") or "API key"), permissions=perms
        )
        return Response.json({"id": key_id, "key": key, "permissions": sorted(set(perms))}, 201)

    def c_postings_add(self, req: Request) -> Response:
        body = req.json_object()
        count, every = body.get("count"), body.get("confidential_every", 0)
        for name, value in (("count", count), ("confidential_every", every)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad_request(f"{name} must be an integer")
        title = body.get("title", "Generated Engineer")
        if not isinstance(title, str) or not title.strip():
            raise bad_request("title must be a non-empty string")
        assert isinstance(count, int)  # noqa: S101 - checked above
        ids = self.sb.add_postings(count, confidential_every=every, title=title.strip())
        return Response.json({"count": len(ids), "first": ids[0], "last": ids[-1]}, 201)

    def c_posting_update(self, req: Request) -> Response:
        return Response.json({"data": self.sb.update_posting(req.params["id"], req.json_object())})

    def c_posting_delete(self, req: Request) -> Response:
        self.sb.delete_posting(req.params["id"])
        return Response.empty()

    def c_events_get(self, req: Request) -> Response:
        return Response.json(self.sb.event_toggles())

    def c_events_set(self, req: Request) -> Response:
        body = req.json_object()
        for event, enabled in body.items():
            if not isinstance(enabled, bool):
                raise bad_request(f"{event} must be true or false")
            self.sb.set_event_enabled(event, enabled)
        return Response.json(self.sb.event_toggles())

    def c_rate_limit(self, req: Request) -> Response:
        body = req.json_object()
        rate, burst = body.get("rate_per_second", 10.0), body.get("burst", 20)
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0
        ):
            raise bad_request("rate_per_second must be a positive number or null (off)")
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise bad_request("burst must be a positive integer")
        self.app.limiter.configure(rate, burst)
        return Response.json({"rate_per_second": rate, "burst": burst})

    def c_reset(self, req: Request) -> Response:
        self.app.reset_all()
        return Response.json({"ok": True})

    # --- users and hiring teams (README §17) ----------------------------------------------

    def _user_label(self, user_id: str | None) -> str:
        user = self.sb.user(user_id) if user_id else None
        if user is None:
            return "<i>nobody</i>"
        return f"{e(user['name'])} &lt;{e(user['email'])}&gt;"

    def _user_select(self, name: str, current: str | None) -> str:
        options = "".join(
            f"<option value='{e(u['id'])}'{' selected' if u['id'] == current else ''}>"
            f"{e(u['name'])} &lt;{e(u['email'])}&gt;</option>"
            for u in self.sb.users()
            if u["deactivatedAt"] is None
        )
        return f"<select name='{e(name)}'><option value=''>nobody</option>{options}</select>"

    def users_page(self, req: Request) -> Response:
        rows = "".join(
            f"<tr><td>{e(u['name'])}</td><td><code>{e(u['email'])}</code></td>"
            f"<td>{e(u['accessRole'])}</td><td>{'deactivated' if u['deactivatedAt'] else 'active'}</td>"
            f"<td><code>{e(u['id'])}</code></td></tr>"
            for u in self.sb.users()
        )
        add = self._form(
            "/users",
            "<input name='name' placeholder='Name' required> "
            "<input name='email' placeholder='email (any text, as Lever stores it)' required>",
            "Add user",
        )
        body = (
            "<p>The account's users: posting owners, hiring managers, followers and opportunity "
            "owners are picked from them. Give one the email of a Karat user to see Karat match "
            f"them.</p><p>{add}</p><table><tr><th>Name</th><th>Email</th><th>Access role</th>"
            f"<th>State</th><th>Id</th></tr>{rows}</table>"
        )
        return Response.html(self._layout("Users", body, req.arg("msg")))

    def form_user_add(self, req: Request) -> Response:
        self.sb.add_user(name=self._field(req, "name"), email=self._field(req, "email"))
        return Response.redirect("/users")

    def postings_page(self, req: Request) -> Response:
        rows = []
        for p in self.sb.postings():
            pid = quote(p["id"], safe="")
            team = self._form(
                f"/postings/{pid}/team",
                "Owner "
                + self._user_select("owner", p.get("owner"))
                + " Hiring manager "
                + self._user_select("hiringManager", p.get("hiringManager")),
                "Save",
                back="/postings",
            )
            followers = ", ".join(self._user_label(f) for f in p.get("followers") or []) or "—"
            rows.append(
                f"<tr><td>{e(p['text'])}<br><small><code>{e(p['id'])}</code></small></td>"
                f"<td>{e(p['state'])}</td><td>{team}</td><td>{followers}</td></tr>"
            )
        body = (
            "<p>Every posting with its hiring team. Changing the owner or hiring manager moves "
            "the posting's updatedAt (no webhook fires): Karat sees it at its next posting sync "
            "(Roles → Sync now).</p><table><tr><th>Posting</th><th>State</th>"
            "<th>Owner and hiring manager</th><th>Followers</th></tr>" + "".join(rows) + "</table>"
        )
        return Response.html(self._layout("Postings", body, req.arg("msg")))

    def form_posting_team(self, req: Request) -> Response:
        self.sb.set_posting_team(
            req.params["id"],
            {
                "owner": self._field(req, "owner") or None,
                "hiringManager": self._field(req, "hiringManager") or None,
            },
        )
        return self._back(req, "/postings")

    def form_owner(self, req: Request) -> Response:
        self.sb.set_owner(req.params["id"], self._field(req, "owner") or None)
        return self._back(req, self._default_back(req))

    def c_user_add(self, req: Request) -> Response:
        body = req.json_object()
        doc = self.sb.add_user(
            name=body.get("name"),
            email=body.get("email"),
            access_role=str(body.get("accessRole") or "interviewer"),
        )
        return Response.json({"data": doc}, 201)

    def c_posting_team(self, req: Request) -> Response:
        return Response.json(
            {"data": self.sb.set_posting_team(req.params["id"], req.json_object())}
        )
