"""One error format for the whole REST API: {"error": {"code", "message", "fields"?}}.

Domain errors become responses here, once: an ``ApplicationError`` answers with its own
status, code and message (and ``fields`` when it names one); a Django ``ValidationError``
from a service is a 400 with its messages by field. DRF views never catch them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from karatlever.errors import ApplicationError

INVALID_MESSAGE = "The request is not valid."


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return _application_error(exc)
    if isinstance(exc, DjangoValidationError):
        fields: dict[str, Any] = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        body = {"code": "invalid", "message": INVALID_MESSAGE, "fields": fields}
        return Response({"error": body}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's 500 handler takes it (and never echoes secrets)
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = {"error": {"code": "invalid", "message": INVALID_MESSAGE, "fields": fields}}
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        response.data = {"error": {"code": code, "message": str(exc.detail)}}
    return response


def _application_error(exc: ApplicationError) -> Response:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.field:
        body["fields"] = {exc.field: [exc.message]}
    if exc.extra:
        body["extra"] = exc.extra
    return Response({"error": body}, status=exc.status_code)
