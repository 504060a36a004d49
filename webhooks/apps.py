"""Webhooks app configuration."""

from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from integrations.models import AtsIntegration, WebhookSubscription
        from webhooks.services.intake import verifiers_clear

        # The receiver caches decrypted tokens briefly (see intake.VERIFIER_TTL): a saved or
        # deleted integration or subscription takes effect in this process at once.
        for model in (AtsIntegration, WebhookSubscription):
            for signal in (post_save, post_delete):
                signal.connect(verifiers_clear, sender=model, dispatch_uid="webhooks.verifiers")
