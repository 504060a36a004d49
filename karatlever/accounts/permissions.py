"""View helpers that enforce tenancy (404) and roles (403) in one place."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse

from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.selectors import membership_get

ViewFunc = Callable[..., HttpResponse]


def member_required(view: ViewFunc) -> ViewFunc:
    """Logged in and a member of an organization; sets request.membership."""

    @login_required
    @wraps(view)
    def wrapper(request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # login_required has checked the user; the membership is attached here, before the view.
        membership = membership_get(user=request.user)
        if membership is None:
            raise PermissionDenied("Your account is not a member of any organization.")
        request.membership = membership
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: ViewFunc) -> ViewFunc:
    """Organization admins only: a recruiter gets a clear 403 page."""

    @member_required
    @wraps(view)
    def wrapper(request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.membership.is_admin:
            raise PermissionDenied("Only organization admins can open ATS integration settings.")
        return view(request, *args, **kwargs)

    return wrapper
