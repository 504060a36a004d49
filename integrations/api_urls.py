"""REST API routes for integrations (included under /api/v1/), each feature's from its folder."""

from __future__ import annotations

from django.urls import include, path

from integrations.connection import api
from integrations.status import api as status_api

urlpatterns = [
    path("integrations/", api.IntegrationListApi.as_view(), name="api-integration-list"),
    path(
        "integrations/<uuid:public_id>/",
        api.IntegrationDetailApi.as_view(),
        name="api-integration-detail",
    ),
    path("", include("integrations.invites.api_urls")),
    path(
        "integrations/<uuid:public_id>/status/",
        status_api.IntegrationStatusApi.as_view(),
        name="api-integration-status",
    ),
    path("", include("integrations.roles.api_urls")),
]
