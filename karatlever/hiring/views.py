"""Candidates and roles pages (thin: authorise, validate, call a service, render)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import member_required
from karatlever.accounts.selectors import group_list_visible
from karatlever.forms import form_errors_from
from karatlever.hiring import selectors, services
from karatlever.hiring.forms import CandidateFilterForm, MilestoneForm, RoleFollowerForm, RoleForm
from karatlever.hiring.hooks import candidacy_context, role_list_links

# Registered from integrations' AppConfig.ready() under these names (the registry is in hooks).
from karatlever.hiring.hooks import (
    candidacy_context_hook_register as candidacy_context_hook_register,
)
from karatlever.hiring.hooks import (
    role_list_links_hook_register as role_list_links_hook_register,
)
from karatlever.hiring.models import Candidacy, CandidacyEvent, Role
from karatlever.search_text import search_text

CANDIDATES_PER_PAGE = 50


def _require_admin(request: AuthenticatedHttpRequest, message: str) -> None:
    if not request.membership.is_admin:
        raise PermissionDenied(message)


def _role_list_url(role_or_group_code: object) -> str:
    return f"{reverse('hiring:role-list')}?group={role_or_group_code}"


# --- Roles -----------------------------------------------------------------------------------


ROLES_PER_PAGE = 50


@member_required
def role_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    groups = group_list_visible(user=request.user)
    code = request.GET.get("group")
    # An organization without groups gets an explanatory empty page rather than a 404.
    group = selectors.group_get_visible(user=request.user, code=code) if code else groups.first()
    search = search_text(request.GET.get("q"), max_length=200)
    # Paged, with a search: a group of 500 roles would otherwise be half a megabyte.
    roles = (
        selectors.role_list_with_followers(group=group, search=search)
        if group
        else Role.objects.none()
    )
    page = Paginator(roles, ROLES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "hiring/role_list.html",
        {
            "groups": groups,
            "group": group,
            "roles": page.object_list,
            "page_obj": page,
            "search": search,
            "can_edit": request.membership.is_admin,
            # e.g. the group's ATS postings and how they match these roles (integrations).
            "links": role_list_links(group, is_admin=request.membership.is_admin) if group else [],
        },
    )


def _role_save(form: RoleForm, *, role: Role | None) -> Role | None:
    """Create or update through the services; a lost uniqueness race becomes a form error."""
    data = form.cleaned_data
    try:
        with transaction.atomic():
            if role is None:
                return services.role_create(
                    group=form.group,
                    title=data["title"],
                    requisition_code=data["requisition_code"],
                    active=data["active"],
                )
            return services.role_update(
                role=role,
                title=data["title"],
                requisition_code=data["requisition_code"],
                active=data["active"],
            )
    except IntegrityError:
        # Another request took the same requisition code between validation and insert.
        form.add_error("requisition_code", "Another role in this group already uses this code.")
        return None


@member_required
def role_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    group = selectors.group_get_default(
        user=request.user,
        code=request.GET.get("group"),
    )
    _require_admin(request, "Only organization admins can create roles.")
    form = RoleForm(request.POST or None, group=group)
    if request.method == "POST" and form.is_valid():
        role = _role_save(form, role=None)
        if role is not None:
            messages.success(request, f"Role “{role.title}” created.")
            return redirect(_role_list_url(group.code))
    return render(request, "hiring/role_form.html", {"form": form, "group": group, "role": None})


@member_required
def role_edit(request: AuthenticatedHttpRequest, code: object) -> HttpResponse:
    role = selectors.role_get_visible(user=request.user, code=code)
    _require_admin(request, "Only organization admins can edit roles.")
    form = RoleForm(request.POST or None, group=role.group, role=role)
    if request.method == "POST" and form.is_valid():
        saved = _role_save(form, role=role)
        if saved is not None:
            messages.success(request, f"Role “{saved.title}” saved.")
            return redirect(_role_list_url(role.group.code))
    return render(
        request,
        "hiring/role_form.html",
        {
            "form": form,
            "group": role.group,
            "role": role,
            "followers": selectors.role_follower_list(role=role),
            "follower_form": RoleFollowerForm(users=selectors.role_follower_candidates(role=role)),
        },
    )


def _role_edit_url(role: Role) -> str:
    return f"{reverse('hiring:role-edit', args=[role.code])}#followers"


@require_POST
@member_required
def role_follower_add(request: AuthenticatedHttpRequest, code: object) -> HttpResponse:
    """An admin adds a Karat user as a manual follower (kept by every sync)."""
    role = selectors.role_get_visible(user=request.user, code=code)
    _require_admin(request, "Only organization admins can change a role's followers.")
    form = RoleFollowerForm(request.POST, users=selectors.role_follower_candidates(role=role))
    if not form.is_valid():
        messages.error(request, "Choose a Karat user of your organization.")
        return redirect(_role_edit_url(role))
    follower = services.role_follower_add(
        role=role, user=form.cleaned_data["user"], actor=request.user
    )
    messages.success(request, f"{follower.name or follower.email} now follows “{role.title}”.")
    return redirect(_role_edit_url(role))


@require_POST
@member_required
def role_follower_remove(
    request: AuthenticatedHttpRequest, code: object, follower_id: int
) -> HttpResponse:
    """An admin removes a manual follower; one from the ATS hiring team stays."""
    role = selectors.role_get_visible(user=request.user, code=code)
    _require_admin(request, "Only organization admins can change a role's followers.")
    follower = selectors.role_follower_get(role=role, follower_id=follower_id)
    who = follower.name or follower.email
    if services.role_follower_remove(follower=follower):
        messages.success(request, f"{who} no longer follows “{role.title}”.")
    else:
        messages.info(
            request,
            f"{who} is on the Lever hiring team, so still follows “{role.title}”: change the "
            "team in Lever.",
        )
    return redirect(_role_edit_url(role))


@require_POST
@member_required
def role_set_active(request: AuthenticatedHttpRequest, code: object) -> HttpResponse:
    role = selectors.role_get_visible(user=request.user, code=code)
    _require_admin(request, "Only organization admins can deactivate or reactivate roles.")
    active = request.POST.get("active") == "1"
    services.role_update(
        role=role, title=role.title, requisition_code=role.requisition_code, active=active
    )
    verb = "reactivated" if active else "deactivated"
    messages.success(request, f"Role “{role.title}” {verb}.")
    return redirect(_role_list_url(role.group.code))


# --- Candidates ------------------------------------------------------------------------------


@member_required
def candidate_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    groups = group_list_visible(user=request.user)
    form = CandidateFilterForm(
        request.GET or None,
        groups=groups,
        roles=selectors.candidacy_role_list(groups=groups),
        stage_names=selectors.candidacy_stage_names(groups=groups),
    )
    filters = form.filters() if request.GET else {}
    candidacies = selectors.candidacy_list_filtered(user=request.user, **filters)
    page = Paginator(candidacies, CANDIDATES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "hiring/candidate_list.html",
        {
            "form": form,
            "page_obj": page,
            "candidacies": page.object_list,
            "filtered": any(value not in (None, "") for value in filters.values()),
            "show_group_filter": form.several_groups,
        },
    )


def _candidate_detail_render(
    request: AuthenticatedHttpRequest,
    candidacy: Candidacy,
    status_form: MilestoneForm | None = None,
) -> HttpResponse:
    is_admin = request.membership.is_admin
    if is_admin and status_form is None:
        status_form = _milestone_form(request, candidacy, milestone=request.GET.get("milestone"))
    events = list(selectors.candidacy_event_list(candidacy=candidacy))
    extra = candidacy_context(candidacy)
    ats_label = extra.get("ats_label", "")
    context: dict[str, Any] = {
        "candidacy": candidacy,
        "events": events,
        # Each entry with its text and kind naming the ATS, and who or what it came from, in
        # words ("by Ada Admin").
        "timeline": [
            (
                event,
                event.summary_shown(ats_label=ats_label),
                event.kind_shown(ats_label=ats_label),
                event.credit(ats_label=ats_label, event_labels=extra.get("ats_event_labels")),
            )
            for event in events
        ],
        "status_form": status_form if is_admin else None,
        **extra,
    }
    return render(request, "hiring/candidate_detail.html", context)


def _milestone_form(
    request: AuthenticatedHttpRequest, candidacy: Candidacy, *, milestone: str | None = None
) -> MilestoneForm:
    return MilestoneForm(
        request.POST if request.method == "POST" else None,
        candidacy=candidacy,
        milestone=milestone or "",
        fields_url=reverse("hiring:candidate-detail", kwargs={"code": candidacy.code}),
    )


@member_required
def candidate_detail(request: AuthenticatedHttpRequest, code: object) -> HttpResponse:
    candidacy = selectors.candidacy_get(user=request.user, code=code)
    return _candidate_detail_render(request, candidacy)


@require_POST
@member_required
def candidate_status_change(request: AuthenticatedHttpRequest, code: object) -> HttpResponse:
    candidacy = selectors.candidacy_get(user=request.user, code=code)
    _require_admin(request, "Only organization admins can change a candidacy's Karat status.")
    form = _milestone_form(request, candidacy)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.candidacy_milestone_record(
                candidacy=candidacy,
                milestone=data["milestone"],
                scheduled_at=data.get("scheduled_at"),
                recommendation=data.get("recommendation", ""),
                summary=data.get("summary", ""),
                report_url=data.get("report_url", ""),
                actor=request.user,
                source=CandidacyEvent.Source.PERSON,
            )
        except services.HiringError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, "Milestone recorded.")
            return redirect("hiring:candidate-detail", code=candidacy.code)
    return _candidate_detail_render(request, candidacy, status_form=form)
