"""REST API v1 routes, gathered from each app's api module."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("integrations.api_urls")),
]
