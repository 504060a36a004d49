"""The feedback-form option's REST API routes (included by ``integrations/api_urls.py``)."""

from __future__ import annotations

from django.urls import path

from integrations.feedback import api

urlpatterns = [
    path(
        "integrations/<uuid:public_id>/feedback-form/",
        api.FeedbackFormApi.as_view(),
        name="api-feedback-form",
    ),
]
