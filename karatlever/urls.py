"""URL configuration: console pages, webhooks, REST API, health."""

from __future__ import annotations

from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from karatlever import views
from karatlever.observability.views import metrics_view

# The console's error pages, or JSON in the API's error shape under /api/ (karatlever/views.py).
handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error

urlpatterns = [
    # First: Lever's deliveries are the busiest route, and resolving stops at the first match.
    path("webhooks/", include("webhooks.urls")),
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/", include("karatlever.accounts.urls")),
    path("admin/", admin.site.urls),
    # Above the hiring pages: /candidates/invite/ must win over /candidates/<uuid:code>/.
    path("candidates/invite/", include("integrations.invites.urls")),
    # Attach / detach a Lever link on a candidacy's page (integrations/late_links).
    path("", include("integrations.late_links.urls")),
    path("", include("karatlever.hiring.urls")),
    path("settings/ats-integrations/", include("integrations.urls")),
    # Webhook setup and activity pages live under each integration's URL space too.
    path("settings/ats-integrations/", include("webhooks.console_urls")),
    path("settings/ats-integrations/", include("integrations.auto_invites.urls")),
    path("settings/ats-integrations/", include("integrations.deletions.urls")),
    # Post candidacy updates: settings save/preview and the activity page's actions.
    path("settings/ats-integrations/", include("integrations.outbound.urls")),
    # The Karat interview on Lever's schedule: its setting's save.
    path("settings/ats-integrations/", include("integrations.panels.urls")),
    # Hiring team from the ATS: its Settings section's form.
    path("settings/ats-integrations/", include("integrations.hiring_team.urls")),
    # Results as a Lever feedback form (opt-in): the Settings section's save.
    path("settings/ats-integrations/", include("integrations.feedback.urls")),
    path("api/v1/", include("karatlever.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI from drf-spectacular-sidecar's static files; the split view serves its init
    # script as a file (?script), so the Content-Security-Policy needs no inline script.
    # Its stylesheet draws a few icons from data: URLs.
    path(
        "api/docs/",
        csp_update({"img-src": ["data:"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    path("", include("karatlever.health")),
    # Prometheus metrics, for a scraper with METRICS_BEARER_TOKEN (404 otherwise).
    path("metrics", metrics_view, name="metrics"),
]
