"""The deletion policy's save (under /settings/ats-integrations/<id>/)."""

from __future__ import annotations

from django.urls import path

from integrations.deletions import views

app_name = "deletions"

urlpatterns = [
    path("<uuid:public_id>/deletions/", views.policy, name="policy"),
]
