"""Django admin for Karat's hiring domain: roles, candidacies and their read-only timeline."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from karatlever.hiring.models import Candidacy, CandidacyEvent, Role


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin[Role]):
    list_display = ["title", "requisition_code", "group", "active", "created_at"]
    list_filter = ["active", "group__organization"]
    search_fields = ["title", "requisition_code", "group__name"]
    list_select_related = ["group"]
    readonly_fields = ["code", "created_at", "updated_at"]


class CandidacyEventInline(admin.TabularInline[CandidacyEvent, Candidacy]):
    """The timeline is history: written by services, never edited by hand."""

    model = CandidacyEvent
    extra = 0
    can_delete = False
    ordering = ["-occurred_at", "-id"]
    fields = ("occurred_at", "kind", "source", "actor", "summary", "detail")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Candidacy | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Candidacy | None = None) -> bool:
        return False


@admin.register(Candidacy)
class CandidacyAdmin(admin.ModelAdmin[Candidacy]):
    list_display = [
        "candidate_name",
        "candidate_email",
        "role",
        "group",
        "karat_status",
        "ats_stage_name",
        "ats_archived",
        "ats_hired",
        "created_at",
    ]
    list_filter = ["karat_status", "ats_archived", "ats_hired", "group__organization"]
    search_fields = ["candidate_name", "candidate_email", "role__title"]
    list_select_related = ["role", "group"]
    raw_id_fields = ["role", "group"]
    readonly_fields = [
        "code",
        "ats_posting_id",
        "ats_stage_id",
        "ats_stage_name",
        "ats_archived",
        "ats_archive_reason_id",
        "ats_archive_reason_name",
        "ats_archive_reason_hired",
        "ats_hired",
        "ats_state_version",
        "ats_state_updated_at",
        "created_at",
        "updated_at",
        # Set by the "scheduled" milestone with its time (services.candidacy_milestone_record).
        "interview_duration_minutes",
        "interview_timezone",
        "interview_url",
    ]
    inlines = [CandidacyEventInline]
