"""The roles page's routes, part of the "integrations" namespace (``integrations/urls.py``)."""

from __future__ import annotations

from django.urls import path

from integrations.roles import views

# No app_name: integrations/urls.py lists these under its own namespace (``integrations:roles``…).
urlpatterns = [
    path("<uuid:public_id>/roles/", views.integration_roles, name="roles"),
    path("<uuid:public_id>/roles/sync/", views.integration_roles_sync, name="roles-sync"),
    path(
        "<uuid:public_id>/roles/sync/progress/",
        views.integration_roles_sync_progress,
        name="roles-sync-progress",
    ),
    path("<uuid:public_id>/roles/map/", views.integration_roles_map, name="roles-map"),
    # A posting's role picker when there are too many roles for a drop-down (search).
    path("<uuid:public_id>/roles/choose/", views.integration_roles_choose, name="roles-choose"),
    path("<uuid:public_id>/roles/create/", views.integration_roles_create, name="roles-create"),
]
