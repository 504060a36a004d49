"""The ATS interface: what generic code needs from an ATS, as one Protocol per capability; the
plain data that crosses it; and the registry from ``AtsIntegration.ats`` to the adapter.

Generic code (``webhooks/``, the feature folders under ``integrations/``) calls an adapter and reads only the
dataclasses below; it never reads an ATS's JSON. It asks for the capability it needs
(``adapter_for(ats, Opportunities)``), or for all of them (``adapter_for(ats)``), so a second
ATS can start with a few capabilities and grow. Each ATS lives in one folder beside ``lever/``
and is one line in ``ADAPTERS`` (healthchecks maps a channel kind to its transport the same
way). Every ATS failure reaches generic code as one of the ``AtsError`` classes, classified
once, in the adapter, by whose fault it is.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, overload, runtime_checkable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from integrations.sentences import sentences_join
from karatlever.hiring.services import AtsState

if TYPE_CHECKING:
    from integrations.models import AtsIntegration

# --- errors: whose fault is it ----------------------------------------------------------------


class Fault(enum.StrEnum):
    """Who has to act on a failed ATS call."""

    KEY = "key"  # the API key is refused (401) or may not use a whole endpoint (403)
    RECORD = "record"  # one record is hidden (403, e.g. confidential) or gone (404)
    REMOTE = "remote"  # the ATS is busy or down (429, 5xx, timeouts): try again later
    REQUEST = "request"  # the ATS refused the request itself (other 4xx, odd answer)


class AtsError(Exception):
    """A failed ATS call. ``message`` is safe to show to an admin (never holds a secret).

    ``status_code`` is the HTTP status (None without a response); ``retry_after`` is the
    ATS's own wait in seconds, when it gave one (only on ``AtsUnavailable``).
    """

    fault: Fault = Fault.REQUEST

    def __init__(
        self, message: str, *, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after


class AtsKeyError(AtsError):
    """The key needs fixing by an admin: refused, revoked, or lacking a permission."""

    fault = Fault.KEY


class AtsRecordError(AtsError):
    """One record can't be read or written; the key and every other record are fine."""

    fault = Fault.RECORD


class AtsRecordNotFound(AtsRecordError):
    """The record does not exist (any more): deleted, or a wrong id."""


class AtsRecordForbidden(AtsRecordError):
    """The key may not see this one record (e.g. a confidential candidate)."""


class AtsUnavailable(AtsError):
    """The ATS did not answer usefully now (rate limit, server error, network): retry later."""

    fault = Fault.REMOTE


class AtsRequestError(AtsError):
    """The ATS refused the request itself; sending it again would fail the same way."""

    fault = Fault.REQUEST


# --- what crosses the boundary ----------------------------------------------------------------


@dataclass(frozen=True)
class CallProfile:
    """How patient one use of the ATS may be (seconds; retries only where safe to repeat).

    Passed to the adapter per use instead of changing a client's attributes afterwards.
    """

    max_retries: int
    connect_timeout: float
    read_timeout: float
    # Longest wait for a token of the shared per-key rate bucket; None waits as long as needed.
    acquire_timeout: float | None
    # A use that may spend only a share of the key's budget names it here ("" = the whole
    # budget); integrations/lever/calls.py maps the name to its setting.
    budget_share: str = ""


# Background work: patient, with the client's backoff between retries.
WORKER = CallProfile(max_retries=3, connect_timeout=3.05, read_timeout=15.0, acquire_timeout=60.0)
# Processing one webhook delivery: one retry inside the call, the delivery's own backoff after.
DELIVERY = CallProfile(max_retries=1, connect_timeout=3.05, read_timeout=15.0, acquire_timeout=60.0)
# Inside an admin's web request: fail fast, well inside the web server's timeout.
INTERACTIVE = CallProfile(
    max_retries=0, connect_timeout=3.05, read_timeout=10.0, acquire_timeout=5.0
)
# A key check: short reads so the whole check ends inside its task's soft time limit.
KEY_CHECK = CallProfile(max_retries=1, connect_timeout=3.05, read_timeout=5.0, acquire_timeout=2.0)
# Re-reading an opportunity for a webhook delivery: DELIVERY's patience, and at most
# LEVER_WEBHOOK_READ_SHARE of the key's rate, so a bulk move in the ATS never starves writes.
WEBHOOK_READ = CallProfile(
    max_retries=1,
    connect_timeout=3.05,
    read_timeout=15.0,
    acquire_timeout=60.0,
    budget_share="webhook_reads",
)


@dataclass(frozen=True)
class AtsAccount:
    """What an adapter needs to talk to one ATS account. Built by ``account_for``.

    ``api_key`` is the decrypted key: never log or show this object's fields.
    """

    integration_id: int
    public_id: str
    api_key: str = field(repr=False)
    region: str
    # The ATS user that changes are made as (Lever's perform_as); "" when not set.
    acting_user_id: str
    rate_per_second: float
    burst: int


class StateChange(enum.StrEnum):
    """A kind of change to an opportunity's ATS state that a webhook event announces."""

    STAGE = "stage"
    ARCHIVE = "archive"  # archived, unarchived or archived with another reason
    HIRED = "hired"


@dataclass(frozen=True)
class WebhookEventSpec:
    """One inbound event an adapter acts on: the ATS's own event name and its display label.

    ``announces``: the state changes a delivery of this event reports (the reconciliation
    infers a webhook that is switched off in the ATS from a change of these that no delivery
    announced). ``turn_on_where``: where in the ATS's own settings an admin turns it on.
    """

    code: str
    label: str
    announces: tuple[StateChange, ...] = ()
    turn_on_where: str = ""


@dataclass(frozen=True)
class InboundDelivery:
    """The envelope of one inbound webhook delivery, parsed and size-checked.

    ``delivery_key`` is the ATS's per-delivery token (with event and opportunity, the dedupe
    key); ``triggered_at_ms`` is when the ATS sent it (ms since the epoch, UTC);
    ``opportunity_id`` is "" for a test delivery or an event that names none.
    """

    event: str
    delivery_key: str
    triggered_at_ms: int
    opportunity_id: str
    is_test: bool


class DeliveryMalformed(ValueError):
    """The body is not a delivery of this ATS; the message names the field (safe to return)."""


@dataclass(frozen=True)
class OpportunityState:
    """One opportunity as generic code needs it: whose it is now and its ATS state."""

    opportunity_id: str
    # The person the opportunity belongs to now (merges move opportunities between contacts).
    contact_id: str
    state: AtsState
    # The ATS erased the candidate's personal data (Lever's ``isAnonymized``): the deletion
    # policy applies (integrations/deletions/), not the state.
    anonymized: bool = False
    # The opportunity's owner (``team_roles`` ("owner",)), None when it has none; only
    # meaningful when ``owner_known`` (False: the ATS's answer did not say, e.g. an expansion
    # missing or malformed, so whatever Karat knows stays).
    owner: AtsPerson | None = None
    owner_known: bool = False


@dataclass(frozen=True)
class RemoteWebhook:
    """A webhook registered in the ATS. ``signature_token`` is only set right after creation."""

    id: str
    event: str
    url: str
    signature_token: str = field(default="", repr=False)


class KeyCheckStatus(enum.StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class PermissionCheck:
    """One line of a key check: ``ok`` None means "not checked"."""

    code: str
    name: str
    ok: bool | None
    message: str
    # On a failed "region" line: the region whose host accepted the key ("" when none did).
    suggested_region: str = ""
    # The line is one permission of the key (failing: the ATS accepted the key, which lacks it).
    permission: bool = False


@dataclass(frozen=True)
class KeyCheckResult:
    """The outcome of checking a key: its status and one line per check, in display order."""

    status: KeyCheckStatus
    checks: tuple[PermissionCheck, ...]
    # The ATS's name in the summary ("Lever accepted the key …").
    ats_label: str = "the ATS"
    # The region whose API knows the key (the checks ran there); "" when none does, or when
    # the ATS could not be asked.
    region: str = ""

    @property
    def failed(self) -> list[PermissionCheck]:
        return [check for check in self.checks if check.ok is False]

    @property
    def refused(self) -> bool:
        """The ATS refused the key itself (not only a permission)."""
        return any(check.code == "auth" and check.ok is False for check in self.checks)

    def summary(self) -> str:
        """One line for people, as sentences: who refused what, and which permissions the
        key lacks when the ATS accepted it."""
        if self.status == KeyCheckStatus.VALID:
            return (
                f"{self.ats_label} accepted the key and it has every permission Karat reads with."
            )
        if self.status == KeyCheckStatus.UNREACHABLE:
            if any("took too long" in check.message for check in self.failed):
                return (
                    f"The check took too long: {self.ats_label} answered too slowly. "
                    "Try again later."
                )
            return (
                f"Karat could not reach {self.ats_label} to check the key. "
                "Try again in a few minutes."
            )
        return key_check_verdict(
            ats_label=self.ats_label,
            refused=self.refused,
            failed=[(c.code, c.name, c.message, c.permission) for c in self.failed],
        )

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(check) for check in self.checks]


def key_check_verdict(
    *, ats_label: str, refused: bool, failed: Sequence[tuple[str, str, str, bool]]
) -> str:
    """What a failed key check says, in sentences: "<ATS> rejected the key (401). Region: …"
    when the ATS refused the key itself; else "<ATS> accepted the key, but it lacks a
    permission Karat needs: Read users." and any other failed line (``failed``: (code, name,
    message, is a permission) per failed line; stored checks are read the same way)."""
    if refused:
        auth = next((m for code, _, m, _ in failed if code == "auth"), "")
        others = [f"{name}: {m}" for code, name, m, _ in failed if code != "auth"]
        return sentences_join([auth or f"{ats_label} rejected the key", *others])
    missing = [name for _, name, _, permission in failed if permission]
    others = [f"{name}: {m}" for _, name, m, permission in failed if not permission]
    if missing:
        lead = (
            f"{ats_label} accepted the key, but it lacks "
            f"{'a permission' if len(missing) == 1 else 'permissions'} Karat needs: "
            f"{', '.join(missing)}"
        )
    else:
        lead = f"{ats_label} accepted the key, but the check found a problem"
    return sentences_join([lead, *others])


@dataclass(frozen=True)
class AtsUser:
    """A user of the ATS account (the acting user, Lever's ``perform_as``)."""

    id: str
    name: str
    email: str
    active: bool


@dataclass(frozen=True)
class CandidateRef:
    """A candidate URL understood: the opportunity it names and the region it belongs to."""

    opportunity_id: str
    region: str
    url: str


class CandidateUrlError(ValueError):
    """A pasted URL that does not name a candidate; ``code`` says which mistake (stable)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- invites: what an invite reads about an opportunity --------------------------------------


@dataclass(frozen=True)
class OpportunityDetail:
    """One opportunity as an invite needs it (read in ONE ATS request; names from caches).

    ``emails`` in the ATS's order (the first is the one invited); ``posting_ids`` the
    postings of its applications (Lever: 0 or 1); ``origin`` the ATS's own word for how the
    candidate came in (Lever: applied, sourced, referred, university, agency, internal);
    ``confidential`` True for a record only keys with confidential access may read;
    ``version`` the ATS's updatedAt (ms, UTC).
    """

    opportunity_id: str
    contact_id: str
    candidate_name: str
    emails: tuple[str, ...]
    stage_id: str
    stage_name: str
    archived: bool
    archive_reason_id: str
    archive_reason_name: str
    origin: str
    confidential: bool
    posting_ids: tuple[str, ...]
    url: str
    version: int | None = None
    # Archived with a reason of the "hired" kind.
    hired: bool = False
    # When it last entered its current stage, as the ATS says; None when the ATS doesn't say.
    stage_entered_at: datetime | None = None
    # The ATS erased the candidate's personal data (Lever's ``isAnonymized``).
    anonymized: bool = False


@dataclass(frozen=True)
class PostingInfo:
    """A job posting as role matching needs it: its id, title and requisition codes."""

    posting_id: str
    title: str
    requisition_codes: tuple[str, ...]
    state: str = ""


@dataclass(frozen=True)
class StageInfo:
    """One pipeline stage of the ATS account."""

    stage_id: str
    name: str


@dataclass(frozen=True)
class RemotePosting:
    """One posting (a job opening, "role" in Karat's terms) as generic code needs it.

    ``state`` is the ATS's own state name (Lever: published, internal, closed, draft,
    pending, rejected); ``updated_at_ms`` is the ATS's last change (ms since the epoch, UTC;
    None when the ATS gave none). ``requisition_codes`` holds no blanks or repeats.
    """

    posting_id: str
    title: str
    state: str
    team: str = ""
    location: str = ""
    requisition_codes: tuple[str, ...] = ()
    confidential: bool = False
    updated_at_ms: int | None = None
    # The posting's hiring team (owner, hiring manager, followers); None when the ATS did not
    # say (its expansion was missing or malformed): the team Karat knows then stays.
    hiring_team: tuple[AtsPerson, ...] | None = None


@dataclass(frozen=True)
class PostingPage:
    """One page of a posting list. ``next_cursor`` resumes the list after this page (opaque,
    only meaningful to the adapter that made it; None on the last page).
    ``confidential_included`` is False when the key may not read confidential postings and
    the list therefore leaves them out."""

    postings: tuple[RemotePosting, ...]
    next_cursor: str | None
    confidential_included: bool = True


# --- the interface: one Protocol per capability ----------------------------------------------
# An ATS offers the base and any set of capabilities; Lever offers them all (``AtsAdapter``).
# Every method raises only ``AtsError`` subclasses for ATS trouble (plus ``DeliveryMalformed``
# / ``CandidateUrlError`` for bad input), and takes a ``CallProfile`` saying how patient it may
# be. The capabilities are runtime-checkable: the registry asks each adapter once which ones
# it offers (see ``adapter_for``).


@runtime_checkable
class AtsBase(Protocol):
    """What every ATS has, without calling it: its names, regions and the events it acts on."""

    ats: str
    label: str
    # (value, label) of the regions this ATS serves, for forms.
    regions: Sequence[tuple[str, str]]
    # The inbound events this adapter acts on; any other verified event is stored as ignored.
    webhook_events: Sequence[WebhookEventSpec]

    def api_host(self, region: str) -> str:
        """The API host the region's calls go to (for messages), e.g. ``api.lever.co``."""
        ...


@runtime_checkable
class InboundDeliveries(AtsBase, Protocol):
    """Reading and verifying the ATS's webhook deliveries (the receiver). Pure functions of
    the body: no ATS call, no database."""

    def delivery_parse(self, body: Mapping[str, Any]) -> InboundDelivery:
        """The delivery's envelope. Raises DeliveryMalformed naming the bad field (safe to
        return to the sender); never looks at the signature."""
        ...

    def delivery_verify(self, body: Mapping[str, Any], *, signature_tokens: Sequence[str]) -> bool:
        """True when the body is signed with one of ``signature_tokens`` (constant time)."""
        ...


@runtime_checkable
class WebhooksApi(AtsBase, Protocol):
    """Registering this product's webhooks in the ATS (the settings page's "Register webhooks"
    and the status page's check). Each method is one ATS request; AtsKeyError when the key may
    not manage webhooks, AtsUnavailable when the ATS did not answer."""

    def webhooks_list(self, account: AtsAccount, *, profile: CallProfile) -> list[RemoteWebhook]:
        """Every webhook of the account (``signature_token`` is never set here)."""
        ...

    def webhook_create(
        self, account: AtsAccount, *, url: str, event: str, profile: CallProfile
    ) -> RemoteWebhook:
        """The created webhook with its ``signature_token`` (the only time the ATS shows it)."""
        ...

    def webhook_update_url(
        self, account: AtsAccount, webhook_id: str, *, url: str, profile: CallProfile
    ) -> None: ...

    def webhook_delete(self, account: AtsAccount, webhook_id: str, *, profile: CallProfile) -> None:
        """Raises AtsRecordNotFound when the webhook is already gone."""
        ...


@runtime_checkable
class Opportunities(AtsBase, Protocol):
    """An opportunity's current state (stage, archive, hired), for webhook processing and
    reconciliation. Read-only."""

    def opportunity_state(
        self, account: AtsAccount, opportunity_id: str, *, profile: CallProfile
    ) -> OpportunityState:
        """The opportunity now. Raises AtsRecordNotFound (deleted) / AtsRecordForbidden
        (hidden from the key) / AtsKeyError / AtsUnavailable."""
        ...

    def opportunities_changed(
        self,
        account: AtsAccount,
        *,
        since_ms: int,
        contact_ids: Sequence[str] | None,
        profile: CallProfile,
    ) -> Iterator[OpportunityState]:
        """Every opportunity updated at or after ``since_ms`` (ms, UTC), confidential ones
        included where the key may read them. ``contact_ids`` narrows the result to those
        contacts' opportunities (by each opportunity's current contact); None keeps all.
        Raises (while iterating) AtsKeyError / AtsUnavailable, never a record-level error."""
        ...


@runtime_checkable
class OpportunityDetails(AtsBase, Protocol):
    """What an invite reads about opportunities (invite by URL, automatic invites) and the
    account's pipeline. Names (stages, postings) come from short per-integration caches, so
    reading one opportunity for an invite costs about one request once they are warm."""

    def opportunity_detail(
        self, account: AtsAccount, opportunity_id: str, *, profile: CallProfile
    ) -> OpportunityDetail:
        """One opportunity with its applications' postings, stage and archive state.
        Raises AtsRecordNotFound / AtsRecordForbidden (confidential) / AtsKeyError /
        AtsUnavailable."""
        ...

    def opportunities_in_stage(
        self, account: AtsAccount, stage_id: str, *, limit: int, profile: CallProfile
    ) -> list[OpportunityDetail]:
        """Up to ``limit`` active (not archived) opportunities now in ``stage_id``,
        confidential ones included where the key may read them."""
        ...

    def stages_list(self, account: AtsAccount, *, profile: CallProfile) -> list[StageInfo]:
        """The account's pipeline stages, in the ATS's order (cached)."""
        ...

    def origins(self) -> Sequence[tuple[str, str]]:
        """(value, label) of the ways a candidate can come in (Lever's ``origin``)."""
        ...


@runtime_checkable
class Postings(AtsBase, Protocol):
    """The account's job postings ("roles" in Karat's terms): the posting sync of role
    matching, and the postings an invite names. Read-only; AtsKeyError when the key may not
    read postings."""

    # (value, label) of every posting state, in display order, and the states whose postings
    # take candidates ("open"), for the roles page and the status page.
    posting_states: Sequence[tuple[str, str]]
    posting_open_states: frozenset[str]

    def postings_page(
        self,
        account: AtsAccount,
        *,
        cursor: str | None,
        updated_since_ms: int | None,
        profile: CallProfile,
    ) -> PostingPage:
        """One page of the account's postings in every state, confidential ones included
        when the key may read them. ``cursor`` None starts the list; a page's
        ``next_cursor`` continues it (also in a later process: a sync resumes from it).
        ``updated_since_ms`` (ms, UTC, inclusive) lists only postings changed since then
        (an incremental sync); None lists all. Deleted postings are simply absent. Raises
        AtsRequestError for a cursor this adapter did not make."""
        ...

    def postings_get(
        self, account: AtsAccount, posting_ids: Sequence[str], *, profile: CallProfile
    ) -> dict[str, PostingInfo]:
        """The postings among ``posting_ids`` that exist (cached); unknown ids are left out."""
        ...

    def postings_list(self, account: AtsAccount, *, profile: CallProfile) -> list[PostingInfo]:
        """Every posting of the account, confidential ones included (cached)."""
        ...


@runtime_checkable
class Writes(AtsBase, Protocol):
    """Post candidacy updates (outbound): the writes for each Karat milestone.

    Each write is one ATS request (tags_replace: two) with no retry inside: the caller's
    outbox row holds the retries. A write whose answer never came raises AtsNoResponse (it
    may have been applied, or still be: the caller waits before it looks or sends again, and
    sends nothing later for that opportunity meanwhile, since a late write would land on top of
    it). A key without the write permission is AtsKeyError; a hidden or
    deleted opportunity is an AtsRecordError. ``acting_user_id`` is who the change is made as
    ("" = nobody).
    """

    def note_add(
        self,
        account: AtsAccount,
        opportunity_id: str,
        *,
        text: str,
        secret: bool,
        score: int | None,
        acting_user_id: str,
        profile: CallProfile,
    ) -> str:
        """Add a note to the opportunity; returns the note's id. ``score`` is 1 to 4 or None.
        Not idempotent: after AtsNoResponse, look for it with ``note_find`` before sending it
        again, and only once the lost attempt can no longer land."""
        ...

    def note_find(
        self, account: AtsAccount, opportunity_id: str, *, marker: str, profile: CallProfile
    ) -> str | None:
        """The id of the opportunity's note whose text contains ``marker``, or None."""
        ...

    def tags_replace(
        self,
        account: AtsAccount,
        opportunity_id: str,
        *,
        add: Sequence[str],
        remove: Sequence[str],
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """Remove ``remove`` (when any) then add ``add``; both idempotent."""
        ...

    def links_add(
        self,
        account: AtsAccount,
        opportunity_id: str,
        *,
        links: Sequence[str],
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """Add links to the candidate's profile (idempotent)."""
        ...

    def stage_move(
        self,
        account: AtsAccount,
        opportunity_id: str,
        *,
        stage_id: str,
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """Move the opportunity to ``stage_id`` (idempotent: the same stage changes nothing)."""
        ...


@runtime_checkable
class Users(AtsBase, Protocol):
    """The account's users: who changes are made as (Lever's ``perform_as``). Read-only."""

    def user_get(self, account: AtsAccount, user_id: str, *, profile: CallProfile) -> AtsUser:
        """One user of the account (deactivated ones included). Raises AtsRecordNotFound
        for an unknown id, AtsKeyError when the key may not read users."""
        ...

    def users_find(self, account: AtsAccount, *, email: str, profile: CallProfile) -> list[AtsUser]:
        """Active users whose email is exactly ``email`` (none is an empty list)."""
        ...


@runtime_checkable
class KeyChecks(AtsBase, Protocol):
    """What an API key may do: the check run when a key is saved, and the status page's
    confidential-access line. Read-only."""

    def key_check(
        self, account: AtsAccount, *, budget_seconds: float, detect_region: bool = False
    ) -> KeyCheckResult:
        """Check the account's key: accepted?, each permission, the acting user, within
        ``budget_seconds``. Never raises for ATS trouble (that is the result's
        ``unreachable``). ``detect_region``: when the account's region refuses the key, ask
        the other regions and check it where it is accepted (the result's ``region``); a key
        no region accepts is invalid. Without it, another region that accepts the key is only
        suggested (``PermissionCheck.suggested_region``)."""
        ...

    def candidate_links_region(self, account: AtsAccount, *, profile: CallProfile) -> str | None:
        """The region of the candidate page links the account's records carry (one record,
        as the ATS links to it), or None when it can't tell (no record, no link, or not a
        candidate link of this ATS). Raises AtsKeyError when the key is refused and other
        AtsErrors when the ATS can't be asked."""
        ...

    def confidential_access(self, account: AtsAccount, *, profile: CallProfile) -> bool | None:
        """Whether the key may read confidential records: True when it reads one, False when
        the ATS refuses confidential reads, None when it can't tell (none visible). Raises
        AtsKeyError when the key itself is refused."""
        ...

    def key_probe(self, account: AtsAccount, *, profile: CallProfile) -> None:
        """Is the key still accepted? One cheap authenticated read (the periodic recheck).
        Returns when the ATS accepts the key; raises AtsKeyError when it refuses it, another
        AtsError when it can't tell (unreachable)."""
        ...


@runtime_checkable
class CandidateLinks(AtsBase, Protocol):
    """The ATS's candidate page URLs, both ways. Pure functions: no ATS call."""

    def candidate_url_parse(self, raw: str, *, region: str | None = None) -> CandidateRef:
        """The opportunity a pasted URL names. Raises CandidateUrlError (with a stable
        ``code``) for anything else, or for a URL of another region than ``region``."""
        ...

    def candidate_url(self, region: str, opportunity_id: str) -> str:
        """The candidate's page in the ATS. Raises ValueError for a region without one."""
        ...

    def candidate_profile_url(self, region: str, opportunity_id: str) -> str:
        """Where a person opens the candidate's page: ``candidate_url`` unless this deployment
        serves the region's pages elsewhere (a local sandbox). Never stored or compared: the
        candidate's identity stays ``candidate_url``. Raises ValueError as ``candidate_url``."""
        ...


@runtime_checkable
class AtsAdapter(
    InboundDeliveries,
    WebhooksApi,
    Opportunities,
    OpportunityDetails,
    Postings,
    Writes,
    Users,
    KeyChecks,
    CandidateLinks,
    Protocol,
):
    """Every capability at once: what Lever offers and what ``adapter_for(ats)`` returns."""


# Every capability, in the order messages list them.
CAPABILITIES: tuple[type, ...] = (
    InboundDeliveries,
    WebhooksApi,
    Opportunities,
    OpportunityDetails,
    Postings,
    Writes,
    Users,
    KeyChecks,
    CandidateLinks,
)


# --- the registry -----------------------------------------------------------------------------

# AtsIntegration.ats -> "module:attribute" of its adapter, imported on first use.
ADAPTERS: dict[str, str] = {
    "lever": "integrations.lever.adapter:adapter",
}


@dataclass(frozen=True)
class _Registered:
    adapter: AtsBase
    # The Protocols (AtsBase, AtsAdapter and each capability) the adapter satisfies.
    offers: frozenset[type]


_loaded: dict[str, _Registered] = {}

C = TypeVar("C", bound=AtsBase)


class UnknownAts(LookupError):
    """No adapter is registered for this ATS."""


class CapabilityMissing(UnknownAts):
    """The ATS's adapter lacks a capability the caller needs. An ``UnknownAts``, so code that
    treats "no adapter" as "not supported here" (the receiver's 404) treats this alike."""

    def __init__(self, ats: str, label: str, missing: Sequence[str]) -> None:
        super().__init__(f"{label} ({ats!r}) does not offer {', '.join(missing)}")
        self.ats = ats
        self.missing = tuple(missing)


@overload
def adapter_for(ats: str) -> AtsAdapter: ...


@overload
def adapter_for(ats: str, kind: Callable[..., C]) -> C: ...


# ``kind`` is typed as a callable returning C, not as ``type[C]``: mypy accepts no
# Protocol class where ``type[C]`` is expected (its ``type-abstract`` check).
def adapter_for(ats: str, kind: Callable[..., AtsBase] = AtsAdapter) -> AtsBase:
    """The adapter for ``ats`` (e.g. ``"lever"``) as the capability ``kind``: all of them when
    none is named (``AtsAdapter``), else the one the caller needs (``adapter_for(ats,
    Opportunities)``; ``AtsBase`` for names, regions and events only).

    Raises UnknownAts when no adapter is registered, and CapabilityMissing (an UnknownAts)
    when it lacks the capability. Code that can do without a capability asks ``capability``.

    Capabilities are checked structurally (``runtime_checkable`` Protocols), not declared in
    a ``capabilities`` set: the methods an adapter has are the declaration, so it can neither
    claim one it lacks nor forget one it has. The check only sees that the members exist;
    their signatures are mypy's job where an adapter class names its Protocols as bases (as
    every ``integrations/lever/`` module does). It runs once per adapter, when it is loaded.
    """
    registered = _registered(ats)
    if kind not in registered.offers:
        missing = (
            [c.__name__ for c in CAPABILITIES if c not in registered.offers]
            if kind is AtsAdapter
            else [getattr(kind, "__name__", repr(kind))]
        )
        raise CapabilityMissing(ats, registered.adapter.label, missing)
    return registered.adapter


def capability(ats: str, kind: Callable[..., C]) -> C | None:
    """The adapter for ``ats`` as the capability ``kind``, or None when it lacks it: for code
    that says "not available for this ATS" instead of failing. Raises UnknownAts when no
    adapter is registered."""
    registered = _registered(ats)
    if kind not in registered.offers:
        return None
    return cast("C", registered.adapter)


def capabilities_missing(ats: str, kinds: Iterable[type]) -> tuple[str, ...]:
    """The names of the capabilities among ``kinds`` that the ATS's adapter lacks (empty when
    it offers them all). Raises UnknownAts when no adapter is registered."""
    offers = _registered(ats).offers
    return tuple(kind.__name__ for kind in kinds if kind not in offers)


def adapter_register(ats: str, adapter: AtsBase) -> None:
    """Register an adapter object directly (a second ATS in tests). It may offer any set of
    capabilities besides the base."""
    _loaded[ats] = _registration(adapter)


def adapter_unregister(ats: str) -> None:
    _loaded.pop(ats, None)


def _registered(ats: str) -> _Registered:
    registered = _loaded.get(ats)
    if registered is not None:
        return registered
    target = ADAPTERS.get(ats)
    if target is None:
        raise UnknownAts(f"No adapter for ATS {ats!r}")
    module_name, _, attribute = target.partition(":")
    registered = _registration(getattr(importlib.import_module(module_name), attribute))
    _loaded[ats] = registered
    return registered


def _registration(adapter: object) -> _Registered:
    if not isinstance(adapter, AtsBase):
        raise TypeError(f"{adapter!r} is not an ATS adapter (see ats.AtsBase)")
    protocols: tuple[type, ...] = (AtsBase, AtsAdapter, *CAPABILITIES, *OPTIONAL_CAPABILITIES)
    return _Registered(adapter, frozenset(p for p in protocols if isinstance(adapter, p)))


def account_for(integration: AtsIntegration, *, api_key: str | None = None) -> AtsAccount:
    """The account an adapter talks to for this integration (or for a candidate ``api_key``
    being checked). The rate bucket is shared by every process using the key."""
    return AtsAccount(
        integration_id=integration.pk,
        public_id=str(integration.public_id),
        api_key=api_key if api_key is not None else integration.api_key,
        region=integration.region,
        acting_user_id=integration.ats_user_id,
        rate_per_second=integration.rate_limit_per_second,
        burst=integration.rate_limit_burst,
    )


# --- Post candidacy updates (outbound): what crosses the boundary -----------------------------


class AtsNoResponse(AtsUnavailable):
    """A write went out but no answer came back (timeout, dropped connection, a gateway's
    502/504): the ATS may have applied it, or may still apply it for a while. Nothing more is
    sent for that record until it can no longer land; then a write that is not idempotent must
    be looked for before it is sent again."""


# --- The Karat interview on the ATS's schedule (panels): what crosses the boundary ------------


@dataclass(frozen=True)
class PanelSpec:
    """What a panel (one scheduled interview on an opportunity) says.

    ``start`` is an aware datetime (sent as UTC milliseconds); ``duration_minutes`` in minutes;
    ``time_zone`` an IANA name the ATS shows the time in; ``interviewer_id`` the ATS user listed
    as the interviewer (an ATS may require one); ``subject`` and ``note`` are plain text;
    ``url`` the link to join (http(s)), or ""; ``marker`` a reference written into the panel's
    note so a create whose answer was lost can be found again (``panel_find``).
    """

    start: datetime
    duration_minutes: int
    time_zone: str
    interviewer_id: str
    subject: str
    note: str
    url: str
    marker: str


@dataclass(frozen=True)
class RemotePanel:
    """A panel as the ATS lists it: its id, whether an integration manages it (only those may
    be changed through the API) and the note text it carries (to find ours by marker)."""

    panel_id: str
    externally_managed: bool
    start_ms: int | None
    text: str


class AtsPermissionMissing(AtsRequestError):
    """The key lacks the permission one optional write needs (e.g. panels), while the rest of
    the key works: that write ends, nothing else pauses (a missing optional permission must
    not stop every other update)."""


@runtime_checkable
class Panels(AtsBase, Protocol):
    """Put the Karat interview on the ATS's schedule: create, move and remove the panels Karat
    made, and find one after a lost answer. Writes are one request each with no retry inside
    (the outbox row retries); a write whose answer never came raises AtsNoResponse. A missing
    panels permission is AtsPermissionMissing; a deleted opportunity or panel is
    AtsRecordNotFound; a refused key is AtsKeyError."""

    def panel_create(
        self,
        account: AtsAccount,
        opportunity_id: str,
        *,
        spec: PanelSpec,
        acting_user_id: str,
        profile: CallProfile,
    ) -> str:
        """Create the panel; returns its id. Not idempotent: after AtsNoResponse, look for it
        with ``panel_find`` before sending it again."""
        ...

    def panel_update(
        self,
        account: AtsAccount,
        opportunity_id: str,
        panel_id: str,
        *,
        spec: PanelSpec,
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """Replace the panel's time and details (idempotent)."""
        ...

    def panel_delete(
        self,
        account: AtsAccount,
        opportunity_id: str,
        panel_id: str,
        *,
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """Remove the panel (AtsRecordNotFound when it is already gone)."""
        ...

    def panel_find(
        self, account: AtsAccount, opportunity_id: str, *, marker: str, profile: CallProfile
    ) -> str | None:
        """The id of the opportunity's integration-managed panel whose note holds ``marker``,
        or None."""
        ...

    def panels_list(
        self, account: AtsAccount, opportunity_id: str, *, profile: CallProfile
    ) -> list[RemotePanel]:
        """Every panel of the opportunity (read-only)."""
        ...


# --- Hiring team (integrations/hiring_team): the people of a posting or an opportunity -------


@dataclass(frozen=True)
class AtsPerson:
    """A user of the ATS account on a posting's hiring team or owning an opportunity.

    ``email`` went through ``person_email_clean`` ("" when the ATS gave no usable address);
    ``name`` is one line of at most 200 characters; ``team_roles`` are ``"owner"``,
    ``"hiring_manager"``, ``"follower"`` (Karat's ``RoleFollower.TeamRole`` values).
    """

    user_id: str
    name: str
    email: str
    team_roles: tuple[str, ...] = ()


def person_email_clean(value: object) -> str:
    """An email address an ATS sent, made safe to match, store and show: lower-case, or ""
    when it is not a plain address (not a string, longer than 254 characters, whitespace or
    control characters inside — a header or log injection —, or not a valid address)."""
    if not isinstance(value, str):
        return ""
    email = value.strip()
    if not email or len(email) > 254 or any(ch.isspace() or ord(ch) < 32 for ch in email):
        return ""
    if any(ch in email for ch in '<>,;"\\\x7f'):
        return ""
    try:
        validate_email(email)
    except ValidationError:
        return ""
    return email.lower()


def person_name_clean(value: object) -> str:
    """A display name an ATS sent, as one line of at most 200 characters ("" for a non-string)."""
    if not isinstance(value, str):
        return ""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())[:200]


# --- Results as a feedback form (opt-in): what crosses the boundary ----------------------------


@dataclass(frozen=True)
class FeedbackFieldSpec:
    """One field of the feedback template Karat asks the ATS to create.

    ``kind``: ``score`` (the overall 4-point rating; the ATS's own option texts), ``text`` (one
    line) or ``textarea`` (several lines). ``key`` is Karat's name for the field.
    """

    key: str
    kind: str
    label: str
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class FeedbackTemplateSpec:
    """The feedback template Karat creates once per integration. ``marker`` is written into
    its instructions so a template whose creation got no answer can be found again."""

    name: str
    instructions: str
    fields: tuple[FeedbackFieldSpec, ...]
    marker: str


@dataclass(frozen=True)
class FeedbackTemplate:
    """A feedback template as the ATS created it: its id, the ATS's id of each of Karat's
    fields (by ``FeedbackFieldSpec.key``) and the option texts of its score field, best first
    when the ATS numbers them (Lever: "4 - Strong Hire" … "1 - Strong No Hire")."""

    template_id: str
    field_ids: Mapping[str, str]
    score_options: tuple[str, ...] = ()


class AtsFeedbackTemplateMissing(AtsRequestError):
    """The ATS no longer knows the feedback template (deleted in the ATS): create it again."""


class AtsFeedbackFormMissing(AtsRequestError):
    """The ATS no longer has the feedback form (deleted in the ATS) on a readable record."""


@runtime_checkable
class FeedbackForms(AtsBase, Protocol):
    """Karat's results as a structured feedback form on the opportunity (opt-in).

    Every write is one request with no retry inside (the outbox row retries) and needs an
    acting user (Lever's ``perform_as`` is required here). Failures are classified as for
    ``Writes``: AtsKeyError (missing permission), AtsRecordNotFound (the opportunity is gone),
    AtsNoResponse (no answer: look before sending again), AtsUnavailable (retry later),
    AtsFeedbackTemplateMissing / AtsFeedbackFormMissing (the ATS lost what Karat made).
    ``values``: by ``FeedbackFieldSpec.key``; a score field takes one of ``score_options``.
    """

    def feedback_template_find(
        self, account: AtsAccount, *, spec: FeedbackTemplateSpec, profile: CallProfile
    ) -> FeedbackTemplate | None:
        """The account's template carrying ``spec.marker`` (Karat made it earlier), or None."""
        ...

    def feedback_template_create(
        self, account: AtsAccount, *, spec: FeedbackTemplateSpec, profile: CallProfile
    ) -> FeedbackTemplate:
        """Create the template. Not idempotent: after AtsNoResponse, find it first."""
        ...

    def feedback_add(
        self,
        account: AtsAccount,
        opportunity_id: str,
        *,
        template: FeedbackTemplate,
        values: Mapping[str, str],
        acting_user_id: str,
        profile: CallProfile,
    ) -> str:
        """Post a completed feedback form; returns its id. Not idempotent (see feedback_find)."""
        ...

    def feedback_find(
        self, account: AtsAccount, opportunity_id: str, *, marker: str, profile: CallProfile
    ) -> str | None:
        """The id of the opportunity's feedback form whose values contain ``marker``, or None."""
        ...

    def feedback_update(
        self,
        account: AtsAccount,
        opportunity_id: str,
        feedback_id: str,
        *,
        template: FeedbackTemplate,
        values: Mapping[str, str],
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """Replace the form's values (idempotent). AtsFeedbackFormMissing when it is gone."""
        ...

    def feedback_delete(
        self,
        account: AtsAccount,
        opportunity_id: str,
        feedback_id: str,
        *,
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """Remove the form (idempotent: an already removed form is no error)."""
        ...

    def feedback_key_check(
        self, account: AtsAccount, *, profile: CallProfile
    ) -> list[PermissionCheck]:
        """The key check's lines for feedback forms (read-only: writes are reported as not
        checked). Never raises for ATS trouble."""
        ...


# Capabilities only an optional feature needs (adapter_for(ats, Panels) works as for the
# others), so they are not part of ``AtsAdapter``: an ATS without them is still complete.
OPTIONAL_CAPABILITIES: tuple[type, ...] = (Panels, FeedbackForms)


# --- Deletions and anonymisation honoured (integrations/deletions/) ---------------------------


@dataclass(frozen=True)
class DeletedOpportunity:
    """An opportunity the ATS lists as deleted; ``deleted_at_ms`` is when (ms since the epoch,
    UTC), None when the ATS did not say."""

    opportunity_id: str
    deleted_at_ms: int | None = None


@dataclass(frozen=True)
class DeletionSubject:
    """What a deletion delivery names (parsed defensively: any part may be missing): the
    opportunity, or only the contact whose opportunities went. ``test``: the ATS's test
    delivery (sent from its webhook settings), which names nothing and changes nothing."""

    opportunity_id: str
    contact_id: str
    test: bool = False


@runtime_checkable
class Deletions(AtsBase, Protocol):
    """Candidates deleted (or anonymised) in the ATS: the deletion webhook's payload, a check
    that a record really is gone, and the list of deleted records for the deliveries missed.
    Read-only: nothing is ever written to the ATS about a deletion."""

    # The inbound event announcing a deletion (one of ``webhook_events``).
    deletion_event: str

    def deletion_subject(self, body: Mapping[str, Any]) -> DeletionSubject:
        """What a verified deletion delivery names. Pure; never raises (blank when absent)."""
        ...

    def opportunity_deleted(
        self, account: AtsAccount, opportunity_id: str, *, profile: CallProfile
    ) -> bool:
        """True when the ATS confirms the opportunity is deleted (the signature does not cover
        a delivery's data, so a deletion is only acted on once the ATS confirms it). Raises
        AtsRecordForbidden (hidden), AtsKeyError, AtsUnavailable."""
        ...

    def opportunities_deleted(
        self, account: AtsAccount, *, since_ms: int, profile: CallProfile
    ) -> Iterator[DeletedOpportunity]:
        """Every opportunity deleted at or after ``since_ms`` (ms, UTC), all pages. Raises
        (while iterating) AtsKeyError / AtsUnavailable."""
        ...


# Appended here, not in the tuple above, so the registry offers it (``adapter_for(ats,
# Deletions)``) without ``AtsAdapter`` requiring it of every ATS.
CAPABILITIES = (*CAPABILITIES, Deletions)
