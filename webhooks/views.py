"""The webhook receiver (DRF): the adapter verifies → record → 2xx; only the database is touched."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.ats import ADAPTERS
from karatlever.clients import client_ip
from karatlever.observability import metrics
from webhooks.parsers import BoundedJSONParser, PayloadTooLarge
from webhooks.services import intake
from webhooks.services.intake import Outcome
from webhooks.throttling import limiter

# Answers that count against the sender's rejection limit (webhooks/throttling.py). 410 does
# not: the ATS itself keeps delivering to a disabled integration.
REJECTIONS = frozenset(
    {
        Outcome.MALFORMED,
        Outcome.BAD_SIGNATURE,
        Outcome.UNKNOWN_INTEGRATION,
        Outcome.TOO_LARGE,
        Outcome.UNSUPPORTED_MEDIA_TYPE,
    }
)


class JsonAnswers(DefaultContentNegotiation):
    """The ATS reads only the status code: always answer JSON, whatever the Accept header says."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class WebhookAnswerSerializer(serializers.Serializer[Any]):
    """What the receiver answers (the ATS reads only the status code)."""

    status = serializers.ChoiceField(
        choices=[*(outcome.code for outcome in Outcome), "too_many_rejected"],
        help_text="What became of the delivery.",
    )
    detail = serializers.CharField(required=False, help_text="Why it was refused, if it was.")


# Each answer of the receiver, by status code (webhooks/services/intake.py: Outcome).
_ANSWERS = {
    200: "accepted, duplicate, test or ignored",
    400: "malformed (not JSON, or not a delivery) or stale (too old, or too far ahead)",
    401: "bad_signature",
    404: "unknown_integration",
    410: "disabled: the integration is turned off",
    413: "too_large",
    415: "unsupported_media_type: send JSON",
    429: "too_many_rejected: this sender was refused too often (Retry-After)",
}


class WebhookReceiveApi(APIView):
    """``POST /webhooks/<ats>/<integration id>/``: the ATS's deliveries for one integration.

    No authentication classes (so no CSRF): the body's signature is the authentication.
    """

    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]
    # Signed deliveries are never throttled; rejected senders are limited per client below.
    throttle_classes: list[type] = []
    content_negotiation_class = JsonAnswers

    # The delivery is signed, not schema-validated here; documented as a free-form object.
    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={
            code: OpenApiResponse(WebhookAnswerSerializer, description=description)
            for code, description in _ANSWERS.items()
        },
        auth=[],
        summary="Receive one ATS webhook delivery",
    )
    def post(self, request: Request, public_id: uuid.UUID, ats: str = "lever") -> Response:
        client = client_ip(request)
        # The ATS sends every customer's deliveries from a few shared addresses, so the limit
        # decides only what to answer a rejection: a delivery is verified first and a signed
        # one is stored whatever else its address sent. A blocked client's rejections are
        # answered 429 and not counted (no database write for them).
        blocked = limiter.blocked_for(client)  # this process's memory: no I/O
        # While the database is down, karatlever.middleware answers 503 + Retry-After (the
        # one answer that makes the ATS send the delivery again) and logs the outage once.
        result = _receive(request, ats, public_id, rejections_counted=not blocked)
        # The ATS comes from the URL: only a known one becomes a label (bounded series).
        ats_label = ats if ats in ADAPTERS else "unknown"
        if result.outcome in REJECTIONS:
            if blocked:
                metrics.webhook_requests.labels(ats_label, "too_many_rejected").inc()
                return _too_many(blocked)
            limiter.rejected(client)
        metrics.webhook_requests.labels(ats_label, result.outcome.code).inc()
        data = {"status": result.outcome.code}
        if result.detail:
            data["detail"] = result.detail
        return Response(data, status=result.outcome.http_status)


def _too_many(seconds: float) -> Response:
    return Response(
        {"status": "too_many_rejected"},
        status=429,
        headers={"Retry-After": str(max(1, math.ceil(seconds)))},
    )


def _receive(
    request: Request, ats: str, public_id: uuid.UUID, *, rejections_counted: bool
) -> intake.RecordResult:
    """The body cap, then the JSON, then the adapter's verification (intake)."""

    def reject(*, outcome: Outcome, detail: str = "") -> intake.RecordResult:
        if not rejections_counted:
            # Unparsed, so unsigned: a blocked client is answered 429 without a lookup.
            return intake.RecordResult(outcome, detail=detail)
        return intake.delivery_reject(
            integration_public_id=public_id, outcome=outcome, detail=detail, ats=ats
        )

    if _declared_length(request) > settings.WEBHOOK_MAX_BODY_BYTES:
        return reject(outcome=Outcome.TOO_LARGE)
    try:
        body = request.data
    except UnsupportedMediaType:
        return reject(outcome=Outcome.UNSUPPORTED_MEDIA_TYPE)
    except PayloadTooLarge:
        return reject(outcome=Outcome.TOO_LARGE)
    except ParseError:
        return reject(outcome=Outcome.MALFORMED, detail="The body is not valid JSON.")
    return intake.delivery_record(
        integration_public_id=public_id,
        body=body,
        ats=ats,
        rejections_counted=rejections_counted,
    )


def _declared_length(request: Request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@extend_schema(exclude=True)
class WebhookReceiveAliasApi(WebhookReceiveApi):
    """The same receiver under its other routes (no trailing slash; the Lever-only name)."""
