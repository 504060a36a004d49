"""ATS integration console pages (under /settings/ats-integrations/), one URL namespace
("integrations") composed from the feature folders that have pages there."""

from __future__ import annotations

from integrations.connection import urls as connection_urls
from integrations.roles import urls as roles_urls
from integrations.status import urls as status_urls

app_name = "integrations"

urlpatterns = [
    *connection_urls.urlpatterns,
    *roles_urls.urlpatterns,
    *status_urls.urlpatterns,
]
