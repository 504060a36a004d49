"""REST API for integrations (admins only): list, create, read, change settings, delete."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.api_permissions import ERRORS, IsMember, IsOrganizationAdmin
from integrations.connection import selectors
from integrations.connection.serializers import (
    IntegrationCreateInputSerializer,
    IntegrationOutputSerializer,
    IntegrationUpdateInputSerializer,
)
from integrations.connection.services import lifecycle
from integrations.models import AtsIntegration
from integrations.services import invites
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


def _output(integration: AtsIntegration) -> Any:
    key_checks = selectors.key_check_latest_finished(integrations=[integration])
    return IntegrationOutputSerializer(integration, context={"key_checks": key_checks}).data


# --- invitations ------------------------------------------------------------------------------


class InvitationCreateApi(APIView):
    """Invite candidates from Lever URLs: one result per URL, in order."""

    permission_classes = [IsAuthenticated, IsMember]

    class InvitationInputSerializer(serializers.Serializer[Any]):
        group = serializers.UUIDField(
            help_text="The Karat group's code (a UUID), as in GET /api/v1/integrations/ group.code",
            error_messages={
                "invalid": "Give the group's code (a UUID), as in GET /api/v1/integrations/ "
                "group.code."
            },
        )
        lever_urls = serializers.ListField(
            child=serializers.CharField(max_length=8192, allow_blank=True),
            min_length=1,
            max_length=invites.MAX_URLS,
            error_messages={
                "min_length": "Give at least one Lever URL.",
                "max_length": f"Give at most {invites.MAX_URLS} Lever URLs.",
                "empty": "Give at least one Lever URL.",
            },
            help_text=f"Lever candidate URLs (https://hire.lever.co/candidates/<id>), at most "
            f"{invites.MAX_URLS}",
        )
        role = serializers.UUIDField(
            required=False,
            allow_null=True,
            help_text="A Karat role of the group used for every URL; without it each "
            "candidate's Lever posting must match a role",
        )
        confirm_recent_interview = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Invite even when the candidate interviewed for the same role in the "
            "last 6 months",
        )

    class InvitationCandidacySerializer(serializers.Serializer[Any]):
        id = serializers.UUIDField(source="code")
        url = serializers.CharField()

    class InvitationResultSerializer(serializers.Serializer[Any]):
        url = serializers.CharField()
        status = serializers.ChoiceField(choices=["invited", "already_invited", "not_invited"])
        code = serializers.CharField(help_text="invited, already_invited, or why not")
        message = serializers.CharField()
        opportunity_id = serializers.CharField(allow_blank=True)
        candidacy = serializers.DictField(allow_null=True)

    class InvitationOutputSerializer(serializers.Serializer[Any]):
        results = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        operation_id="invitations_create",
        summary="Invite candidates from Lever URLs (repeating the request creates nothing new)",
        description="Each URL gets one result: `invited` (a new candidacy, its Lever link and "
        "the invitation email), `already_invited` (the opportunity's existing candidacy; "
        "nothing new), or `not_invited` with a `code` and `message` (not_lever, job_posting, "
        "application_search, region_mismatch, no_integration, integration_disabled, "
        "unknown_opportunity, confidential, key_refused, key_permission, ats_unavailable, "
        "no_email, no_role, recent_interview, duplicate_url, …). A group you can't see is 404.",
        request=InvitationInputSerializer,
        responses={
            200: OpenApiResponse(
                response=InvitationOutputSerializer,
                description="{results: [one per URL, in order]}",
            ),
            404: None,
            **ERRORS,
        },
        tags=["invitations"],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InvitationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = signed_in_user(request)
        group = get_object_or_404(group_list_visible(user=user), code=data["group"])
        role = None
        if data.get("role"):
            role = Role.objects.filter(group=group, code=data["role"], active=True).first()
            if role is None:
                raise invites.InviteInputError(
                    "No active role of this group has this id.", field="role"
                )
        urls = invites.urls_clean(data["lever_urls"])
        outcomes = invites.invite_urls(
            group=group,
            urls=urls,
            role=role,
            actor=user,
            confirm_recent=data["confirm_recent_interview"],
        )
        return Response({"results": [_invite_result(request, o) for o in outcomes]})


def _invite_result(request: Request, outcome: invites.InviteOutcome) -> dict[str, Any]:
    done = outcome.code in (invites.InviteCode.INVITED, invites.InviteCode.ALREADY_INVITED)
    candidacy = None
    if outcome.candidacy is not None and done:
        candidacy = {
            "id": str(outcome.candidacy.code),
            "url": request.build_absolute_uri(invites.candidacy_url(outcome.candidacy)),
        }
    return {
        "url": outcome.url,
        "status": outcome.code if done else "not_invited",
        "code": outcome.code,
        "message": outcome.message,
        "opportunity_id": outcome.opportunity_id,
        "candidacy": candidacy,
    }
