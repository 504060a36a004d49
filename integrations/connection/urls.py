"""The connection's pages, in the "integrations" URL namespace (``integrations/urls.py`` adds
them to its own list): the list, Overview, Settings, key check, region, enable and delete."""

from __future__ import annotations

from django.urls import path

from integrations.connection import views

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
]
