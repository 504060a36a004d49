"""REST API for inviting candidates from Lever URLs (members of the group)."""

from __future__ import annotations

import json
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.api_permissions import ERRORS, IsMember
from integrations.invites.services.create import (
    InviteOutcome,
    candidacy_url,
    invite_urls,
    urls_clean,
)
from integrations.invites.services.preview import MAX_URLS, InviteCode, InviteInputError
from karatlever.accounts.http import signed_in_user
from karatlever.accounts.selectors import group_list_visible
from karatlever.hiring.models import Role

_LIST_EXPECTED = (
    "Give a list of Lever URLs, e.g. "
    '["https://hire.lever.co/candidates/…"] (one item per candidate).'
)


@extend_schema_field(OpenApiTypes.STR)
class PastedItemField(serializers.Field):  # type: ignore[type-arg]
    """One pasted item, taken as given: whatever is wrong with it (blank, a NUL, too long, no
    link) is that item's own result, never a 400 that would hide the others' results."""

    def to_internal_value(self, data: Any) -> str:
        if data is None:
            return ""
        return data if isinstance(data, str) else json.dumps(data)

    def to_representation(self, value: Any) -> str:
        return str(value)


class InvitationCandidacySerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(help_text="The candidacy's id, as in GET /api/v1/candidacies/")
    url = serializers.URLField(help_text="The candidacy's page in the console")


class InvitationResultSerializer(serializers.Serializer[Any]):
    url = serializers.CharField(help_text="The item as it was given")
    status = serializers.ChoiceField(choices=["invited", "already_invited", "not_invited"])
    code = serializers.CharField(help_text="invited, already_invited, or why not")
    message = serializers.CharField()
    opportunity_id = serializers.CharField(
        allow_null=True,
        help_text="The Lever opportunity the link names, whenever it parsed (else null)",
    )
    candidacy = InvitationCandidacySerializer(
        allow_null=True,
        help_text="The candidacy (invited, already_invited; already_invited_elsewhere when you "
        "may see its group), else null",
    )


class InvitationOutputSerializer(serializers.Serializer[Any]):
    results = InvitationResultSerializer(many=True, help_text="One per item, in order")


class InvitationCreateApi(APIView):
    """Invite candidates from Lever URLs: one result per URL, in order."""

    permission_classes = [IsAuthenticated, IsMember]

    class InvitationInputSerializer(serializers.Serializer[Any]):
        group = serializers.UUIDField(
            help_text="The Karat group's code (a UUID), as in GET /api/v1/integrations/ group.code",
            error_messages={
                "invalid": "Give the group's code (a UUID), as in GET /api/v1/integrations/ "
                "group.code.",
                "required": "Give the group's code (a UUID), as in GET /api/v1/integrations/ "
                "group.code.",
                "null": "Give the group's code (a UUID), as in GET /api/v1/integrations/ "
                "group.code.",
            },
        )
        lever_urls = serializers.ListField(
            child=PastedItemField(),
            min_length=1,
            max_length=MAX_URLS,
            error_messages={
                "min_length": "Give at least one Lever URL.",
                "max_length": f"Give at most {MAX_URLS} Lever URLs.",
                "empty": "Give at least one Lever URL.",
                "required": _LIST_EXPECTED,
                "null": _LIST_EXPECTED,
                "not_a_list": _LIST_EXPECTED,
            },
            help_text=f"Lever candidate URLs (https://hire.lever.co/candidates/<id>), at most "
            f"{MAX_URLS}. Each item gets its own result, in order: a blank, broken or "
            "over-long item is answered with its reason. A link wrapped in chat or email "
            "markup (<…>, [text](…), quotes, trailing punctuation) is read as the link.",
        )
        role = serializers.UUIDField(
            required=False,
            allow_null=True,
            help_text="A Karat role of the group used for every URL; without it each "
            "candidate's Lever posting must match a role",
            error_messages={"invalid": "Give the role's code (a UUID), or leave it out."},
        )
        confirm_recent_interview = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Invite even when the candidate interviewed for the same role in the "
            "last 6 months",
            error_messages={"invalid": "Give true or false."},
        )

    @extend_schema(
        operation_id="invitations_create",
        summary="Invite candidates from Lever URLs (repeating the request creates nothing new)",
        description="Each item gets one result, in order, always: `invited` (a new candidacy, "
        "its Lever link and the invitation email, queued and sent by a worker after the "
        "request), `already_invited` (the opportunity's existing candidacy; nothing new), or "
        "`not_invited` with a `code` and `message` "
        "(empty, control_characters, too_long, has_spaces, several_links, not_lever, no_id, "
        "malformed_id, job_posting, "
        "application_search, region_mismatch, no_integration, integration_disabled, "
        "unknown_opportunity, confidential, key_refused, key_permission, ats_unavailable, "
        "no_email, email_invalid, email_unsupported, no_role, recent_interview, "
        "duplicate_url, already_invited_elsewhere, …). `already_invited_elsewhere`: another "
        "group of the organization has this opportunity's candidacy (one per opportunity); "
        "`candidacy` is that one when you may see its group, else null. A group you can't see "
        "is 404.",
        request=InvitationInputSerializer,
        responses={
            200: OpenApiResponse(
                response=InvitationOutputSerializer,
                description="{results: [one per item, in order]}",
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
                raise InviteInputError("No active role of this group has this id.", field="role")
        urls = urls_clean(data["lever_urls"])
        outcomes = invite_urls(
            group=group,
            urls=urls,
            role=role,
            actor=user,
            confirm_recent=data["confirm_recent_interview"],
        )
        visible = set(group_list_visible(user=user).values_list("pk", flat=True))
        results = [_invite_result(request, o, visible) for o in outcomes]
        return Response(InvitationOutputSerializer({"results": results}).data)


def _invite_result(
    request: Request, outcome: InviteOutcome, visible_group_ids: set[int]
) -> dict[str, Any]:
    done = outcome.code in (InviteCode.INVITED, InviteCode.ALREADY_INVITED)
    # Another group's candidacy of the same opportunity: named only to who may see its group.
    elsewhere = outcome.code == InviteCode.ALREADY_INVITED_ELSEWHERE
    candidacy = None
    if outcome.candidacy is not None and (
        done or (elsewhere and outcome.candidacy.group_id in visible_group_ids)
    ):
        candidacy = {
            "id": str(outcome.candidacy.code),
            "url": request.build_absolute_uri(candidacy_url(outcome.candidacy)),
        }
    return {
        "url": outcome.url,
        "status": outcome.code if done else "not_invited",
        "code": outcome.code,
        "message": outcome.message,
        "opportunity_id": outcome.opportunity_id or None,
        "candidacy": candidacy,
    }
