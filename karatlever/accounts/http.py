"""Request types for views that require a signed-in user (healthchecks' hc/accounts/http.py)."""

from __future__ import annotations

from django.http import HttpRequest

from karatlever.accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """A request whose ``user`` is a signed-in ``User`` (views behind login_required)."""

    user: User
