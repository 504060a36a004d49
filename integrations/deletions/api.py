"""REST API for the deletion policy (admins only): what Karat does with a candidate deleted or
anonymised in the ATS."""

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
from integrations.deletions import services
from integrations.deletions.selectors import deletion_settings_find
from integrations.models import AtsIntegration, DeletionSettings
from karatlever.accounts.http import signed_in_user


class DeletionPolicyOutputSerializer(serializers.Serializer[Any]):
    """``policy``: unlink | anonymise. ``honoured``: candidacies unlinked so far;
    ``last_honoured_at`` and ``polled_at`` (the last poll of deleted candidates that worked)
    are UTC, null before the first; ``poll_error`` is the last poll's failure ("" if none)."""

    policy = serializers.ChoiceField(choices=DeletionSettings.Policy.choices)
    honoured = serializers.IntegerField()
    last_honoured_at = serializers.DateTimeField(allow_null=True)
    polled_at = serializers.DateTimeField(allow_null=True)
    poll_error = serializers.CharField(allow_blank=True)


def _output(integration: AtsIntegration) -> dict[str, Any]:
    row = deletion_settings_find(integration=integration)
    return dict(
        DeletionPolicyOutputSerializer(
            {
                "policy": row.policy if row else DeletionSettings.Policy.UNLINK,
                "honoured": row.honoured_count if row else 0,
                "last_honoured_at": row.honoured_at if row else None,
                "polled_at": row.polled_at if row else None,
                "poll_error": row.poll_error if row else "",
            }
        ).data
    )


class DeletionPolicyApi(APIView):
    """``GET`` / ``PUT /api/v1/integrations/<id>/deletion-policy/``: the policy applied when a
    candidate is deleted or anonymised in the ATS. Body ``{"policy": "unlink" | "anonymise"}``.
    Nothing is ever written to the ATS; the policy applies to later deletions."""

    permission_classes = [IsAuthenticated, IsOrganizationAdmin]

    class DeletionPolicyInputSerializer(serializers.Serializer[Any]):
        policy = serializers.ChoiceField(choices=DeletionSettings.Policy.choices)

    @extend_schema(
        operation_id="deletion_policy_retrieve",
        summary="Read what Karat does with candidates deleted or anonymised in the ATS",
        responses={200: DeletionPolicyOutputSerializer, 403: ERRORS[403], 404: None},
        tags=["deletions"],
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        integration = integration_get(user=signed_in_user(request), public_id=public_id)
        return Response(_output(integration))

    @extend_schema(
        operation_id="deletion_policy_update",
        summary="Choose what Karat does with candidates deleted or anonymised in the ATS",
        request=DeletionPolicyInputSerializer,
        responses={200: DeletionPolicyOutputSerializer, 404: None, **ERRORS},
        tags=["deletions"],
    )
    def put(self, request: Request, public_id: UUID) -> Response:
        user = signed_in_user(request)
        integration = integration_get(user=user, public_id=public_id)
        serializer = self.DeletionPolicyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.deletion_policy_set(
            integration=integration, policy=serializer.validated_data["policy"], actor=user
        )
        return Response(_output(integration))
