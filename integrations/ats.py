"""The ATS interface: what generic code needs from an ATS, the plain data that crosses it, and
the registry from ``AtsIntegration.ats`` to the adapter that speaks that ATS.

Generic code (``webhooks/``, ``integrations/services/``) calls an adapter and reads only the
dataclasses below; it never reads an ATS's JSON. Each ATS lives in one folder beside ``lever/``
and is one line in ``ADAPTERS`` (healthchecks maps a channel kind to its transport the same
way). Every ATS failure reaches generic code as one of the ``AtsError`` classes, classified
once, in the adapter, by whose fault it is.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

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


@dataclass(frozen=True)
class WebhookEventSpec:
    """One inbound event an adapter acts on: the ATS's own event name and its display label."""

    code: str
    label: str


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


@dataclass(frozen=True)
class KeyCheckResult:
    """The outcome of checking a key: its status and one line per check, in display order."""

    status: KeyCheckStatus
    checks: tuple[PermissionCheck, ...]
    # The ATS's name in the summary ("Lever accepted the key …").
    ats_label: str = "the ATS"

    @property
    def failed(self) -> list[PermissionCheck]:
        return [check for check in self.checks if check.ok is False]

    def summary(self) -> str:
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
        return f"{self.ats_label} check failed: " + "; ".join(
            f"{c.name}: {c.message}" for c in self.failed
        )

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(check) for check in self.checks]


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


@dataclass(frozen=True)
class PostingPage:
    """One page of a posting list. ``next_cursor`` resumes the list after this page (opaque,
    only meaningful to the adapter that made it; None on the last page).
    ``confidential_included`` is False when the key may not read confidential postings and
    the list therefore leaves them out."""

    postings: tuple[RemotePosting, ...]
    next_cursor: str | None
    confidential_included: bool = True


# --- the interface ----------------------------------------------------------------------------


class AtsAdapter(Protocol):
    """Everything generic code asks of one ATS. Methods raise only ``AtsError`` subclasses
    (plus ``DeliveryMalformed`` / ``CandidateUrlError`` for bad input)."""

    ats: str
    label: str
    # (value, label) of the regions this ATS serves, for forms.
    regions: Sequence[tuple[str, str]]
    # The inbound events this adapter acts on; any other verified event is stored as ignored.
    webhook_events: Sequence[WebhookEventSpec]

    def api_host(self, region: str) -> str:
        """The API host the region's calls go to (for messages), e.g. ``api.lever.co``."""
        ...

    # inbound deliveries
    def delivery_parse(self, body: Mapping[str, Any]) -> InboundDelivery: ...

    def delivery_verify(self, body: Mapping[str, Any], *, signature_tokens: Sequence[str]) -> bool:
        """True when the body is signed with one of ``signature_tokens`` (constant time)."""
        ...

    # reads
    def opportunity_state(
        self, account: AtsAccount, opportunity_id: str, *, profile: CallProfile
    ) -> OpportunityState: ...

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
        contacts' opportunities (by each opportunity's current contact); None keeps all."""
        ...

    # webhooks
    def webhooks_list(
        self, account: AtsAccount, *, profile: CallProfile
    ) -> list[RemoteWebhook]: ...

    def webhook_create(
        self, account: AtsAccount, *, url: str, event: str, profile: CallProfile
    ) -> RemoteWebhook: ...

    def webhook_update_url(
        self, account: AtsAccount, webhook_id: str, *, url: str, profile: CallProfile
    ) -> None: ...

    def webhook_delete(
        self, account: AtsAccount, webhook_id: str, *, profile: CallProfile
    ) -> None: ...

    # keys
    def key_check(self, account: AtsAccount, *, budget_seconds: float) -> KeyCheckResult:
        """Check the account's key: accepted?, each permission, the acting user. Read-only;
        never raises for ATS trouble (that is the result's ``unreachable``)."""
        ...

    # candidate URLs
    def candidate_url_parse(self, raw: str, *, region: str | None = None) -> CandidateRef: ...

    def candidate_url(self, region: str, opportunity_id: str) -> str: ...

    # --- invites (integrations/services/invites.py) ---------------------------------------
    # Names (stages, postings) come from short per-integration caches, so reading one
    # opportunity for an invite costs about one request once they are warm.

    def opportunity_detail(
        self, account: AtsAccount, opportunity_id: str, *, profile: CallProfile
    ) -> OpportunityDetail:
        """One opportunity with its applications' postings, stage and archive state.
        Raises AtsRecordNotFound / AtsRecordForbidden (confidential) / AtsKeyError /
        AtsUnavailable."""
        ...

    def postings_get(
        self, account: AtsAccount, posting_ids: Sequence[str], *, profile: CallProfile
    ) -> dict[str, PostingInfo]:
        """The postings among ``posting_ids`` that exist (cached); unknown ids are left out."""
        ...

    def postings_list(self, account: AtsAccount, *, profile: CallProfile) -> list[PostingInfo]:
        """Every posting of the account, confidential ones included (cached)."""
        ...

    def stages_list(self, account: AtsAccount, *, profile: CallProfile) -> list[StageInfo]:
        """The account's pipeline stages, in the ATS's order (cached)."""
        ...

    def opportunities_in_stage(
        self, account: AtsAccount, stage_id: str, *, limit: int, profile: CallProfile
    ) -> list[OpportunityDetail]:
        """Up to ``limit`` active (not archived) opportunities now in ``stage_id``,
        confidential ones included where the key may read them."""
        ...

    def origins(self) -> Sequence[tuple[str, str]]:
        """(value, label) of the ways a candidate can come in (Lever's ``origin``)."""
        ...

    # --- status page (issue #14): live reads behind the status snapshot's checks ----------

    def user_get(self, account: AtsAccount, user_id: str, *, profile: CallProfile) -> AtsUser:
        """One user of the account (deactivated ones included). Raises AtsRecordNotFound
        for an unknown id, AtsKeyError when the key may not read users."""
        ...

    def confidential_access(self, account: AtsAccount, *, profile: CallProfile) -> bool | None:
        """Whether the key may read confidential records: True when it reads one, False when
        the ATS refuses confidential reads, None when it can't tell (none visible). Raises
        AtsKeyError when the key itself is refused."""

    # --- role matching (posting sync) -----------------------------------------------------

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
        (an incremental sync); None lists all. Deleted postings are simply absent."""

    # --- Post candidacy updates (outbound): writes for each Karat milestone ----------------
    # Each write is one ATS request (tags_replace: two) with no retry inside: the caller's
    # outbox row holds the retries. A write whose answer never came raises AtsNoResponse (it
    # may have been applied). ``acting_user_id`` is who the change is made as ("" = nobody).

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
        """Add a note to the opportunity; returns the note's id. ``score`` is 1 to 4 or None."""
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
    ) -> None: ...

    def users_find(self, account: AtsAccount, *, email: str, profile: CallProfile) -> list[AtsUser]:
        """Active users whose email is exactly ``email``."""
        ...


# --- the registry -----------------------------------------------------------------------------

# AtsIntegration.ats -> "module:attribute" of its adapter, imported on first use.
ADAPTERS: dict[str, str] = {
    "lever": "integrations.lever.adapter:adapter",
}
_loaded: dict[str, AtsAdapter] = {}


class UnknownAts(LookupError):
    """No adapter is registered for this ATS."""


def adapter_for(ats: str) -> AtsAdapter:
    """The adapter for ``ats`` (e.g. ``"lever"``); raises UnknownAts when none is registered."""
    loaded = _loaded.get(ats)
    if loaded is not None:
        return loaded
    target = ADAPTERS.get(ats)
    if target is None:
        raise UnknownAts(f"No adapter for ATS {ats!r}")
    module_name, _, attribute = target.partition(":")
    adapter: AtsAdapter = getattr(importlib.import_module(module_name), attribute)
    _loaded[ats] = adapter
    return adapter


def adapter_register(ats: str, adapter: AtsAdapter) -> None:
    """Register an adapter object directly (a second ATS in tests)."""
    _loaded[ats] = adapter


def adapter_unregister(ats: str) -> None:
    _loaded.pop(ats, None)


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
    """A write went out but no answer came back (timeout, dropped connection): the ATS may
    have applied it. A write that is not idempotent must be looked for before it is sent again."""
