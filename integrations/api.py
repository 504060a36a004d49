"""REST API for integrations (admins only): list, create, read, change settings, delete."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations import selectors
from integrations.api_permissions import ERRORS, IsOrganizationAdmin
from integrations.models import AtsIntegration, AtsPosting, RoleMapping
from integrations.serializers import (
    IntegrationCreateInputSerializer,
    IntegrationOutputSerializer,
    IntegrationUpdateInputSerializer,
)
from integrations.services import lifecycle, postings
from integrations.services import status as status_service
from karatlever.accounts.http import signed_in_user
from karatlever.accounts.selectors import group_list_visible
from karatlever.hiring.models import Role


# Both take an ``api_key``. The JSON body never appears on Django's error page, but the locals
# holding it would (the validated data, the serializer's repr with its ``data=``): the methods
# are ``sensitive_variables``, which hides every local of them and of what they call. The
# posted-parameter marker covers a form-encoded body, should a form parser ever be added.
@method_decorator(sensitive_post_parameters("api_key"), name="dispatch")
class IntegrationListApi(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationAdmin]

    @extend_schema(
        operation_id="integrations_list",
        summary="List the ATS integrations of the groups you can see",
        responses={200: IntegrationOutputSerializer(many=True), 403: ERRORS[403]},
        tags=["integrations"],
    )
    def get(self, request: Request) -> Response:
        integrations = list(selectors.integration_list(user=signed_in_user(request)))
        context = {"key_checks": selectors.key_check_latest_finished(integrations=integrations)}
        return Response(IntegrationOutputSerializer(integrations, many=True, context=context).data)

    @extend_schema(
        operation_id="integrations_create",
        summary="Create an integration for a group (optionally with its API key and settings)",
        request=IntegrationCreateInputSerializer,
        responses={
            201: IntegrationOutputSerializer,
            409: OpenApiResponse(description="The group already has an integration for this ATS"),
            **ERRORS,
        },
        tags=["integrations"],
    )
    @sensitive_variables()
    def post(self, request: Request) -> Response:
        serializer = IntegrationCreateInputSerializer(
            data=request.data,
            context={"groups": group_list_visible(user=signed_in_user(request))},
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # Domain errors (409 for a duplicate, 400 by field) become responses in one place:
        # karatlever.api.exception_handler.
        integration = lifecycle.integration_create(
            group=data["group"],
            ats=data["ats"],
            actor=signed_in_user(request),
            api_key=data.get("api_key"),
            lever_user_id=data.get("lever_user_id"),
            region=data.get("region"),
        )
        return Response(_output(integration), status=status.HTTP_201_CREATED)


@method_decorator(sensitive_post_parameters("api_key"), name="dispatch")
class IntegrationDetailApi(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationAdmin]

    def _get(self, request: Request, public_id: UUID) -> AtsIntegration:
        # Another organization's or a hidden group's integration is a 404.
        return selectors.integration_get(user=signed_in_user(request), public_id=public_id)

    @extend_schema(
        operation_id="integrations_retrieve",
        summary="Read one integration (the API key is never returned, only its last 4)",
        responses={200: IntegrationOutputSerializer, 403: ERRORS[403], 404: None},
        tags=["integrations"],
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        return Response(_output(self._get(request, public_id)))

    @extend_schema(
        operation_id="integrations_partial_update",
        summary="Change the API key, User ID, region or enabled state",
        description="A new `api_key` is checked with Lever in the background; while a working "
        "key is being replaced the old one stays in use until the new one passes. Poll "
        "`key_status` / `pending_api_key_last4` for the outcome.",
        request=IntegrationUpdateInputSerializer,
        responses={200: IntegrationOutputSerializer, 404: None, **ERRORS},
        tags=["integrations"],
    )
    @sensitive_variables()
    def patch(self, request: Request, public_id: UUID) -> Response:
        integration = self._get(request, public_id)
        serializer = IntegrationUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        actor = signed_in_user(request)
        with transaction.atomic():
            if {"api_key", "lever_user_id", "region"} & set(data):
                lifecycle.integration_settings_update(
                    integration=integration,
                    actor=actor,
                    api_key=data.get("api_key"),
                    lever_user_id=data.get("lever_user_id", integration.lever_user_id),
                    region=data.get("region", integration.region),
                )
            if data.get("enabled") is True:
                lifecycle.integration_enable(integration=integration, actor=actor)
            elif data.get("enabled") is False:
                lifecycle.integration_disable(integration=integration, actor=actor)
        integration.refresh_from_db()
        return Response(_output(integration))

    @extend_schema(
        operation_id="integrations_destroy",
        summary="Delete an integration (its audit log is kept)",
        responses={204: None, 403: ERRORS[403], 404: None},
        tags=["integrations"],
    )
    def delete(self, request: Request, public_id: UUID) -> Response:
        integration = self._get(request, public_id)
        lifecycle.integration_delete(integration=integration, actor=signed_in_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


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
            "last check, acting_user {state: not_set|ok|invalid|unknown, id, name, email, "
            "message}, webhook_url"
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
        snapshot = status_service.status_snapshot_ensure(integration=integration)
        context = selectors.status_page_context(integration=integration, snapshot=snapshot)
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


def _output(integration: AtsIntegration) -> Any:
    key_checks = selectors.key_check_latest_finished(integrations=[integration])
    return IntegrationOutputSerializer(integration, context={"key_checks": key_checks}).data


# --- role matching: postings and their Karat roles --------------------------------------------


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
    with their Karat roles, by title, paginated (``limit`` ≤ 500, ``offset``)."""

    permission_classes = [IsAuthenticated, IsOrganizationAdmin]

    class Pagination(LimitOffsetPagination):
        default_limit = 100
        max_limit = 500

    class RoleMappingFilterSerializer(serializers.Serializer[Any]):
        unmatched = serializers.BooleanField(required=False, default=False)
        state = serializers.CharField(required=False, default="", max_length=20)

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
        integration = selectors.integration_get(user=signed_in_user(request), public_id=public_id)
        filters = self.RoleMappingFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        postings = selectors.role_mapping_list(
            integration=integration,
            unmatched_only=filters.validated_data["unmatched"],
            state=filters.validated_data["state"],
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
        integration = selectors.integration_get(user=signed_in_user(request), public_id=public_id)
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
        integration = selectors.integration_get(user=user, public_id=public_id)
        selectors.role_mapping_get(integration=integration, posting_id=posting_id)
        serializer = self.RoleMappingInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("automatic"):
            postings.role_mapping_reset(integration=integration, posting_id=posting_id)
        else:
            role = None
            if data["role"] is not None:
                role = Role.objects.filter(group_id=integration.group_id, code=data["role"]).first()
                if role is None:
                    raise postings.RoleInvalid(
                        "No role with this code in the integration's group.", field="role"
                    )
            postings.role_mapping_set(
                integration=integration, posting_id=posting_id, role=role, actor=user
            )
        posting = selectors.role_mapping_get(integration=integration, posting_id=posting_id)
        return Response(RoleMappingOutputSerializer(posting).data)
