"""ATS integration pages (thin: authorise, validate, call a service or selector, render)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from integrations.connection import selectors
from integrations.connection.forms import (
    IntegrationCreateForm,
    IntegrationSettingsForm,
)
from integrations.connection.services import keys, lifecycle
from integrations.features import integration_settings_sections
from integrations.models import AtsIntegration
from integrations.outbound import selectors as outbound_selectors
from integrations.sentences import sentences_join
from integrations.status import selectors as status_selectors
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import admin_required
from karatlever.accounts.selectors import group_list_visible
from karatlever.errors import ApplicationError
from karatlever.forms import form_errors_from

KeyStatus = AtsIntegration.KeyStatus
# The settings page refreshes every 3 s while a key check runs: at most two minutes.
MAX_REFRESHES = 40


INTEGRATIONS_PER_PAGE = 50


@admin_required
@require_http_methods(["GET", "POST"])
def integration_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Settings → ATS Integrations: the list and "Create New ATS Integration"."""
    groups = group_list_visible(user=request.user)
    form = IntegrationCreateForm(request.POST or None, groups=groups)
    if request.method == "POST" and form.is_valid():
        group, ats = form.cleaned_data["group"], form.cleaned_data["ats"]
        try:
            integration = lifecycle.integration_create(group=group, ats=ats, actor=request.user)
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(
                request,
                f"{integration.get_ats_display()} integration created for {group.name}. "
                "Next: click Settings and add your Lever API key.",
            )
            return redirect("integrations:detail", public_id=integration.public_id)
    if request.method == "POST" and form.errors:
        messages.error(request, "The integration was not created. See the form below.")
    # Paged: an organization with 200 integrations would otherwise be a 300 kB page.
    page = Paginator(selectors.integration_list(user=request.user), INTEGRATIONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "integrations/connection/list.html",
        {
            "form": form,
            "groups": groups,
            # The Status page's stored roll-up (its snapshot, joined in the list's one query),
            # so the pages never disagree and the list costs no query per integration.
            "integrations": [
                (i, status_selectors.integration_overall_from_snapshot(integration=i))
                for i in page.object_list
            ],
            "page_obj": page,
        },
        status=400 if form.errors else 200,
    )


@admin_required
def integration_detail(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    return render(
        request,
        "integrations/connection/detail.html",
        {
            "integration": integration,
            # The Status page's stored roll-up, so the two never disagree.
            "overall": status_selectors.integration_overall_from_snapshot(integration=integration),
            "key_check": selectors.key_check_view(integration=integration),
            "region_label": selectors.integration_region_label(integration=integration),
            "audit_entries": selectors.audit_entry_list(integration=integration),
            # Who updates are posted as (the outbound rule), not just the User ID field.
            "acting_user": outbound_selectors.acting_user_label(
                acting=outbound_selectors.outbound_acting_user_find(integration=integration)
            ),
            "tab": "overview",
        },
    )


# Takes an API key: error reports (the debug page too) show neither the posted key nor any
# local variable of this view or what it calls (DEFAULT_EXCEPTION_REPORTER_FILTER in settings).
@sensitive_post_parameters("api_key")
@sensitive_variables()
@admin_required
@require_http_methods(["GET", "POST"])
def integration_settings(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    """API Key (write-only), optional User ID, Region → Save → background check with Lever."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    settings_url = reverse("integrations:settings", kwargs={"public_id": integration.public_id})
    if request.method == "POST":
        form = IntegrationSettingsForm(request.POST, integration=integration)
        if form.is_valid():
            data = form.cleaned_data
            try:
                outcome = lifecycle.integration_settings_update(
                    integration=integration,
                    actor=request.user,
                    api_key=data["api_key"],
                    ats_user_id=data["ats_user_id"],
                    region=data["region"],
                )
            except (ApplicationError, ValidationError) as exc:
                form_errors_from(form, exc)
            else:
                if outcome.check_enqueued:
                    messages.success(request, "Saved. Checking the key with Lever…")
                    return redirect(f"{settings_url}?checking=1")
                messages.success(request, "Saved.")
                return redirect(settings_url)
        messages.error(request, "Nothing was saved. See the form below.")
        status = 400
    else:
        form = IntegrationSettingsForm(integration=integration)
        status = 200
    refreshes = _refresh_count(request)
    key_check = selectors.key_check_view(integration=integration)
    in_progress = key_check["in_progress"]
    if request.method == "GET" and refreshes and not in_progress:
        _announce_key_check(request, integration, key_check)
    return render(
        request,
        "integrations/connection/settings.html",
        {
            "integration": integration,
            "form": form,
            "key_check": key_check,
            "region_label": selectors.integration_region_label(integration=integration),
            # Refresh every few seconds while checking, but not forever (no worker running?).
            "refresh_next": refreshes + 1 if in_progress and refreshes < MAX_REFRESHES else None,
            "refresh_gave_up": in_progress and refreshes >= MAX_REFRESHES,
            "sections": integration_settings_sections(integration=integration),
            "tab": "settings",
        },
        status=status,
    )


def _refresh_count(request: AuthenticatedHttpRequest) -> int:
    raw = request.GET.get("checking", "")
    return min(int(raw), MAX_REFRESHES) if raw.isdigit() and len(raw) < 4 else 0


def _announce_key_check(
    request: AuthenticatedHttpRequest, integration: AtsIntegration, view: dict[str, Any]
) -> None:
    """The background check finished while the page was refreshing: say how it went."""
    rejected, pending, current = view["rejected"], view["pending"], view["current"]
    if rejected:
        # Blame the right party: Lever refused the key, or accepted it and it lacks permissions.
        new, kept = f"••••{rejected['last4']}", integration.masked_api_key
        missing = rejected["missing"]
        if rejected["refused"]:
            text = [f"Lever rejected the new key {new}", f"Karat keeps using {kept}"]
            text.append(rejected["summary"])
        elif missing:
            text = [
                f"Lever accepted the new key {new}, but it lacks "
                f"{'a permission' if len(missing) == 1 else 'permissions'} Karat needs: "
                f"{', '.join(missing)}",
                f"Karat keeps using {kept}",
            ]
        else:
            text = [f"The new key {new} did not pass the check", f"Karat keeps using {kept}"]
            text.append(rejected["summary"])
        messages.error(request, sentences_join(text))
    elif pending and pending.get("status") == KeyStatus.UNREACHABLE:
        messages.warning(
            request,
            f"Karat could not reach Lever to check the new key ••••{pending['last4']}; "
            f"it keeps using {integration.masked_api_key} meanwhile. Use “Check again”.",
        )
    elif integration.key_status == KeyStatus.VALID:
        messages.success(request, f"Lever accepted the key {integration.masked_api_key}.")
    elif integration.key_status == KeyStatus.INVALID:
        summary = current["summary"] if current else ""
        messages.error(request, sentences_join([summary or "Lever check failed", "See below"]))
    elif integration.key_status == KeyStatus.UNREACHABLE:
        messages.warning(request, "Karat could not reach Lever to check the key. Try again.")


@admin_required
@require_POST
def integration_check_key(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    settings_url = reverse("integrations:settings", kwargs={"public_id": integration.public_id})
    if keys.api_key_check_request(integration=integration, actor=request.user):
        messages.success(request, "Checking the key with Lever…")
        return redirect(f"{settings_url}?checking=1")
    messages.error(request, "There is no API key to check yet. Add one first.")
    return redirect(settings_url)


@admin_required
@require_POST
def integration_switch_region(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    """The settings page's one-click "Switch to EU" after the key check found the key works
    in another region: save that region (same service as Save) and check the key again."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    settings_url = reverse("integrations:settings", kwargs={"public_id": integration.public_id})
    try:
        outcome = lifecycle.integration_settings_update(
            integration=integration,
            actor=request.user,
            api_key=None,
            ats_user_id=integration.ats_user_id,
            region=request.POST.get("region", ""),
        )
    except (ApplicationError, ValidationError):
        messages.error(request, "The region was not changed: choose one of the listed regions.")
        return redirect(settings_url)
    label = selectors.integration_region_label(integration=integration)
    if outcome.check_enqueued:
        messages.success(request, f"Region switched to {label}. Checking the key with Lever…")
        return redirect(f"{settings_url}?checking=1")
    messages.success(request, f"Region switched to {label}.")
    return redirect(settings_url)


@admin_required
@require_POST
def integration_set_enabled(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    enable = request.POST.get("enabled") == "1"
    if enable:
        changed = lifecycle.integration_enable(integration=integration, actor=request.user)
        text = "Integration enabled." if changed else "The integration was already enabled."
    else:
        changed = lifecycle.integration_disable(integration=integration, actor=request.user)
        text = (
            "Integration disabled: Karat makes no Lever calls until you enable it again."
            if changed
            else "The integration was already disabled."
        )
    (messages.success if changed else messages.info)(request, text)
    return redirect("integrations:detail", public_id=integration.public_id)


@admin_required
@require_http_methods(["GET", "POST"])
def integration_delete(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    if request.method == "POST":
        label = f"{integration.get_ats_display()} integration for {integration.group.name}"
        lifecycle.integration_delete(integration=integration, actor=request.user)
        messages.success(request, f"{label} deleted. Its audit log is kept.")
        return redirect("integrations:list")
    return render(
        request,
        "integrations/connection/delete.html",
        {
            "integration": integration,
            "linked_candidacies": integration.opportunity_links.count(),
        },
    )
