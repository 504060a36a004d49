"""Reads for the automatic invite: its rule as saved, and the invites it sent."""

from __future__ import annotations

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
