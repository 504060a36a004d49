"""Console routes of "Post candidacy updates" (under /settings/ats-integrations/<id>/)."""

from __future__ import annotations

from django.urls import path

from integrations.outbound import views

app_name = "outbound"

urlpatterns = [
    path("<uuid:public_id>/outbound/settings/", views.settings_save, name="settings-save"),
    path("<uuid:public_id>/outbound/preview/", views.preview, name="preview"),
    path("<uuid:public_id>/outbound/retry/", views.update_retry, name="retry"),
    path("<uuid:public_id>/outbound/give-up/", views.update_give_up, name="give-up"),
]
