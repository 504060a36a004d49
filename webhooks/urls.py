"""Inbound webhook routes."""

from __future__ import annotations

from django.urls import path

from webhooks.views import LeverWebhookReceiveApi

app_name = "webhooks"

urlpatterns = [
    path("lever/<uuid:integration_id>/", LeverWebhookReceiveApi.as_view(), name="lever-receive"),
]
