"""REST API routes for integrations (included under /api/v1/), each feature's from its folder."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("integrations.connection.api_urls")),
    path("", include("integrations.invites.api_urls")),
    path("", include("integrations.status.api_urls")),
    path("", include("integrations.roles.api_urls")),
    path("", include("integrations.late_links.api_urls")),
    path("", include("integrations.panels.api_urls")),
    path("", include("integrations.hiring_team.api_urls")),
    path("", include("integrations.feedback.api_urls")),
    path("", include("integrations.deletions.api_urls")),
]
