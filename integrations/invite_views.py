"""Invite pages: paste Lever candidate URLs, preview them, invite, follow the progress.

Mounted at ``/candidates/invite/`` (karatlever/urls.py, above the hiring pages). Recruiters and
admins of a group may invite into it; another organization's batch is a 404.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.db.models import Count, Max
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from integrations import ats, selectors
from integrations.invite_forms import InviteForm
from integrations.models import AtsIntegration, InviteBatch, InviteItem, OpportunityLink
from integrations.selectors import (
    FEATURES,
    INVITE_FROM_LEVER_URL,
    FeatureCheck,
    FeatureHealth,
    FeatureIssue,
)
from integrations.services import invites
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import member_required
from karatlever.accounts.selectors import group_list_visible
from karatlever.forms import form_errors_from
from karatlever.hiring.models import Role

RUNNING = (InviteBatch.Status.PREVIEWING, InviteBatch.Status.INVITING)


@member_required
@require_http_methods(["GET", "POST"])
def invite(request: AuthenticatedHttpRequest) -> HttpResponse:
    groups = group_list_visible(user=request.user)
    form = InviteForm(request.POST or None, groups=groups, initial={"group": groups.first()})
    if request.method == "POST" and form.is_valid():
        try:
            batch = invites.invite_batch_start(
                group=form.cleaned_data["group"],
                raw_urls=form.cleaned_data["urls"],
                actor=request.user,
            )
        except invites.InviteInputError as exc:
            form_errors_from(form, exc)
        else:
            return redirect("invites:batch", public_id=batch.public_id)
    recent = InviteBatch.objects.filter(group__in=groups, created_by=request.user)[:5]
    return render(
        request,
        "integrations/invites/new.html",
        {"form": form, "one_group": groups.count() == 1, "recent": recent},
    )


def _context(batch: InviteBatch) -> dict[str, object]:
    items = list(selectors.invite_items(batch=batch))
    return {
        "batch": batch,
        "items": items,
        "running": batch.status in RUNNING,
        "roles": Role.objects.filter(group=batch.group, active=True),
        "ready": [i for i in items if i.status == InviteItem.Status.READY],
        "invited": [i for i in items if i.status == InviteItem.Status.INVITED],
        "not_invited": [i for i in items if i.status != InviteItem.Status.INVITED],
        "warning_labels": invites.WARNING_LABELS,
    }


@member_required
@require_GET
def batch(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    found = selectors.invite_batch_get(user=request.user, public_id=public_id)
    return render(request, "integrations/invites/batch.html", _context(found))


@member_required
@require_GET
def batch_progress(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The progress bar, polled by htmx; once the phase ends the page reloads itself
    (htmx's HX-Refresh header) to show the preview or the summary."""
    found = selectors.invite_batch_get(user=request.user, public_id=public_id)
    # django-htmx's middleware marks htmx requests (request.htmx); a plain GET gets the bar.
    if found.status not in RUNNING and request.headers.get("HX-Request") == "true":
        return HttpResponseClientRefresh()
    return render(request, "integrations/invites/_progress.html", {"batch": found})


@member_required
@require_POST
def batch_confirm(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    found = selectors.invite_batch_get(user=request.user, public_id=public_id)
    roles = {str(r.code): r for r in Role.objects.filter(group=found.group, active=True)}
    choices: dict[int, invites.RowChoice] = {}
    for item in found.items.filter(status=InviteItem.Status.READY):
        role_code = request.POST.get(f"role-{item.pk}", "")
        if role_code and role_code not in roles:
            messages.error(request, "Choose an active role of this group for every candidate.")
            return redirect("invites:batch", public_id=found.public_id)
        choices[item.pk] = invites.RowChoice(
            include=f"include-{item.pk}" in request.POST,
            role=roles.get(role_code),
            confirm_recent=f"confirm-{item.pk}" in request.POST,
        )
    try:
        invites.invite_batch_confirm(batch=found, choices=choices, actor=request.user)
    except invites.InviteInputError as exc:
        messages.error(request, exc.message)
    return redirect("invites:batch", public_id=found.public_id)


def invite_from_lever_url_health(integration: AtsIntegration) -> FeatureHealth:
    """The "Invite candidates using Lever URL" feature for the status page: it works while
    the integration is on with an accepted key (the key check covers reading opportunities
    and postings); the summary counts candidacies invited from ATS links (one query)."""
    name, description = next((n, d) for k, n, d in FEATURES if k == INVITE_FROM_LEVER_URL)
    label = ats.adapter_for(integration.ats).label
    settings_url = reverse("integrations:settings", kwargs={"public_id": integration.public_id})
    description = (
        f"Recruiters paste {label} candidate URLs on the Invite candidates page (or use the "
        "invitations API); Karat reads each candidate, matches the posting to a Karat role "
        "and invites them."
    )

    def health(level: str, status: str, summary: str, *checks: FeatureCheck) -> FeatureHealth:
        return FeatureHealth(
            key=INVITE_FROM_LEVER_URL,
            name=name,
            description=description,
            level=level,
            label=status,
            summary=summary,
            checks=checks,
            issues=tuple(
                FeatureIssue(c.message, c.fix_url, c.fix_text) for c in checks if c.level == "bad"
            ),
        )

    if not integration.enabled:
        return health("muted", "Off", "The integration is disabled: nobody can invite from it.")
    if integration.key_status == AtsIntegration.KeyStatus.CHECKING:
        check = FeatureCheck("api_key", "API key", "info", f"{label} is checking the key.")
        return health("info", "Waiting for the key check", "", check)
    key_ok = integration.has_api_key and integration.key_status == AtsIntegration.KeyStatus.VALID
    if not key_ok:
        check = FeatureCheck(
            "api_key",
            "API key",
            "bad",
            f"Inviting reads candidates from {label} with the integration's API key, which is "
            "not working yet.",
            settings_url,
            "Fix the API key in Settings",
        )
        return health("bad", "Needs attention", "", check)
    stats = OpportunityLink.objects.filter(integration=integration).aggregate(
        count=Count("pk"), last=Max("created_at")
    )
    count, last = stats["count"], stats["last"]
    summary = (
        f"{count} candidate{'s' if count != 1 else ''} invited from {label} links"
        + (f", the last on {last:%Y-%m-%d}." if last else ".")
        if count
        else f"Nobody invited from {label} links yet."
    )
    check = FeatureCheck("api_key", "API key", "ok", f"{label} accepted the key.")
    return health("ok", "Working", summary, check)
