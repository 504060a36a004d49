"""Inbound webhook routes: ``/webhooks/<ats>/<integration id>/``, with or without the slash."""

from __future__ import annotations

from django.urls import path

from webhooks.views import WebhookReceiveAliasApi, WebhookReceiveApi

app_name = "webhooks"

urlpatterns = [
    path("<slug:ats>/<uuid:public_id>/", WebhookReceiveApi.as_view(), name="receive"),
    # Some senders drop the slash; APPEND_SLASH can't redirect a POST.
    path("<slug:ats>/<uuid:public_id>", WebhookReceiveAliasApi.as_view()),
]
