"""Reads for ATS integrations, always scoped to what the user may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from integrations.models import AtsIntegration, AuditEntry
from karatlever.accounts.selectors import group_list_visible

if TYPE_CHECKING:
    from karatlever.accounts.models import User

KeyStatus = AtsIntegration.KeyStatus


def integration_list(*, user: User) -> QuerySet[AtsIntegration]:
    """Integrations of the groups the user may see (none for a user without a membership)."""
    return (
        AtsIntegration.objects.filter(group__in=group_list_visible(user=user))
        .select_related("group")
        .order_by("group__name", "ats")
    )


def integration_get(*, user: User, public_id: UUID | str) -> AtsIntegration:
    """The integration, or Http404 when it belongs to another organization or a group the user
    can't see (404, never 403: we don't confirm it exists)."""
    return get_object_or_404(integration_list(user=user), public_id=public_id)


def audit_entry_list(*, integration: AtsIntegration, limit: int = 100) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(integration_public_id=integration.public_id).select_related(
        "actor"
    )[:limit]


@dataclass(frozen=True)
class OverallStatus:
    level: str  # ok | warn | bad | muted (console.css badge-* names)
    label: str
    explanation: str


def integration_overall_status(*, integration: AtsIntegration) -> OverallStatus:
    """Basic overall status from the enabled flag and the key check (the full status page
    with per-feature health comes later)."""
    if not integration.enabled:
        return OverallStatus(
            "muted", "Disabled", "The integration is off: Karat makes no Lever calls."
        )
    status = integration.key_status
    if not integration.has_api_key or status == KeyStatus.NOT_SET:
        return OverallStatus("warn", "Not set up", "Add your Lever API key in Settings.")
    if status == KeyStatus.CHECKING:
        return OverallStatus("warn", "Checking", "Karat is checking the API key with Lever.")
    if status == KeyStatus.UNREACHABLE:
        return OverallStatus(
            "warn", "Could not reach Lever", "The last check got no answer from Lever."
        )
    if status == KeyStatus.INVALID:
        return OverallStatus(
            "bad", "Not working", "Lever rejected the key or it lacks a permission. See below."
        )
    return OverallStatus("ok", "Connected", "Lever accepted the API key.")


def key_check_in_progress(*, integration: AtsIntegration) -> bool:
    """True while a check of the key in use or of a pending key has not finished."""
    if integration.key_status == KeyStatus.CHECKING:
        return True
    pending = (integration.key_check_detail or {}).get("pending") or {}
    return bool(integration.pending_api_key_last4) and pending.get("status") == "checking"


def key_check_view(*, integration: AtsIntegration) -> dict[str, Any]:
    """The last check's results shaped for templates: current, pending and rejected keys."""
    detail: dict[str, Any] = integration.key_check_detail or {}
    current = detail if detail.get("subject") == "current" else None
    pending = detail.get("pending") if integration.pending_api_key_last4 else None
    return {
        "current": current,
        "pending": pending,
        "rejected": detail.get("rejected"),
        "in_progress": key_check_in_progress(integration=integration),
    }
