"""Read-only admin for the webhook inbox, with the same "process again" action as the console."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from karatlever.accounts.http import signed_in_user
from webhooks.models import WebhookDelivery, WebhookRejection
from webhooks.selectors import payload_masked
from webhooks.services import processing


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = (
        "id",
        "integration",
        "event",
        "opportunity_id",
        "status",
        "attempts",
        "received_at",
    )
    list_filter = ("status", "event")
    list_select_related = ["integration__group"]
    search_fields = ("opportunity_id",)
    date_hierarchy = "received_at"
    actions = ["process_again"]
    # The raw payload holds the delivery token and signature: show the masked copy only.
    exclude = ("payload", "token")
    readonly_fields = (
        "integration",
        "event",
        "opportunity_id",
        "triggered_at_ms",
        "masked_payload",
        "status",
        "outcome",
        "error",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "received_at",
        "processed_at",
        "payload_pruned_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        # The changelist never shows the payload (up to the body limit per row); the detail
        # page loads it for the masked copy with one extra query.
        return super().get_queryset(request).defer("payload")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="Payload (token and signature masked)")
    def masked_payload(self, obj: WebhookDelivery) -> str:
        if obj.payload is None:
            return "—"
        text = json.dumps(payload_masked(obj.payload), ensure_ascii=False, indent=2, sort_keys=True)
        return format_html("<pre>{}</pre>", text)

    @admin.action(description="Process again")
    def process_again(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        queued = sum(
            processing.delivery_replay(delivery=d, actor=signed_in_user(request)) for d in queryset
        )
        self.message_user(request, f"{queued} deliveries queued again.", messages.SUCCESS)


@admin.register(WebhookRejection)
class WebhookRejectionAdmin(admin.ModelAdmin[WebhookRejection]):
    list_display = ("integration", "reason", "hour", "count", "last_at")
    list_filter = ("reason",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
