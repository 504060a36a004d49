"""Reads for the deletions feature: an integration's deletion settings, without creating them."""

from __future__ import annotations

from integrations.models import AtsIntegration, DeletionSettings, WebhookSubscription


def deletion_settings_find(*, integration: AtsIntegration) -> DeletionSettings | None:
    """The integration's deletion settings, or None before anything set or used them (the
    defaults then apply: ``DeletionSettings.Policy.UNLINK``)."""
    return DeletionSettings.objects.filter(integration=integration).first()


def deletion_policy(*, integration: AtsIntegration) -> str:
    """The policy in force (a ``DeletionSettings.Policy`` value)."""
    found = deletion_settings_find(integration=integration)
    return found.policy if found is not None else DeletionSettings.Policy.UNLINK


def deletion_webhook_find(*, integration: AtsIntegration, event: str) -> WebhookSubscription | None:
    """The integration's subscription row of the ATS's deletion event, if any."""
    return WebhookSubscription.objects.filter(integration=integration, event=event).first()
