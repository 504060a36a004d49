"""The feedback-form option's page (under /settings/ats-integrations/<id>/)."""

from __future__ import annotations

from django.urls import path

from integrations.feedback import views

app_name = "feedback"

urlpatterns = [
    path("<uuid:public_id>/feedback-form/", views.save, name="save"),
]
