"""REST API routes for integrations."""

from __future__ import annotations

urlpatterns: list = []
