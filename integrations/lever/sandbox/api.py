"""The sandbox's ``/v1`` Data API: Lever's shapes, filters, pagination tokens and errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from integrations.lever.sandbox import feedback as sandbox_feedback
from integrations.lever.sandbox import panels
from integrations.lever.sandbox.permissions import CONFIDENTIAL_ACCESS
from integrations.lever.sandbox.state import ORIGINS, Sandbox, SandboxError, bad_request, not_found
from integrations.lever.sandbox.store import now_ms
from integrations.lever.sandbox.web import Request, Response

POSTING_STATES = ("published", "internal", "closed", "draft", "pending", "rejected")
OPPORTUNITY_EXPANDS = frozenset(
    {"applications", "stage", "owner", "followers", "sourcedBy", "contact"}
)
POSTING_EXPANDS = frozenset({"user", "owner", "hiringManager", "followers"})
CONFIDENTIALITY = ("non-confidential", "confidential", "all")


@dataclass(frozen=True)
class ApiRoute:
    method: str
    pattern: str
    permission: str
    handler: Callable[[Sandbox, Request], Response]

    @property
    def is_write(self) -> bool:
        return self.method != "GET"


# --- helpers ------------------------------------------------------------------------------


def _data(payload: Any, status: int = 200) -> Response:
    return Response.json({"data": payload}, status)


def _int_arg(req: Request, name: str) -> int | None:
    value = req.arg(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"{name} must be a timestamp in milliseconds") from None


def _bool_arg(req: Request, name: str) -> bool | None:
    value = req.arg(name)
    if value is None:
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise bad_request(f"{name} must be true or false")


def _expand(req: Request, allowed: frozenset[str]) -> list[str]:
    names = [n for value in req.args("expand") for n in value.split(",") if n]
    unknown = sorted(set(names) - allowed)
    if unknown:
        raise bad_request(
            f"cannot expand {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    return names


def _include(req: Request, item: dict[str, Any]) -> dict[str, Any]:
    fields = [n for value in req.args("include") for n in value.split(",") if n]
    if not fields:
        return item
    return {k: v for k, v in item.items() if k == "id" or k in fields}


def encode_token(count: int, sort_key: int, item_id: str) -> str:
    # Lever's real tokens are an already URL-encoded JSON array: %5B3%2C1491435120000%2C%22…%22%5D
    return quote(json.dumps([count, sort_key, item_id], separators=(",", ":")), safe="")


def decode_token(value: str) -> tuple[int, int, str]:
    """Accept the token as sent back verbatim (decoded once by the query parser) or re-encoded once."""
    text = value
    for _ in range(2):
        if text.startswith("["):
            break
        text = unquote(text)
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if (
        not isinstance(parsed, list)
        or len(parsed) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in parsed[:2])
        or not isinstance(parsed[2], str)
    ):
        raise bad_request("offset is not a valid pagination token")
    return parsed[0], parsed[1], parsed[2]


def paginate(
    req: Request,
    items: list[dict[str, Any]],
    sort_key: Callable[[dict[str, Any]], int],
    render: Callable[[dict[str, Any]], dict[str, Any]] = lambda x: x,
) -> Response:
    """One page of ``items`` (already filtered), ordered by (sort_key, id), with Lever's envelope."""
    raw_limit = req.arg("limit")
    limit = 100
    if raw_limit not in (None, ""):
        try:
            limit = int(raw_limit)
        except ValueError:
            raise bad_request("limit must be an integer from 1 to 100") from None
        if not 1 <= limit <= 100:
            raise bad_request("limit must be an integer from 1 to 100")
    ordered = sorted(items, key=lambda d: (sort_key(d), d["id"]))
    count, start = 0, 0
    offset = req.arg("offset")
    if offset:
        count, after_key, after_id = decode_token(offset)
        start = next(
            (i for i, d in enumerate(ordered) if (sort_key(d), d["id"]) > (after_key, after_id)),
            len(ordered),
        )
    page = ordered[start : start + limit]
    body: dict[str, Any] = {
        "data": [_include(req, render(d)) for d in page],
        "hasNext": start + limit < len(ordered),
    }
    if body["hasNext"]:
        last = page[-1]
        body["next"] = encode_token(count + len(page), sort_key(last), last["id"])
    return Response.json(body)


def may_see_confidential(req: Request) -> bool:
    """Whether the request's key has Lever's "confidential data" access (set by the server)."""
    return CONFIDENTIAL_ACCESS in req.context.get("permissions", ())


def _visible(req: Request, doc: dict[str, Any], kind: str) -> dict[str, Any]:
    """``doc`` if the key may read it; a confidential record without the access is Lever's 403."""
    if doc.get("confidentiality") == "confidential" and not may_see_confidential(req):
        raise SandboxError(
            403,
            "ForbiddenError",
            f"This API key is not authorized to access confidential data ({kind} {doc['id']})",
        )
    return doc


def _listed(req: Request, confidentiality: str) -> Callable[[dict[str, Any]], bool]:
    """Lever's ``confidentiality`` list filter: ``non-confidential`` unless asked otherwise;
    ``all`` is every record the key may read (a key without confidential access sees none)."""
    allowed = may_see_confidential(req)

    def keep(d: dict[str, Any]) -> bool:
        if d["confidentiality"] == "confidential" and not allowed:
            return False
        return confidentiality == "all" or d["confidentiality"] == confidentiality

    return keep


def _opportunity(sb: Sandbox, req: Request) -> dict[str, Any]:
    return _visible(req, sb.opportunity(req.params["id"]), "opportunities")


def _perform_as(sb: Sandbox, req: Request) -> str | None:
    value = req.arg("perform_as")
    return sb.check_perform_as(value if value is not None else None)


def _created(d: dict[str, Any]) -> int:
    return int(d.get("createdAt") or 0)


def _in_range(value: int | None, start: int | None, end: int | None) -> bool:
    if start is None and end is None:
        return True
    if value is None:
        return False
    return (start is None or value >= start) and (end is None or value <= end)


def _is_snoozed(d: dict[str, Any], now: int) -> bool:
    until = d.get("snoozedUntil")
    return isinstance(until, int) and until > now


# --- opportunities ------------------------------------------------------------------------


def list_opportunities(sb: Sandbox, req: Request) -> Response:
    expand = _expand(req, OPPORTUNITY_EXPANDS)
    ranges = {
        "createdAt": (_int_arg(req, "created_at_start"), _int_arg(req, "created_at_end")),
        "updatedAt": (_int_arg(req, "updated_at_start"), _int_arg(req, "updated_at_end")),
        "lastAdvancedAt": (_int_arg(req, "advanced_at_start"), _int_arg(req, "advanced_at_end")),
    }
    archived_range = (_int_arg(req, "archived_at_start"), _int_arg(req, "archived_at_end"))
    archived = _bool_arg(req, "archived")
    snoozed = _bool_arg(req, "snoozed")
    confidentiality = req.arg("confidentiality") or "non-confidential"
    if confidentiality not in CONFIDENTIALITY:
        raise bad_request(f"confidentiality must be one of {', '.join(CONFIDENTIALITY)}")
    contact_ids = set(req.args("contact_id"))
    posting_ids = set(req.args("posting_id"))
    stage_ids = set(req.args("stage_id"))
    emails = {e.strip().lower() for e in req.args("email")}
    tags = set(req.args("tag"))
    origins = set(req.args("origin"))
    sources = set(req.args("source"))
    archived_posting_ids = set(req.args("archived_posting_id"))
    reasons = set(req.args("archive_reason_id"))
    listed = _listed(req, confidentiality)
    # The wall clock, not sb.now(): a read must not move the write clock.
    now = now_ms()

    def keep(d: dict[str, Any]) -> bool:
        if not listed(d):
            return False
        if contact_ids and d["contact"] not in contact_ids:
            return False
        app = d["_application"]
        if posting_ids and not (app and app["posting"] in posting_ids):
            return False
        if stage_ids and d["stage"] not in stage_ids:
            return False
        if emails and not emails & {e.lower() for e in d["emails"]}:
            return False
        if tags and not tags & set(d["tags"]):
            return False
        if origins and d.get("origin") not in origins:
            return False
        # Lever: "opportunities that contain the specified source tag" (case-sensitive, OR-ed).
        if sources and not sources & set(d.get("sources") or []):
            return False
        # Lever: applied to the posting "and then the application was archived".
        if archived_posting_ids and not (
            app and app["posting"] in archived_posting_ids and app.get("archived")
        ):
            return False
        if snoozed is not None and _is_snoozed(d, now) != snoozed:
            return False
        if archived is not None and (d["archived"] is not None) != archived:
            return False
        if reasons and not (d["archived"] and d["archived"]["reason"] in reasons):
            return False
        if not _in_range((d["archived"] or {}).get("archivedAt"), *archived_range):
            return False
        return all(_in_range(d.get(f), *r) for f, r in ranges.items())

    items = [d for d in sb.opportunities() if keep(d)]
    return paginate(req, items, _created, lambda d: sb.public(d, expand))


def list_deleted_opportunities(sb: Sandbox, req: Request) -> Response:
    """``GET /opportunities/deleted`` (integrations/lever/README.md §19.2): the range filters
    ``deleted_at_start`` / ``deleted_at_end`` (ms, inclusive), Lever's paging, oldest first."""
    start, end = _int_arg(req, "deleted_at_start"), _int_arg(req, "deleted_at_end")
    items = [d for d in sb.deleted_opportunities() if _in_range(d["deletedAt"], start, end)]
    return paginate(req, items, lambda d: int(d["deletedAt"]))


def get_opportunity(sb: Sandbox, req: Request) -> Response:
    expand = _expand(req, OPPORTUNITY_EXPANDS)
    doc = _opportunity(sb, req)
    return _data(_include(req, sb.public(doc, expand)))


def put_stage(sb: Sandbox, req: Request) -> Response:
    _opportunity(sb, req)
    user = _perform_as(sb, req)
    body = req.json_object()
    doc = sb.move_stage(req.params["id"], body.get("stage"), user_id=user)
    return _data(sb.public(doc))


def put_archived(sb: Sandbox, req: Request) -> Response:
    _opportunity(sb, req)
    user = _perform_as(sb, req)
    body = req.json_object()
    if "reason" not in body:
        raise bad_request("reason is required (an archive reason id, or null to unarchive)")
    if "cleanInterviews" in body and not isinstance(body["cleanInterviews"], bool):
        raise bad_request("cleanInterviews must be a boolean")
    if body.get("requisitionId") is not None and not isinstance(body["requisitionId"], str):
        raise bad_request("requisitionId must be a string")
    doc = sb.set_archived(req.params["id"], body["reason"], user_id=user)
    return _data(sb.public(doc))


def _tags_handler(add: bool) -> Callable[[Sandbox, Request], Response]:
    def handler(sb: Sandbox, req: Request) -> Response:
        _opportunity(sb, req)
        _perform_as(sb, req)
        body = req.json_object()
        doc = sb.change_tags(req.params["id"], body.get("tags"), add=add)
        return _data(sb.public(doc))

    return handler


def _links_handler(add: bool) -> Callable[[Sandbox, Request], Response]:
    def handler(sb: Sandbox, req: Request) -> Response:
        _opportunity(sb, req)
        _perform_as(sb, req)
        body = req.json_object()
        doc = sb.change_links(req.params["id"], body.get("links"), add=add)
        return _data(sb.public(doc))

    return handler


def public_note(note: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in note.items() if not k.startswith("_")}


def list_notes(sb: Sandbox, req: Request) -> Response:
    _opportunity(sb, req)
    return paginate(req, sb.notes(req.params["id"]), _created, public_note)


def get_note(sb: Sandbox, req: Request) -> Response:
    for note in sb.notes(_opportunity(sb, req)["id"]):
        if note["id"] == req.params["note_id"]:
            return _data(public_note(note))
    raise not_found(f"notes {req.params['note_id']} was not found")


def post_note(sb: Sandbox, req: Request) -> Response:
    _opportunity(sb, req)
    user = _perform_as(sb, req)
    body = req.json_object()
    note = sb.add_note(req.params["id"], body, user_id=user, parent_note_id=req.arg("note_id"))
    return _data({**public_note(note), "noteId": note["id"]}, 201)


# --- postings, stages, archive reasons, users, tags ---------------------------------------


def list_postings(sb: Sandbox, req: Request) -> Response:
    expand = _expand(req, POSTING_EXPANDS)
    states = req.args("state")
    bad_states = sorted(set(states) - set(POSTING_STATES))
    if bad_states:
        raise bad_request(f"unknown state {', '.join(bad_states)}; use {', '.join(POSTING_STATES)}")
    confidentiality = req.arg("confidentiality") or "non-confidential"
    if confidentiality not in CONFIDENTIALITY:
        raise bad_request(f"confidentiality must be one of {', '.join(CONFIDENTIALITY)}")
    updated = (_int_arg(req, "updated_at_start"), _int_arg(req, "updated_at_end"))
    category_filters = {
        name: set(req.args(name))
        for name in ("team", "department", "location", "commitment", "level")
    }
    tags = set(req.args("tag"))
    channels = set(req.args("distributionChannel"))
    listed = _listed(req, confidentiality)
    if updated != (None, None):
        others = sorted(
            name
            for name in (
                "state",
                "team",
                "department",
                "location",
                "commitment",
                "level",
                "tag",
                "distributionChannel",
                "group",
            )
            if req.args(name)
        )
        if others:
            # Lever: updated_at_start/_end "may only be combined with confidentiality".
            raise bad_request(
                f"updated_at_start/updated_at_end cannot be combined with {', '.join(others)}"
            )

    def keep(p: dict[str, Any]) -> bool:
        if not listed(p):
            return False
        if states and p["state"] not in states:
            return False
        if p["state"] == "published" and (channels or "published" in states):
            # Quirk: state=published alone lists only postings on the public job site.
            wanted = channels or {"public"}
            if not wanted & set(p["distributionChannels"] or []):
                return False
        for name, wanted_values in category_filters.items():
            if wanted_values and p["categories"].get(name) not in wanted_values:
                return False
        if tags and not tags & set(p["tags"]):
            return False
        return _in_range(p["updatedAt"], *updated)

    def render(p: dict[str, Any]) -> dict[str, Any]:
        out = dict(p)
        for name in expand:
            if name == "followers":
                out["followers"] = [u for u in (sb.user(f) for f in p["followers"]) if u]
            else:
                out[name] = sb.user(p[name]) if p.get(name) else None
        return out

    return paginate(req, [p for p in sb.postings() if keep(p)], _created, render)


def get_posting(sb: Sandbox, req: Request) -> Response:
    posting = sb.store.doc("postings", req.params["id"])
    if posting is None:
        raise not_found(f"postings {req.params['id']} was not found")
    return _data(_visible(req, posting, "postings"))


def _positioned(
    items: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], Callable[[dict[str, Any]], int]]:
    order = {d["id"]: i for i, d in enumerate(items)}
    return items, lambda d: order[d["id"]]


def list_stages(sb: Sandbox, req: Request) -> Response:
    items, key = _positioned(sb.stages())
    return paginate(req, items, key)


def get_stage(sb: Sandbox, req: Request) -> Response:
    stage = sb.store.doc("stages", req.params["id"])
    if stage is None:
        raise not_found(f"stages {req.params['id']} was not found")
    return _data(stage)


def list_archive_reasons(sb: Sandbox, req: Request) -> Response:
    kind = req.arg("type")
    if kind is not None and kind not in ("hired", "non-hired"):
        raise bad_request("type must be hired or non-hired")
    items, key = _positioned(sb.archive_reasons())
    return paginate(req, [r for r in items if kind is None or r["type"] == kind], key)


def get_archive_reason(sb: Sandbox, req: Request) -> Response:
    reason = sb.store.doc("archive_reasons", req.params["id"])
    if reason is None:
        raise not_found(f"archive_reasons {req.params['id']} was not found")
    return _data(reason)


def list_users(sb: Sandbox, req: Request) -> Response:
    include_deactivated = _bool_arg(req, "includeDeactivated") or False
    emails = {e.strip().lower() for e in req.args("email")}
    roles = set(req.args("accessRole"))
    directory_ids = set(req.args("external_directory_id"))
    items = [
        u
        for u in sb.users()
        if (include_deactivated or u["deactivatedAt"] is None)
        and (not emails or u["email"].lower() in emails)
        and (not roles or u["accessRole"] in roles)
        and (not directory_ids or u.get("externalDirectoryId") in directory_ids)
    ]
    return paginate(req, items, _created)


def get_user(sb: Sandbox, req: Request) -> Response:
    user = sb.user(req.params["id"])
    if user is None:
        raise not_found(f"users {req.params['id']} was not found")
    return _data(user)


def list_tags(sb: Sandbox, req: Request) -> Response:
    return Response.json({"data": sb.tags(), "hasNext": False})


# --- webhooks -----------------------------------------------------------------------------


def _origins(configuration: Any) -> list[str] | None:
    if configuration is None:
        return None
    if not isinstance(configuration, dict):
        raise bad_request("configuration must be an object")
    conditions = configuration.get("conditions")
    if conditions is None:
        return None
    if not isinstance(conditions, dict):
        raise bad_request("configuration.conditions must be an object")
    origins = conditions.get("origins")
    if origins is None:
        return None
    if not isinstance(origins, list) or not all(o in ORIGINS for o in origins):
        raise bad_request(
            f"configuration.conditions.origins must be a list of {', '.join(ORIGINS)}"
        )
    return list(origins)


def list_webhooks(sb: Sandbox, req: Request) -> Response:
    # The signature token is only ever returned by create (integrations/lever/README.md §10).
    return Response.json({"data": [sb.webhook_json(r) for r in sb.webhooks()], "hasNext": False})


def create_webhook(sb: Sandbox, req: Request) -> Response:
    body = req.json_object()
    row = sb.create_webhook(
        url=body.get("url"),
        event=body.get("event"),
        origins=_origins(body.get("configuration")),
        source="api",
    )
    return _data(sb.webhook_json(row, with_token=True), 201)


def update_webhooks(sb: Sandbox, req: Request) -> Response:
    body = req.json_object()
    items = body.get("data")
    if not isinstance(items, list) or not items:
        raise bad_request(
            'body must be {"data": [{"id": ..., "url"?: ..., "configuration"?: ...}]}'
        )
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise bad_request("every item needs an id")
        _origins(item.get("configuration"))
    # Validate everything first so a bad item changes nothing.
    known = {r["id"] for r in sb.webhooks()}
    for item in items:
        if item["id"] not in known:
            raise not_found(f"webhooks {item['id']} was not found")
    rows = [
        sb.update_webhook(
            item["id"],
            url=item.get("url"),
            origins=_origins(item.get("configuration")),
            source="api",
        )
        for item in items
    ]
    return _data([sb.webhook_json(r) for r in rows])


def delete_webhook(sb: Sandbox, req: Request) -> Response:
    sb.delete_webhook(req.params["id"], source="api")
    return Response.empty(204)


OPP = "/v1/opportunities/{id}"
ROUTES: tuple[ApiRoute, ...] = (
    ApiRoute("GET", "/v1/opportunities", "opportunities:read:admin", list_opportunities),
    # Before OPP: the first matching route wins, and "deleted" would read as an id.
    ApiRoute(
        "GET", "/v1/opportunities/deleted", "opportunities:read:admin", list_deleted_opportunities
    ),
    ApiRoute("GET", OPP, "opportunities:read:admin", get_opportunity),
    ApiRoute("PUT", OPP + "/stage", "opportunities:write:admin", put_stage),
    ApiRoute("PUT", OPP + "/archived", "opportunities:write:admin", put_archived),
    ApiRoute("POST", OPP + "/addTags", "opportunities:write:admin", _tags_handler(True)),
    ApiRoute("POST", OPP + "/removeTags", "opportunities:write:admin", _tags_handler(False)),
    ApiRoute("POST", OPP + "/addLinks", "opportunities:write:admin", _links_handler(True)),
    ApiRoute("POST", OPP + "/removeLinks", "opportunities:write:admin", _links_handler(False)),
    ApiRoute("GET", OPP + "/notes", "notes:read:admin", list_notes),
    ApiRoute("GET", OPP + "/notes/{note_id}", "notes:read:admin", get_note),
    ApiRoute("POST", OPP + "/notes", "notes:write:admin", post_note),
    ApiRoute("GET", "/v1/postings", "postings:read:admin", list_postings),
    ApiRoute("GET", "/v1/postings/{id}", "postings:read:admin", get_posting),
    ApiRoute("GET", "/v1/stages", "stages:read:admin", list_stages),
    ApiRoute("GET", "/v1/stages/{id}", "stages:read:admin", get_stage),
    ApiRoute("GET", "/v1/archive_reasons", "archive_reasons:read:admin", list_archive_reasons),
    ApiRoute("GET", "/v1/archive_reasons/{id}", "archive_reasons:read:admin", get_archive_reason),
    ApiRoute("GET", "/v1/users", "users:read:admin", list_users),
    ApiRoute("GET", "/v1/users/{id}", "users:read:admin", get_user),
    ApiRoute("GET", "/v1/tags", "tags:read:admin", list_tags),
    ApiRoute("GET", "/v1/webhooks", "webhooks:read:admin", list_webhooks),
    ApiRoute("POST", "/v1/webhooks", "webhooks:write:admin", create_webhook),
    ApiRoute("PUT", "/v1/webhooks", "webhooks:write:admin", update_webhooks),
    ApiRoute("DELETE", "/v1/webhooks/{id}", "webhooks:write:admin", delete_webhook),
)


# --- query parameters of list endpoints ---------------------------------------------------

_PAGING = frozenset({"limit", "offset", "include"})
_RANGES = ("created_at", "updated_at", "advanced_at", "archived_at")
# Every query parameter each list endpoint implements (Lever's documented semantics,
# integrations/lever/README.md §7.1 and §7.3). Anything else is a 400, so a caller never gets
# the full list back for a filter the sandbox silently skipped.
LIST_PARAMS: dict[str, frozenset[str]] = {
    "/v1/opportunities": _PAGING
    | {f"{r}_{edge}" for r in _RANGES for edge in ("start", "end")}
    | {
        "expand",
        "tag",
        "email",
        "origin",
        "source",
        "confidentiality",
        "stage_id",
        "posting_id",
        "archived_posting_id",
        "archived",
        "archive_reason_id",
        "snoozed",
        "contact_id",
    },
    OPP + "/notes": _PAGING,
    OPP + "/panels": _PAGING,
    OPP + "/feedback": _PAGING,
    "/v1/feedback_templates": _PAGING,
    "/v1/postings": _PAGING
    | {
        "expand",
        "state",
        "distributionChannel",
        "confidentiality",
        "team",
        "department",
        "location",
        "commitment",
        "level",
        "tag",
        "updated_at_start",
        "updated_at_end",
    },
    "/v1/stages": _PAGING,
    "/v1/archive_reasons": _PAGING | {"type"},
    "/v1/users": _PAGING | {"email", "accessRole", "includeDeactivated", "external_directory_id"},
    # Never paginated by the sandbox: one page with hasNext false, so no paging either.
    "/v1/tags": frozenset(),
    "/v1/webhooks": frozenset(),
}
# Parameters Lever documents that the sandbox does not imitate, and why.
UNSUPPORTED_PARAMS: dict[str, dict[str, str]] = {
    "/v1/opportunities": {
        # Which location Lever matches (the contact's, the opportunity's posting location) is
        # not documented; guessing would make tests pass here and fail against Lever.
        "location": "which location Lever matches is undocumented",
    },
    "/v1/postings": {
        # Lever answers grouped results whose shape is not documented for v1.
        "group": "Lever's grouped response shape is undocumented",
    },
}


def check_query(route: ApiRoute, req: Request) -> None:
    """Refuse (400, Lever's error shape) a list request carrying a query parameter the sandbox
    does not implement, naming it; other routes are not checked.

    Raises ``SandboxError`` (400 ``BadRequestError``)."""
    allowed = LIST_PARAMS.get(route.pattern)
    if route.method != "GET" or allowed is None:
        return
    sent = sorted(set(req.query) - allowed)
    if not sent:
        return
    unsupported = UNSUPPORTED_PARAMS.get(route.pattern, {})
    reasons = [
        f"{name} (not implemented by the sandbox: {unsupported[name]})"
        if name in unsupported
        else name
        for name in sent
    ]
    path = route.pattern.removeprefix("/v1")
    raise bad_request(f"unknown query parameter for GET {path}: {', '.join(reasons)}")


__all__ = ["ROUTES", "ApiRoute", "SandboxError", "check_query", "decode_token", "encode_token"]
# --- panels (integrations/lever/README.md §16) ------------------------------------------------


def list_panels(sb: Sandbox, req: Request) -> Response:
    _opportunity(sb, req)
    return paginate(req, panels.panels(sb, req.params["id"]), _created, panels.public_panel)


def post_panel(sb: Sandbox, req: Request) -> Response:
    _opportunity(sb, req)
    user = _perform_as(sb, req)
    panel = panels.create_panel(sb, req.params["id"], req.json_object(), user_id=user)
    return _data(panels.public_panel(panel), 201)


def put_panel(sb: Sandbox, req: Request) -> Response:
    _opportunity(sb, req)
    user = _perform_as(sb, req)
    panel = panels.update_panel(
        sb, req.params["id"], req.params["panel_id"], req.json_object(), user_id=user
    )
    return _data(panels.public_panel(panel))


def delete_panel(sb: Sandbox, req: Request) -> Response:
    _opportunity(sb, req)
    user = _perform_as(sb, req)
    panels.delete_panel(sb, req.params["id"], req.params["panel_id"], user_id=user)
    return Response.empty(204)


ROUTES = (
    *ROUTES,
    ApiRoute("GET", OPP + "/panels", "panels:read:admin", list_panels),
    ApiRoute("POST", OPP + "/panels", "panels:write:admin", post_panel),
    ApiRoute("PUT", OPP + "/panels/{panel_id}", "panels:write:admin", put_panel),
    ApiRoute("DELETE", OPP + "/panels/{panel_id}", "panels:write:admin", delete_panel),
)

# --- feedback templates and forms (sandbox/feedback.py; lever/README.md §18) --------------


def _feedback_perform_as(sb: Sandbox, req: Request) -> str:
    value = req.arg("perform_as")
    if not value:
        raise bad_request("perform_as is required for this request")
    user = sb.check_perform_as(value)
    assert user is not None  # noqa: S101 - a non-empty value is checked or raises
    return user


def _feedback_opportunity(sb: Sandbox, req: Request) -> None:
    _visible(req, sb.opportunity(req.params["id"]), "opportunities")


def list_feedback_templates(sb: Sandbox, req: Request) -> Response:
    return paginate(
        req, sandbox_feedback.templates(sb), lambda d: int(d["createdAt"]), sandbox_feedback.public
    )


def create_feedback_template(sb: Sandbox, req: Request) -> Response:
    return Response.json(
        {"data": sandbox_feedback.public(sandbox_feedback.template_create(sb, req.json_object()))},
        201,
    )


def delete_feedback_template(sb: Sandbox, req: Request) -> Response:
    sandbox_feedback.template_delete(sb, req.params["id"], through_api=True)
    return Response.empty(204)


def list_feedback(sb: Sandbox, req: Request) -> Response:
    _feedback_opportunity(sb, req)
    return paginate(
        req,
        sandbox_feedback.forms(sb, req.params["id"]),
        lambda d: int(d["createdAt"]),
        sandbox_feedback.public,
    )


def post_feedback(sb: Sandbox, req: Request) -> Response:
    _feedback_opportunity(sb, req)
    user = _feedback_perform_as(sb, req)
    doc = sandbox_feedback.form_create(sb, req.params["id"], req.json_object(), user_id=user)
    return Response.json({"data": sandbox_feedback.public(doc)}, 201)


def put_feedback(sb: Sandbox, req: Request) -> Response:
    _feedback_opportunity(sb, req)
    _feedback_perform_as(sb, req)
    doc = sandbox_feedback.form_update(
        sb, req.params["id"], req.params["feedback_id"], req.json_object()
    )
    return Response.json({"data": sandbox_feedback.public(doc)})


def delete_feedback(sb: Sandbox, req: Request) -> Response:
    _feedback_opportunity(sb, req)
    _feedback_perform_as(sb, req)
    sandbox_feedback.form_delete(sb, req.params["id"], req.params["feedback_id"])
    return Response.empty(204)


def _feedback_routes() -> tuple[ApiRoute, ...]:
    opp = "/v1/opportunities/{id}/feedback"
    return (
        ApiRoute(
            "GET",
            "/v1/feedback_templates",
            "feedback_templates:read:admin",
            list_feedback_templates,
        ),
        ApiRoute(
            "POST",
            "/v1/feedback_templates",
            "feedback_templates:write:admin",
            create_feedback_template,
        ),
        ApiRoute(
            "DELETE",
            "/v1/feedback_templates/{id}",
            "feedback_templates:write:admin",
            delete_feedback_template,
        ),
        ApiRoute("GET", opp, "feedback:read:admin", list_feedback),
        ApiRoute("POST", opp, "feedback:write:admin", post_feedback),
        ApiRoute("PUT", opp + "/{feedback_id}", "feedback:write:admin", put_feedback),
        ApiRoute("DELETE", opp + "/{feedback_id}", "feedback:write:admin", delete_feedback),
    )


ROUTES = (*ROUTES, *_feedback_routes())

__all__ = ["ROUTES", "ApiRoute", "SandboxError", "decode_token", "encode_token"]
