"""REST API routes for integrations (included under /api/v1/)."""

from __future__ import annotations

from django.urls import include, path, register_converter

from integrations import api


class AtsRecordIdConverter:
    """An ATS record id in a URL (a posting id): 1 to 64 printable characters and no slash. A
    control character such as NUL never reaches a query (PostgreSQL refuses NUL in text)."""

    regex = r"[^/\x00-\x1f\x7f]{1,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AtsRecordIdConverter, "ats_id")


urlpatterns = [
    path("integrations/", api.IntegrationListApi.as_view(), name="api-integration-list"),
    path(
        "integrations/<uuid:public_id>/",
        api.IntegrationDetailApi.as_view(),
        name="api-integration-detail",
    ),
    path("", include("integrations.invites.api_urls")),
    path(
        "integrations/<uuid:public_id>/status/",
        api.IntegrationStatusApi.as_view(),
        name="api-integration-status",
    ),
    path(
        "integrations/<uuid:public_id>/role-mappings/",
        api.RoleMappingListApi.as_view(),
        name="api-role-mapping-list",
    ),
    path(
        "integrations/<uuid:public_id>/role-mappings/<ats_id:posting_id>/",
        api.RoleMappingDetailApi.as_view(),
        name="api-role-mapping-detail",
    ),
]
