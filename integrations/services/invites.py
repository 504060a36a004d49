"""Inviting candidates from ATS URLs: preview, invite (one candidacy per opportunity, ever),
batches with progress, and the automatic invite on an ATS stage.

Every rule of inviting lives here; views, the API, Celery tasks and the webhook processing
call these functions. The ATS is read only through its adapter (``integrations/ats.py``).

Shapes: a *preview* (``InvitePreview``) is what one pasted URL turned out to be — an error
with its own code and message, or a candidate with warnings. An *outcome* (``InviteOutcome``)
is what inviting it did. Both have stable ``code`` strings (``InviteCode``) for the API.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from integrations import ats
from integrations.connection.services.audit import audit_entry_record
from integrations.connection.services.outcomes import (
    integration_failure_record,
    integration_success_record,
)
from integrations.models import (
    AtsIntegration,
    AtsPosting,
    AuditEntry,
    AutoInviteRule,
    InviteBatch,
    InviteItem,
    OpportunityLink,
)
from integrations.outbound.services.enqueue import outbound_milestone_enqueue
from integrations.roles.matching import role_first_match
from integrations.roles.selectors import posting_role_get
from integrations.status.refresh import status_refresh_request
from karatlever.errors import ApplicationError
from karatlever.hiring.models import Candidacy, CandidacyEvent, Milestone, Role
from karatlever.hiring.services import HiringError, candidacy_create, candidacy_event_add

if TYPE_CHECKING:
    from karatlever.accounts.models import Group, User

logger = logging.getLogger(__name__)

# The most URLs one paste (or one API request) may hold.
MAX_URLS = 200
# The most candidates a dry run of the automatic invite lists.
DRY_RUN_LIMIT = 25


class InviteCode(StrEnum):
    """Why a URL was not invited (or that it was). URL mistakes use the adapter's own codes
    (``ats.CandidateUrlError.code``: not_lever, job_posting, application_search,
    region_mismatch, no_id, malformed_id, empty, too_long, has_spaces)."""

    INVITED = "invited"
    ALREADY_INVITED = "already_invited"
    NO_INTEGRATION = "no_integration"
    INTEGRATION_DISABLED = "integration_disabled"
    NO_API_KEY = "no_api_key"
    UNKNOWN_OPPORTUNITY = "unknown_opportunity"
    CONFIDENTIAL = "confidential"
    KEY_REFUSED = "key_refused"
    KEY_PERMISSION = "key_permission"
    ATS_UNAVAILABLE = "ats_unavailable"
    ATS_ERROR = "ats_error"
    DUPLICATE_URL = "duplicate_url"
    NO_EMAIL = "no_email"
    NO_ROLE = "no_role"
    ROLE_INACTIVE = "role_inactive"
    RECENT_INTERVIEW = "recent_interview"
    NOT_SELECTED = "not_selected"
    EMAIL_FAILED = "email_failed"
    EMAIL_UNSUPPORTED = "email_unsupported"


class InviteWarning(StrEnum):
    ALREADY_INVITED = "already_invited"
    RECENT_INTERVIEW = "recent_interview"
    ARCHIVED = "archived"
    NO_EMAIL = "no_email"


WARNING_LABELS = {
    InviteWarning.ALREADY_INVITED: "Already invited",
    InviteWarning.RECENT_INTERVIEW: "Interviewed for this role in the last 6 months",
    InviteWarning.ARCHIVED: "Archived in the ATS",
    InviteWarning.NO_EMAIL: "No email on file",
}


class InviteInputError(ApplicationError):
    """The request as a whole can't be used (no URLs, too many, a group the user can't see)."""


class InviteRowsError(ApplicationError):
    """Some ticked rows of a preview can't be invited as chosen (no role yet). ``rows`` maps
    each such row's InviteItem pk to its reason; nothing was changed and the batch can still
    be confirmed."""

    def __init__(self, rows: dict[int, str]) -> None:
        super().__init__(
            f"{len(rows)} selected candidate{'s' if len(rows) != 1 else ''} "
            "can't be invited as chosen: see the rows marked below."
        )
        self.rows = rows


def email_unsupported_reason(email: str) -> str:
    """Why Karat can't send mail to ``email``, or "" when it can.

    A non-ASCII local part (``tomás@…``) needs SMTPUTF8, which Django's mail (and many
    servers) don't speak: Django would encode it into an invalid ``To:`` header. A non-ASCII
    domain is fine (sent as IDNA/punycode).
    """
    local = email.rpartition("@")[0]
    if not local.isascii():
        return (
            f"The email address can't receive mail from Karat: {email} has characters before "
            "the @ that Karat's mail can't carry (accents or non-Latin letters). Correct it in "
            "the ATS, then invite again."
        )
    return ""


# Any valid opportunity id: only the host and path of the example link matter.
_EXAMPLE_ID = "00000000-0000-0000-0000-000000000000"


def invite_url_example(*, groups: Sequence[Group]) -> str:
    """The candidate link to show as an example in the invite form: the enabled
    integrations' own host (e.g. ``https://hire.sandbox.lever.co/candidates/…``) when they
    all share one; "" when they differ or there is none (the form's neutral hint names
    every host then)."""
    examples = {
        ats.adapter_for(i.ats).candidate_url(i.region, _EXAMPLE_ID).replace(_EXAMPLE_ID, "…")
        for i in AtsIntegration.objects.filter(group__in=list(groups), enabled=True)
    }
    return examples.pop() if len(examples) == 1 else ""


def invite_group_default(*, groups: Sequence[Group]) -> Group | None:
    """The group the invite form starts on: the first of ``groups`` (in their order) whose
    ATS integration is enabled; else the first group (its rows will say what is missing)."""
    enabled = set(
        AtsIntegration.objects.filter(group__in=list(groups), enabled=True).values_list(
            "group_id", flat=True
        )
    )
    return next((g for g in groups if g.pk in enabled), next(iter(groups), None))


@dataclass(frozen=True)
class InvitePreview:
    """One pasted URL, understood. ``ok`` False: ``code``/``message`` say why it can't be
    invited (nothing else is set beyond the URL). Otherwise the candidate as the ATS has
    them, the matched role (None: pick one) and the warnings."""

    url: str
    ok: bool
    code: str = ""
    message: str = ""
    opportunity_id: str = ""
    contact_id: str = ""
    candidate_url: str = ""
    candidate_name: str = ""
    email: str = ""
    posting_id: str = ""
    posting_title: str = ""
    stage_id: str = ""
    stage_name: str = ""
    archived: bool = False
    archive_reason_id: str = ""
    archive_reason_name: str = ""
    hired: bool = False
    origin: str = ""
    confidential: bool = False
    version: int | None = None
    role_id: int | None = None
    role_title: str = ""
    warnings: tuple[str, ...] = ()
    # The candidacy this opportunity already has (already_invited), or the recent one.
    existing_candidacy: str = ""
    recent_candidacy: str = ""

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["warnings"] = list(self.warnings)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InvitePreview:
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        values["warnings"] = tuple(values.get("warnings", ()))
        return cls(**values)


@dataclass(frozen=True)
class InviteOutcome:
    """What inviting one URL did. ``code`` is ``invited``, ``already_invited`` or why not."""

    url: str
    code: str
    message: str
    candidacy: Candidacy | None = None
    opportunity_id: str = ""

    @property
    def invited(self) -> bool:
        return self.code == InviteCode.INVITED


# --- role matching ----------------------------------------------------------------------------


def invite_role_match(
    *, integration: AtsIntegration, group: Group, postings: Sequence[ats.PostingInfo]
) -> Role | None:
    """The active Karat role of ``group`` for an opportunity's postings, or None.

    The roles page's posting → role mapping decides (automatic or an admin's; see
    roles/services/mappings.py). A posting Karat has synced but left unmatched (or in conflict)
    gets no role: the recruiter picks one. Only a posting not synced yet (created since the
    last sync) falls back to the automatic rule itself: a requisition code equal to the role's,
    else the same title after normalising case, spacing and punctuation.
    """
    synced = set(
        AtsPosting.objects.filter(
            integration=integration, posting_id__in=[p.posting_id for p in postings]
        ).values_list("posting_id", flat=True)
    )
    for posting in postings:
        if posting.posting_id in synced:
            role = posting_role_get(integration=integration, posting_id=posting.posting_id)
            if role is not None and role.active and role.group_id == group.pk:
                return role
    unsynced = [p for p in postings if p.posting_id not in synced]
    if not unsynced:
        return None
    roles = list(Role.objects.filter(group=group, active=True))
    return role_first_match(postings=unsynced, roles=roles)


# --- preview ----------------------------------------------------------------------------------


def integration_for_group(*, group: Group) -> AtsIntegration | None:
    return AtsIntegration.objects.filter(group=group).order_by("pk").first()


def _error(url: str, code: str, message: str, **extra: Any) -> InvitePreview:
    return InvitePreview(url=url, ok=False, code=code, message=message, **extra)


def _ats_error_preview(url: str, exc: ats.AtsError, *, label: str) -> InvitePreview:
    """Each ATS failure with its own reason: the key, one record, or the ATS itself."""
    if isinstance(exc, ats.AtsRecordNotFound):
        return _error(
            url,
            InviteCode.UNKNOWN_OPPORTUNITY,
            f"{label} has no candidate with this link: it was deleted, or the link is from "
            "another account.",
        )
    if isinstance(exc, ats.AtsRecordForbidden):
        return _error(
            url,
            InviteCode.CONFIDENTIAL,
            f"This candidate is confidential in {label}, and the integration's API key has no "
            "access to confidential data. An admin can generate a key with confidential access "
            "and paste it in the integration's Settings.",
        )
    if isinstance(exc, ats.AtsKeyError):
        if exc.status_code == 401:
            return _error(
                url,
                InviteCode.KEY_REFUSED,
                f"{label} refused the integration's API key. An admin must paste a working key "
                "in the integration's Settings.",
            )
        return _error(
            url,
            InviteCode.KEY_PERMISSION,
            f"The integration's API key may not read candidates in {label}. An admin must add "
            "the permission to read opportunities to the key.",
        )
    if isinstance(exc, ats.AtsUnavailable):
        wait = f" (it asked to wait {exc.retry_after:.0f} s)" if exc.retry_after else ""
        return _error(
            url,
            InviteCode.ATS_UNAVAILABLE,
            f"{label} is busy or unavailable right now{wait}. Nothing was created: try again "
            "in a minute.",
        )
    return _error(url, InviteCode.ATS_ERROR, f"{label} refused the request: {exc.message}")


def _integration_problem(url: str, integration: AtsIntegration | None) -> InvitePreview | None:
    if integration is None:
        return _error(
            url,
            InviteCode.NO_INTEGRATION,
            "This group has no ATS integration. An admin can connect one in Settings → ATS "
            "Integrations.",
        )
    if not integration.enabled:
        return _error(
            url,
            InviteCode.INTEGRATION_DISABLED,
            "This group's ATS integration is turned off. An admin can turn it on in its Settings.",
        )
    if not integration.has_api_key:
        return _error(
            url,
            InviteCode.NO_API_KEY,
            "This group's ATS integration has no API key yet. An admin can paste one in its "
            "Settings.",
        )
    return None


def invite_preview(
    *,
    group: Group,
    integration: AtsIntegration | None,
    url: str,
    profile: ats.CallProfile = ats.INTERACTIVE,
    role: Role | None = None,
) -> InvitePreview:
    """Parse ``url``, read its opportunity from the ATS (about one request) and say what an
    invite would do. Never raises for bad input or ATS trouble: those are ``ok=False``
    previews with their own code. ATS key failures are also recorded on the integration."""
    url = (url or "").strip()
    problem = _integration_problem(url, integration)
    if problem is not None or integration is None:
        return problem or _error(url, InviteCode.NO_INTEGRATION, "No ATS integration.")
    adapter = ats.adapter_for(integration.ats)
    try:
        ref = adapter.candidate_url_parse(url, region=integration.region)
    except ats.CandidateUrlError as exc:
        return _error(url, exc.code, exc.message)
    try:
        detail = adapter.opportunity_detail(
            ats.account_for(integration), ref.opportunity_id, profile=profile
        )
        postings = adapter.postings_get(
            ats.account_for(integration), detail.posting_ids, profile=profile
        )
    except ats.AtsError as exc:
        if isinstance(exc, ats.AtsKeyError):
            integration_failure_record(
                integration_id=integration.pk, context="Inviting a candidate", error=exc
            )
        return _ats_error_preview(url, exc, label=adapter.label)
    integration_success_record(integration_id=integration.pk)
    return _preview_of(
        group=group,
        integration=integration,
        url=url,
        detail=detail,
        postings=[postings[p] for p in detail.posting_ids if p in postings],
        role=role,
    )


def _preview_of(
    *,
    group: Group,
    integration: AtsIntegration,
    url: str,
    detail: ats.OpportunityDetail,
    postings: Sequence[ats.PostingInfo],
    role: Role | None,
) -> InvitePreview:
    matched = (
        role
        if role is not None
        else invite_role_match(integration=integration, group=group, postings=postings)
    )
    email = detail.emails[0].lower() if detail.emails else ""
    warnings: list[str] = []
    existing = (
        OpportunityLink.objects.filter(
            integration=integration, opportunity_id=detail.opportunity_id
        )
        .select_related("candidacy")
        .first()
    )
    recent = None
    if existing is not None:
        warnings.append(InviteWarning.ALREADY_INVITED)
    elif matched is not None and email:
        recent = _recent_candidacy(role=matched, email=email)
        if recent is not None:
            warnings.append(InviteWarning.RECENT_INTERVIEW)
    if detail.archived:
        warnings.append(InviteWarning.ARCHIVED)
    if not email:
        warnings.append(InviteWarning.NO_EMAIL)
    posting = postings[0] if postings else None
    return InvitePreview(
        url=url,
        ok=True,
        opportunity_id=detail.opportunity_id,
        contact_id=detail.contact_id,
        candidate_url=detail.url,
        candidate_name=detail.candidate_name,
        email=email,
        posting_id=posting.posting_id if posting else "",
        posting_title=posting.title if posting else "",
        stage_id=detail.stage_id,
        stage_name=detail.stage_name,
        archived=detail.archived,
        archive_reason_id=detail.archive_reason_id,
        archive_reason_name=detail.archive_reason_name,
        hired=detail.hired,
        origin=detail.origin,
        confidential=detail.confidential,
        version=detail.version,
        role_id=matched.pk if matched else None,
        role_title=matched.title if matched else "",
        warnings=tuple(warnings),
        existing_candidacy=str(existing.candidacy.code) if existing else "",
        recent_candidacy=str(recent.code) if recent else "",
    )


def _recent_candidacy(*, role: Role, email: str) -> Candidacy | None:
    """A candidacy of the same person (by email) for the same role in the last 6 months."""
    since = timezone.now() - timedelta(days=settings.INVITE_RECENT_INTERVIEW_DAYS)
    return (
        Candidacy.objects.filter(role=role, candidate_email__iexact=email, created_at__gte=since)
        .order_by("-created_at")
        .first()
    )


# --- invite -----------------------------------------------------------------------------------


def scheduling_url(candidacy: Candidacy) -> str:
    """The candidate's scheduling link, from KARAT_SCHEDULING_URL_TEMPLATE."""
    template: str = settings.KARAT_SCHEDULING_URL_TEMPLATE
    return template.replace("{candidacy}", str(candidacy.code))


def _invitation_send(candidacy: Candidacy) -> None:
    """The invitation email (text and HTML parts). Raises whatever the backend raises."""
    context = {
        "candidacy": candidacy,
        "role": candidacy.role,
        "group": candidacy.group,
        "scheduling_url": scheduling_url(candidacy),
    }
    message = EmailMultiAlternatives(
        subject=f"Your Karat interview for {candidacy.role.title}",
        body=render_to_string("integrations/invites/email.txt", context),
        to=[candidacy.candidate_email],
    )
    message.attach_alternative(
        render_to_string("integrations/invites/email.html", context), "text/html"
    )
    message.send(fail_silently=False)


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
    OpportunityLink, the ATS state, a timeline entry and the invitation email, all or
    nothing. ``via`` is console | api | automatic (recorded on the timeline with ``reason``).

    Never twice: an opportunity already linked (now, or by a concurrent invite that commits
    first — the link's unique constraint decides) returns ``already_invited`` with that
    candidacy. A candidacy for the same role and email in the last 6 months returns
    ``recent_interview`` unless ``confirm_recent``. Never raises for these rules.
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
    unsupported = email_unsupported_reason(preview.email)
    if unsupported:
        return InviteOutcome(
            url,
            InviteCode.EMAIL_UNSUPPORTED,
            unsupported,
            opportunity_id=preview.opportunity_id,
        )
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
            existing = _existing(integration, preview.opportunity_id)
            if existing is not None:
                return _already(url, existing, preview.opportunity_id)
            recent = None if confirm_recent else _recent_candidacy(role=role, email=preview.email)
            if recent is not None:
                # A concurrent invite of this same opportunity is "already invited", not an
                # earlier interview.
                existing = _existing(integration, preview.opportunity_id)
                if existing is not None:
                    return _already(url, existing, preview.opportunity_id)
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
        existing = _existing(integration, preview.opportunity_id)
        if existing is None:  # some other constraint: not ours to hide
            raise
        return _already(url, existing, preview.opportunity_id)
    except HiringError as exc:
        return InviteOutcome(
            url, InviteCode.ROLE_INACTIVE, str(exc), opportunity_id=preview.opportunity_id
        )
    except (OSError, ConnectionError) as exc:  # the mail server: nothing was created
        logger.warning(
            "invitation email failed integration_id=%s opportunity %s (%s)",
            integration.public_id,
            preview.opportunity_id,
            type(exc).__name__,
        )
        return InviteOutcome(
            url,
            InviteCode.EMAIL_FAILED,
            "The invitation email could not be sent, so nothing was created. Try again.",
            opportunity_id=preview.opportunity_id,
        )
    logger.info(
        "invited opportunity %s integration_id=%s via %s",
        preview.opportunity_id,
        integration.public_id,
        via,
    )
    return InviteOutcome(
        url,
        InviteCode.INVITED,
        f"Invited {candidacy.candidate_name or candidacy.candidate_email} to interview for "
        f"{role.title}.",
        candidacy=candidacy,
        opportunity_id=preview.opportunity_id,
    )


def _existing(integration: AtsIntegration, opportunity_id: str) -> Candidacy | None:
    link = (
        OpportunityLink.objects.filter(integration=integration, opportunity_id=opportunity_id)
        .select_related("candidacy")
        .first()
    )
    return link.candidacy if link else None


def _already(url: str, candidacy: Candidacy, opportunity_id: str) -> InviteOutcome:
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
    # The ATS state as read for the preview: webhooks and reconciliation keep it current,
    # and a newer version always wins there (ats_state_version).
    Candidacy.objects.filter(pk=candidacy.pk).update(
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
    # The unique (integration, opportunity_id) constraint: a concurrent invite fails here.
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
    label = ats.adapter_for(integration.ats).label
    why = reason or {
        "console": f"Invited from a {label} link",
        "api": f"Invited through the API from a {label} link",
    }.get(via, f"Invited from {label}")
    candidacy_event_add(
        candidacy=candidacy,
        kind=CandidacyEvent.Kind.INVITE_SENT,
        source=source,
        summary=f"Invitation email sent to {candidacy.candidate_email}. {why}.",
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
    # Last, inside the transaction: a failed send rolls everything back (all or nothing).
    _invitation_send(candidacy)
    return candidacy


# --- one request, many URLs (API) -------------------------------------------------------------


def urls_clean(raw: Sequence[str] | str) -> list[str]:
    """One URL per non-blank line (or list item), at most MAX_URLS. Raises InviteInputError."""
    lines = raw.splitlines() if isinstance(raw, str) else list(raw)
    urls = [line.strip() for line in lines if isinstance(line, str) and line.strip()]
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
            outcomes.append(InviteOutcome(url, preview.code, preview.message))
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


# --- batches (the console page) ---------------------------------------------------------------


def invite_batch_start(*, group: Group, raw_urls: str, actor: User | None) -> InviteBatch:
    """Store a paste as a batch of pending rows and start its preview: inline for small
    batches (≤ INVITE_BACKGROUND_THRESHOLD URLs), otherwise in a Celery task enqueued on
    commit. Raises InviteInputError for an empty or too long paste."""
    urls = urls_clean(raw_urls)
    with transaction.atomic():
        batch = InviteBatch.objects.create(
            group=group,
            integration=integration_for_group(group=group),
            created_by=actor,
            status=InviteBatch.Status.PREVIEWING,
            total=len(urls),
        )
        InviteItem.objects.bulk_create(
            InviteItem(batch=batch, position=i, url=url[:4096]) for i, url in enumerate(urls)
        )
        inline = _enqueue_unless_small(batch, "preview")
    if inline:
        invite_batch_preview(batch_id=batch.pk, profile=ats.INTERACTIVE)
    batch.refresh_from_db()
    return batch


def batch_runs_in_background(batch: InviteBatch) -> bool:
    """Whether both phases (reading and inviting) of ``batch`` run in the worker: more pasted
    URLs than INVITE_BACKGROUND_THRESHOLD. Decided by the paste, not by how many rows were
    ticked, so a batch read in the worker is also invited (and its emails sent) there."""
    threshold: int = settings.INVITE_BACKGROUND_THRESHOLD
    return batch.items.count() > threshold


def _enqueue_unless_small(batch: InviteBatch, phase: str) -> bool:
    """True: small enough to run in the request (the caller runs it after its transaction).
    Otherwise the phase's task is enqueued on commit."""
    if not batch_runs_in_background(batch):
        return True
    from integrations.tasks import invite_batch_invite as invite_task
    from integrations.tasks import invite_batch_preview as preview_task

    task = preview_task if phase == "preview" else invite_task
    transaction.on_commit(partial(_publish, task, batch.pk))
    return False


def _publish(task: Any, batch_id: int) -> None:
    try:
        task.delay(batch_id)
    except Exception as exc:  # the page keeps showing the progress; see the log
        logger.error("invite batch %s could not be queued (%s)", batch_id, type(exc).__name__)


def invite_batch_preview(
    *, batch_id: int, profile: ats.CallProfile = ats.WORKER, limit: int | None = None
) -> bool:
    """Read pending rows' opportunities (at most ``limit``; None: all) and store each
    preview; once none is pending the batch is ``previewed``. Returns True while rows remain
    (the task runs again, so no run nears the task time limit). Safe to run twice: rows
    already previewed are skipped. A row whose ATS read failed for a passing reason (busy)
    keeps that reason."""
    batch = InviteBatch.objects.select_related("group", "integration").filter(pk=batch_id).first()
    if batch is None:
        logger.info("invite batch %s no longer exists", batch_id)
        return False
    seen = set(
        batch.items.exclude(opportunity_id="")
        .exclude(status=InviteItem.Status.PENDING)
        .values_list("opportunity_id", flat=True)
    )
    pending = batch.items.filter(status=InviteItem.Status.PENDING).order_by("position")
    for item in pending[:limit] if limit is not None else pending:
        preview = invite_preview(
            group=batch.group, integration=batch.integration, url=item.url, profile=profile
        )
        if preview.ok and preview.opportunity_id in seen:
            preview = _error(
                item.url,
                InviteCode.DUPLICATE_URL,
                "The same candidate appears earlier in this list.",
                opportunity_id=preview.opportunity_id,
            )
        seen.add(preview.opportunity_id)
        _item_store(item, preview)
        InviteBatch.objects.filter(pk=batch.pk).update(processed=F("processed") + 1)
    if batch.items.filter(status=InviteItem.Status.PENDING).exists():  # a fresh query
        return True
    InviteBatch.objects.filter(pk=batch.pk, status=InviteBatch.Status.PREVIEWING).update(
        status=InviteBatch.Status.PREVIEWED
    )
    return False


def _item_store(item: InviteItem, preview: InvitePreview) -> None:
    item.preview = preview.as_json()
    item.warnings = list(preview.warnings)
    item.opportunity_id = preview.opportunity_id
    item.code, item.message = preview.code, preview.message[:500]
    item.role_id = preview.role_id
    item.candidacy = None
    if not preview.ok:
        item.status = InviteItem.Status.ERROR
    elif preview.existing_candidacy:
        item.status = InviteItem.Status.ERROR
        item.code = InviteCode.ALREADY_INVITED
        item.message = "Already invited: nothing new will be created."
        item.candidacy = Candidacy.objects.filter(code=preview.existing_candidacy).first()
    elif not preview.email:
        item.status = InviteItem.Status.ERROR
        item.code = InviteCode.NO_EMAIL
        item.message = "No email address in the ATS: add one there, then invite again."
    elif email_unsupported_reason(preview.email):
        item.status = InviteItem.Status.ERROR
        item.code = InviteCode.EMAIL_UNSUPPORTED
        item.message = email_unsupported_reason(preview.email)
    else:
        item.status = InviteItem.Status.READY
    item.save(
        update_fields=[
            "preview",
            "warnings",
            "opportunity_id",
            "code",
            "message",
            "role",
            "candidacy",
            "status",
        ]
    )


@dataclass(frozen=True)
class RowChoice:
    """What the recruiter chose for one ready row on the preview page."""

    include: bool
    role: Role | None = None
    confirm_recent: bool = False


def invite_batch_confirm(
    *, batch: InviteBatch, choices: dict[int, RowChoice], actor: User | None
) -> InviteBatch:
    """Mark the chosen ready rows for inviting (the others skipped) and start inviting:
    inline for a small batch, otherwise in a Celery task (``batch_runs_in_background``: by
    the URLs pasted, as for the preview). Only a previewed batch can be confirmed
    (InviteInputError otherwise, e.g. a second click). The invites are made in the name of
    the batch's creator (``actor`` is who confirmed; logged).

    A ticked row with no role (none matched and none chosen), or interviewed for its role in
    the last 6 months without ``confirm_recent``, raises InviteRowsError (row pk → reason)
    before anything changes: the batch stays previewed, to fix the rows and confirm again."""
    missing: dict[int, str] = {}
    for item in batch.items.filter(status=InviteItem.Status.READY):
        choice = choices.get(item.pk, RowChoice(include=False))
        if not choice.include:
            continue
        role_id = choice.role.pk if choice.role is not None else item.role_id
        if role_id is None:
            missing[item.pk] = (
                "Choose a Karat role for this candidate (no role matches the posting)."
            )
        elif (
            InviteWarning.RECENT_INTERVIEW in item.warnings
            and role_id == item.role_id
            and not choice.confirm_recent
        ):
            missing[item.pk] = (
                "Interviewed for this role in the last 6 months: tick “Invite again anyway”, "
                "or untick the row."
            )
    if missing and batch.status == InviteBatch.Status.PREVIEWED:
        raise InviteRowsError(missing)
    with transaction.atomic():
        claimed = InviteBatch.objects.filter(
            pk=batch.pk, status=InviteBatch.Status.PREVIEWED
        ).update(status=InviteBatch.Status.INVITING, processed=0)
        if not claimed:
            if InviteBatch.objects.filter(
                pk=batch.pk, status=InviteBatch.Status.PREVIEWING
            ).exists():
                raise InviteInputError("Karat is still reading these candidates: wait for it.")
            raise InviteInputError("This list was already confirmed.")
        logger.info(
            "invite batch %s confirmed by user %s", batch.public_id, actor.pk if actor else None
        )
        selected = 0
        for item in batch.items.filter(status=InviteItem.Status.READY):
            choice = choices.get(item.pk, RowChoice(include=False))
            if choice.include:
                item.status = InviteItem.Status.SELECTED
                if choice.role is not None:
                    item.role = choice.role
                if choice.confirm_recent:
                    item.preview = {**item.preview, "confirm_recent": True}
                selected += 1
            else:
                item.status = InviteItem.Status.SKIPPED
                item.code = InviteCode.NOT_SELECTED
                item.message = "Not selected for inviting."
            item.save(update_fields=["status", "role", "preview", "code", "message"])
        InviteBatch.objects.filter(pk=batch.pk).update(total=selected)
        batch.refresh_from_db()
        inline = _enqueue_unless_small(batch, "invite")
    if inline:
        invite_batch_invite(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch


def invite_batch_invite(*, batch_id: int, limit: int | None = None) -> bool:
    """Invite selected rows (at most ``limit``; None: all) with ``invite_create`` from the
    stored preview (no ATS request); once none is left the batch is ``done``. Returns True
    while rows remain. Safe to run twice: invited rows are done, and an opportunity is never
    invited twice anyway."""
    batch = (
        InviteBatch.objects.select_related("group", "integration", "created_by")
        .filter(pk=batch_id)
        .first()
    )
    if batch is None:
        logger.info("invite batch %s no longer exists", batch_id)
        return False
    selected = batch.items.filter(status=InviteItem.Status.SELECTED).select_related("role")
    for item in selected[:limit] if limit is not None else selected:
        preview = InvitePreview.from_json(item.preview)
        if batch.integration is None:
            outcome = InviteOutcome(item.url, InviteCode.NO_INTEGRATION, "No ATS integration.")
        else:
            outcome = invite_create(
                integration=batch.integration,
                preview=preview,
                role=item.role,
                actor=batch.created_by,
                confirm_recent=bool(item.preview.get("confirm_recent")),
                via="console",
            )
        item.status = InviteItem.Status.INVITED if outcome.invited else InviteItem.Status.SKIPPED
        item.code, item.message = outcome.code, outcome.message[:500]
        item.candidacy = outcome.candidacy
        item.save(update_fields=["status", "code", "message", "candidacy"])
        InviteBatch.objects.filter(pk=batch.pk).update(processed=F("processed") + 1)
    if batch.items.filter(status=InviteItem.Status.SELECTED).exists():
        return True
    InviteBatch.objects.filter(pk=batch.pk).update(
        status=InviteBatch.Status.DONE, finished_at=timezone.now()
    )
    return False


# --- the automatic invite on an ATS stage -----------------------------------------------------


@dataclass(frozen=True)
class AutoInviteDecision:
    """Whether one opportunity would be (or was) invited automatically, and why not."""

    opportunity_id: str
    candidate_name: str
    invite: bool
    reason: str
    role_title: str = ""
    url: str = ""


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


def _auto_rule(integration: AtsIntegration) -> AutoInviteRule | None:
    return (
        AutoInviteRule.objects.filter(integration=integration, enabled=True)
        .exclude(stage_id="")
        .select_related("role")
        .first()
    )


def auto_invite_enabled(*, integration: AtsIntegration) -> bool:
    return _auto_rule(integration) is not None


def _decide(
    rule: AutoInviteRule, integration: AtsIntegration, detail: ats.OpportunityDetail
) -> tuple[AutoInviteDecision, InvitePreview | None, Role | None]:
    def no(reason: str) -> tuple[AutoInviteDecision, None, None]:
        return (
            AutoInviteDecision(
                detail.opportunity_id, detail.candidate_name, False, reason, url=detail.url
            ),
            None,
            None,
        )

    if detail.stage_id != rule.stage_id:
        return no("Not in the stage")
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
    preview = _preview_of(
        group=integration.group,
        integration=integration,
        url=detail.url,
        detail=detail,
        postings=[postings[p] for p in detail.posting_ids if p in postings],
        role=None,
    )
    role = Role.objects.filter(pk=preview.role_id).first() if preview.role_id else rule.role
    if preview.existing_candidacy:
        return no("Already invited")
    if not preview.email:
        return no("No email")
    if email_unsupported_reason(preview.email):
        return no(email_unsupported_reason(preview.email))
    if role is None:
        return no("No Karat role matches the posting (and the rule names none)")
    if _recent_candidacy(role=role, email=preview.email) is not None:
        return no("Interviewed for this role in the last 6 months")
    decision = AutoInviteDecision(
        detail.opportunity_id,
        detail.candidate_name,
        True,
        f"Entered stage {detail.stage_name or detail.stage_id}",
        role_title=role.title,
        url=detail.url,
    )
    return decision, preview, role


def auto_invite_consider(
    *,
    integration: AtsIntegration,
    opportunity_id: str,
    via: str,
    stage_id: str | None = None,
) -> InviteOutcome | None:
    """The automatic invite for one opportunity that changed (a verified webhook delivery,
    or the reconciliation poll; ``via`` says which). None when the rule is off, the
    opportunity is already linked, or it is not in the rule's stage (``stage_id``, when
    the caller already knows it, saves the ATS read). Otherwise reads the opportunity (one
    request) and invites it when it matches the rule and the invite rules (never twice,
    6 months); each invite is an audit entry and timelined with why. ATS errors propagate
    (the caller retries the delivery or the poll)."""
    rule = _auto_rule(integration)
    if rule is None:
        return None
    if stage_id is not None and stage_id != rule.stage_id:
        return None
    if _existing(integration, opportunity_id) is not None:
        return None
    adapter = ats.adapter_for(integration.ats)
    detail = adapter.opportunity_detail(
        ats.account_for(integration), opportunity_id, profile=ats.DELIVERY
    )
    decision, preview, role = _decide(rule, integration, detail)
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
        reason=f"Automatic invite: entered {adapter.label} stage “{stage}” (seen by {via})",
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
    *, integration: AtsIntegration, limit: int = DRY_RUN_LIMIT
) -> list[AutoInviteDecision]:
    """Who the rule would invite right now: the active opportunities in its stage (read
    through the adapter, at most four times ``limit``), each with the decision. Empty when the rule
    has no stage. Raises ats.AtsError when the ATS can't be read."""
    rule = AutoInviteRule.objects.filter(integration=integration).select_related("role").first()
    if rule is None or not rule.stage_id:
        return []
    adapter = ats.adapter_for(integration.ats)
    details = adapter.opportunities_in_stage(
        ats.account_for(integration), rule.stage_id, limit=limit * 4, profile=ats.INTERACTIVE
    )
    decisions = [_decide(rule, integration, d)[0] for d in details]
    decisions.sort(key=lambda d: not d.invite)
    return decisions[:limit]


def candidacy_url(candidacy: Candidacy) -> str:
    return reverse("hiring:candidate-detail", kwargs={"code": candidacy.code})
