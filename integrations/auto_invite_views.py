"""The automatic invite's console pieces: its Settings section, its page (form + dry run),
its status-page feature. Registered from ``IntegrationsConfig.ready()``."""

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
from integrations.connection import selectors
from integrations.features import (
    AUTOMATIC_INVITES,
    FeatureCheck,
    FeatureHealth,
    FeatureIssue,
    SettingsSection,
    feature_health,
)
from integrations.invite_forms import AutoInviteForm
from integrations.models import AtsIntegration, AutoInviteRule
from integrations.roles.selectors import PostingSummary, posting_list
from integrations.services import invites
from karatlever.accounts.http import AuthenticatedHttpRequest
from karatlever.accounts.permissions import admin_required
from karatlever.forms import form_errors_from
from karatlever.hiring.models import Role


def _page_url(integration: AtsIntegration) -> str:
    return reverse("auto-invite:edit", kwargs={"public_id": integration.public_id})


def _rule(integration: AtsIntegration) -> AutoInviteRule | None:
    return AutoInviteRule.objects.filter(integration=integration).select_related("role").first()


def settings_section(integration: AtsIntegration) -> SettingsSection:
    """The automatic invite on the integration's Settings page: what it does now and a link
    to change it (the page reads stages and postings from the ATS; this section never does)."""
    return SettingsSection(
        template="integrations/invites/_auto_invite_section.html",
        context={"rule": _rule(integration), "url": _page_url(integration)},
    )


def automatic_invites_health(integration: AtsIntegration) -> FeatureHealth:
    """Off: muted "Off". On: ok, with its last automatic invite (two queries)."""
    rule = _rule(integration)
    url = _page_url(integration)
    if rule is None or not rule.enabled or not integration.enabled:
        why = "turned off" if integration.enabled else "off while the integration is disabled"
        return feature_health(
            AUTOMATIC_INVITES,
            "muted",
            "Off",
            f"Automatic invites are {why}.",
            checks=[FeatureCheck("rule", "Automatic invite", "muted", "Off.", url, "Turn it on")],
        )
    stage = rule.stage_name or rule.stage_id
    last = (
        f"Last: {rule.last_action}."
        if rule.last_action
        else "Nobody has been invited automatically yet."
    )
    checks = [
        FeatureCheck("rule", "Automatic invite", "ok", f"On for stage “{stage}”."),
        FeatureCheck(
            "fallback_role",
            "Role for unmatched postings",
            "ok" if rule.role else "info",
            rule.role.title
            if rule.role
            else "None: candidates whose posting matches no role are skipped.",
            "" if rule.role else url,
            "" if rule.role else "Choose a role",
        ),
    ]
    issues: tuple[FeatureIssue, ...] = ()
    if not integration.has_api_key:
        issues = (FeatureIssue("No API key: nothing can be read from the ATS.", url, "Settings"),)
    return feature_health(
        AUTOMATIC_INVITES,
        "warn" if issues else "ok",
        "On",
        f"Candidates entering “{stage}” are invited. {last}",
        checks=checks,
        issues=issues,
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
    """Configure the automatic invite; ``?dry_run=1`` lists who it would invite right now."""
    integration = selectors.integration_get(user=request.user, public_id=public_id)
    adapter = ats.adapter_for(integration.ats)
    account = ats.account_for(integration)
    rule = invites.auto_invite_rule_get(integration=integration)
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
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invites.auto_invite_rule_update(
                integration=integration,
                actor=request.user,
                enabled=data["enabled"],
                stage_id=data["stage_id"],
                stage_name=form.stage_names.get(data["stage_id"], rule.stage_name),
                posting_ids=data["posting_ids"],
                origins=data["origins"],
                role=data["role"],
            )
        except invites.InviteInputError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, "Automatic invite saved.")
            return redirect(_page_url(integration))
    dry_run: list[invites.AutoInviteDecision] | None = None
    if request.GET.get("dry_run") and rule.stage_id:
        try:
            dry_run = invites.auto_invite_dry_run(integration=integration)
        except ats.AtsError as exc:
            ats_error = exc.message
    return render(
        request,
        "integrations/invites/auto_invite.html",
        {
            "integration": integration,
            "form": form,
            "rule": rule,
            "ats_error": ats_error,
            "dry_run": dry_run,
            "ats_label": adapter.label,
        },
    )
