"""Integrations app configuration."""

from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "ATS integrations"

    def ready(self) -> None:
        from integrations import (
            checks,  # noqa: F401  (registers system checks)
            selectors,
        )
        from integrations.selectors import candidacy_page_context
        from karatlever.hiring.views import candidacy_context_hook_register

        # The candidacy page links the candidate's ATS profile (hiring never imports us).
        candidacy_context_hook_register(candidacy_page_context)
        # The status page's "Ensure Lever roles match Karat roles" (postings and mappings).
        selectors.feature_health_register(
            key=selectors.ROLE_MATCHING, provider=selectors.role_matching_health
        )
