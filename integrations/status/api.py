"""The status page as JSON: GET /api/v1/integrations/<id>/status/."""

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
from integrations.status import selectors as status_selectors
from integrations.status import services as status_services
from karatlever.accounts.http import signed_in_user


class IntegrationStatusApi(APIView):
    """The status page as JSON: the stored snapshot (computed once here if none exists)."""

    permission_classes = [IsAuthenticated, IsOrganizationAdmin]

    class IntegrationStatusOutputSerializer(serializers.Serializer[Any]):
        integration_id = serializers.UUIDField()
        computed_at = serializers.DateTimeField(allow_null=True)
        pending = serializers.BooleanField(help_text="A recompute was asked for and runs now")
        overall = serializers.DictField(help_text="{level, label, explanation}")
        basic = serializers.DictField(
            help_text="Integration ID, ATS, group, region, created by/at, API key last 4 and "
            "last check, acting_user {state: not_set|ok|invalid|unknown, source: "
            "integration_user|lever_user|none, id, name, email, message}, webhook_url"
        )
        features = serializers.ListField(
            child=serializers.DictField(),
            help_text="Each {key, name, description, level, label, summary, available, "
            "checks: [{code, name, level, message, fix_url, fix_text, at}], issues, detail}",
        )

    @extend_schema(
        operation_id="integrations_status",
        summary="The integration's status: overall, basic information, each feature's checks",
        responses={200: IntegrationStatusOutputSerializer, 403: ERRORS[403], 404: None},
        tags=["integrations"],
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        integration = selectors.integration_get(user=signed_in_user(request), public_id=public_id)
        snapshot = status_services.status_snapshot_ensure(integration=integration)
        context = status_selectors.status_page_context(integration=integration, snapshot=snapshot)
        overall = context["overall"]
        data = {
            "integration_id": integration.public_id,
            "computed_at": snapshot.computed_at,
            "pending": snapshot.pending,
            "overall": {
                "level": overall.level,
                "label": overall.label,
                "explanation": overall.explanation,
            },
            "basic": {
                "integration_id": str(integration.public_id),
                "ats": integration.ats,
                "group": integration.group.name,
                "region": integration.region,
                "created_at": integration.created_at,
                "created_by": integration.created_by.email if integration.created_by else None,
                "api_key_last4": integration.api_key_last4,
                "key_status": integration.key_status,
                "key_checked_at": integration.key_checked_at,
                "acting_user": context["acting_user"],
                "webhook_url": context["webhook_url"],
            },
            "features": snapshot.features,
        }
        return Response(self.IntegrationStatusOutputSerializer(data).data)
