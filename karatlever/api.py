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
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
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


# --- pagination: a bad page size is refused, as the schema says, not quietly replaced ----------


def _query_whole_number(
    request: Request, name: str, *, minimum: int, maximum: int | None = None
) -> int | None:
    """The query parameter ``name`` as a whole number in range; None when absent. Raises
    ValidationError (400, by parameter) otherwise."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum or (maximum is not None and value > maximum):
        span = f"from {minimum} to {maximum}" if maximum is not None else f"of {minimum} or more"
        raise exceptions.ValidationError({name: [f"Give a whole number {span}."]})
    return value


def _bounded(parameters: list[dict[str, Any]], bounds: dict[str, tuple[int, int | None]]) -> None:
    for parameter in parameters:
        if parameter["name"] in bounds:
            minimum, maximum = bounds[parameter["name"]]
            parameter["schema"]["minimum"] = minimum
            if maximum is not None:
                parameter["schema"]["maximum"] = maximum


class CursorPage(CursorPagination):
    """The API's one pagination style: keyset ("cursor") pages, ``{next, previous, results}``.

    A page costs the same however deep it is (no OFFSET to count through), and rows added
    while a client pages never shift or repeat a page. ``next`` and ``previous`` are full URLs
    carrying an opaque ``cursor``; follow them, never build one. ``page_size`` is 1 to
    ``max_page_size`` (a bad one is a 400 naming it; DRF would silently use the default), and
    so is a cursor that is not one of ours (DRF answers 404). Each list sets ``ordering``:
    fields of the row (or annotations on it), the last one unique, so ties are ordered too.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering: Any = ("-id",)

    def get_page_size(self, request: Request) -> int | None:
        size = _query_whole_number(
            request, self.page_size_query_param, minimum=1, maximum=self.max_page_size
        )
        return size if size is not None else self.page_size

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError(
                {
                    self.cursor_query_param: [
                        "This is not a cursor of this list; follow the page's next or previous."
                    ]
                }
            ) from None

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        _bounded(parameters, {self.page_size_query_param: (1, self.max_page_size)})
        return parameters
