"""The status page's API route (included by ``integrations/api_urls.py``)."""

from __future__ import annotations

from django.urls import path

from integrations.status import api

urlpatterns = [
    path(
        "integrations/<uuid:public_id>/status/",
        api.IntegrationStatusApi.as_view(),
        name="api-integration-status",
    ),
]
