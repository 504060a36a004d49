"""REST API for role matching (admins only): postings with their Karat roles."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.api_permissions import ERRORS, IsOrganizationAdmin
from integrations.connection.selectors import integration_get
from integrations.models import AtsPosting, RoleMapping
from integrations.roles import selectors
from integrations.roles.services import mappings
from karatlever.accounts.http import signed_in_user
from karatlever.api import CursorPage
from karatlever.hiring.models import Role


class _RoleRefSerializer(serializers.Serializer[Any]):
    code = serializers.UUIDField(read_only=True)
    title = serializers.CharField(read_only=True)
    requisition_code = serializers.CharField(read_only=True)


class RoleMappingOutputSerializer(serializers.Serializer[Any]):
    """One posting with its Karat role. ``method``: requisition_code | title (automatic),
    conflict (automatic, nothing applied: see ``note``), admin | unmapped (an admin's
    decision, kept by every sync), or null (no match)."""

    posting_id = serializers.CharField()
    title = serializers.CharField()
    team = serializers.CharField()
    location = serializers.CharField()
    state = serializers.CharField()
    requisition_codes = serializers.ListField(child=serializers.CharField())
    confidential = serializers.BooleanField()
    role = serializers.SerializerMethodField()
    method = serializers.SerializerMethodField()
    note = serializers.SerializerMethodField()
    decided_by = serializers.SerializerMethodField()
    decided_at = serializers.SerializerMethodField()

    @staticmethod
    def _mapping(posting: AtsPosting) -> RoleMapping | None:
        return getattr(posting, "mapping", None)

    @extend_schema_field(_RoleRefSerializer(allow_null=True))
    def get_role(self, posting: AtsPosting) -> Any:
        mapping = self._mapping(posting)
        if mapping is None or mapping.role is None:
            return None
        return _RoleRefSerializer(mapping.role).data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_method(self, posting: AtsPosting) -> str | None:
        mapping = self._mapping(posting)
        return mapping.method if mapping is not None else None

    @extend_schema_field(serializers.CharField())
    def get_note(self, posting: AtsPosting) -> str:
        mapping = self._mapping(posting)
        return mapping.note if mapping is not None else ""

    @extend_schema_field(serializers.EmailField(allow_null=True))
    def get_decided_by(self, posting: AtsPosting) -> str | None:
        mapping = self._mapping(posting)
        if mapping is None or mapping.decided_by is None:
            return None
        return str(mapping.decided_by.email)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_decided_at(self, posting: AtsPosting) -> Any:
        mapping = self._mapping(posting)
        if mapping is None:
            return None
        return serializers.DateTimeField().to_representation(mapping.decided_at)


class RoleMappingListApi(APIView):
    """``GET /api/v1/integrations/<id>/role-mappings/``: the integration's current postings
    with their Karat roles, by title, paged by cursor (``page_size`` ≤ 500)."""

    permission_classes = [IsAuthenticated, IsOrganizationAdmin]

    class Pagination(CursorPage):
        ordering = ("title", "posting_id")  # the selector's order; posting_id is unique
        page_size = 100
        max_page_size = 500

    # The schema describes the answer as this page ({next, previous, results}).
    pagination_class = Pagination

    class RoleMappingFilterSerializer(serializers.Serializer[Any]):
        unmatched = serializers.BooleanField(
            required=False, default=False, help_text="Only postings without a Karat role."
        )
        state = serializers.CharField(
            required=False,
            max_length=20,
            help_text="Only postings in this ATS state (Lever: published, internal, closed, "
            "draft, pending, rejected).",
        )

    @extend_schema(
        operation_id="role_mappings_list",
        summary="List the integration's postings with their Karat roles",
        parameters=[RoleMappingFilterSerializer],
        responses={
            200: RoleMappingOutputSerializer(many=True),
            400: ERRORS[400],
            403: ERRORS[403],
            404: None,
        },
        tags=["role matching"],
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        integration = integration_get(user=signed_in_user(request), public_id=public_id)
        filters = self.RoleMappingFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        postings = selectors.role_mapping_list(
            integration=integration,
            unmatched_only=filters.validated_data["unmatched"],
            state=filters.validated_data.get("state", ""),
        )
        paginator = self.Pagination()
        page = paginator.paginate_queryset(postings, request, view=self)
        return paginator.get_paginated_response(RoleMappingOutputSerializer(page, many=True).data)


class RoleMappingDetailApi(APIView):
    """``PUT /api/v1/integrations/<id>/role-mappings/<posting_id>/``: an admin's decision.

    Body, exactly one of: ``{"role": "<role code>"}`` maps the posting to that role (an
    active role of the integration's group); ``{"role": null}`` leaves it unmatched on
    purpose; ``{"automatic": true}`` gives it back to automatic matching. The first two
    survive every later sync.
    """

    permission_classes = [IsAuthenticated, IsOrganizationAdmin]

    class RoleMappingInputSerializer(serializers.Serializer[Any]):
        role = serializers.UUIDField(required=False, allow_null=True)
        automatic = serializers.BooleanField(required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            given = [name for name in ("role", "automatic") if name in attrs]
            if len(given) != 1:
                raise serializers.ValidationError(
                    'Send exactly one of "role" (a role code, or null to leave the posting '
                    'unmatched) and "automatic": true.'
                )
            if "automatic" in attrs and attrs["automatic"] is not True:
                raise serializers.ValidationError({"automatic": '"automatic" can only be true.'})
            return attrs

    @extend_schema(
        operation_id="role_mappings_retrieve",
        summary="Read one posting's Karat role",
        responses={200: RoleMappingOutputSerializer, 403: ERRORS[403], 404: None},
        tags=["role matching"],
    )
    def get(self, request: Request, public_id: UUID, posting_id: str) -> Response:
        integration = integration_get(user=signed_in_user(request), public_id=public_id)
        posting = selectors.role_mapping_get(integration=integration, posting_id=posting_id)
        return Response(RoleMappingOutputSerializer(posting).data)

    @extend_schema(
        operation_id="role_mappings_update",
        summary="Map a posting to a Karat role, leave it unmatched, or match it automatically",
        request=RoleMappingInputSerializer,
        responses={200: RoleMappingOutputSerializer, 404: None, **ERRORS},
        tags=["role matching"],
    )
    def put(self, request: Request, public_id: UUID, posting_id: str) -> Response:
        user = signed_in_user(request)
        integration = integration_get(user=user, public_id=public_id)
        selectors.role_mapping_get(integration=integration, posting_id=posting_id)
        serializer = self.RoleMappingInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("automatic"):
            mappings.role_mapping_reset(integration=integration, posting_id=posting_id, actor=user)
        else:
            role = None
            if data["role"] is not None:
                role = Role.objects.filter(group_id=integration.group_id, code=data["role"]).first()
                if role is None:
                    raise mappings.RoleInvalid(
                        "No role with this code in the integration's group.", field="role"
                    )
            mappings.role_mapping_set(
                integration=integration, posting_id=posting_id, role=role, actor=user
            )
        posting = selectors.role_mapping_get(integration=integration, posting_id=posting_id)
        return Response(RoleMappingOutputSerializer(posting).data)
