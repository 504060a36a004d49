"""Django admin for integrations: secrets are write-only, the audit log is read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from integrations.connection.services import lifecycle
from integrations.models import (
    AtsIntegration,
    AtsPosting,
    AuditEntry,
    AutoInviteRule,
    IntegrationStatus,
    InterviewPanel,
    InvitationEmail,
    InviteBatch,
    InviteItem,
    KeyCheck,
    OpportunityLink,
    PostingSyncRun,
    RoleMapping,
    WebhookSubscription,
)
from integrations.sentences import sentences_join
from karatlever.accounts.http import signed_in_user


class AtsIntegrationAdminForm(forms.ModelForm[AtsIntegration]):
    """The encrypted fields are not model fields of this form: a new key is typed into
    ``new_api_key`` (never rendered back) and saved through the same service as the console."""

    new_api_key = forms.CharField(
        label="Replace API key",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only. Leave blank to keep the current key. The new key is checked "
        "with Lever before it replaces a working one.",
    )

    class Meta:
        model = AtsIntegration
        fields = ["enabled", "rate_limit_per_second", "rate_limit_burst"]

    def clean_new_api_key(self) -> str | None:
        return lifecycle.api_key_normalize(self.cleaned_data.get("new_api_key"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        per_second, burst = cleaned.get("rate_limit_per_second"), cleaned.get("rate_limit_burst")
        if per_second is not None and burst is not None:
            try:
                lifecycle.rate_limit_validate(per_second=per_second, burst=burst)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field, errors)
        return cleaned


@admin.register(AtsIntegration)
class AtsIntegrationAdmin(admin.ModelAdmin[AtsIntegration]):
    form = AtsIntegrationAdminForm
    list_display = ["public_id", "group", "ats", "enabled", "region", "masked_key", "key_status"]
    list_filter = ["ats", "enabled", "region", "key_status"]
    search_fields = ["group__name", "group__organization__name", "ats_user_id"]
    list_select_related = ["group"]
    readonly_fields = [
        "public_id",
        "group",
        "ats",
        "region",
        "ats_user_id",
        "masked_key",
        "api_key_fingerprint",
        "api_key_set_at",
        "pending_key",
        "key_status",
        "key_checked_at",
        "recent_key_checks",
        "last_success_at",
        "last_error",
        "last_error_at",
        "created_by",
        "created_at",
        "updated_at",
    ]
    fieldsets = (
        (None, {"fields": ("public_id", "group", "ats", "enabled", "region", "ats_user_id")}),
        (
            "API key",
            {
                "fields": (
                    "masked_key",
                    "api_key_fingerprint",
                    "api_key_set_at",
                    "pending_key",
                    "new_api_key",
                    "key_status",
                    "key_checked_at",
                    "recent_key_checks",
                )
            },
        ),
        ("Rate limit", {"fields": ("rate_limit_per_second", "rate_limit_burst")}),
        (
            "Health",
            {"fields": ("last_success_at", "last_error", "last_error_at")},
        ),
        ("History", {"fields": ("created_by", "created_at", "updated_at")}),
    )

    @admin.display(description="API key")
    def masked_key(self, obj: AtsIntegration) -> str:
        return obj.masked_api_key or "—"

    @admin.display(description="Key checks")
    def recent_key_checks(self, obj: AtsIntegration) -> str:
        """The last few KeyCheck rows (they hold last 4 characters, never a key)."""
        rows = KeyCheck.objects.filter(integration=obj).order_by("-id")[:5]
        lines = [
            f"{row.requested_at:%Y-%m-%d %H:%M} {row.get_subject_display()} "
            f"••••{row.api_key_last4}: {row.outcome or 'running'}"
            + (f" ({row.summary})" if row.summary else "")
            for row in rows
        ]
        return "\n".join(lines) or "—"

    @admin.display(description="Pending key")
    def pending_key(self, obj: AtsIntegration) -> str:
        return f"••••{obj.pending_api_key_last4}" if obj.pending_api_key_last4 else "—"

    # The change form takes a new API key: error reports show neither the posted key nor any
    # local variable of the view or what it calls (the form, save_model, the services).
    @method_decorator(sensitive_post_parameters("new_api_key"))
    @sensitive_variables()
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_queryset(self, request: HttpRequest) -> Any:
        # Nothing here shows a key, so don't decrypt them at all.
        return super().get_queryset(request).defer("api_key", "pending_api_key")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Integrations are created in the console, where the group and audit trail are set.
        return False

    def save_model(
        self, request: HttpRequest, obj: AtsIntegration, form: Any, change: bool
    ) -> None:
        # Every change goes through the services, so the audit log sees admin edits too.
        actor = signed_in_user(request)
        if "enabled" in form.changed_data:
            toggle = lifecycle.integration_enable if obj.enabled else lifecycle.integration_disable
            toggle(integration=obj, actor=actor)
        if {"rate_limit_per_second", "rate_limit_burst"} & set(form.changed_data):
            lifecycle.integration_rate_limit_set(
                integration=obj,
                actor=actor,
                per_second=obj.rate_limit_per_second,
                burst=obj.rate_limit_burst,
            )
        new_key = form.cleaned_data.get("new_api_key")
        if new_key:
            try:
                lifecycle.integration_settings_update(
                    integration=obj,
                    actor=actor,
                    api_key=new_key,
                    ats_user_id=obj.ats_user_id,
                    region=obj.region,
                )
            except ValidationError as exc:
                self.message_user(request, sentences_join(exc.messages), level=messages.ERROR)
            else:
                self.message_user(request, "New API key saved; checking it with Lever.")

    def delete_model(self, request: HttpRequest, obj: AtsIntegration) -> None:
        lifecycle.integration_delete(integration=obj, actor=signed_in_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset.select_related("group"):
            lifecycle.integration_delete(integration=obj, actor=signed_in_user(request))


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin[WebhookSubscription]):
    """Read-only: signature tokens are set in the console and shown as last 4 at most."""

    list_display = ["integration", "event", "token", "lever_webhook_id", "last_delivery_at"]
    list_filter = ["event"]
    list_select_related = ["integration__group"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("signature_token", "previous_signature_token")

    fields = ("integration", "event", "token", "lever_webhook_id", "last_delivery_at", "updated_at")
    readonly_fields = fields

    @admin.display(description="Signature token")
    def token(self, obj: WebhookSubscription) -> str:
        return f"••••{obj.signature_token_last4}" if obj.signature_token_last4 else "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OpportunityLink)
class OpportunityLinkAdmin(admin.ModelAdmin[OpportunityLink]):
    list_display = ["opportunity_id", "integration", "candidacy", "created_at"]
    search_fields = ["opportunity_id", "contact_id", "candidacy__candidate_email"]
    list_select_related = ["integration__group", "candidacy__role"]
    raw_id_fields = ["integration", "candidacy"]
    readonly_fields = ["created_at"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    """Read-only: the audit log is written by services only."""

    list_display = ["created_at", "group", "integration_public_id", "actor", "action", "summary"]
    list_filter = ["action"]
    search_fields = ["summary", "integration_public_id", "actor__email"]
    list_select_related = ["group", "actor"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- invites: read-only; written by invites/services/ -------------------------------------------


class InviteItemInline(admin.TabularInline[InviteItem, InviteBatch]):
    model = InviteItem
    fields = ("position", "url", "status", "code", "message", "opportunity_id", "candidacy")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(InviteBatch)
class InviteBatchAdmin(admin.ModelAdmin[InviteBatch]):
    """Read-only: a paste of candidate URLs and what became of each."""

    list_display = [
        "public_id",
        "group",
        "created_by",
        "status",
        "processed",
        "total",
        "created_at",
    ]
    list_filter = ["status"]
    list_select_related = ["group", "created_by"]
    readonly_fields = [
        "public_id",
        "group",
        "integration",
        "created_by",
        "status",
        "processed",
        "total",
        "created_at",
        "finished_at",
    ]
    inlines = [InviteItemInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(InvitationEmail)
class InvitationEmailAdmin(admin.ModelAdmin[InvitationEmail]):
    """Read-only: invitation emails and how each ended (queued, sent, failed with the
    reason); the worker sends and retries them (invites/services/emails.py)."""

    list_display = [
        "id",
        "to",
        "candidacy",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["to", "candidacy__code"]
    list_select_related = ["candidacy__role"]
    readonly_fields = [
        "candidacy",
        "to",
        "subject",
        "body",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "last_error",
        "created_at",
        "sent_at",
        "finished_at",
    ]
    exclude = ["html_body"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AutoInviteRule)
class AutoInviteRuleAdmin(admin.ModelAdmin[AutoInviteRule]):
    """Read-only: admins change the automatic invite on the integration's page (audited)."""

    list_display = ["integration", "enabled", "stage_name", "last_action_at", "last_action"]
    list_select_related = ["integration__group"]
    readonly_fields = [
        "integration",
        "enabled",
        "stage_id",
        "stage_name",
        "posting_ids",
        "origins",
        "role",
        "last_action_at",
        "last_action",
        "updated_at",
    ]


@admin.register(IntegrationStatus)
class IntegrationStatusAdmin(admin.ModelAdmin[IntegrationStatus]):
    """Read-only: snapshots are computed by integrations/status/services.py (the console's
    Status page shows them; "Check again" there recomputes)."""

    list_display = ["integration", "label", "computed_at", "requested_at", "alert_state"]
    list_filter = ["level", "alert_state"]
    list_select_related = ["integration__group"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- role matching: read-only (the roles page and the sync service change these) -------------


class _ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PostingSyncRun)
class PostingSyncRunAdmin(_ReadOnlyAdmin):
    list_display = [
        "id",
        "integration",
        "kind",
        "status",
        "requested_at",
        "finished_at",
        "pages_done",
        "postings_seen",
        "postings_removed",
        "attempts",
    ]
    list_filter = ["kind", "status"]
    list_select_related = ["integration__group"]


@admin.register(AtsPosting)
class AtsPostingAdmin(_ReadOnlyAdmin):
    list_display = ["title", "integration", "state", "posting_id", "synced_at", "removed_at"]
    list_filter = ["state", "confidential"]
    search_fields = ["title", "posting_id"]
    list_select_related = ["integration__group"]


@admin.register(RoleMapping)
class RoleMappingAdmin(_ReadOnlyAdmin):
    list_display = ["posting", "role", "method", "decided_by", "decided_at"]
    list_filter = ["method"]
    search_fields = ["posting__title", "posting__posting_id", "role__title"]
    list_select_related = ["posting", "role", "decided_by"]


# The Karat interview on the ATS's schedule (integrations/panels/): read-only, the outbox
# rows that wrote them are on the outbound activity page.
@admin.register(InterviewPanel)
class InterviewPanelAdmin(_ReadOnlyAdmin):
    list_display = [
        "id",
        "integration",
        "candidacy",
        "opportunity_id",
        "remote_id",
        "state",
        "scheduled_at",
        "duration_minutes",
        "time_zone",
    ]
    list_filter = ["state"]
    search_fields = ["opportunity_id", "remote_id"]
    list_select_related = ["integration__group", "candidacy__role"]
