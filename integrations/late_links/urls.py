"""Late-link pages: the candidacy's link (under /candidates/<code>/) and the integration's
setting (under /settings/ats-integrations/<id>/)."""

from __future__ import annotations

from django.urls import path

from integrations.late_links import views

app_name = "late-links"

urlpatterns = [
    path("candidates/<uuid:code>/lever-link/", views.attach, name="attach"),
    path("candidates/<uuid:code>/lever-link/detach/", views.detach, name="detach"),
    path(
        "settings/ats-integrations/<uuid:public_id>/late-links/",
        views.settings_save,
        name="settings",
    ),
]
