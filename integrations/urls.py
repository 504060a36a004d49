"""ATS integration console pages (under /settings/ats-integrations/)."""

from __future__ import annotations

from django.urls import path

from integrations.connection import views
from integrations.status import urls as status_urls

app_name = "integrations"

# ``public_id`` is the integration's public UUID (``AtsIntegration.public_id``), as in
# the webhook URLs.
urlpatterns = [
    path("", views.integration_list, name="list"),
    path("<uuid:public_id>/", views.integration_detail, name="detail"),
    path("<uuid:public_id>/settings/", views.integration_settings, name="settings"),
    path("<uuid:public_id>/settings/check/", views.integration_check_key, name="check-key"),
    path(
        "<uuid:public_id>/settings/region/",
        views.integration_switch_region,
        name="switch-region",
    ),
    path("<uuid:public_id>/enabled/", views.integration_set_enabled, name="set-enabled"),
    path("<uuid:public_id>/delete/", views.integration_delete, name="delete"),
    path("<uuid:public_id>/roles/", views.integration_roles, name="roles"),
    path("<uuid:public_id>/roles/sync/", views.integration_roles_sync, name="roles-sync"),
    path(
        "<uuid:public_id>/roles/sync/progress/",
        views.integration_roles_sync_progress,
        name="roles-sync-progress",
    ),
    path("<uuid:public_id>/roles/map/", views.integration_roles_map, name="roles-map"),
    path("<uuid:public_id>/roles/create/", views.integration_roles_create, name="roles-create"),
]
urlpatterns += status_urls.urlpatterns
