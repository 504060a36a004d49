"""Role matching's REST API routes (included by ``integrations/api_urls.py``)."""

from __future__ import annotations

from django.urls import path, register_converter

from integrations.roles import api


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
