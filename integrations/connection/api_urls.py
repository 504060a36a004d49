"""The connection's API routes (included by ``integrations/api_urls.py``)."""

from __future__ import annotations

from django.urls import path

from integrations.connection import api

urlpatterns = [
    path("integrations/", api.IntegrationListApi.as_view(), name="api-integration-list"),
    path(
        "integrations/<uuid:public_id>/",
        api.IntegrationDetailApi.as_view(),
        name="api-integration-detail",
    ),
]
