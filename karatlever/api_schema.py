"""The OpenAPI schema's error answers, declared once: the ``ErrorResponse`` component (the shape
``karatlever.api.exception_handler`` gives every error) referenced by each operation's 400, 401,
403, 404, 409 and 429 (a drf-spectacular postprocessing hook, ``SPECTACULAR_SETTINGS``)."""

from __future__ import annotations

from typing import Any

ERROR_COMPONENT = "ErrorResponse"
_ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error of the API: {error: {code, message, fields?, extra?}}.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable and machine-readable, e.g. invalid, "
                    "not_authenticated, authentication_failed, permission_denied, not_found, throttled, "
                    "invalid_transition, time_conflict.",
                },
                "message": {"type": "string", "description": "For people; safe to show."},
                "fields": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "Validation errors: the messages by field (a list's by "
                    "item index).",
                },
                "extra": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "Anything else a client may use, by error.",
                },
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}

# The description of each error status an operation may answer, unless it says more itself.
_DEFAULTS = {
    "400": "Invalid input (by field in error.fields)",
    "401": "No credentials, or a bad, expired or revoked token (WWW-Authenticate: Token)",
    "403": "Signed in, but not allowed (not a member, or not an admin, of the organization)",
    "404": "Not found among yours (another organization's is a 404 too)",
    "409": "Conflicts with the current state (error.code says which)",
    "429": "Too many requests from this token or user (error.code throttled); retry after "
    "Retry-After seconds",
}
# 429 answers carry Retry-After (DRF's throttles; karatlever/api_throttles.py).
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before the next request is allowed.",
        "schema": {"type": "integer", "minimum": 0},
    }
}
_NO_BODY = "No response body"
_METHODS = ("get", "put", "post", "patch", "delete")


def error_responses_postprocess(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Add the ErrorResponse component and reference it from the error answers of every
    operation under /api/: those declared, plus 401 and 403 where credentials are needed, 404
    where the path names a record, 400 where there is input to refuse."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if method in _METHODS:
                _declare_errors(operation)
    return result


def _declare_errors(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    parameters = operation.get("parameters", [])
    codes = {code for code in responses if code in _DEFAULTS}
    if any(requirement for requirement in operation.get("security", [{}])):
        codes |= {"401", "403"}
        # Throttled per token and per user (only requests with credentials are counted).
        codes.add("429")
    if any(p.get("in") == "path" for p in parameters):
        codes.add("404")
    if "requestBody" in operation or any(p.get("in") == "query" for p in parameters):
        codes.add("400")
    for code in sorted(codes):
        answer = responses.setdefault(code, {})
        if not answer.get("description") or answer["description"] == _NO_BODY:
            answer["description"] = _DEFAULTS[code]
        answer["content"] = {"application/json": {"schema": _ERROR_REF}}
        if code == "429":
            answer["headers"] = _RETRY_AFTER
