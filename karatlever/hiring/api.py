"""REST API for candidacies: list and read them, and take the Karat interview platform's
progress events (scheduled, completed, results, cancelled, expired, redo).

Who may call: any member of the organization — admins and recruiters alike — for the
candidacies of the groups they can see (another organization's or group's candidacy is a
404). A token acts as its user, so the interview platform's token is usually made for a
dedicated recruiter account limited to the groups it serves. (The console's milestone form is
admin-only because it overrides what the platform reports; the platform itself is a
recruiter-level caller.)
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import IntegrityError
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from karatlever.accounts.http import signed_in_user
from karatlever.accounts.selectors import group_list_visible, membership_get
from karatlever.api import CursorPage
from karatlever.hiring import selectors, services
from karatlever.hiring.hooks import candidacy_context
from karatlever.hiring.models import Candidacy
from karatlever.hiring.serializers import (
    CandidacyDetailOutputSerializer,
    CandidacyEventInputSerializer,
    CandidacyFilterSerializer,
    CandidacyOutputSerializer,
    EventRecordedOutputSerializer,
    candidacy_ats_links,
)


class IsOrganizationMember(BasePermission):
    """Admins and recruiters; a signed-in user without a membership gets 403."""

    message = "Your account is not a member of any organization."

    def has_permission(self, request: Request, view: Any) -> bool:
        return membership_get(user=signed_in_user(request)) is not None


class CandidacyPage(CursorPage):
    ordering = ("-created_at", "-id")  # newest first, as the console lists them


_ERRORS = {
    400: OpenApiResponse(description="Invalid input: {error: {code, message, fields}}"),
    403: OpenApiResponse(description="Not signed in, or not a member of an organization"),
    404: OpenApiResponse(description="No such candidacy among your groups'"),
}


class CandidacyListApi(GenericAPIView[Candidacy]):
    permission_classes = [IsAuthenticated, IsOrganizationMember]
    pagination_class = CandidacyPage
    serializer_class = CandidacyOutputSerializer

    @extend_schema(
        operation_id="candidacies_list",
        summary="List the candidacies of your groups, newest first, with the page's filters",
        description="Filters combine (AND). A bad filter value is a 400 naming the parameter. "
        "Paged by cursor: follow `next`; 50 per page by default, `page_size` up to 200; a "
        "cursor that is not one of ours is a 400.",
        parameters=[CandidacyFilterSerializer],
        responses={200: CandidacyOutputSerializer(many=True), **_ERRORS},
        tags=["candidacies"],
    )
    def get(self, request: Request) -> Response:
        user = signed_in_user(request)
        groups = group_list_visible(user=user)
        filters = CandidacyFilterSerializer(
            data=request.query_params.dict(),
            context={"groups": groups, "roles": selectors.candidacy_role_list(groups=groups)},
        )
        filters.is_valid(raise_exception=True)
        candidacies = selectors.candidacy_list_filtered(user=user, **filters.filters())
        page = list(self.paginate_queryset(candidacies) or [])
        context = {"ats_links": candidacy_ats_links(page)}
        return self.get_paginated_response(
            CandidacyOutputSerializer(page, many=True, context=context).data
        )


class CandidacyDetailApi(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]

    @extend_schema(
        operation_id="candidacies_retrieve",
        summary="Read one candidacy with its ATS profile link and its whole timeline",
        responses={200: CandidacyDetailOutputSerializer, 403: _ERRORS[403], 404: _ERRORS[404]},
        tags=["candidacies"],
    )
    def get(self, request: Request, code: UUID) -> Response:
        candidacy = selectors.candidacy_get(user=signed_in_user(request), code=code)
        extra = candidacy_context(candidacy)
        context = {
            "events": selectors.candidacy_event_list(candidacy=candidacy),
            "ats_profile": extra.get("ats_profile"),
            "ats_links": {candidacy.pk: extra.get("ats_link")},
        }
        return Response(CandidacyDetailOutputSerializer(candidacy, context=context).data)


class CandidacyEventCreateApi(APIView):
    permission_classes = [IsAuthenticated, IsOrganizationMember]

    @extend_schema(
        operation_id="candidacies_events_create",
        summary="Record an interview progress event from the Karat interview platform",
        description=(
            "Moves the candidacy's Karat status and adds the event to its timeline (and, "
            "through the integration, to Lever). Idempotent by `event_id`: the same id again "
            "answers 200 with the first event and changes nothing. Allowed moves: scheduled "
            "after invited or scheduled (a reschedule); completed after scheduled; "
            "results_ready after completed; cancelled and expired after invited or scheduled; "
            "redo after completed, results_ready, cancelled or expired (back to invited). "
            "Times must agree (else 409 time_conflict): completed and results_ready once the "
            "interview's time has come, expired only with no booked interview ahead, and "
            "scheduled_at not before the invitation (or the last redo)."
        ),
        request=CandidacyEventInputSerializer,
        responses={
            201: EventRecordedOutputSerializer,
            200: OpenApiResponse(
                EventRecordedOutputSerializer, description="A replay: recorded before"
            ),
            409: OpenApiResponse(
                description="The move is not allowed from the current Karat status "
                "(code invalid_transition), its times contradict the candidacy's (code "
                "time_conflict), or the event id was used for another type "
                "(code event_id_reused)"
            ),
            **_ERRORS,
        },
        examples=[
            OpenApiExample(
                "Scheduled",
                value={
                    "type": "scheduled",
                    "event_id": "evt_01HZX3",
                    "scheduled_at": "2026-12-01T15:00:00Z",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Results ready",
                value={
                    "type": "results_ready",
                    "event_id": "evt_01HZX9",
                    "recommendation": "yes",
                    "summary": "Strong problem solving; communication could be clearer.",
                    "report_url": "https://karat.example/reports/123",
                },
                request_only=True,
            ),
        ],
        tags=["candidacies"],
    )
    def post(self, request: Request, code: UUID) -> Response:
        user = signed_in_user(request)
        candidacy = selectors.candidacy_get(user=user, code=code)
        serializer = CandidacyEventInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        arguments: dict[str, Any] = {
            "candidacy": candidacy,
            "milestone": data["type"],
            "event_id": data["event_id"],
            "scheduled_at": data.get("scheduled_at"),
            "recommendation": data.get("recommendation", ""),
            "summary": data.get("summary", ""),
            "report_url": data.get("report_url", ""),
            "actor": user,
            "duration_minutes": data.get("duration_minutes"),
            "timezone_name": data.get("timezone", ""),
            "interview_url": data.get("interview_url", ""),
        }
        # Rule errors (400 / 409) become responses in karatlever.api.exception_handler.
        try:
            result = services.candidacy_milestone_record(**arguments)
        except IntegrityError:
            # Two calls raced with one new event id where the database has no row locks
            # (SQLite): the winner's event exists now, so calling again is a replay.
            result = services.candidacy_milestone_record(**arguments)
        body = EventRecordedOutputSerializer(
            {"created": result.created, "event": result.event, "candidacy": result.candidacy}
        ).data
        return Response(body, status=status.HTTP_201_CREATED if result.created else 200)
