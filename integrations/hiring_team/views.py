"""The hiring team's console pieces: its Settings section and the form it posts."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations.connection import selectors
from integrations.features import SettingsSection
from integrations.hiring_team import services
from integrations.hiring_team.forms import HiringTeamSettingsForm
from integrations.hiring_team.selectors import hiring_team_settings_find
from integrations.models import AtsIntegration
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import admin_required


def _form_for(integration: AtsIntegration) -> HiringTeamSettingsForm:
    found = hiring_team_settings_find(integration=integration)
    return HiringTeamSettingsForm(
        initial={
            "role_followers_enabled": bool(found and found.role_followers_enabled),
            "recruiter_follows_owner": bool(found and found.recruiter_follows_owner),
        }
    )


def settings_section(integration: AtsIntegration) -> SettingsSection:
    """The hiring team on the integration's Settings page: both switches (off by default)."""
    return SettingsSection(
        template="integrations/hiring_team/_section.html",
        context={
            "form": _form_for(integration),
            "action": reverse("hiring-team:update", kwargs={"public_id": integration.public_id}),
        },
        anchor="hiring-team",
        title="Hiring team from Lever (optional)",
    )


@admin_required
@require_POST
def update(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Save both switches; back to the Settings page's section."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    form = HiringTeamSettingsForm(request.POST)
    settings_url = reverse("integrations:settings", kwargs={"public_id": integration.public_id})
    form.is_valid()  # two optional checkboxes: any POST is valid (missing = off)
    services.hiring_team_settings_update(
        integration=integration,
        actor=request.user,
        role_followers_enabled=bool(form.cleaned_data.get("role_followers_enabled")),
        recruiter_follows_owner=bool(form.cleaned_data.get("recruiter_follows_owner")),
    )
    messages.success(request, "Hiring team settings saved.")
    return redirect(f"{settings_url}#hiring-team")
