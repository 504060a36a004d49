"""REST API v1 routes, gathered from each app's api module."""

from __future__ import annotations

from django.urls import include, path

from karatlever.accounts import api as accounts_api

urlpatterns = [
    path("", include("integrations.api_urls")),
    path("", include("karatlever.hiring.api_urls")),
    # The signed-in user's own API tokens.
    path("tokens/", accounts_api.TokenListApi.as_view(), name="api-token-list"),
    path(
        "tokens/revoke-all/", accounts_api.TokenRevokeAllApi.as_view(), name="api-token-revoke-all"
    ),
    path("tokens/<uuid:code>/", accounts_api.TokenDetailApi.as_view(), name="api-token-detail"),
]
