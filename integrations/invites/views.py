"""Invite pages: paste Lever candidate URLs, preview them, invite, follow the progress.

Mounted at ``/candidates/invite/`` (karatlever/urls.py, above the hiring pages). Recruiters and
admins of a group may invite into it; another organization's batch is a 404.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from integrations.invites import selectors
from integrations.invites.forms import InviteForm
from integrations.invites.services.batches import (
    RowChoice,
    batch_runs_in_background,
    invite_batch_confirm,
    invite_batch_start,
)
from integrations.invites.services.preview import (
    MAX_URLS,
    WARNING_LABELS,
    InviteInputError,
    InviteRowsError,
    InviteWarning,
    invite_group_default,
    invite_url_example,
)
from integrations.models import InviteBatch, InviteItem
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.models import User
from karatlever.accounts.permissions import member_required
from karatlever.accounts.selectors import group_list_visible
from karatlever.forms import form_errors_from
from karatlever.hiring.models import Role

RUNNING = (InviteBatch.Status.PREVIEWING, InviteBatch.Status.INVITING)


@member_required
@require_http_methods(["GET", "POST"])
def invite(request: AuthenticatedHttpRequest) -> HttpResponse:
    groups = group_list_visible(user=request.user)
    # The first group that can actually invite (an enabled integration), not just the first.
    default = invite_group_default(groups=list(groups))
    form = InviteForm(request.POST or None, groups=groups, initial={"group": default})
    example = invite_url_example(groups=list(groups))
    if example:  # the user's integrations are all in one Lever region: show its own link
        form.fields["urls"].help_text = (
            f"One URL per line, up to {MAX_URLS}. Copy each from the candidate's "
            f"profile in Lever ({example})."
        )
    if request.method == "POST" and form.is_valid():
        try:
            batch = invite_batch_start(
                group=form.cleaned_data["group"],
                raw_urls=form.cleaned_data["urls"],
                actor=request.user,
            )
        except InviteInputError as exc:
            form_errors_from(form, exc)
        else:
            return redirect("invites:batch", public_id=batch.public_id)
    # The pasted URLs (rows), not ``total``: that becomes the ticked rows once confirmed.
    recent = selectors.invite_batch_list_recent(user=request.user, groups=groups)
    return render(
        request,
        "integrations/invites/new.html",
        {"form": form, "one_group": groups.count() == 1, "recent": recent},
    )


@dataclass(frozen=True)
class PreviewRow:
    """One ready row of the preview form as shown: ticked or not, the role picked, and the
    reason it could not be invited as chosen (after a confirm that needed a decision)."""

    item: InviteItem
    checked: bool
    role_code: str
    confirm_recent: bool
    error: str = ""


# Warnings a recruiter must decide on: such rows start unticked.
DECIDE_WARNINGS = {InviteWarning.RECENT_INTERVIEW, InviteWarning.ARCHIVED, InviteWarning.HIRED}


def _rows(
    items: list[InviteItem], posted: QueryDict | None, errors: dict[int, str]
) -> list[PreviewRow]:
    rows = []
    for item in items:
        if item.status != InviteItem.Status.READY:
            continue
        if posted is not None:  # re-shown after a refused confirm: keep what was chosen
            rows.append(
                PreviewRow(
                    item=item,
                    checked=f"include-{item.pk}" in posted,
                    role_code=posted.get(f"role-{item.pk}", ""),
                    confirm_recent=f"confirm-{item.pk}" in posted,
                    error=errors.get(item.pk, ""),
                )
            )
            continue
        rows.append(
            PreviewRow(
                item=item,
                checked=item.role is not None and not DECIDE_WARNINGS & set(item.warnings),
                role_code=str(item.role.code) if item.role else "",
                confirm_recent=False,
            )
        )
    return rows


def _context(
    batch: InviteBatch,
    *,
    user: User,
    posted: QueryDict | None = None,
    errors: dict[int, str] | None = None,
) -> dict[str, object]:
    items = list(selectors.invite_items(batch=batch))
    done_or_pending = {
        InviteItem.Status.READY,
        InviteItem.Status.SELECTED,
        InviteItem.Status.INVITED,
    }
    return {
        "batch": batch,
        "items": items,
        "rows": _rows(items, posted, errors or {}),
        "running": batch.status in RUNNING,
        # A finished bar only where the recruiter watched it move (a batch run in the
        # worker); a small batch is read and invited within the request.
        "finished_bar": batch_runs_in_background(batch),
        "roles": Role.objects.filter(group=batch.group, active=True),
        "ready": [i for i in items if i.status == InviteItem.Status.READY],
        "invited": [i for i in items if i.status == InviteItem.Status.INVITED],
        "not_invited": [i for i in items if i.status != InviteItem.Status.INVITED],
        # Rows that can't be (or weren't) invited: the card is hidden when there are none.
        "problems": [i for i in items if i.status not in done_or_pending],
        "warning_labels": WARNING_LABELS,
        # A row may name another group's candidacy (already_invited_elsewhere): linked only
        # when the user may see that group.
        "visible_group_ids": set(group_list_visible(user=user).values_list("pk", flat=True)),
    }


@member_required
@require_GET
def batch(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    found = selectors.invite_batch_get(user=request.user, public_id=public_id)
    return render(request, "integrations/invites/batch.html", _context(found, user=request.user))


@member_required
@require_GET
def batch_progress(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The progress bar, polled by htmx; once the phase ends the page reloads itself
    (htmx's HX-Refresh header) to show the preview or the summary."""
    found = selectors.invite_batch_get(user=request.user, public_id=public_id)
    # A plain GET (no htmx) always gets the bar.
    if found.status not in RUNNING and request.htmx:
        return HttpResponseClientRefresh()
    return render(request, "integrations/invites/_progress.html", {"batch": found})


@member_required
@require_POST
def batch_confirm(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    found = selectors.invite_batch_get(user=request.user, public_id=public_id)
    roles = {str(r.code): r for r in Role.objects.filter(group=found.group, active=True)}
    choices: dict[int, RowChoice] = {}
    for item in found.items.filter(status=InviteItem.Status.READY):
        role_code = request.POST.get(f"role-{item.pk}", "")
        if role_code and role_code not in roles:
            messages.error(request, "Choose an active role of this group for every candidate.")
            return redirect("invites:batch", public_id=found.public_id)
        choices[item.pk] = RowChoice(
            include=f"include-{item.pk}" in request.POST,
            role=roles.get(role_code),
            confirm_recent=f"confirm-{item.pk}" in request.POST,
        )
    try:
        invite_batch_confirm(batch=found, choices=choices, actor=request.user)
    except InviteRowsError as exc:
        # Nothing changed: the same preview again, with each row's reason and the choices kept.
        messages.error(request, exc.message)
        context = _context(found, user=request.user, posted=request.POST, errors=exc.rows)
        return render(request, "integrations/invites/batch.html", context, status=400)
    except InviteInputError as exc:
        messages.error(request, exc.message)
    return redirect("invites:batch", public_id=found.public_id)
