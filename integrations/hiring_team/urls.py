"""The hiring team's console route (under /settings/ats-integrations/<id>/)."""

from __future__ import annotations

from django.urls import path

from integrations.hiring_team import views

app_name = "hiring-team"

urlpatterns = [
    path("<uuid:public_id>/hiring-team/", views.update, name="update"),
]
