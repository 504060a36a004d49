"""Console pages of the webhooks app (under /settings/ats-integrations/<id>/)."""

from __future__ import annotations

app_name = "webhooks-console"

urlpatterns: list = []
