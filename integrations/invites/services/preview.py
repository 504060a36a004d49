"""One pasted URL understood: invite codes and errors, InvitePreview, invite_preview, role match."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from integrations import ats
from integrations.connection.services.outcomes import (
    integration_failure_record,
    integration_success_record,
)
from integrations.invites.selectors import candidate_url_example, opportunity_link_get
from integrations.models import AtsIntegration, AtsPosting
from integrations.roles.matching import role_first_match
from integrations.roles.selectors import posting_role_get
from karatlever.email_headers import address_problem
from karatlever.errors import ApplicationError
from karatlever.hiring.models import Candidacy, Role

if TYPE_CHECKING:
    from karatlever.accounts.models import Group

# The most URLs one paste (or one API request) may hold.
MAX_URLS = 200


class InviteCode(StrEnum):
    """Why a URL was not invited (or that it was). URL mistakes use the adapter's own codes
    (``ats.CandidateUrlError.code``: not_lever, job_posting, application_search,
    region_mismatch, no_id, malformed_id, empty, too_long, control_characters, has_spaces,
    several_links)."""

    INVITED = "invited"
    ALREADY_INVITED = "already_invited"
    # Linked to a candidacy of another group of the organization: one candidacy per opportunity.
    ALREADY_INVITED_ELSEWHERE = "already_invited_elsewhere"
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
    EMAIL_INVALID = "email_invalid"
    EMAIL_UNSUPPORTED = "email_unsupported"
    # An unexpected error on one row of a console batch (logged); the batch goes on.
    INTERNAL_ERROR = "internal_error"


class InviteWarning(StrEnum):
    ALREADY_INVITED = "already_invited"
    ALREADY_INVITED_ELSEWHERE = "already_invited_elsewhere"
    RECENT_INTERVIEW = "recent_interview"
    ARCHIVED = "archived"
    # Archived with a reason of the hired kind: hired for a job, not just archived.
    HIRED = "hired"
    NO_EMAIL = "no_email"


WARNING_LABELS = {
    InviteWarning.ALREADY_INVITED: "Already invited",
    InviteWarning.ALREADY_INVITED_ELSEWHERE: "Already invited in another group",
    InviteWarning.RECENT_INTERVIEW: "Interviewed for this role in the last 6 months",
    InviteWarning.ARCHIVED: "Archived in the ATS",
    InviteWarning.HIRED: "Hired in the ATS",
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


def email_refusal(email: str) -> tuple[InviteCode, str] | None:
    """Why the invitation can't go to the candidate's ``email`` from the ATS, as an
    ``InviteCode`` and a reason, or None when it can. The ATS stores any text as an email:
    anything but exactly one plain address is ``email_invalid`` (``address_problem``); a
    non-ASCII part before the @ is ``email_unsupported``."""
    problem = address_problem(email)
    if problem:
        return (
            InviteCode.EMAIL_INVALID,
            f"The candidate's email address in the ATS can't be used: {problem} Correct it "
            "in the ATS, then invite again.",
        )
    unsupported = email_unsupported_reason(email)
    if unsupported:
        return InviteCode.EMAIL_UNSUPPORTED, unsupported
    return None


def invited_elsewhere_reason(candidacy: Candidacy) -> str:
    """Short: "Already invited in <group>: <candidate>" (the automatic invite's reason)."""
    name = candidacy.candidate_name or candidacy.candidate_email
    return f"Already invited in {candidacy.group.name}: {name}"


def invited_elsewhere_message(candidacy: Candidacy) -> str:
    """Why an opportunity linked to another group's candidacy is not invited (again)."""
    return (
        f"{invited_elsewhere_reason(candidacy)} (on {candidacy.created_at:%Y-%m-%d}). A "
        "candidate has one Karat candidacy across the organization's groups, so nothing new "
        "is created."
    )


def invite_url_example(*, groups: Sequence[Group]) -> str:
    """The candidate link to show as an example in the invite form: the enabled
    integrations' own host (e.g. ``https://hire.sandbox.lever.co/candidates/…``) when they
    all share one; "" when they differ or there is none (the form's neutral hint names
    every host then)."""
    examples = {
        candidate_url_example(integration=i)
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
    invited (nothing else is set beyond the URL, and ``opportunity_id`` once the link
    parsed). Otherwise the candidate as the ATS has
    them, the matched role (None: pick one) and the warnings."""

    url: str
    ok: bool
    code: str = ""
    message: str = ""
    opportunity_id: str = ""
    contact_id: str = ""
    candidate_url: str = ""
    # Where the page's "Lever profile" link opens it (see ats.CandidateLinks); not stored as
    # the candidate's link, which stays ``candidate_url``.
    candidate_profile_url: str = ""
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
    # The group of ``existing_candidacy`` when it is another group's (already_invited_elsewhere).
    existing_group: str = ""
    # The ATS erased the candidate's personal data (attaching a link later refuses it).
    anonymized: bool = False

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


def _ats_error_preview(
    url: str, exc: ats.AtsError, *, label: str, opportunity_id: str
) -> InvitePreview:
    """Each ATS failure with its own reason: the key, one record, or the ATS itself (naming
    the opportunity the link parsed to)."""
    if isinstance(exc, ats.AtsRecordNotFound):
        return _error(
            url,
            InviteCode.UNKNOWN_OPPORTUNITY,
            f"{label} has no candidate with this link: it was deleted, or the link is from "
            "another account.",
            opportunity_id=opportunity_id,
        )
    if isinstance(exc, ats.AtsRecordForbidden):
        return _error(
            url,
            InviteCode.CONFIDENTIAL,
            f"This candidate is confidential in {label}, and the integration's API key has no "
            "access to confidential data. An admin can generate a key with confidential access "
            "and paste it in the integration's Settings.",
            opportunity_id=opportunity_id,
        )
    if isinstance(exc, ats.AtsKeyError):
        if exc.status_code == 401:
            return _error(
                url,
                InviteCode.KEY_REFUSED,
                f"{label} refused the integration's API key. An admin must paste a working key "
                "in the integration's Settings.",
                opportunity_id=opportunity_id,
            )
        return _error(
            url,
            InviteCode.KEY_PERMISSION,
            f"The integration's API key may not read candidates in {label}. An admin must add "
            "the permission to read opportunities to the key.",
            opportunity_id=opportunity_id,
        )
    if isinstance(exc, ats.AtsUnavailable):
        wait = f" (it asked to wait {exc.retry_after:.0f} s)" if exc.retry_after else ""
        return _error(
            url,
            InviteCode.ATS_UNAVAILABLE,
            f"{label} is busy or unavailable right now{wait}. Nothing was created: try again "
            "in a minute.",
            opportunity_id=opportunity_id,
        )
    return _error(
        url,
        InviteCode.ATS_ERROR,
        f"{label} refused the request: {exc.message}",
        opportunity_id=opportunity_id,
    )


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
        return _ats_error_preview(url, exc, label=adapter.label, opportunity_id=ref.opportunity_id)
    integration_success_record(integration_id=integration.pk)
    return preview_of(
        group=group,
        integration=integration,
        url=url,
        detail=detail,
        postings=[postings[p] for p in detail.posting_ids if p in postings],
        role=role,
    )


def candidate_profile_url(*, integration: AtsIntegration, opportunity_id: str) -> str:
    """Where a person opens the candidate's ATS page (``ats.CandidateLinks``); "" for an id
    that makes no URL."""
    try:
        return ats.adapter_for(integration.ats).candidate_profile_url(
            integration.region, opportunity_id
        )
    except ValueError:  # an id that makes no URL: pages fall back to candidate_url
        return ""


def preview_of(
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
    # Opportunity ids are globally unique: a link in any group of the organization counts.
    existing = opportunity_link_get(
        organization_id=group.organization_id, opportunity_id=detail.opportunity_id
    )
    elsewhere = existing is not None and existing.integration_id != integration.pk
    recent = None
    if existing is not None:
        warnings.append(
            InviteWarning.ALREADY_INVITED_ELSEWHERE if elsewhere else InviteWarning.ALREADY_INVITED
        )
    elif matched is not None and email:
        recent = recent_candidacy(role=matched, email=email)
        if recent is not None:
            warnings.append(InviteWarning.RECENT_INTERVIEW)
    if detail.hired:
        warnings.append(InviteWarning.HIRED)
    elif detail.archived:
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
        candidate_profile_url=candidate_profile_url(
            integration=integration, opportunity_id=detail.opportunity_id
        ),
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
        existing_group=existing.candidacy.group.name if existing and elsewhere else "",
        anonymized=detail.anonymized,
    )


def recent_candidacy(*, role: Role, email: str) -> Candidacy | None:
    """A candidacy of the same person (by email) for the same role in the last 6 months."""
    since = timezone.now() - timedelta(days=settings.INVITE_RECENT_INTERVIEW_DAYS)
    return (
        Candidacy.objects.filter(role=role, candidate_email__iexact=email, created_at__gte=since)
        .order_by("-created_at")
        .first()
    )
