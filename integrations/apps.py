"""Integrations app configuration."""

from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "ATS integrations"

    def ready(self) -> None:
        from integrations import checks  # noqa: F401  (registers system checks)
        from integrations.selectors import candidacy_page_context
        from karatlever.hiring.views import candidacy_context_hook_register

        # The candidacy page links the candidate's ATS profile (hiring never imports us).
        candidacy_context_hook_register(candidacy_page_context)

        # Inviting's two status-page features (the automatic invite's Settings section is registered by
        # the webhooks app, so it comes after Step 3: it acts on those webhooks).
        from integrations import auto_invite_views, invite_views, selectors

        selectors.feature_health_register(
            key=selectors.INVITE_FROM_LEVER_URL, provider=invite_views.invite_from_lever_url_health
        )
        selectors.feature_health_register(
            key=selectors.AUTOMATIC_INVITES, provider=auto_invite_views.automatic_invites_health
        )
