"""Reads for the automatic invite: its rule as saved, and the invites it sent."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from integrations.models import AtsIntegration, AuditEntry, AutoInviteRule


def auto_invite_rule_find(*, integration: AtsIntegration) -> AutoInviteRule | None:
    """The integration's automatic invite with its role, or None when it was never saved
    (only reads, unlike ``services.auto_invite_rule_get``)."""
    return AutoInviteRule.objects.filter(integration=integration).select_related("role").first()


def auto_invite_recent(*, integration: AtsIntegration, limit: int = 20) -> QuerySet[AuditEntry]:
    """The integration's latest automatic invites (audit entries), newest first."""
    return AuditEntry.objects.filter(
        integration_public_id=integration.public_id, action=AuditEntry.Action.AUTO_INVITED
    )[:limit]


def auto_invite_started_at(*, integration: AtsIntegration, stage_id: str) -> datetime | None:
    """When the automatic invite was turned on for ``stage_id``: the first of the latest run of
    saves that all left it on with that stage (its audit entries). None when it isn't on with
    that stage now; the rule's last save when it is but no save was audited (e.g. the admin)."""
    rule = AutoInviteRule.objects.filter(integration=integration).first()
    if rule is None or not rule.enabled or not stage_id or rule.stage_id != stage_id:
        return None
    started = None
    saves = AuditEntry.objects.filter(
        integration_public_id=integration.public_id, action=AuditEntry.Action.AUTO_INVITE_CHANGED
    ).order_by("-created_at", "-id")
    for created_at, detail in saves.values_list("created_at", "detail").iterator():
        if not (isinstance(detail, dict) and detail.get("enabled")):
            break
        if detail.get("stage_id") != stage_id:
            break
        started = created_at
    return started or rule.updated_at
