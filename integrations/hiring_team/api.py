"""REST API for the hiring team settings (admins only): read and change both switches."""

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
from integrations.hiring_team import services
from integrations.hiring_team.selectors import hiring_team_settings_find
from integrations.models import AtsIntegration
from karatlever.accounts.http import signed_in_user


class HiringTeamSettingsApi(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationAdmin]

    class HiringTeamSettingsInputSerializer(serializers.Serializer[Any]):
        role_followers_enabled = serializers.BooleanField(required=False)
        recruiter_follows_owner = serializers.BooleanField(required=False)

    class HiringTeamSettingsOutputSerializer(serializers.Serializer[Any]):
        role_followers_enabled = serializers.BooleanField()
        recruiter_follows_owner = serializers.BooleanField()
        followers_synced_at = serializers.DateTimeField(allow_null=True)
        followers_not_in_karat = serializers.IntegerField()

    def _integration(self, request: Request, public_id: UUID) -> AtsIntegration:
        # Another organization's or a hidden group's integration is a 404.
        return selectors.integration_get(user=signed_in_user(request), public_id=public_id)

    @extend_schema(
        operation_id="hiring_team_settings_retrieve",
        summary="Read the hiring team settings (both off until an admin turns them on)",
        responses={200: HiringTeamSettingsOutputSerializer, 403: ERRORS[403], 404: None},
        tags=["integrations"],
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        return Response(_output(self._integration(request, public_id)))

    @extend_schema(
        operation_id="hiring_team_settings_partial_update",
        summary="Turn role followers from the hiring team, or the recruiter following the "
        "opportunity owner, on or off",
        description="Neither writes to Lever. Turning role followers on brings every role in "
        "line at once from the last posting sync; turning it off removes the followers that "
        "came from Lever (manual ones stay).",
        request=HiringTeamSettingsInputSerializer,
        responses={200: HiringTeamSettingsOutputSerializer, 404: None, **ERRORS},
        tags=["integrations"],
    )
    def patch(self, request: Request, public_id: UUID) -> Response:
        integration = self._integration(request, public_id)
        serializer = self.HiringTeamSettingsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        current = hiring_team_settings_find(integration=integration)
        services.hiring_team_settings_update(
            integration=integration,
            actor=signed_in_user(request),
            role_followers_enabled=data.get(
                "role_followers_enabled", bool(current and current.role_followers_enabled)
            ),
            recruiter_follows_owner=data.get(
                "recruiter_follows_owner", bool(current and current.recruiter_follows_owner)
            ),
        )
        return Response(_output(integration))


def _output(integration: AtsIntegration) -> Any:
    found = hiring_team_settings_find(integration=integration)
    return HiringTeamSettingsApi.HiringTeamSettingsOutputSerializer(
        {
            "role_followers_enabled": bool(found and found.role_followers_enabled),
            "recruiter_follows_owner": bool(found and found.recruiter_follows_owner),
            "followers_synced_at": found.followers_synced_at if found else None,
            "followers_not_in_karat": found.followers_not_in_karat if found else 0,
        }
    ).data
