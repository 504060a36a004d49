"""Template context: the current membership for navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from karatlever.accounts.selectors import membership_get


def membership(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"membership": None}
    return {"membership": getattr(request, "membership", None) or membership_get(user=user)}
