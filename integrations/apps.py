"""Integrations app configuration."""

from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "ATS integrations"

    def ready(self) -> None:
        from integrations import checks  # noqa: F401  (registers system checks)
        from integrations.selectors import (
            INVITE_FROM_LEVER_URL,
            candidacy_page_context,
            feature_health_register,
        )
        from integrations.services.status import invite_from_lever_url_health
        from karatlever.hiring.views import candidacy_context_hook_register

        # The status page's "Invite candidates using Lever URL" checks (key, reads,
        # confidential access) are this app's: the invite flow itself adds no provider.
        feature_health_register(key=INVITE_FROM_LEVER_URL, provider=invite_from_lever_url_health)

        # The candidacy page links the candidate's ATS profile (hiring never imports us).
        candidacy_context_hook_register(candidacy_page_context)

        # The automatic invite's status-page feature (its Settings section is registered by the
        # webhooks app, so it comes after Step 3: it acts on those webhooks).
        from integrations import auto_invite_views, selectors

        selectors.feature_health_register(
            key=selectors.AUTOMATIC_INVITES, provider=auto_invite_views.automatic_invites_health
        )
