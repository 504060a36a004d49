"""The small set of errors the Lever client raises, and the one place that decides retries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Lever's error messages are short; anything longer is a proxy page we don't want in logs.
_MESSAGE_MAX = 300


class LeverError(Exception):
    """Base class: every failure talking to Lever is one of these.

    Carries the HTTP ``status_code`` (None when there was no response), Lever's ``code`` and
    ``message`` from the error body when present, and ``method`` + ``path`` of the request.
    The path never carries a query string and nothing here ever holds the API key.
    """

    def __init__(
        self,
        message: str = "",
        *,
        status_code: int | None = None,
        code: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.message = _clip(message)
        self.status_code = status_code
        self.code = _clip(code) if code else None
        self.method = method
        self.path = _strip_query(path)
        super().__init__(self.message)

    def with_request(self, method: str, path: str) -> LeverError:
        """Fill in the request (for errors raised before a request was sent) and return self."""
        self.method = self.method or method
        self.path = self.path or _strip_query(path)
        return self

    def __str__(self) -> str:
        parts = [str(self.status_code)] if self.status_code is not None else []
        if self.code:
            parts.append(self.code)
        head = " ".join(parts)
        text = f"{head}: {self.message}" if head and self.message else head or self.message
        if self.method or self.path:
            text = f"{text} ({self.method or '?'} {self.path or '?'})"
        return text or type(self).__name__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class LeverAuthError(LeverError):
    """401: the API key is missing, wrong or revoked. Permanent until someone fixes the key."""


class LeverPermissionError(LeverAuthError):
    """403: the key is valid but lacks a permission (endpoint or confidential data)."""


class LeverNotFound(LeverError):
    """404: unknown route or object (e.g. a deleted opportunity)."""


class LeverBadRequest(LeverError):
    """400/422 and any other 4xx not listed above: sending the same request again won't help."""


class LeverTransientError(LeverError):
    """Might succeed later: rate limited, Lever error, maintenance, network trouble. The one
    rule for retries: only these are worth another attempt."""


class LeverRateLimited(LeverTransientError):
    """429 from Lever, or our own limiter could not hand out a token in time (status_code None)."""

    def __init__(
        self, message: str = "", *, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class LeverServerError(LeverTransientError):
    """5xx (500 Lever error, 503 maintenance) or an unreadable success body."""


class LeverConnectionError(LeverTransientError):
    """No usable response: connection refused/reset, DNS, TLS, connect or read timeout."""


class LeverRedirected(LeverTransientError):
    """A 3xx Karat did not follow: to another host (``location_host``), for a write, without
    a ``Location``, or too many. Whatever that host would answer is not Lever's answer, so it
    is never read, let alone blamed on the key; the call is tried again later. Not retried
    inside one call: the same request gets the same redirect."""

    def __init__(self, message: str = "", *, location_host: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.location_host = location_host


def error_for_status(
    status_code: int,
    body: Any,
    *,
    method: str,
    path: str,
    retry_after: float | None = None,
) -> LeverError:
    """Build the error for a non-2xx response; ``body`` is the parsed JSON (or None)."""
    code, message = _lever_code_and_message(body)
    kwargs: dict[str, Any] = {
        "status_code": status_code,
        "code": code,
        "method": method,
        "path": path,
    }
    message = message or f"HTTP {status_code}"
    if status_code == 401:
        return LeverAuthError(message, **kwargs)
    if status_code == 403:
        return LeverPermissionError(message, **kwargs)
    if status_code == 404:
        return LeverNotFound(message, **kwargs)
    if status_code == 429:
        return LeverRateLimited(message, retry_after=retry_after, **kwargs)
    if 400 <= status_code < 500:
        return LeverBadRequest(message, **kwargs)
    if status_code >= 500:
        return LeverServerError(message, **kwargs)
    # A 1xx (3xx never get here: the client handles redirects itself): unexpected, so neither
    # retried nor blamed on us.
    return LeverError(message, **kwargs)


def _lever_code_and_message(body: Any) -> tuple[str | None, str | None]:
    if not isinstance(body, Mapping):
        return None, None
    code, message = body.get("code"), body.get("message")
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) else None,
    )


def _strip_query(path: str | None) -> str | None:
    if path is None:
        return None
    return path.split("?", 1)[0].split("#", 1)[0]


def _clip(text: str) -> str:
    text = str(text)
    return text if len(text) <= _MESSAGE_MAX else text[: _MESSAGE_MAX - 1] + "…"
