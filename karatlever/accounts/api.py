"""REST API for the signed-in user's own API tokens: make (shown once), list, revoke."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from karatlever.accounts import tokens
from karatlever.accounts.http import signed_in_user
from karatlever.accounts.models import ApiToken
from karatlever.api import CursorPage

# Comments, not docstrings, on these serializers: drf-spectacular publishes a serializer's
# docstring as its component's description in the API schema.


# One token's metadata, never the token: {"id": "<uuid>", "name": "CI", "prefix":
# "kl_3f9a0c1d2e4b", "created": "<datetime>", "expiry": "<datetime>" | null}.
class TokenOutputSerializer(serializers.Serializer[ApiToken]):
    id = serializers.UUIDField(source="code")
    name = serializers.CharField()
    prefix = serializers.CharField(
        source="token_key", help_text="The token's first characters, to tell tokens apart."
    )
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(allow_null=True)


# A new token's answer: TokenOutputSerializer's fields and "token". Schema only: the view adds
# the token to the row's data itself.
class TokenCreatedOutputSerializer(TokenOutputSerializer):
    token = serializers.CharField(
        help_text="The token: shown in this answer only, never again. Send it as "
        "`Authorization: Token <token>`."
    )


# The body that makes a token: {"name": "CI", "expires_in_days": 90}, both optional. Input
# only, never bound to an instance (hence None).
class TokenCreateInputSerializer(serializers.Serializer[None]):
    name = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True, help_text="What it is for."
    )
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=tokens.TOKEN_DAYS_MAX,
        required=False,
        default=tokens.TOKEN_DAYS_DEFAULT,
    )


class SignedInWithSession(BasePermission):
    """Tokens are made from a console session (or `manage.py create_api_token`), never with
    another token: a leaked token must not be able to outlive its expiry by minting more."""

    message = "Make tokens while signed in to the console, not with a token."

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.successful_authenticator, SessionAuthentication)


_403 = OpenApiResponse(description="Not signed in")


class TokenListApi(APIView):
    class Pagination(CursorPage):
        # A user has at most TOKENS_PER_USER_MAX tokens, but every API list pages alike.
        ordering = ("-created", "-id")

    # The schema describes the GET answer as this page ({next, previous, results}).
    pagination_class = Pagination

    def get_permissions(self) -> list[Any]:
        permissions = list(super().get_permissions())
        if self.request.method == "POST":
            permissions.append(SignedInWithSession())
        return permissions

    @extend_schema(
        operation_id="tokens_list",
        summary="List your API tokens that still work (never the tokens themselves)",
        responses={200: TokenOutputSerializer(many=True), 403: _403},
        tags=["tokens"],
    )
    def get(self, request: Request) -> Response:
        paginator = self.Pagination()
        rows = paginator.paginate_queryset(
            tokens.api_token_list(user=signed_in_user(request)), request, view=self
        )
        # many=True makes DRF's __new__ return a ListSerializer over the rows, but the stubs
        # type `instance` as one row either way (typeddjango/djangorestframework-stubs#827).
        data = TokenOutputSerializer(rows, many=True).data  # type: ignore[arg-type]
        return paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="tokens_create",
        summary="Make an API token; the answer is the only time it is shown",
        description="Needs a console session (a token can't make tokens). The token expires "
        f"after `expires_in_days` (default {tokens.TOKEN_DAYS_DEFAULT}).",
        request=TokenCreateInputSerializer,
        responses={
            201: TokenCreatedOutputSerializer,
            400: OpenApiResponse(description="Invalid input"),
            403: OpenApiResponse(description="Not signed in, or signed in with a token"),
            409: OpenApiResponse(description="Too many tokens: revoke one first"),
        },
        tags=["tokens"],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row, token = tokens.api_token_create(
            user=signed_in_user(request),
            name=serializer.validated_data["name"],
            days=serializer.validated_data["expires_in_days"],
        )
        data = {**TokenOutputSerializer(row).data, "token": token}
        return Response(data, status=status.HTTP_201_CREATED)


class TokenDetailApi(APIView):
    @extend_schema(
        operation_id="tokens_destroy",
        summary="Revoke one of your API tokens",
        responses={204: None, 403: _403, 404: None},
        tags=["tokens"],
    )
    def delete(self, request: Request, code: UUID) -> Response:
        tokens.api_token_revoke(user=signed_in_user(request), code=code)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenRevokeAllApi(APIView):
    @extend_schema(
        operation_id="tokens_revoke_all",
        summary="Revoke all your API tokens (sign every script out)",
        request=None,
        responses={204: None, 403: _403},
        tags=["tokens"],
    )
    def post(self, request: Request) -> Response:
        tokens.api_token_revoke_all(user=signed_in_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
