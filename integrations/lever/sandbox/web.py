"""Tiny request/response/router layer over http.server (the sandbox must not depend on Django)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, unquote

from integrations.lever.sandbox.state import SandboxError, bad_request

MAX_BODY = 1024 * 1024


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
        raw_path, _, raw_query = target.partition("?")
        path = unquote(raw_path.split("#", 1)[0]) or "/"
        query = parse_qs(raw_query, keep_blank_values=True)
        return cls(method.upper(), path, query, {k.lower(): v for k, v in headers.items()}, body)

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def args(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def json(self) -> Any:
        if not self.body:
            raise bad_request("a JSON body is required")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise bad_request("body is not valid JSON") from None

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise bad_request("body must be a JSON object")
        return body

    def form(self) -> dict[str, list[str]]:
        try:
            return parse_qs(self.body.decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            raise bad_request("form body is not UTF-8") from None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False  # close the connection without sending anything (fault injection)

    @classmethod
    def json(
        cls, payload: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
    ) -> Response:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return cls(
            status, body, [("Content-Type", "application/json; charset=utf-8"), *(headers or [])]
        )

    @classmethod
    def error(
        cls, status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None
    ) -> Response:
        return cls.json({"code": code, "message": message}, status, headers)

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode(), [("Content-Type", "text/html; charset=utf-8")])

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(303, b"", [("Location", location)])

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        return cls(status)


Handler = Callable[[Request], Response]
T = TypeVar("T")


class Router(Generic[T]):
    """Routes by method and a path pattern with ``{name}`` segments to a target."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], T]] = []

    def add(self, method: str, pattern: str, target: T) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern.rstrip("/") or "/")
        self._routes.append((method, re.compile(f"^{regex}/?$"), target))

    def resolve(self, request: Request) -> T:
        known_path = False
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if not match:
                continue
            known_path = True
            if method == request.method:
                request.params = match.groupdict()
                return handler
        # Lever answers unknown routes (and wrong methods) with 404, Express style.
        raise SandboxError(
            404,
            "ResourceNotFound",
            f"Cannot {request.method} {request.path}"
            + ("" if not known_path else " (method not supported)"),
        )
