"""Invite pages, mounted at /candidates/invite/ (above the hiring pages' <uuid:code>)."""

from __future__ import annotations

from django.urls import path

from integrations.invites import views

app_name = "invites"

urlpatterns = [
    path("", views.invite, name="new"),
    path("<uuid:public_id>/", views.batch, name="batch"),
    path("<uuid:public_id>/progress/", views.batch_progress, name="batch-progress"),
    path("<uuid:public_id>/confirm/", views.batch_confirm, name="batch-confirm"),
]
