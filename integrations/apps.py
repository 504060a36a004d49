"""Integrations app configuration."""

from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "ATS integrations"

    def ready(self) -> None:
        from integrations import checks  # noqa: F401  (registers system checks)
        from integrations.connection import selectors
        from integrations.outbound.services.enqueue import candidacy_changed_receive
        from integrations.roles.selectors import role_list_links
        from karatlever.hiring.hooks import candidacy_list_context_hook_register
        from karatlever.hiring.signals import candidacy_changed
        from karatlever.hiring.views import (
            candidacy_context_hook_register,
            role_list_links_hook_register,
        )

        # The status page's features and the Settings page's sections are the table in
        # integrations/features.py; nothing registers them here.

        # The candidacy page links the candidate's ATS profile (hiring never imports us).
        candidacy_context_hook_register(selectors.candidacy_page_context)
        # … and the candidacies API names each candidacy's opportunity (a page at a time).
        candidacy_list_context_hook_register(selectors.candidacy_list_page_context)
        # The Roles page links each of the group's integrations' postings and their matching.
        role_list_links_hook_register(role_list_links)
        # Post candidacy updates (outbound): milestones become outbox rows in their transaction.
        candidacy_changed.connect(candidacy_changed_receive, dispatch_uid="integrations.outbound")
        # Late links: the candidacy page's attach / detach of a Lever link.
        from integrations.late_links.selectors import candidacy_link_panel

        candidacy_context_hook_register(candidacy_link_panel)
