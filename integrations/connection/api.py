"""REST API for integrations (admins only): list, create, read, change settings, delete."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.api_permissions import ERRORS, IsOrganizationAdmin
from integrations.connection import selectors
from integrations.connection.serializers import (
    IntegrationCreateInputSerializer,
    IntegrationOutputSerializer,
    IntegrationUpdateInputSerializer,
)
from integrations.connection.services import lifecycle
from integrations.models import AtsIntegration
from karatlever.accounts.http import signed_in_user
from karatlever.accounts.selectors import group_list_visible
from karatlever.api import CursorPage


# Both take an ``api_key``. The JSON body never appears on Django's error page, but the locals
# holding it would (the validated data, the serializer's repr with its ``data=``): the methods
# are ``sensitive_variables``, which hides every local of them and of what they call. The
# posted-parameter marker covers a form-encoded body, should a form parser ever be added.
@method_decorator(sensitive_post_parameters("api_key"), name="dispatch")
class IntegrationListApi(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationAdmin]

    class Pagination(CursorPage):
        # As the console lists them; a cursor position must be an attribute of the row, so
        # the group's name is annotated onto it.
        ordering = ("group_name", "ats", "id")

    # The schema describes the GET answer as this page ({next, previous, results}).
    pagination_class = Pagination

    @extend_schema(
        operation_id="integrations_list",
        summary="List the ATS integrations of the groups you can see",
        responses={200: IntegrationOutputSerializer(many=True), 403: ERRORS[403]},
        tags=["integrations"],
    )
    def get(self, request: Request) -> Response:
        paginator = self.Pagination()
        integrations = list(
            paginator.paginate_queryset(
                selectors.integration_list_named(user=signed_in_user(request)),
                request,
                view=self,
            )
            or []
        )
        context = {"key_checks": selectors.key_check_latest_finished(integrations=integrations)}
        return paginator.get_paginated_response(
            IntegrationOutputSerializer(integrations, many=True, context=context).data
        )

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
            ats_user_id=data.get("ats_user_id"),
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
            if {"api_key", "ats_user_id", "region"} & set(data):
                lifecycle.integration_settings_update(
                    integration=integration,
                    actor=actor,
                    api_key=data.get("api_key"),
                    ats_user_id=data.get("ats_user_id", integration.ats_user_id),
                    region=data.get("region"),
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


def _output(integration: AtsIntegration) -> Any:
    key_checks = selectors.key_check_latest_finished(integrations=[integration])
    return IntegrationOutputSerializer(integration, context={"key_checks": key_checks}).data
