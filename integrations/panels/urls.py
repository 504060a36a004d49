"""The interview panels' console routes (under /settings/ats-integrations/)."""

from __future__ import annotations

from django.urls import path

from integrations.panels import views

app_name = "panels"

urlpatterns = [
    path("<uuid:public_id>/interview-panels/", views.save, name="save"),
]
