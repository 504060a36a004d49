"""The automatic invite on an ATS stage: its rule, the decision per opportunity, invite, dry run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.utils import timezone

from integrations import ats
from integrations.auto_invites.selectors import auto_invite_started_at
from integrations.connection.services.audit import audit_entry_record
from integrations.invites.selectors import opportunity_link_get
from integrations.invites.services.create import InviteOutcome, invite_create
from integrations.invites.services.preview import (
    InviteInputError,
    InvitePreview,
    candidate_profile_url,
    email_refusal,
    invited_elsewhere_reason,
    preview_of,
    recent_candidacy,
)
from integrations.models import AtsIntegration, AuditEntry, AutoInviteRule
from integrations.status.refresh import status_refresh_request
from karatlever.hiring.models import CandidacyEvent, Role

if TYPE_CHECKING:
    from karatlever.accounts.models import User

# The most candidates a dry run of the automatic invite lists.
DRY_RUN_LIMIT = 25


@dataclass(frozen=True)
class AutoInviteDecision:
    """Whether one opportunity would be (or was) invited automatically, and why not."""

    opportunity_id: str
    candidate_name: str
    invite: bool
    reason: str
    role_title: str = ""
    url: str = ""  # the candidate's ATS page, to open (ats.CandidateLinks.candidate_profile_url)


def auto_invite_rule_get(*, integration: AtsIntegration) -> AutoInviteRule:
    rule, _ = AutoInviteRule.objects.get_or_create(integration=integration)
    return rule


def auto_invite_rule_update(
    *,
    integration: AtsIntegration,
    actor: User | None,
    enabled: bool,
    stage_id: str,
    stage_name: str,
    posting_ids: Sequence[str],
    origins: Sequence[str],
    role: Role | None,
) -> AutoInviteRule:
    """Save the integration's automatic invite and audit it. Raises InviteInputError when
    turned on without a stage, or with a role of another group."""
    if enabled and not stage_id:
        raise InviteInputError("Choose the Lever stage that sends the invite.", field="stage_id")
    if role is not None and role.group_id != integration.group_id:
        raise InviteInputError("Choose a role of this group.", field="role")
    rule = auto_invite_rule_get(integration=integration)
    rule.enabled = enabled
    rule.stage_id, rule.stage_name = stage_id, stage_name
    rule.posting_ids, rule.origins = sorted(set(posting_ids)), sorted(set(origins))
    rule.role = role
    rule.save(
        update_fields=[
            "enabled",
            "stage_id",
            "stage_name",
            "posting_ids",
            "origins",
            "role",
            "updated_at",
        ]
    )
    audit_entry_record(
        integration=integration,
        actor=actor,
        action=AuditEntry.Action.AUTO_INVITE_CHANGED,
        summary=(
            f"Automatic invite turned on for stage {stage_name or stage_id}"
            if enabled
            else "Automatic invite turned off"
        ),
        detail={
            "enabled": enabled,
            "stage_id": stage_id,
            "posting_ids": rule.posting_ids,
            "origins": rule.origins,
            "role": str(role.code) if role else "",
        },
    )
    status_refresh_request(integration_id=integration.pk, reason="Automatic invite saved")
    return rule


def auto_invite_rule_draft(
    *,
    integration: AtsIntegration,
    enabled: bool,
    stage_id: str,
    stage_name: str,
    posting_ids: Sequence[str],
    origins: Sequence[str],
    role: Role | None,
) -> AutoInviteRule:
    """The integration's automatic invite with these values, NOT saved: for a dry run of a
    form's values. Raises InviteInputError without a stage, or with a role of another group."""
    if not stage_id:
        raise InviteInputError("Choose a stage to run a dry run.", field="stage_id")
    if role is not None and role.group_id != integration.group_id:
        raise InviteInputError("Choose a role of this group.", field="role")
    return AutoInviteRule(
        integration=integration,
        enabled=enabled,
        stage_id=stage_id,
        stage_name=stage_name,
        posting_ids=sorted(set(posting_ids)),
        origins=sorted(set(origins)),
        role=role,
    )


def _auto_rule(integration: AtsIntegration) -> AutoInviteRule | None:
    return (
        AutoInviteRule.objects.filter(integration=integration, enabled=True)
        .exclude(stage_id="")
        .select_related("role")
        .first()
    )


def auto_invite_enabled(*, integration: AtsIntegration) -> bool:
    return _auto_rule(integration) is not None


def _in_stage(detail: ats.OpportunityDetail, started_at: datetime | None) -> str:
    """How the opportunity came to be in the rule's stage: "entered" it since the rule was
    turned on (``started_at``), "already in" it before (or the rule isn't on: it would only
    start later), or just "in" it when the ATS doesn't say when it entered."""
    if detail.stage_entered_at is None:
        return "in"
    if started_at is not None and detail.stage_entered_at >= started_at:
        return "entered"
    return "already in"


def _decide(
    rule: AutoInviteRule,
    integration: AtsIntegration,
    detail: ats.OpportunityDetail,
    *,
    started_at: datetime | None,
) -> tuple[AutoInviteDecision, InvitePreview | None, Role | None]:
    # The dry run links each candidate for a person to open (a local sandbox's own page).
    url = (
        candidate_profile_url(integration=integration, opportunity_id=detail.opportunity_id)
        or detail.url
    )

    def no(reason: str) -> tuple[AutoInviteDecision, None, None]:
        return (
            AutoInviteDecision(
                detail.opportunity_id, detail.candidate_name, False, reason, url=url
            ),
            None,
            None,
        )

    if detail.stage_id != rule.stage_id:
        return no("Not in the stage")
    if detail.hired:
        return no(f"Hired in {ats.adapter_for(integration.ats).label}")
    if detail.archived:
        return no("Archived")
    if rule.posting_ids and not set(detail.posting_ids) & set(rule.posting_ids):
        return no("Posting not included")
    if rule.origins and detail.origin not in rule.origins:
        return no(f"Origin “{detail.origin or 'none'}” not included")
    adapter = ats.adapter_for(integration.ats)
    postings = adapter.postings_get(
        ats.account_for(integration), detail.posting_ids, profile=ats.WORKER
    )
    preview = preview_of(
        group=integration.group,
        integration=integration,
        url=detail.url,
        detail=detail,
        postings=[postings[p] for p in detail.posting_ids if p in postings],
        role=None,
    )
    role = Role.objects.filter(pk=preview.role_id).first() if preview.role_id else rule.role
    if preview.existing_candidacy:
        existing = opportunity_link_get(
            organization_id=integration.group.organization_id,
            opportunity_id=detail.opportunity_id,
        )
        if preview.existing_group and existing is not None:
            return no(invited_elsewhere_reason(existing.candidacy))
        return no("Already invited")
    if not preview.email:
        return no("No email")
    # The same address rule as every invite (exactly one plain address Karat's mail can
    # carry), so a dry run never lists someone the invite itself would refuse.
    if refusal := email_refusal(preview.email):
        return no(refusal[1])
    if role is None:
        return no("No Karat role matches the posting (and the rule names none)")
    if recent_candidacy(role=role, email=preview.email) is not None:
        return no("Interviewed for this role in the last 6 months")
    how = _in_stage(detail, started_at)
    decision = AutoInviteDecision(
        detail.opportunity_id,
        detail.candidate_name,
        True,
        f"{how.capitalize()} stage {detail.stage_name or detail.stage_id}",
        role_title=role.title,
        url=url,
    )
    return decision, preview, role


# How the change that triggered an automatic invite was seen, in words (``via``).
_FOUND_BY = {"webhook": "seen in a webhook", "reconciliation": "found by the periodic sync"}


def auto_invite_consider(
    *,
    integration: AtsIntegration,
    opportunity_id: str,
    via: str,
    stage_id: str | None = None,
) -> InviteOutcome | None:
    """The automatic invite for one opportunity that changed (a verified webhook delivery,
    or the reconciliation poll; ``via`` says which). None when the rule is off, the
    opportunity is already linked by this integration, or it is not in the rule's stage
    (``stage_id``, when the caller already knows it, saves the ATS read). An opportunity
    linked by another group of the organization is skipped with that reason, without an ATS
    read. Otherwise reads the opportunity (one request) and invites it when it matches the
    rule and the invite rules (never twice, 6 months); each invite is an audit entry and
    timelined with why. ATS errors propagate (the caller retries the delivery or the poll)."""
    rule = _auto_rule(integration)
    if rule is None:
        return None
    if stage_id is not None and stage_id != rule.stage_id:
        return None
    existing = opportunity_link_get(
        organization_id=integration.group.organization_id, opportunity_id=opportunity_id
    )
    if existing is not None and existing.integration_id == integration.pk:
        return None
    if existing is not None:
        reason = invited_elsewhere_reason(existing.candidacy)
        return InviteOutcome(
            "", "auto_skipped", f"Automatic invite: {reason}", None, opportunity_id
        )
    adapter = ats.adapter_for(integration.ats)
    detail = adapter.opportunity_detail(
        ats.account_for(integration), opportunity_id, profile=ats.DELIVERY
    )
    started_at = auto_invite_started_at(integration=integration, stage_id=rule.stage_id)
    decision, preview, role = _decide(rule, integration, detail, started_at=started_at)
    if not decision.invite or preview is None:
        return InviteOutcome(
            detail.url, "auto_skipped", f"Automatic invite: {decision.reason}", None, opportunity_id
        )
    stage = detail.stage_name or detail.stage_id
    outcome = invite_create(
        integration=integration,
        preview=preview,
        role=role,
        actor=None,
        via="automatic",
        reason=(
            # Stored on the timeline, which shows the ATS's name (CandidacyEvent.THE_ATS).
            f"Automatic invite: {_in_stage(detail, started_at)} {CandidacyEvent.THE_ATS} stage "
            f"“{stage}” ({_FOUND_BY.get(via, via)})"
        ),
    )
    if outcome.invited and outcome.candidacy is not None:
        summary = f"Invited {outcome.candidacy.candidate_name} automatically (stage {stage})"
        audit_entry_record(
            integration=integration,
            actor=None,
            action=AuditEntry.Action.AUTO_INVITED,
            summary=summary,
            detail={
                "opportunity_id": opportunity_id,
                "candidacy": str(outcome.candidacy.code),
                "stage_id": detail.stage_id,
                "via": via,
            },
        )
        AutoInviteRule.objects.filter(pk=rule.pk).update(
            last_action_at=timezone.now(), last_action=summary[:300]
        )
        # The status page's Automatic invites feature shows the last one.
        status_refresh_request(integration_id=integration.pk, reason="Automatic invite sent")
    return outcome


def auto_invite_dry_run(
    *,
    integration: AtsIntegration,
    limit: int = DRY_RUN_LIMIT,
    draft: AutoInviteRule | None = None,
) -> list[AutoInviteDecision]:
    """Who the rule would invite right now: the active opportunities in its stage (read
    through the adapter, at most four times ``limit``), each with the decision and whether
    it entered the stage since the rule was turned on or was already in it. ``draft``: try
    these values (an unsaved rule, e.g. the form's) instead of the saved rule; nothing is
    saved either way. Empty when the rule has no stage. Raises ats.AtsError when the ATS
    can't be read."""
    rule = draft or (
        AutoInviteRule.objects.filter(integration=integration).select_related("role").first()
    )
    if rule is None or not rule.stage_id:
        return []
    # The saved rule's start; values not saved start only when saved, so none have entered.
    started_at = (
        auto_invite_started_at(integration=integration, stage_id=rule.stage_id)
        if rule.enabled
        else None
    )
    adapter = ats.adapter_for(integration.ats)
    details = adapter.opportunities_in_stage(
        ats.account_for(integration), rule.stage_id, limit=limit * 4, profile=ats.INTERACTIVE
    )
    decisions = [_decide(rule, integration, d, started_at=started_at)[0] for d in details]
    decisions.sort(key=lambda d: not d.invite)
    return decisions[:limit]
