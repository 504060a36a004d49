"""Who may call the integrations' REST API, shared by every feature's ``api.py``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from karatlever.accounts.http import signed_in_user
from karatlever.accounts.selectors import membership_get


class IsOrganizationAdmin(BasePermission):
    """Admins of an organization; recruiters and users without a membership get 403."""

    message = "Only organization admins can read or change ATS integration settings."

    def has_permission(self, request: Request, view: Any) -> bool:
        membership = membership_get(user=signed_in_user(request))
        return membership is not None and membership.is_admin


ERRORS = {
    400: OpenApiResponse(description="Invalid input: {error: {code, message, fields}}"),
    403: OpenApiResponse(description="Not signed in, or not an organization admin"),
}


class IsMember(BasePermission):
    """Recruiters and admins of an organization (the groups they may see decide the rest)."""

    message = "Only members of an organization can invite candidates."

    def has_permission(self, request: Request, view: Any) -> bool:
        return membership_get(user=signed_in_user(request)) is not None
