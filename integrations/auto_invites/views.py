"""The automatic invite's console pieces: its Settings section and its page (form + dry run)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence

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
from integrations.roles.selectors import PostingSummary, posting_list
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import admin_required
from karatlever.forms import form_errors_from
from karatlever.hiring.models import Role


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


@admin_required
@require_http_methods(["GET", "POST"])
def edit(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Configure the automatic invite. Who it would invite right now: ``?dry_run=1`` for the
    saved rule, or the form posted with its "Dry run" button for the values in the form (not
    saved)."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    adapter = ats.adapter_for(integration.ats)
    account = ats.account_for(integration)
    rule = services.auto_invite_rule_get(integration=integration)
    ats_error = ""
    stages: list[tuple[str, str]] = []
    postings: list[tuple[str, str]] = []
    if integration.has_api_key:
        try:
            stages = [
                (s.stage_id, s.name) for s in adapter.stages_list(account, profile=ats.INTERACTIVE)
            ]
            # The postings the roles page synced; before the first sync, the ATS's list.
            listed: Sequence[ats.PostingInfo | PostingSummary] = posting_list(
                integration=integration
            ) or adapter.postings_list(account, profile=ats.INTERACTIVE)
            postings = posting_choices(listed)
        except ats.AtsError as exc:
            ats_error = exc.message
    roles = Role.objects.filter(group=integration.group, active=True)
    form = AutoInviteForm(
        request.POST or None,
        roles=roles,
        stages=stages,
        postings=postings or [(p, p) for p in rule.posting_ids],
        origins=list(adapter.origins()),
        initial={
            "enabled": rule.enabled,
            "stage_id": rule.stage_id,
            "posting_ids": rule.posting_ids,
            "origins": rule.origins,
            "role": rule.role.code if rule.role else None,
        },
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
    elif request.method == "POST" and form.is_valid():
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
        },
    )
