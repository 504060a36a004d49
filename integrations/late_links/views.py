"""Late-link pages: attach a Lever link to a candidacy (check, then attach), detach it, and
the integration's on/off setting (its Settings section)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from integrations import ats
from integrations.connection import selectors as connection_selectors
from integrations.features import SettingsSection
from integrations.late_links import selectors, services
from integrations.late_links.forms import LateLinkSettingsForm, LinkAttachForm
from integrations.models import AtsIntegration, OutboundUpdate
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import admin_required, member_required
from karatlever.forms import form_errors_from
from karatlever.hiring import selectors as hiring_selectors
from karatlever.hiring.models import Candidacy


def _candidacy_url(candidacy: Candidacy) -> str:
    return reverse("hiring:candidate-detail", kwargs={"code": candidacy.code})


def _label(candidacy: Candidacy) -> str:
    integration = selectors.integration_of_candidacy(candidacy=candidacy)
    return ats.adapter_for(integration.ats, ats.AtsBase).label if integration else "Lever"


@member_required
@require_http_methods(["GET", "POST"])
def attach(request: AuthenticatedHttpRequest, code: uuid.UUID) -> HttpResponse:
    """Attach a link: POST ``check`` reads and checks it (the preview, nothing changed); POST
    ``attach`` reads it again and attaches it. Any member who can see the candidacy."""
    candidacy = hiring_selectors.candidacy_get(user=request.user, code=code)
    form = LinkAttachForm(request.POST if request.method == "POST" else None)
    panel = selectors.candidacy_link_panel(candidacy)
    if example := panel["late_link"]["url_example"]:  # as the invite page: the own host
        form.fields["url"].help_text = f"The candidate's profile URL in Lever: {example}"
    preview = None
    warnings: list[str] = []
    linked_elsewhere = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        url = form.cleaned_data["url"]
        try:
            if "attach" in request.POST:
                result = services.opportunity_link_attach(
                    candidacy=candidacy, url=url, actor=request.user, via="console"
                )
                queued = result.queued + result.requeued
                messages.success(
                    request,
                    f"Linked to {result.preview.candidate_name or 'the candidate'} in "
                    f"{_label(candidacy)}: {queued} milestone{'s' if queued != 1 else ''} "
                    "queued to be posted"
                    + (f", {result.already_posted} posted before" if result.already_posted else "")
                    + ".",
                )
                return redirect(_candidacy_url(candidacy))
            preview = services.opportunity_link_preview(
                candidacy=candidacy, url=url, viewer=request.user
            )
            warnings = services.preview_warnings(candidacy=candidacy, preview=preview)
        except services.LateLinkError as exc:
            form_errors_from(form, exc)
            # The other candidacy of the opportunity, when this person may open it.
            linked_elsewhere = exc.extra.get("candidacy", "")
            # Lever down is the ATS's trouble, not this server's: never a 5xx from the page.
            status = 409 if exc.status_code == 409 else 400
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "integrations/late_links/attach.html",
        {
            "candidacy": candidacy,
            "form": form,
            "preview": preview,
            "warnings": warnings,
            "linked_elsewhere": linked_elsewhere,
            "ats_label": _label(candidacy),
            **panel,
        },
        status=status,
    )


@member_required
@require_http_methods(["GET", "POST"])
def detach(request: AuthenticatedHttpRequest, code: uuid.UUID) -> HttpResponse:
    """Confirm (GET: what will not be sent) and detach (POST) the candidacy's link."""
    candidacy = hiring_selectors.candidacy_get(user=request.user, code=code)
    link = selectors.candidacy_link_find(candidacy=candidacy)
    if request.method == "POST":
        try:
            result = services.opportunity_link_detach(
                candidacy=candidacy, actor=request.user, via="console"
            )
        except services.LateLinkError as exc:
            messages.error(request, exc.message)
        else:
            extra = (
                f" {result.cancelled} waiting update{'s' if result.cancelled != 1 else ''} "
                "will not be sent."
                if result.cancelled
                else ""
            )
            messages.success(request, f"Link to {_label(candidacy)} detached.{extra}")
        return redirect(_candidacy_url(candidacy))
    waiting = (
        OutboundUpdate.objects.filter(
            candidacy=candidacy,
            integration=link.integration,
            opportunity_id=link.opportunity_id,
            status=OutboundUpdate.Status.PENDING,
        ).count()
        if link
        else 0
    )
    return render(
        request,
        "integrations/late_links/detach.html",
        {"candidacy": candidacy, "link": link, "waiting": waiting, "ats_label": _label(candidacy)},
    )


# --- the integration's Settings section -------------------------------------------------------


def settings_section(integration: AtsIntegration) -> SettingsSection:
    """The on/off switch on the integration's Settings page (never calls the ATS)."""
    row = selectors.late_link_settings_find(integration=integration)
    return SettingsSection(
        template="integrations/late_links/_section.html",
        context={
            "enabled": bool(row and row.enabled),
            "form": LateLinkSettingsForm(initial={"enabled": bool(row and row.enabled)}),
            "url": reverse("late-links:settings", kwargs={"public_id": integration.public_id}),
        },
        anchor="late-links",
        title="Attach a Lever link later (optional)",
    )


@require_POST
@admin_required
def settings_save(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    integration = connection_selectors.integration_get(user=request.user, public_id=public_id)
    form = LateLinkSettingsForm(request.POST)
    enabled = form.is_valid() and form.cleaned_data["enabled"]
    services.late_link_settings_update(
        integration=integration, actor=request.user, enabled=bool(enabled)
    )
    messages.success(
        request,
        "Attaching a Lever link to an existing candidacy is " + ("on." if enabled else "off."),
    )
    return redirect(
        reverse("integrations:settings", kwargs={"public_id": integration.public_id})
        + "#late-links"
    )
