"""The automatic invite's page (under /settings/ats-integrations/<id>/)."""

from __future__ import annotations

from django.urls import path

from integrations.auto_invites import views

app_name = "auto-invite"

urlpatterns = [
    path("<uuid:public_id>/automatic-invite/", views.edit, name="edit"),
    # The posting filter's search-as-you-type matches (htmx).
    path("<uuid:public_id>/automatic-invite/postings/", views.postings, name="postings"),
]
