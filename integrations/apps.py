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

        # Post candidacy updates (outbound): milestones become outbox rows in their transaction,
        # the status page shows the feature, the Settings page gets its section.
        from integrations import outbound_selectors, outbound_views
        from integrations import selectors as integration_selectors
        from integrations.services.outbound import candidacy_changed_receive
        from karatlever.hiring.signals import candidacy_changed

        candidacy_changed.connect(candidacy_changed_receive, dispatch_uid="integrations.outbound")
        integration_selectors.feature_health_register(
            key=integration_selectors.POST_CANDIDACY_UPDATES,
            provider=outbound_selectors.post_candidacy_updates_health,
        )
        integration_selectors.settings_section_register(
            key="outbound", provider=outbound_views.settings_section
        )
