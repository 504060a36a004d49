"""REST API for the interview panels' setting (admins only)."""

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
from integrations.connection import selectors
from integrations.models import AtsIntegration, InterviewPanel
from integrations.panels import services
from integrations.panels.selectors import panel_settings_find, panel_stats
from karatlever.accounts.http import signed_in_user


class InterviewPanelSettingsInputSerializer(serializers.Serializer[Any]):
    enabled = serializers.BooleanField(
        help_text="Put each scheduled Karat interview on the Lever opportunity as a panel."
    )


class InterviewPanelSettingsOutputSerializer(serializers.Serializer[Any]):
    enabled = serializers.BooleanField()
    panels = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="How many panels Karat made, by state: "
        + ", ".join(InterviewPanel.State.values)
        + ".",
    )


# Serializers named in full at module level: the API schema names its components after them.
class InterviewPanelSettingsApi(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationAdmin]

    def _get(self, request: Request, public_id: UUID) -> AtsIntegration:
        # Another organization's or a hidden group's integration is a 404.
        return selectors.integration_get(user=signed_in_user(request), public_id=public_id)

    def _output(self, integration: AtsIntegration) -> Response:
        outbound = panel_settings_find(integration=integration)
        stats = panel_stats(integration=integration)
        body = {
            "enabled": bool(outbound and outbound.panels_enabled),
            "panels": {state: stats.by_state.get(state, 0) for state in InterviewPanel.State},
        }
        return Response(InterviewPanelSettingsOutputSerializer(body).data)

    @extend_schema(
        operation_id="integrations_interview_panels_retrieve",
        summary="Read whether Karat interviews are put on Lever's schedule",
        responses={200: InterviewPanelSettingsOutputSerializer, 403: ERRORS[403], 404: None},
        tags=["integrations"],
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        return self._output(self._get(request, public_id))

    @extend_schema(
        operation_id="integrations_interview_panels_partial_update",
        summary="Turn the Karat interview on Lever's schedule on or off",
        description="On: each scheduled Karat interview of a linked candidacy becomes a Lever "
        "panel (POST /opportunities/:id/panels), a reschedule moves it, cancellation or expiry "
        "removes it. Needs posting updates to Lever on, and a Lever user to write as.",
        request=InterviewPanelSettingsInputSerializer,
        responses={200: InterviewPanelSettingsOutputSerializer, 404: None, **ERRORS},
        tags=["integrations"],
    )
    def patch(self, request: Request, public_id: UUID) -> Response:
        integration = self._get(request, public_id)
        serializer = InterviewPanelSettingsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.panel_settings_update(
            integration=integration,
            actor=signed_in_user(request),
            enabled=serializer.validated_data["enabled"],
        )
        return self._output(integration)
