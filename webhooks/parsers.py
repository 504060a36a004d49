"""A JSON parser that reads at most WEBHOOK_MAX_BODY_BYTES and refuses anything larger."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The body is too large."
    default_code = "too_large"


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; PostgreSQL's jsonb could not store them either.
    raise ValueError(f"{name} is not valid JSON")


class BoundedJSONParser(JSONParser):
    """Reads one byte past the cap, so a body without (or lying about) Content-Length is caught."""

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.WEBHOOK_MAX_BODY_BYTES
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise PayloadTooLarge()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(raw.decode(encoding), parse_constant=_reject_constant)
        except (ValueError, RecursionError, LookupError) as exc:
            # ValueError covers bad UTF-8 and huge integers; RecursionError deep nesting.
            raise ParseError("The body is not valid JSON.") from exc
