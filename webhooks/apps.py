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
        from webhooks import console_views, selectors
        from webhooks.services.intake import verifiers_clear

        # The integration status page shows this app's feature (see integrations.selectors).
        integration_selectors.feature_health_register(
            key=integration_selectors.AUTO_STATE_UPDATING,
            provider=selectors.auto_state_updating_health,
        )
        # …and Step 3 (webhooks) on its Settings page.
        integration_selectors.settings_section_register(
            key="webhooks", provider=console_views.settings_section
        )
        # The automatic invite acts on these webhooks: its section follows Step 3.
        from integrations import auto_invite_views

        integration_selectors.settings_section_register(
            key="automatic_invite", provider=auto_invite_views.settings_section
        )
        # The receiver caches decrypted tokens briefly (see intake.VERIFIER_TTL): a saved or
        # deleted integration or subscription takes effect in this process at once.
        for model in (AtsIntegration, WebhookSubscription):
            for signal in (post_save, post_delete):
                signal.connect(verifiers_clear, sender=model, dispatch_uid="webhooks.verifiers")
