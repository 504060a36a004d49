"""The Lever webhook receiver (DRF): verify → record → 2xx; nothing but the database is touched."""

from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from webhooks.parsers import BoundedJSONParser, JsonObjectWithText, PayloadTooLarge
from webhooks.services import intake
from webhooks.services.intake import Outcome
from webhooks.throttling import IntegrationWebhookThrottle

JSON_MEDIA_TYPES = ("application/json",)


class _JsonOnly(BaseContentNegotiation):
    """Lever ignores the answer's body: always JSON, whatever the Accept header says."""

    def select_parser(self, request: Request, parsers: list) -> object | None:
        return parsers[0] if request.content_type else None

    def select_renderer(
        self, request: Request, renderers: list, format_suffix: str | None = None
    ) -> tuple[object, str]:
        return renderers[0], renderers[0].media_type


class LeverWebhookReceiveApi(APIView):
    """``POST /webhooks/lever/<integration id>/``: Lever's deliveries for one integration.

    No authentication classes (so no CSRF): the body's signature is the authentication.
    """

    authentication_classes: list = []
    permission_classes: list = []
    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]
    throttle_classes = [IntegrationWebhookThrottle]
    content_negotiation_class = _JsonOnly

    def perform_authentication(self, request: Request) -> None:
        # Nothing to authenticate up front (DRF's documented way to skip the eager
        # ``request.user`` lookup): the signature is checked by the intake service.
        return None

    # Lever's delivery JSON is signed, not schema-validated here; documented as a free-form object.
    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
        auth=[],
        summary="Receive one Lever webhook delivery",
    )
    def post(self, request: Request, integration_id: uuid.UUID) -> HttpResponse:
        if _declared_length(request) > settings.WEBHOOK_MAX_BODY_BYTES:
            return self._reject(integration_id, Outcome.TOO_LARGE)
        if not _is_json(request.content_type):
            return self._reject(integration_id, Outcome.UNSUPPORTED_MEDIA_TYPE)
        try:
            body = request.data
        except PayloadTooLarge:
            return self._reject(integration_id, Outcome.TOO_LARGE)
        except ParseError:
            return self._reject(integration_id, Outcome.MALFORMED, "The body is not valid JSON.")
        result = intake.delivery_record(
            integration_public_id=integration_id,
            body=body,
            body_text=body.text if isinstance(body, JsonObjectWithText) else None,
        )
        return _answer(result)

    def _reject(
        self, integration_id: uuid.UUID, outcome: Outcome, detail: str = ""
    ) -> HttpResponse:
        result = intake.delivery_reject(
            integration_public_id=integration_id, outcome=outcome, detail=detail
        )
        return _answer(result)


def _answer(result: intake.RecordResult) -> HttpResponse:
    # Lever reads only the status code; the body is for people. Rendered like DRF's
    # JSONRenderer (compact, UTF-8) but without its per-request rendering machinery, and the
    # bodies without a detail once per process.
    if result.detail:
        data = {"status": result.outcome.code, "detail": result.detail}
        content = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    else:
        content = _PLAIN_ANSWERS[result.outcome]
    return HttpResponse(content, status=result.outcome.http_status, content_type="application/json")


_PLAIN_ANSWERS = {
    outcome: json.dumps({"status": outcome.code}, separators=(",", ":")).encode()
    for outcome in Outcome
}


def _declared_length(request: Request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _is_json(content_type: str) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type in JSON_MEDIA_TYPES or media_type.endswith("+json")
