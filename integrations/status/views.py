"""The status page (Step 4 of the setup guide): the snapshot, its live part and Check again."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from integrations.connection import selectors
from integrations.status import refresh
from integrations.status import selectors as status_selectors
from integrations.status import services as status_services
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import admin_required


@admin_required
def integration_status(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    """Step 4: the stored status snapshot (computed here once if there is none yet)."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    snapshot = status_services.status_snapshot_ensure(integration=integration)
    return render(
        request,
        "integrations/status/page.html",
        status_selectors.status_page_context(integration=integration, snapshot=snapshot),
    )


@admin_required
@require_GET
def integration_status_live(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    """The status page's live part alone: htmx polls it while a recompute is pending."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    snapshot = status_services.status_snapshot_ensure(integration=integration)
    return render(
        request,
        "integrations/status/_live.html",
        status_selectors.status_page_context(integration=integration, snapshot=snapshot),
    )


@admin_required
@require_POST
def integration_status_refresh(request: AuthenticatedHttpRequest, public_id: UUID) -> HttpResponse:
    """ "Check again": recompute in the background; htmx swaps in the polling live part."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    refresh.status_refresh_request(
        integration_id=integration.pk, reason=f"Check again by user {request.user.pk}"
    )
    if request.htmx:
        integration = selectors.integration_get(user=request.user, public_id=public_id)
        snapshot = status_services.status_snapshot_ensure(integration=integration)
        return render(
            request,
            "integrations/status/_live.html",
            status_selectors.status_page_context(integration=integration, snapshot=snapshot),
        )
    messages.success(request, "Checking again in the background…")
    return redirect("integrations:status", public_id=integration.public_id)
