"""The automatic invite's console pieces: its Settings section and its page (form + dry run)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from integrations import ats
from integrations.auto_invites import services
from integrations.auto_invites.forms import AutoInviteForm
from integrations.auto_invites.selectors import auto_invite_rule_find
from integrations.connection import selectors
from integrations.features import (
    SettingsSection,
)
from integrations.invites.services.preview import InviteInputError
from integrations.models import AtsIntegration, AutoInviteRule
from integrations.roles.selectors import (
    POSTING_MATCHES_MAX,
    ROLE_MATCHES_MAX,
    ROLE_SELECT_MAX,
    PostingSummary,
    posting_any_synced,
    posting_search,
    posting_summaries_get,
    role_choice_search,
)
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import admin_required
from karatlever.forms import form_errors_from
from karatlever.hiring.models import Role
from karatlever.search_text import search_text


def _page_url(integration: AtsIntegration) -> str:
    return reverse("auto-invite:edit", kwargs={"public_id": integration.public_id})


def settings_section(integration: AtsIntegration) -> SettingsSection:
    """The automatic invite on the integration's Settings page: what it does now and a link
    to change it (the page reads stages and postings from the ATS; this section never does)."""
    return SettingsSection(
        template="integrations/auto_invites/_section.html",
        context={
            "rule": auto_invite_rule_find(integration=integration),
            "url": _page_url(integration),
        },
        anchor="automatic-invite",
        title="Automatic invite (optional)",
    )


def posting_choices(
    listed: Sequence[ats.PostingInfo | PostingSummary],
) -> list[tuple[str, str]]:
    """(posting id, label) for the posting filter. The label is the title, the team and
    location when known, and the state; postings that would still read the same (the ATS
    allows equal titles) also show the start of their id."""

    def label(p: ats.PostingInfo | PostingSummary) -> str:
        where = " · ".join(x for x in (getattr(p, "team", ""), getattr(p, "location", "")) if x)
        text = f"{p.title} — {where}" if where else p.title
        return f"{text} ({p.state})" if p.state else text

    labels = [label(p) for p in listed]
    counts = Counter(labels)
    return [
        (p.posting_id, f"{text} · id {p.posting_id[:8]}" if counts[text] > 1 else text)
        for p, text in zip(listed, labels, strict=True)
    ]


# The most posting ids a posted form may name: more is a forged form, not a choice.
POSTINGS_CHOSEN_MAX = 500


def _posting_matches(
    listed: Sequence[ats.PostingInfo | PostingSummary], query: str
) -> list[ats.PostingInfo | PostingSummary]:
    """Before the first sync (the ATS's own list): the postings whose title, team or location
    contains ``query`` (case-insensitive), at most ``POSTING_MATCHES_MAX``."""
    needle = query.strip().casefold()
    found = [
        p
        for p in listed
        if not needle
        or needle
        in " ".join((p.title, getattr(p, "team", ""), getattr(p, "location", ""))).casefold()
        or needle == p.posting_id.casefold()
    ]
    return found[:POSTING_MATCHES_MAX]


def _posting_picker(
    integration: AtsIntegration,
    adapter: ats.AtsAdapter,
    account: ats.AtsAccount,
    *,
    chosen_ids: Sequence[str],
    query: str,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The posting filter's (id, label) pairs: the chosen postings (all of them, kept) and
    at most ``POSTING_MATCHES_MAX`` others matching ``query``, so the page stays small with
    5,000 postings. From the postings the roles page synced (two indexed queries); before the
    first sync, from the ATS's list. Raises ats.AtsError when the ATS must be read and fails."""
    if posting_any_synced(integration=integration):
        chosen: list[ats.PostingInfo | PostingSummary] = list(
            posting_summaries_get(integration=integration, posting_ids=chosen_ids)
        )
        matches: list[ats.PostingInfo | PostingSummary] = list(
            posting_search(
                integration=integration, query=query, limit=POSTING_MATCHES_MAX + len(chosen)
            )
        )
    else:
        listed = adapter.postings_list(account, profile=ats.INTERACTIVE)
        wanted = set(chosen_ids)
        chosen = [p for p in listed if p.posting_id in wanted]
        matches = _posting_matches([p for p in listed if p.posting_id not in wanted], query)
    taken = {p.posting_id for p in chosen}
    others = [p for p in matches if p.posting_id not in taken][:POSTING_MATCHES_MAX]
    labelled = posting_choices([*chosen, *others])
    return labelled[: len(chosen)], labelled[len(chosen) :]


@admin_required
@require_http_methods(["GET"])
def postings(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The posting filter's matches for ``?posting_q=`` (htmx, as the admin types): at most
    ``POSTING_MATCHES_MAX`` unchosen postings as checkboxes; ``posting_ids`` (the ones
    already chosen) are left out. Without htmx, the page itself at that search."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    query = search_text(request.GET.get("posting_q"), max_length=100)
    if not request.htmx:
        return redirect(f"{_page_url(integration)}?{urlencode({'posting_q': query})}#id_posting_q")
    ats_error = ""
    matches: list[tuple[str, str]] = []
    if integration.has_api_key:
        try:
            _, matches = _posting_picker(
                integration,
                ats.adapter_for(integration.ats),
                ats.account_for(integration),
                chosen_ids=request.GET.getlist("posting_ids")[:POSTINGS_CHOSEN_MAX],
                query=query,
            )
        except ats.AtsError as exc:
            ats_error = exc.message
    return render(
        request,
        "integrations/auto_invites/_posting_matches.html",
        {"posting_matches": matches, "posting_query": query, "ats_error": ats_error},
    )


@admin_required
@require_http_methods(["GET", "POST"])
def edit(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Configure the automatic invite. Who it would invite right now: ``?dry_run=1`` for the
    saved rule, or the form posted with its "Dry run" button for the values in the form (not
    saved). The posting filter searches as you type (``postings``); without JavaScript its
    "Find" button posts the form back with the values kept, saving nothing."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    adapter = ats.adapter_for(integration.ats)
    account = ats.account_for(integration)
    rule = services.auto_invite_rule_get(integration=integration)
    posting_query = search_text(
        (request.POST if request.method == "POST" else request.GET).get("posting_q"),
        max_length=100,
    )
    chosen_ids = (
        [
            search_text(value, max_length=64)
            for value in request.POST.getlist("posting_ids")[:POSTINGS_CHOSEN_MAX]
        ]
        if request.method == "POST"
        else rule.posting_ids
    )
    finding = request.method == "POST" and "find_postings" in request.POST
    ats_error = ""
    stages: list[tuple[str, str]] = []
    chosen: list[tuple[str, str]] = []
    matches: list[tuple[str, str]] = []
    if integration.has_api_key:
        try:
            stages = [
                (s.stage_id, s.name) for s in adapter.stages_list(account, profile=ats.INTERACTIVE)
            ]
            chosen, matches = _posting_picker(
                integration, adapter, account, chosen_ids=chosen_ids, query=posting_query
            )
        except ats.AtsError as exc:
            ats_error = exc.message
    if ats_error or not integration.has_api_key:
        # The ATS could not say: the saved choice stays as it is, by id.
        chosen = [(p, p) for p in rule.posting_ids]
    roles = Role.objects.filter(group=integration.group, active=True)
    # Beyond ROLE_SELECT_MAX active roles, the fallback role is a search too: the chosen one
    # and at most ROLE_MATCHES_MAX matches of ?role_q= (the form validates any active role).
    role_query = str(
        (request.POST if request.method == "POST" else request.GET).get("role_q") or ""
    )[:100]
    role_matches: list[Role] | None = None
    if roles[ROLE_SELECT_MAX : ROLE_SELECT_MAX + 1].exists():
        chosen_code = (request.POST.get("role") if request.method == "POST" else None) or (
            str(rule.role.code) if rule.role else ""
        )
        try:
            # Untrusted (a posted form): not a role code is no role, never a 500.
            chosen_role = [*roles.filter(code=uuid.UUID(str(chosen_code)))] if chosen_code else []
        except ValueError:
            chosen_role = []
        role_matches = chosen_role
        role_matches += [
            r
            for r in role_choice_search(integration=integration, query=role_query)
            if r not in role_matches
        ]
    initial = {
        "enabled": rule.enabled,
        "stage_id": rule.stage_id,
        "posting_ids": rule.posting_ids,
        "origins": rule.origins,
        "role": rule.role.code if rule.role else None,
    }
    if finding:
        # "Find" without JavaScript: the form again with what the admin had, unsaved.
        initial = {
            "enabled": bool(request.POST.get("enabled")),
            "stage_id": request.POST.get("stage_id", ""),
            "posting_ids": chosen_ids,
            "origins": request.POST.getlist("origins"),
            "role": request.POST.get("role") or None,
        }
    form = AutoInviteForm(
        request.POST if request.method == "POST" and not finding else None,
        roles=roles,
        stages=stages,
        postings=[*chosen, *matches],
        origins=list(adapter.origins()),
        initial=initial,
    )
    # The form's "Dry run" button: its values, tried without saving them.
    trying = request.method == "POST" and "dry_run" in request.POST
    dry_run: list[services.AutoInviteDecision] | None = None
    draft: AutoInviteRule | None = None
    if trying and form.is_valid():
        data = form.cleaned_data
        try:
            draft = services.auto_invite_rule_draft(
                integration=integration,
                enabled=data["enabled"],
                stage_id=data["stage_id"],
                stage_name=form.stage_names.get(data["stage_id"], ""),
                posting_ids=data["posting_ids"],
                origins=data["origins"],
                role=data["role"],
            )
        except InviteInputError as exc:
            form_errors_from(form, exc)
    elif request.method == "POST" and not finding and form.is_valid():
        data = form.cleaned_data
        try:
            services.auto_invite_rule_update(
                integration=integration,
                actor=request.user,
                enabled=data["enabled"],
                stage_id=data["stage_id"],
                stage_name=form.stage_names.get(data["stage_id"], rule.stage_name),
                posting_ids=data["posting_ids"],
                origins=data["origins"],
                role=data["role"],
            )
        except InviteInputError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, "Automatic invite saved.")
            return redirect(_page_url(integration))
    if draft is not None or (
        request.method == "GET" and request.GET.get("dry_run") and rule.stage_id
    ):
        try:
            dry_run = services.auto_invite_dry_run(integration=integration, draft=draft)
        except ats.AtsError as exc:
            ats_error = exc.message
    return render(
        request,
        "integrations/auto_invites/page.html",
        {
            "integration": integration,
            "form": form,
            "rule": rule,
            "ats_error": ats_error,
            "dry_run": dry_run,
            # The dry run tried the form's values, not the saved rule.
            "dry_run_draft": draft is not None,
            "ats_label": adapter.label,
            "posting_chosen": chosen,
            "posting_matches": matches,
            "posting_query": posting_query,
            "role_matches": role_matches,
            "role_query": role_query,
            "role_matches_max": ROLE_MATCHES_MAX,
        },
    )
