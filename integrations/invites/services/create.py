"""Inviting one previewed candidate (all or nothing) and the API's many URLs in one request."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from integrations.invites.selectors import opportunity_link_get
from integrations.invites.services.emails import invitation_email_queue
from integrations.invites.services.preview import (
    MAX_URLS,
    InviteCode,
    InviteInputError,
    InvitePreview,
    email_refusal,
    integration_for_group,
    invite_preview,
    invited_elsewhere_message,
    recent_candidacy,
)
from integrations.models import AtsIntegration, OpportunityLink
from integrations.outbound.services.enqueue import outbound_milestone_enqueue
from karatlever.hiring.models import Candidacy, CandidacyEvent, Milestone, Role
from karatlever.hiring.services import HiringError, candidacy_create, candidacy_event_add

if TYPE_CHECKING:
    from karatlever.accounts.models import Group, User

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InviteOutcome:
    """What inviting one URL did. ``code`` is ``invited``, ``already_invited`` or why not
    (``already_invited_elsewhere``: ``candidacy`` is another group's, which the user may not
    be allowed to see)."""

    url: str
    code: str
    message: str
    candidacy: Candidacy | None = None
    opportunity_id: str = ""

    @property
    def invited(self) -> bool:
        return self.code == InviteCode.INVITED


# --- invite -----------------------------------------------------------------------------------


def invite_create(
    *,
    integration: AtsIntegration,
    preview: InvitePreview,
    role: Role | None,
    actor: User | None,
    confirm_recent: bool = False,
    via: str = "console",
    reason: str = "",
) -> InviteOutcome:
    """Invite the candidate of a (successful) preview for ``role``: Candidacy, its
    OpportunityLink, the ATS state, a timeline entry and the queued invitation email
    (``emails.invitation_email_queue``: sent by a worker after commit), all or nothing. ``via`` is console | api | automatic (recorded on the timeline with ``reason``).

    Never twice, in any group of the organization: an opportunity already linked (now, or by
    a concurrent invite that commits first — the link's unique constraint decides) returns
    ``already_invited`` with that candidacy, or ``already_invited_elsewhere`` when the
    candidacy is another group's (no candidacy, email or ATS update is made). A candidacy for
    the same role and email in the last 6 months returns ``recent_interview`` unless
    ``confirm_recent``. Never raises for these rules.
    """
    url = preview.url
    if not preview.ok:
        return InviteOutcome(url, preview.code, preview.message)
    if not preview.email:
        return InviteOutcome(
            url,
            InviteCode.NO_EMAIL,
            "The candidate has no email address in the ATS: add one there, then invite again.",
            opportunity_id=preview.opportunity_id,
        )
    refusal = email_refusal(preview.email)
    if refusal is not None:
        return InviteOutcome(url, *refusal, opportunity_id=preview.opportunity_id)
    if role is None:
        return InviteOutcome(
            url,
            InviteCode.NO_ROLE,
            "No Karat role matches this candidate's posting: choose a role.",
            opportunity_id=preview.opportunity_id,
        )
    if role.group_id != integration.group_id or not role.active:
        return InviteOutcome(
            url,
            InviteCode.ROLE_INACTIVE,
            f"The role “{role.title}” is not an active role of this group.",
            opportunity_id=preview.opportunity_id,
        )
    try:
        with transaction.atomic():
            # Inside the transaction: on SQLite (IMMEDIATE transactions) these checks are
            # serialised; elsewhere the link's unique constraint below settles a race.
            already = _already_invited(integration, url, preview.opportunity_id)
            if already is not None:
                return already
            recent = None if confirm_recent else recent_candidacy(role=role, email=preview.email)
            if recent is not None:
                # A concurrent invite of this same opportunity is "already invited", not an
                # earlier interview.
                already = _already_invited(integration, url, preview.opportunity_id)
                if already is not None:
                    return already
                return InviteOutcome(
                    url,
                    InviteCode.RECENT_INTERVIEW,
                    f"{recent.candidate_name or preview.email} was invited to interview for "
                    f"{role.title} on {recent.created_at:%Y-%m-%d}. Confirm to invite again.",
                    candidacy=recent,
                    opportunity_id=preview.opportunity_id,
                )
            candidacy = _create(
                integration=integration,
                preview=preview,
                role=role,
                actor=actor,
                via=via,
                reason=reason,
            )
    except IntegrityError:
        already = _already_invited(integration, url, preview.opportunity_id)
        if already is None:  # some other constraint: not ours to hide
            raise
        return already
    except HiringError as exc:
        return InviteOutcome(
            url, InviteCode.ROLE_INACTIVE, str(exc), opportunity_id=preview.opportunity_id
        )
    logger.info(
        "invited opportunity %s via %s",
        preview.opportunity_id,
        via,
        extra={"integration_id": integration.public_id},
    )
    return InviteOutcome(
        url,
        InviteCode.INVITED,
        f"Invited {candidacy.candidate_name or candidacy.candidate_email} to interview for "
        f"{role.title}.",
        candidacy=candidacy,
        opportunity_id=preview.opportunity_id,
    )


def _already_invited(
    integration: AtsIntegration, url: str, opportunity_id: str
) -> InviteOutcome | None:
    """The outcome for an opportunity the organization has linked already (by this
    integration, or another group's: opportunity ids are globally unique), else None."""
    link = opportunity_link_get(
        organization_id=integration.group.organization_id, opportunity_id=opportunity_id
    )
    if link is None:
        return None
    candidacy = link.candidacy
    if link.integration_id != integration.pk:
        return InviteOutcome(
            url,
            InviteCode.ALREADY_INVITED_ELSEWHERE,
            invited_elsewhere_message(candidacy),
            candidacy=candidacy,
            opportunity_id=opportunity_id,
        )
    return InviteOutcome(
        url,
        InviteCode.ALREADY_INVITED,
        f"Already invited on {candidacy.created_at:%Y-%m-%d}: nothing new was created.",
        candidacy=candidacy,
        opportunity_id=opportunity_id,
    )


def _create(
    *,
    integration: AtsIntegration,
    preview: InvitePreview,
    role: Role,
    actor: User | None,
    via: str,
    reason: str,
) -> Candidacy:
    source = CandidacyEvent.Source.KARAT if via == "automatic" else CandidacyEvent.Source.PERSON
    candidacy = candidacy_create(
        role=role,
        candidate_name=preview.candidate_name or preview.email,
        candidate_email=preview.email,
        actor=actor,
        source=source,
    )
    # The posting and the ATS state as read for the preview: webhooks and reconciliation keep
    # the state current, and a newer version always wins there (ats_state_version).
    Candidacy.objects.filter(pk=candidacy.pk).update(
        # As the posting sync stores it (AtsPosting.posting_id), so the roles page counts it.
        ats_posting_id=preview.posting_id[:64],
        ats_stage_id=preview.stage_id,
        ats_stage_name=preview.stage_name,
        ats_archived=preview.archived,
        ats_archive_reason_id=preview.archive_reason_id if preview.archived else "",
        ats_archive_reason_name=preview.archive_reason_name if preview.archived else "",
        ats_archive_reason_hired=preview.hired,
        ats_hired=preview.hired,
        ats_state_version=preview.version,
        ats_state_updated_at=timezone.now(),
    )
    # The unique (organization, opportunity_id) constraint: a concurrent invite of this
    # opportunity, in this group or another, fails here.
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id=preview.opportunity_id,
        contact_id=preview.contact_id,
        url=preview.candidate_url[:500],
    )
    candidacy.refresh_from_db()
    # The "invited" milestone fired before the link existed, so the outbound receiver skipped
    # it: queue its Lever updates now, in this transaction (outbox).
    invited = CandidacyEvent.objects.filter(
        candidacy=candidacy, milestone=Milestone.INVITED
    ).latest("id")
    outbound_milestone_enqueue(candidacy=candidacy, event=invited)
    # Names no ATS: the page shows its name (CandidacyEvent.THE_ATS).
    the_ats = CandidacyEvent.THE_ATS
    why = reason or {
        "console": f"Invited from a link to {the_ats}",
        "api": f"Invited through the API from a link to {the_ats}",
    }.get(via, f"Invited from {the_ats}")
    candidacy_event_add(
        candidacy=candidacy,
        kind=CandidacyEvent.Kind.INVITE_SENT,
        source=source,
        summary=f"{why}; the invitation email to {candidacy.candidate_email} is queued.",
        detail={
            "via": via,
            "reason": why,
            "opportunity_id": preview.opportunity_id,
            "url": preview.candidate_url,
            "posting": preview.posting_title,
            "stage": preview.stage_name,
        },
        actor=actor,
    )
    # A row in this transaction, sent by a worker after commit (never SMTP inside it): a
    # rollback sends nothing, and a slow or failing mail server never holds up the invite.
    invitation_email_queue(candidacy=candidacy)
    return candidacy


# --- one request, many URLs (API) -------------------------------------------------------------


def urls_clean(raw: Sequence[str] | str) -> list[str]:
    """The items to invite, in order, at most MAX_URLS: every item of a list (the API: a
    blank or broken item gets its own result, never dropped), or each non-blank line of a
    paste (the page: blank lines only separate). Raises InviteInputError for none or too many."""
    if isinstance(raw, str):
        urls = [line for line in raw.splitlines() if line.strip()]
    else:
        urls = list(raw)
    if not urls:
        raise InviteInputError("Paste at least one Lever candidate URL.", field="lever_urls")
    if len(urls) > MAX_URLS:
        raise InviteInputError(
            f"Paste at most {MAX_URLS} URLs at a time ({len(urls)} given).", field="lever_urls"
        )
    return urls


def invite_urls(
    *,
    group: Group,
    urls: Sequence[str],
    role: Role | None,
    actor: User | None,
    confirm_recent: bool = False,
    via: str = "api",
) -> list[InviteOutcome]:
    """Preview and invite each URL in order (the API). Safe to repeat: an opportunity
    invited before answers ``already_invited`` with its candidacy and nothing new."""
    integration = integration_for_group(group=group)
    outcomes: list[InviteOutcome] = []
    seen: set[str] = set()
    for url in urls:
        preview = invite_preview(group=group, integration=integration, url=url, role=role)
        if preview.ok and preview.opportunity_id in seen:
            outcomes.append(
                InviteOutcome(
                    url,
                    InviteCode.DUPLICATE_URL,
                    "The same candidate appears earlier in this request.",
                    opportunity_id=preview.opportunity_id,
                )
            )
            continue
        seen.add(preview.opportunity_id)
        if not preview.ok or integration is None:
            outcomes.append(
                InviteOutcome(
                    url, preview.code, preview.message, opportunity_id=preview.opportunity_id
                )
            )
            continue
        matched = Role.objects.filter(pk=preview.role_id).first() if preview.role_id else None
        outcomes.append(
            invite_create(
                integration=integration,
                preview=preview,
                role=matched,
                actor=actor,
                confirm_recent=confirm_recent,
                via=via,
            )
        )
    return outcomes


def candidacy_url(candidacy: Candidacy) -> str:
    return reverse("hiring:candidate-detail", kwargs={"code": candidacy.code})
