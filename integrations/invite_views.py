"""Invite pages: paste Lever candidate URLs, preview them, invite, follow the progress.

Mounted at ``/candidates/invite/`` (karatlever/urls.py, above the hiring pages). Recruiters and
admins of a group may invite into it; another organization's batch is a 404.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from integrations import selectors
from integrations.invite_forms import InviteForm
from integrations.models import InviteBatch, InviteItem
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
