"""The feedback-form option in the console: its Settings section (with a preview of the form)
and the save that turns it on or off."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations.connection.selectors import integration_get
from integrations.features import SettingsSection
from integrations.feedback import services
from integrations.feedback.forms import FeedbackSettingsForm
from integrations.feedback.selectors import feedback_acting_user_label, feedback_settings_find
from integrations.models import AtsIntegration
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import admin_required
from karatlever.forms import form_errors_from

ANCHOR = "feedback-form"


def _settings_url(integration: AtsIntegration) -> str:
    return (
        reverse("integrations:settings", kwargs={"public_id": integration.public_id}) + f"#{ANCHOR}"
    )


def _context(integration: AtsIntegration, form: FeedbackSettingsForm) -> dict[str, object]:
    found = feedback_settings_find(integration=integration)
    return {
        "integration": integration,
        "form": form,
        "settings": found,
        "acting_user": feedback_acting_user_label(integration=integration),
        "preview": services.feedback_form_preview(integration=integration),
        "save_url": reverse("feedback:save", kwargs={"public_id": integration.public_id}),
        "outbound_url": _settings_url(integration).replace(f"#{ANCHOR}", "#outbound"),
    }


def settings_section(integration: AtsIntegration) -> SettingsSection:
    """The option on the integration's Settings page: on/off and a preview of the form."""
    found = feedback_settings_find(integration=integration)
    form = FeedbackSettingsForm(
        initial={"enabled": bool(found and found.enabled)}, prefix="feedback"
    )
    return SettingsSection(
        template="integrations/feedback/_section.html",
        context=_context(integration, form),
        anchor=ANCHOR,
        title="Feedback form (optional)",
    )


@admin_required
@require_POST
def save(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Turn the option on or off; a refused change shows the section again with its reason."""
    integration = integration_get(user=request.user, public_id=public_id)
    form = FeedbackSettingsForm(request.POST, prefix="feedback")
    if form.is_valid():
        try:
            services.feedback_settings_save(
                integration=integration, actor=request.user, enabled=form.cleaned_data["enabled"]
            )
        except services.FeedbackError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, "Feedback form option saved.")
            return redirect(_settings_url(integration))
    return render(
        request,
        "integrations/feedback/page.html",
        {"integration": integration, "section": _context(integration, form)},
        status=400,
    )
