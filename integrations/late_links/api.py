"""REST API: attach a Lever link to a candidacy that has none, or detach it (members who can
see the candidacy's group; another organization's candidacy is a 404)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.api_permissions import ERRORS, IsMember, IsOrganizationAdmin
from integrations.connection import selectors as connection_selectors
from integrations.late_links import selectors, services
from integrations.models import AtsIntegration
from karatlever.accounts.http import signed_in_user
from karatlever.hiring import selectors as hiring_selectors

_URL_EXPECTED = "Give the Lever candidate link as a string: https://hire.lever.co/candidates/<id>."

_CODES = (
    "Error codes (`error.code`): no_integration, late_links_off (an admin has not turned the "
    "feature on), the link's own (empty, not_lever, job_posting, application_search, no_id, "
    "malformed_id, region_mismatch, too_long, …), unknown_opportunity (deleted, or another "
    "Lever account's), confidential, key_refused, key_permission, ats_error (400); "
    "already_linked, opportunity_linked (409); ats_unavailable (503: Lever busy or down, try "
    "again). Nothing is changed on any error."
)


class LeverLinkOutputSerializer(serializers.Serializer[Any]):
    opportunity_id = serializers.CharField(help_text="The Lever opportunity now linked")
    url = serializers.CharField(help_text="The candidate's profile in Lever (canonical form)")
    candidate_name = serializers.CharField(help_text="The candidate's name in Lever")
    milestones_queued = serializers.IntegerField(
        help_text="Milestones queued to be posted to Lever, in milestone order"
    )
    milestones_already_posted = serializers.IntegerField(
        help_text="Milestones this opportunity had been sent before (not sent again)"
    )
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="What to check (the email or posting differ, archived, hired); never blocking",
    )
    candidacy = serializers.URLField(help_text="The candidacy's page in the console")


class LeverLinkDetachOutputSerializer(serializers.Serializer[Any]):
    opportunity_id = serializers.CharField(help_text="The Lever opportunity no longer linked")
    cancelled = serializers.IntegerField(help_text="Waiting updates that will not be sent")
    in_flight = serializers.IntegerField(help_text="Updates being sent right now (they finish)")


class CandidacyLeverLinkApi(APIView):
    """Attach (POST) or detach (DELETE) a candidacy's Lever link."""

    permission_classes = [IsAuthenticated, IsMember]

    class LeverLinkInputSerializer(serializers.Serializer[Any]):
        url = serializers.CharField(
            allow_blank=True,
            max_length=2000,
            trim_whitespace=True,
            help_text="The Lever candidate link, https://hire.lever.co/candidates/<id>",
            error_messages={
                "required": _URL_EXPECTED,
                "null": _URL_EXPECTED,
                "invalid": _URL_EXPECTED,
                "max_length": "That is too long to be a Lever candidate link.",
            },
        )

    @extend_schema(
        operation_id="candidacies_lever_link_create",
        summary="Attach a Lever link to a candidacy that has none; its milestones are posted",
        description="Reads and checks the link as an invite does (one live link per "
        "opportunity in the organization), links the candidacy, copies the opportunity's "
        "stage and archive state, and queues the Lever updates of each milestone the "
        "candidacy already reached, in milestone order; a milestone this opportunity was "
        "sent before is never sent again. " + _CODES,
        request=LeverLinkInputSerializer,
        responses={
            201: LeverLinkOutputSerializer,
            404: None,
            409: OpenApiResponse(description="Linked already: {error: {code, message}}"),
            503: OpenApiResponse(description="Lever busy or down: {error: {code, message}}"),
            **ERRORS,
        },
        tags=["candidacies"],
    )
    def post(self, request: Request, code: UUID) -> Response:
        user = signed_in_user(request)
        candidacy = hiring_selectors.candidacy_get(user=user, code=code)
        serializer = self.LeverLinkInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.opportunity_link_attach(
            candidacy=candidacy, url=serializer.validated_data["url"], actor=user, via="api"
        )
        page = reverse("hiring:candidate-detail", kwargs={"code": candidacy.code})
        data = {
            "opportunity_id": result.link.opportunity_id,
            "url": result.link.url,
            "candidate_name": result.preview.candidate_name,
            "milestones_queued": result.queued + result.requeued,
            "milestones_already_posted": result.already_posted,
            "warnings": services.preview_warnings(candidacy=candidacy, preview=result.preview),
            "candidacy": request.build_absolute_uri(page),
        }
        return Response(LeverLinkOutputSerializer(data).data, status=201)

    @extend_schema(
        operation_id="candidacies_lever_link_destroy",
        summary="Detach a candidacy's Lever link; its waiting updates are not sent",
        description="Audited and on the candidacy's timeline. Error code not_linked (400) "
        "when the candidacy has no link.",
        request=None,
        responses={200: LeverLinkDetachOutputSerializer, 404: None, **ERRORS},
        tags=["candidacies"],
    )
    def delete(self, request: Request, code: UUID) -> Response:
        user = signed_in_user(request)
        candidacy = hiring_selectors.candidacy_get(user=user, code=code)
        result = services.opportunity_link_detach(candidacy=candidacy, actor=user, via="api")
        return Response(
            LeverLinkDetachOutputSerializer(
                {
                    "opportunity_id": result.opportunity_id,
                    "cancelled": result.cancelled,
                    "in_flight": result.in_flight,
                }
            ).data
        )


# --- the integration's setting ------------------------------------------------------------------


class LateLinkSettingsSerializer(serializers.Serializer[Any]):
    enabled = serializers.BooleanField(
        help_text="Members may attach a Lever link to a candidacy that has none (off by default)",
        error_messages={
            "invalid": "Give true or false.",
            "required": "Give enabled: true or false.",
            "null": "Give true or false.",
        },
    )


class LateLinkSettingsApi(APIView):
    """Read or change whether links may be attached later (organization admins)."""

    permission_classes = [IsAuthenticated, IsOrganizationAdmin]

    def _get(self, request: Request, public_id: UUID) -> AtsIntegration:
        # Another organization's or a hidden group's integration is a 404.
        return connection_selectors.integration_get(
            user=signed_in_user(request), public_id=public_id
        )

    @extend_schema(
        operation_id="integrations_late_links_retrieve",
        summary="Whether a Lever link may be attached to an existing candidacy",
        responses={200: LateLinkSettingsSerializer, 403: ERRORS[403], 404: None},
        tags=["integrations"],
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        integration = self._get(request, public_id)
        row = selectors.late_link_settings_find(integration=integration)
        return Response(LateLinkSettingsSerializer({"enabled": bool(row and row.enabled)}).data)

    @extend_schema(
        operation_id="integrations_late_links_update",
        summary="Turn attaching a Lever link to an existing candidacy on or off (audited)",
        description="On: attaching posts the milestones the candidacy already reached to "
        "Lever (the notes, tags, links and stage moves of the integration's update settings).",
        request=LateLinkSettingsSerializer,
        responses={200: LateLinkSettingsSerializer, 404: None, **ERRORS},
        tags=["integrations"],
    )
    def put(self, request: Request, public_id: UUID) -> Response:
        integration = self._get(request, public_id)
        serializer = LateLinkSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = services.late_link_settings_update(
            integration=integration,
            actor=signed_in_user(request),
            enabled=serializer.validated_data["enabled"],
        )
        return Response(LateLinkSettingsSerializer({"enabled": row.enabled}).data)
