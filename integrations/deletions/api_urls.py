"""The deletion policy's REST API route (included by ``integrations/api_urls.py``)."""

from __future__ import annotations

from django.urls import path

from integrations.deletions import api

urlpatterns = [
    path(
        "integrations/<uuid:public_id>/deletion-policy/",
        api.DeletionPolicyApi.as_view(),
        name="api-deletion-policy",
    ),
]
