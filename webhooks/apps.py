"""Webhooks app configuration."""

from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from integrations import selectors as integration_selectors
        from integrations.models import AtsIntegration, WebhookSubscription
        from webhooks import selectors
        from webhooks.services.intake import targets_forget

        # The integration status page shows this app's feature (see integrations.selectors).
        integration_selectors.feature_health_register(
            key=integration_selectors.AUTO_STATE_UPDATING,
            provider=selectors.auto_state_updating_health,
        )

        # The receiver caches tokens per process for a moment; a save here takes effect at once.
        for model in (AtsIntegration, WebhookSubscription):
            post_save.connect(
                targets_forget, sender=model, dispatch_uid=f"webhooks-{model.__name__}-save"
            )
            post_delete.connect(
                targets_forget, sender=model, dispatch_uid=f"webhooks-{model.__name__}-delete"
            )
