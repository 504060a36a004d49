"""Integrations app configuration."""

from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "ATS integrations"

    def ready(self) -> None:
        from integrations import (
            auto_invite_views,
            checks,  # noqa: F401  (registers system checks)
            selectors,
        )
        from integrations.services.status import invite_from_lever_url_health
        from karatlever.hiring.views import candidacy_context_hook_register

        # The status page's features this app provides (auto state updating is the webhooks
        # app's). "Invite candidates using Lever URL": key, reads, confidential access.
        selectors.feature_health_register(
            key=selectors.INVITE_FROM_LEVER_URL, provider=invite_from_lever_url_health
        )
        # "Ensure Lever roles match Karat roles": postings synced, unmatched with candidacies.
        selectors.feature_health_register(
            key=selectors.ROLE_MATCHING, provider=selectors.role_matching_health
        )
        # "Automatic invites" (its Settings section is registered by the webhooks app, so it
        # comes after Step 3: it acts on those webhooks).
        selectors.feature_health_register(
            key=selectors.AUTOMATIC_INVITES, provider=auto_invite_views.automatic_invites_health
        )

        # The candidacy page links the candidate's ATS profile (hiring never imports us).
        candidacy_context_hook_register(selectors.candidacy_page_context)

        # Post candidacy updates (outbound): milestones become outbox rows in their transaction,
        # the status page shows the feature, the Settings page gets its section.
        from integrations import outbound_selectors, outbound_views
        from integrations.services.outbound import candidacy_changed_receive
        from karatlever.hiring.signals import candidacy_changed

        candidacy_changed.connect(candidacy_changed_receive, dispatch_uid="integrations.outbound")
        selectors.feature_health_register(
            key=selectors.POST_CANDIDACY_UPDATES,
            provider=outbound_selectors.post_candidacy_updates_health,
        )
        selectors.settings_section_register(
            key="outbound", provider=outbound_views.settings_section
        )
