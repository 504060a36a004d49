"""The roles page: postings with their Karat roles, "Sync now" and an admin's decisions."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode
from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from integrations import ats
from integrations.connection.selectors import integration_get
from integrations.models import AtsIntegration, PostingSyncRun
from integrations.roles import selectors
from integrations.roles.forms import RoleMappingForm, RolesCreateForm
from integrations.roles.services import mappings, sync
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import admin_required
from karatlever.errors import ApplicationError
from karatlever.forms import form_errors_from
from karatlever.search_text import search_text

KeyStatus = AtsIntegration.KeyStatus

# The filters a roles-page action returns to (never a URL taken from the request).
_ROLES_FILTERS = ("unmatched", "state", "page")


def _roles_url(integration: AtsIntegration, data: Any, *, posting_id: str = "") -> str:
    """The roles page with the filters of ``data``, at the row of ``posting_id`` if given."""
    url = reverse("integrations:roles", kwargs={"public_id": integration.public_id})
    kept = {k: str(data.get(k))[:40] for k in _ROLES_FILTERS if data.get(k)}
    url = f"{url}?{urlencode(kept)}" if kept else url
    return f"{url}#posting-{quote(posting_id, safe='')}" if posting_id else url


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
    adapter_states = dict(ats.adapter_for(integration.ats, ats.Postings).posting_states)
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
        "integrations/roles/page.html",
        {
            "integration": integration,
            "tab": "roles",
            "page": page,
            "page_obj": page.page_obj,
            "unmatched_only": unmatched_only,
            "state": state,
            "page_number": page.page_obj.number,
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
    integration = integration_get(user=request.user, public_id=public_id)
    return _roles_render(request, integration)


@admin_required
@require_POST
def integration_roles_sync(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    """ "Sync now": a full sync of the postings (finds deleted ones), with a progress bar."""
    integration = integration_get(user=request.user, public_id=public_id)
    if not integration.enabled or integration.key_status != KeyStatus.VALID:
        messages.error(request, "Postings sync once the integration is enabled with a valid key.")
        return redirect(_roles_url(integration, request.POST))
    run = sync.postings_sync_request(
        integration=integration, actor=request.user, kind=PostingSyncRun.Kind.FULL
    )
    if request.htmx:
        return render(
            request,
            "integrations/roles/_sync.html",
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
    integration = integration_get(user=request.user, public_id=public_id)
    run = selectors.posting_sync_run_latest(integration=integration)
    if request.htmx and (run is None or not run.is_active) and request.GET.get("polling"):
        return HttpResponseClientRefresh()
    return render(
        request, "integrations/roles/_sync.html", {"integration": integration, "run": run}
    )


def _decided(
    request: AuthenticatedHttpRequest, integration: AtsIntegration, posting_id: str, done: str
) -> HttpResponse:
    """After a Map / Create on one posting: with htmx, its row (swapped in place, so the page
    keeps its scroll position) and what else on the page changed; without, back to the row."""
    if not request.htmx:
        messages.success(request, done)
        return redirect(_roles_url(integration, request.POST, posting_id=posting_id))
    page = request.POST.get("page", "")
    return render(
        request,
        "integrations/roles/_row_update.html",
        {
            "integration": integration,
            "page": selectors.roles_page_row(integration=integration, posting_id=posting_id),
            "unmatched_only": request.POST.get("unmatched") == "1",
            "state": str(request.POST.get("state", ""))[:40],
            "page_number": page if page.isdigit() else "",
            "done": done,
        },
    )


def _refused(
    request: AuthenticatedHttpRequest,
    integration: AtsIntegration,
    message: str,
    *,
    mapping_form: RoleMappingForm | None = None,
    create_form: RolesCreateForm | None = None,
) -> HttpResponse:
    """Nothing changed (400): with htmx, the words alone (console.js shows them after the
    form); without, the page with the form's errors."""
    if request.htmx:
        return render(request, "integrations/roles/_refused.html", {"message": message}, status=400)
    messages.error(request, message)
    return _roles_render(
        request, integration, status=400, mapping_form=mapping_form, create_form=create_form
    )


@admin_required
@require_POST
def integration_roles_map(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    """Map a posting to a role, leave it unmatched on purpose, or give it back to matching."""
    integration = integration_get(user=request.user, public_id=public_id)
    form = RoleMappingForm(request.POST, integration=integration)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["action"] == "automatic":
                mappings.role_mapping_reset(
                    integration=integration, posting_id=data["posting"], actor=request.user
                )
                done = "Matched automatically again."
            else:
                role = data["role"] if data["action"] == "map" else None
                mappings.role_mapping_set(
                    integration=integration,
                    posting_id=data["posting"],
                    role=role,
                    actor=request.user,
                )
                done = f"Mapped to {role.title}." if role else "Left unmatched."
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            return _decided(request, integration, data["posting"], done)
    return _refused(
        request, integration, "Nothing changed: " + _first_error(form), mapping_form=form
    )


@admin_required
@require_POST
def integration_roles_create(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    """Create a Karat role from each chosen posting and map the posting to it."""
    integration = integration_get(user=request.user, public_id=public_id)
    form = RolesCreateForm(request.POST)
    if form.is_valid():
        try:
            created = mappings.roles_create_from_postings(
                integration=integration,
                posting_ids=form.cleaned_data["postings"],
                actor=request.user,
            )
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            if len(created) == 1 and created[0].role is not None:
                # One posting's "Create Karat role": its row, like Map.
                return _decided(
                    request,
                    integration,
                    form.cleaned_data["postings"][0],
                    f"Created the Karat role “{created[0].role.title}”.",
                )
            names = ", ".join(m.role.title for m in created if m.role)
            messages.success(request, f"Created {len(created)} Karat role(s): {names}.")
            if request.htmx:  # several rows changed (the bulk form posts without htmx)
                return HttpResponseClientRefresh()
            return redirect(_roles_url(integration, request.POST))
    return _refused(
        request, integration, "No role was created: " + _first_error(form), create_form=form
    )


def _first_error(form: Any) -> str:
    for errors in form.errors.values():
        return str(errors[0])
    return "check the form."


@admin_required
@require_GET
def integration_roles_choose(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    """A posting's role picker when the group has too many roles for a drop-down
    (``selectors.ROLE_SELECT_MAX``): a search (``?q=``, as you type with htmx) and at most
    ``ROLE_MATCHES_MAX`` matching roles, each a "Map" button. With htmx, the picker alone
    (inside the posting's row); without, a page of its own. An unknown posting is a 404."""
    integration = integration_get(user=request.user, public_id=public_id)
    posting = selectors.posting_get(
        integration=integration, posting_id=search_text(request.GET.get("posting"), max_length=64)
    )
    query = search_text(request.GET.get("q"), max_length=100)
    page = str(request.GET.get("page") or "")
    context = {
        "integration": integration,
        "posting": posting,
        "query": query,
        "roles": selectors.role_choice_search(integration=integration, query=query),
        "matches_max": selectors.ROLE_MATCHES_MAX,
        "unmatched_only": request.GET.get("unmatched") == "1",
        "state": str(request.GET.get("state") or "")[:40],
        "page_number": page if page.isdigit() else "",
    }
    template = "_choose.html" if request.htmx else "choose.html"
    return render(request, f"integrations/roles/{template}", context)
