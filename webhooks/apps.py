"""Webhooks app configuration."""

from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from integrations import selectors as integration_selectors
        from webhooks import console_views, selectors

        # The integration status page shows this app's feature (see integrations.selectors).
        integration_selectors.feature_health_register(
            key=integration_selectors.AUTO_STATE_UPDATING,
            provider=selectors.auto_state_updating_health,
        )
        # …and Step 3 (webhooks) on its Settings page.
        integration_selectors.settings_section_register(
            key="webhooks", provider=console_views.settings_section
        )
