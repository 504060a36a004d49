"""REST API of the feedback-form option (admins only): read it, turn it on or off."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.api_permissions import ERRORS, IsOrganizationAdmin
from integrations.connection.selectors import integration_get
from integrations.feedback import services
from integrations.feedback.selectors import feedback_acting_user_id, feedback_settings_find
from integrations.models import AtsIntegration
from karatlever.accounts.http import signed_in_user


class FeedbackFormOutputSerializer(serializers.Serializer[Any]):
    """``enabled``: results are posted as a feedback form; ``template_id``: Karat's template
    in the ATS ("" until the first results); ``perform_as_user_id``: the ATS user forms are
    posted as ("" = none: the option can't be turned on)."""

    enabled = serializers.BooleanField()
    template_id = serializers.CharField()
    perform_as_user_id = serializers.CharField()


def _output(integration: AtsIntegration) -> dict[str, Any]:
    found = feedback_settings_find(integration=integration)
    return {
        "enabled": bool(found and found.enabled),
        "template_id": found.template_id if found else "",
        "perform_as_user_id": feedback_acting_user_id(integration=integration),
    }


class FeedbackFormApi(APIView):
    """``GET/PUT /api/v1/integrations/<id>/feedback-form/``: the option (off by default).
    PUT ``{"enabled": true|false}``; turning it on without a user to post as is a 400."""

    permission_classes = [IsAuthenticated, IsOrganizationAdmin]

    class FeedbackFormInputSerializer(serializers.Serializer[Any]):
        enabled = serializers.BooleanField()

        def to_internal_value(self, data: Any) -> Any:
            # "yes", 1 or "true" are refused: only JSON true / false.
            if isinstance(data, dict) and not isinstance(data.get("enabled"), bool):
                raise serializers.ValidationError({"enabled": "Send true or false."})
            return super().to_internal_value(data)

    @extend_schema(
        operation_id="feedback_form_retrieve",
        summary="Read the feedback-form option",
        responses={200: FeedbackFormOutputSerializer, 403: ERRORS[403], 404: None},
        tags=["feedback form"],
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        integration = integration_get(user=signed_in_user(request), public_id=public_id)
        return Response(FeedbackFormOutputSerializer(_output(integration)).data)

    @extend_schema(
        operation_id="feedback_form_update",
        summary="Turn posting results as a feedback form on or off",
        request=FeedbackFormInputSerializer,
        responses={
            200: FeedbackFormOutputSerializer,
            400: ERRORS[400],
            403: ERRORS[403],
            404: None,
        },
        tags=["feedback form"],
    )
    def put(self, request: Request, public_id: UUID) -> Response:
        user = signed_in_user(request)
        integration = integration_get(user=user, public_id=public_id)
        data = self.FeedbackFormInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.feedback_settings_save(
            integration=integration, actor=user, enabled=data.validated_data["enabled"]
        )
        return Response(FeedbackFormOutputSerializer(_output(integration)).data)
