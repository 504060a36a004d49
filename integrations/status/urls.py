"""The status page's routes, in the "integrations" URL namespace (``integrations/urls.py``
adds them to its own list)."""

from __future__ import annotations

from django.urls import path

from integrations.status import views

urlpatterns = [
    path("<uuid:public_id>/status/", views.integration_status, name="status"),
    path("<uuid:public_id>/status/live/", views.integration_status_live, name="status-live"),
    path(
        "<uuid:public_id>/status/refresh/",
        views.integration_status_refresh,
        name="status-refresh",
    ),
]
