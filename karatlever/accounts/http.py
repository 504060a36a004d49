"""Request types that say who is signed in (healthchecks ``hc/accounts/http.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails
    from rest_framework.request import Request

    from karatlever.accounts.models import Membership, User


class AuthenticatedHttpRequest(HttpRequest):
    """A console request behind ``member_required`` / ``admin_required``: a signed-in user
    with a membership (the decorator sets ``membership``)."""

    user: User
    membership: Membership
    # django-htmx's middleware: whether the request came from htmx, and how.
    htmx: HtmxDetails


def signed_in_user(request: HttpRequest | Request) -> User:
    """The user of a request that must be signed in: a DRF view behind ``IsAuthenticated``, or
    a Django admin view (staff only). Typed for callers whose request type can't say so."""
    return cast("User", request.user)
