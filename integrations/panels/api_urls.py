"""The interview panels' API routes (included by ``integrations/api_urls.py``)."""

from __future__ import annotations

from django.urls import path

from integrations.panels import api

urlpatterns = [
    path(
        "integrations/<uuid:public_id>/interview-panels/",
        api.InterviewPanelSettingsApi.as_view(),
        name="api-integration-interview-panels",
    ),
]
