"""The interview panels' console pieces: the Settings section and its save."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations.connection import selectors
from integrations.features import SettingsSection
from integrations.models import AtsIntegration
from integrations.panels import services
from integrations.panels.forms import PanelSettingsForm
from integrations.panels.selectors import interview_panel_list, panel_settings_find
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import admin_required

ANCHOR = "interview-panels"


def _settings_url(integration: AtsIntegration) -> str:
    return (
        reverse("integrations:settings", kwargs={"public_id": integration.public_id}) + f"#{ANCHOR}"
    )


def settings_section(integration: AtsIntegration) -> SettingsSection:
    """The option on the integration's Settings page, with the newest panels Karat made."""
    outbound = panel_settings_find(integration=integration)
    enabled = bool(outbound and outbound.panels_enabled)
    return SettingsSection(
        template="integrations/panels/_section.html",
        context={
            "enabled": enabled,
            "outbound_enabled": outbound is None or outbound.enabled,
            "form": PanelSettingsForm(initial={"enabled": enabled}),
            "save_url": reverse("panels:save", kwargs={"public_id": integration.public_id}),
            "panels": interview_panel_list(integration=integration, limit=10),
        },
        anchor=ANCHOR,
        title="Karat interview on Lever's schedule (optional)",
    )


@admin_required
@require_POST
def save(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Turn the option on or off (another organization's integration is a 404)."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    form = PanelSettingsForm(request.POST)
    if not form.is_valid():  # pragma: no cover - a checkbox is always valid
        messages.error(request, "The setting could not be read; nothing was changed.")
        return redirect(_settings_url(integration))
    enabled = form.cleaned_data["enabled"]
    try:
        services.panel_settings_update(integration=integration, actor=request.user, enabled=enabled)
    except services.PanelSettingsError as exc:
        messages.error(request, f"Not turned on: {exc.message}")
        return redirect(_settings_url(integration))
    messages.success(
        request,
        "Scheduled Karat interviews will be put on Lever's schedule."
        if enabled
        else "Karat interviews are no longer put on Lever's schedule.",
    )
    return redirect(_settings_url(integration))
