"""The hiring team's API routes (included by ``integrations/api_urls.py``)."""

from __future__ import annotations

from django.urls import path

from integrations.hiring_team import api

urlpatterns = [
    path(
        "integrations/<uuid:public_id>/hiring-team/",
        api.HiringTeamSettingsApi.as_view(),
        name="api-hiring-team-settings",
    ),
]
