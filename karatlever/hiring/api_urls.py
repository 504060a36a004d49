"""REST API routes for candidacies (included under /api/v1/)."""

from __future__ import annotations

from django.urls import path

from karatlever.hiring import api

urlpatterns = [
    path("candidacies/", api.CandidacyListApi.as_view(), name="api-candidacy-list"),
    path("candidacies/<uuid:code>/", api.CandidacyDetailApi.as_view(), name="api-candidacy-detail"),
    path(
        "candidacies/<uuid:code>/events/",
        api.CandidacyEventCreateApi.as_view(),
        name="api-candidacy-event-create",
    ),
]
