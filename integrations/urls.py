"""ATS integration console pages."""

from __future__ import annotations

app_name = "integrations"

urlpatterns: list = []
