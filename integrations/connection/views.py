"""ATS integration pages (thin: authorise, validate, call a service or selector, render)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from integrations import ats
from integrations.connection import selectors
from integrations.connection.forms import (
    IntegrationCreateForm,
    IntegrationSettingsForm,
    RoleMappingForm,
    RolesCreateForm,
)
from integrations.connection.services import keys, lifecycle
from integrations.features import integration_settings_sections
from integrations.models import AtsIntegration, PostingSyncRun
from integrations.services import postings
from integrations.status import selectors as status_selectors
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import admin_required
from karatlever.accounts.selectors import group_list_visible
from karatlever.errors import ApplicationError
from karatlever.forms import form_errors_from

KeyStatus = AtsIntegration.KeyStatus
# The settings page refreshes every 3 s while a key check runs: at most two minutes.
MAX_REFRESHES = 40


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
    integrations = selectors.integration_list(user=request.user)
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
                for i in integrations
            ],
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
    rejected, pending = view["rejected"], view["pending"]
    if rejected:
        messages.error(
            request,
            f"Lever rejected the new key ••••{rejected['last4']}. Karat keeps using "
            f"{integration.masked_api_key}. {rejected['summary']}",
        )
    elif pending and pending.get("status") == KeyStatus.UNREACHABLE:
        messages.warning(
            request,
            f"Karat could not reach Lever to check the new key ••••{pending['last4']}; "
            f"it keeps using {integration.masked_api_key} meanwhile. Use “Check again”.",
        )
    elif integration.key_status == KeyStatus.VALID:
        messages.success(request, f"Lever accepted the key {integration.masked_api_key}.")
    elif integration.key_status == KeyStatus.INVALID:
        messages.error(request, "Lever check failed. See the results below.")
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


# --- role matching: the roles page ------------------------------------------------------------

# The filters a roles-page action returns to (never a URL taken from the request).
_ROLES_FILTERS = ("unmatched", "state", "page")


def _roles_url(integration: AtsIntegration, data: Any) -> str:
    url = reverse("integrations:roles", kwargs={"public_id": integration.public_id})
    kept = {k: str(data.get(k))[:40] for k in _ROLES_FILTERS if data.get(k)}
    return f"{url}?{urlencode(kept)}" if kept else url


def _roles_render(
    request: AuthenticatedHttpRequest,
    integration: AtsIntegration,
    *,
    status: int = 200,
    mapping_form: RoleMappingForm | None = None,
    create_form: RolesCreateForm | None = None,
) -> HttpResponse:
    params = request.GET if request.method == "GET" else request.POST
    unmatched_only = params.get("unmatched") == "1"
    state = str(params.get("state") or "")
    adapter_states = dict(ats.adapter_for(integration.ats).posting_states)
    if state and state not in adapter_states:
        state = ""
        messages.error(request, "Unknown posting state: showing every state.")
    page = selectors.roles_page(
        integration=integration,
        unmatched_only=unmatched_only,
        state=state,
        page=params.get("page"),
    )
    return render(
        request,
        "integrations/roles.html",
        {
            "integration": integration,
            "tab": "roles",
            "page": page,
            "page_obj": page.page_obj,
            "unmatched_only": unmatched_only,
            "state": state,
            "run": selectors.posting_sync_run_latest(integration=integration),
            "mapping_form": mapping_form,
            "create_form": create_form,
        },
        status=status,
    )


@admin_required
@require_GET
def integration_roles(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    """Postings of the ATS with their Karat roles, filters, counts and the admin's actions."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    return _roles_render(request, integration)


@admin_required
@require_POST
def integration_roles_sync(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    """ "Sync now": a full sync of the postings (finds deleted ones), with a progress bar."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    if not integration.enabled or integration.key_status != KeyStatus.VALID:
        messages.error(request, "Postings sync once the integration is enabled with a valid key.")
        return redirect(_roles_url(integration, request.POST))
    run = postings.postings_sync_request(
        integration=integration, actor=request.user, kind=PostingSyncRun.Kind.FULL
    )
    if request.htmx:
        return render(
            request,
            "integrations/_postings_sync.html",
            {"integration": integration, "run": run},
        )
    messages.success(request, "Syncing postings. This page shows the progress.")
    return redirect(_roles_url(integration, request.POST))


@admin_required
@require_GET
def integration_roles_sync_progress(
    request: AuthenticatedHttpRequest, public_id: UUID
) -> HttpResponse:
    """The progress partial htmx polls while a sync runs; when it ends, the page reloads."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    run = selectors.posting_sync_run_latest(integration=integration)
    if request.htmx and (run is None or not run.is_active) and request.GET.get("polling"):
        return HttpResponseClientRefresh()
    return render(
        request, "integrations/_postings_sync.html", {"integration": integration, "run": run}
    )


@admin_required
@require_POST
def integration_roles_map(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    """Map a posting to a role, leave it unmatched on purpose, or give it back to matching."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    form = RoleMappingForm(request.POST, integration=integration)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["action"] == "automatic":
                postings.role_mapping_reset(integration=integration, posting_id=data["posting"])
                done = "Matched automatically again."
            else:
                role = data["role"] if data["action"] == "map" else None
                postings.role_mapping_set(
                    integration=integration,
                    posting_id=data["posting"],
                    role=role,
                    actor=request.user,
                )
                done = f"Mapped to {role.title}." if role else "Left unmatched."
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, done)
            return redirect(_roles_url(integration, request.POST))
    messages.error(request, "Nothing changed: " + _first_error(form))
    return _roles_render(request, integration, status=400, mapping_form=form)


@admin_required
@require_POST
def integration_roles_create(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    """Create a Karat role from each chosen posting and map the posting to it."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    form = RolesCreateForm(request.POST)
    if form.is_valid():
        try:
            created = postings.roles_create_from_postings(
                integration=integration,
                posting_ids=form.cleaned_data["postings"],
                actor=request.user,
            )
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            names = ", ".join(m.role.title for m in created if m.role)
            messages.success(request, f"Created {len(created)} Karat role(s): {names}.")
            return redirect(_roles_url(integration, request.POST))
    messages.error(request, "No role was created: " + _first_error(form))
    return _roles_render(request, integration, status=400, create_form=form)


def _first_error(form: Any) -> str:
    for errors in form.errors.values():
        return str(errors[0])
    return "check the form."
