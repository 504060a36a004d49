"""REST API route of late links (included under /api/v1/)."""

from __future__ import annotations

from django.urls import path

from integrations.late_links import api

urlpatterns = [
    path(
        "candidacies/<uuid:code>/lever-link/",
        api.CandidacyLeverLinkApi.as_view(),
        name="api-candidacy-lever-link",
    ),
    path(
        "integrations/<uuid:public_id>/late-links/",
        api.LateLinkSettingsApi.as_view(),
        name="api-integration-late-links",
    ),
]
