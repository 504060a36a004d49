"""Console pages of "Post candidacy updates": the Settings section (save, preview) and the
activity page's "retry now" / "give up" actions."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations.connection.selectors import integration_get
from integrations.features import SettingsSection
from integrations.models import AtsIntegration
from integrations.outbound import selectors
from integrations.outbound.forms import OutboundSettingsForm, PreviewForm, template_field
from integrations.outbound.services import actions, notes
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import admin_required
from karatlever.hiring.models import Milestone

# The section shares the Settings page with the integration's own form: distinct field ids.
FORM_PREFIX = "outbound"


def _integration(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> AtsIntegration:
    return integration_get(user=request.user, public_id=public_id)


def _settings_url(integration: AtsIntegration) -> str:
    return (
        reverse("integrations:settings", kwargs={"public_id": integration.public_id}) + "#outbound"
    )


def _activity_url(integration: AtsIntegration) -> str:
    return (
        reverse("webhooks-console:activity", kwargs={"public_id": integration.public_id})
        + "#outbound"
    )


def _section_context(integration: AtsIntegration, form: OutboundSettingsForm) -> dict[str, object]:
    kwargs = {"public_id": integration.public_id}
    return {
        "form": form,
        "outbound": form.current,
        "save_url": reverse("outbound:settings-save", kwargs=kwargs),
        "preview_url": reverse("outbound:preview", kwargs=kwargs),
        "activity_url": _activity_url(integration),
        "candidacies": selectors.preview_candidacies(integration=integration),
        "milestones": Milestone.choices,
        "variables": notes.NOTE_CONTEXT.items(),
        "note_tags": notes.NOTE_TAGS,
        "note_filters": notes.NOTE_FILTERS,
        "template_max_length": notes.TEMPLATE_MAX_LENGTH,
        "nesting_max": notes.TEMPLATE_NESTING_MAX,
        "note_max_length": notes.NOTE_MAX_LENGTH,
    }


def settings_section(integration: AtsIntegration) -> SettingsSection:
    """ "Updates posted to Lever" on the integration's Settings page (named in features.py)."""
    return SettingsSection(
        template="integrations/outbound/_settings.html",
        context=_section_context(
            integration, OutboundSettingsForm(integration=integration, prefix=FORM_PREFIX)
        ),
        anchor="outbound",
        title="Updates posted to Lever",
    )


@admin_required
@require_POST
def settings_save(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    integration = _integration(request, public_id)
    form = OutboundSettingsForm(request.POST, integration=integration, prefix=FORM_PREFIX)
    if not form.is_valid():
        # The whole form again with its errors; nothing was saved.
        return render(
            request,
            "integrations/outbound/settings.html",
            {"integration": integration, "section": _section_context(integration, form)},
            status=400,
        )
    actions.outbound_settings_save(
        integration=integration, actor=request.user, values=form.values()
    )
    messages.success(request, "Saved: new milestones are posted to Lever with these settings.")
    return HttpResponseRedirect(_settings_url(integration))


@admin_required
@require_POST
def preview(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The note a milestone would write for a chosen candidacy, rendered with the template in
    the form (not saved). Answers a partial to htmx, a page otherwise."""
    integration = _integration(request, public_id)
    form = PreviewForm(request.POST)
    text, error = "", ""
    if not form.is_valid():
        error = "Pick a candidacy and a milestone to preview."
    else:
        milestone = form.cleaned_data["milestone"]
        candidacy = selectors.preview_candidacy_get(
            integration=integration, code=form.cleaned_data["candidacy"]
        )
        template = request.POST.get(f"{FORM_PREFIX}-{template_field(milestone)}", "")
        if candidacy is None:
            error = "That candidacy is not in this integration's group."
        else:
            try:
                text = notes.note_preview(
                    integration=integration,
                    candidacy=candidacy,
                    milestone=milestone,
                    template=template,
                )
            except notes.OutboundError as exc:
                error = str(exc)
    context = {"integration": integration, "text": text, "error": error}
    status = 400 if error else 200
    if request.htmx:
        return render(request, "integrations/outbound/_preview.html", context, status=status)
    return render(request, "integrations/outbound/preview.html", context, status=status)


@admin_required
@require_POST
def update_retry(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    integration = _integration(request, public_id)
    update = selectors.outbound_update_get(
        integration=integration, update_id=request.POST.get("update", "")
    )
    outcome = actions.outbound_update_retry(update=update, actor=request.user)
    if outcome is actions.RetryOutcome.RETRIED:
        messages.success(request, f"Update #{update.pk} will be sent again shortly.")
    elif outcome is actions.RetryOutcome.UNLINKED:
        messages.warning(
            request,
            f"Update #{update.pk} can't be sent: its {integration.get_ats_display()} candidate "
            "is no longer linked (deleted, anonymised or detached).",
        )
    else:
        messages.warning(request, f"Update #{update.pk} is being sent or was already sent.")
    return HttpResponseRedirect(_activity_url(integration))


@admin_required
@require_POST
def update_give_up(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    integration = _integration(request, public_id)
    update = selectors.outbound_update_get(
        integration=integration, update_id=request.POST.get("update", "")
    )
    if actions.outbound_update_give_up(update=update, actor=request.user):
        messages.success(request, f"Update #{update.pk} will not be sent.")
    else:
        messages.warning(request, f"Update #{update.pk} is being sent or has already ended.")
    return HttpResponseRedirect(_activity_url(integration))
