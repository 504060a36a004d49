"""The Lever adapter: the ATS interface (``integrations/ats.py``) spoken in Lever.

Everything Lever-specific that generic code needs lives here or below: the webhook envelope,
opportunity state (stage names, archive reasons, hired), the reconciliation list read, the
Webhooks API, the key's permission probes, regions and candidate URLs. Lever's failures are
classified once, here, into the ATS-neutral ``AtsError`` classes (DESIGN.md "Whose fault is
it"). Facts come from ``shared/lever-api.md`` (sections cited inline).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import models

from integrations import ats
from integrations.ats import (
    AtsAccount,
    AtsError,
    AtsKeyError,
    AtsNoResponse,
    AtsRecordForbidden,
    AtsRecordNotFound,
    AtsRequestError,
    AtsUnavailable,
    AtsUser,
    CallProfile,
    CandidateRef,
    CandidateUrlError,
    DeliveryMalformed,
    InboundDelivery,
    KeyCheckResult,
    KeyCheckStatus,
    OpportunityDetail,
    OpportunityState,
    PermissionCheck,
    PostingInfo,
    PostingPage,
    RemotePosting,
    RemoteWebhook,
    StageInfo,
    WebhookEventSpec,
)
from integrations.lever import links, signatures
from integrations.lever.client import CONFIDENTIALITY_ALL, LeverClient, base_url_for_region
from integrations.lever.errors import (
    LeverAuthError,
    LeverConnectionError,
    LeverError,
    LeverNotFound,
    LeverPermissionError,
    LeverRateLimited,
    LeverTransientError,
)
from integrations.lever.ratelimit import rate_limiter_for
from integrations.lever.schemas import Opportunity, Posting, User
from karatlever.hiring.services import AtsState

logger = logging.getLogger(__name__)


class WebhookEvent(models.TextChoices):
    """Lever's three candidate events this product acts on (lever-api.md §6.2)."""

    CANDIDATE_STAGE_CHANGE = "candidateStageChange", "Candidate Stage Change"
    CANDIDATE_ARCHIVE_CHANGE = "candidateArchiveChange", "Candidate Archive State Change"
    CANDIDATE_HIRED = "candidateHired", "Candidate Hired"


# How a candidate came in (lever-api.md §3.1 ``origin``), for the automatic invite's filter.
ORIGINS: tuple[tuple[str, str], ...] = (
    ("applied", "Applied"),
    ("sourced", "Sourced"),
    ("referred", "Referred"),
    ("university", "University"),
    ("agency", "Agency"),
    ("internal", "Internal"),
)

WEBHOOK_EVENTS = tuple(WebhookEventSpec(event.value, event.label) for event in WebhookEvent)
_SUPPORTED = frozenset(spec.code for spec in WEBHOOK_EVENTS)

# Envelope field sizes: anything longer is malformed, never a database error.
EVENT_MAX = 64
TOKEN_MAX = 128
OPPORTUNITY_ID_MAX = 64
TRIGGERED_AT_MAX = 2**63 - 1

# Why each read matters to the product; the probe is the cheapest call that needs it.
_READ_PERMISSIONS: tuple[tuple[str, str, str], ...] = (
    ("read_users", "Read users", "to check the User ID and find who makes changes"),
    ("read_opportunities", "Read opportunities", "to invite candidates from a Lever URL"),
    ("read_postings", "Read postings", "to match Lever postings to Karat roles"),
    ("read_stages", "Read stages", "to show each candidate's Lever stage"),
    ("read_archive_reasons", "Read archive reasons", "to show why a candidate was archived"),
    ("read_webhooks", "Read webhooks", "to set up and check the three webhooks"),
)
# Writes can't be probed without changing data in Lever, so they are only reported.
_WRITE_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("write_notes", "Write notes"),
    ("write_opportunities", "Update opportunities (tags, links, stage)"),
    ("write_webhooks", "Manage webhooks"),
)
# The list probes ask for every record (the client's default ``confidentiality=all``), like
# every other list read: a key is checked the way it is used.
_PROBES: dict[str, Callable[[LeverClient], object]] = {
    "read_users": lambda c: next(iter(c.iter_users()), None),
    "read_opportunities": lambda c: next(iter(c.iter_opportunities()), None),
    "read_postings": lambda c: next(iter(c.iter_postings()), None),
    "read_stages": lambda c: c.list_stages(),
    "read_archive_reasons": lambda c: c.list_archive_reasons(),
    "read_webhooks": lambda c: c.list_webhooks(),
}


class LeverAdapter:
    """The one object generic code uses to speak Lever (see ``ats.AtsAdapter``)."""

    ats = "lever"
    label = "Lever"
    regions: Sequence[tuple[str, str]] = (
        ("us", "US (api.lever.co)"),
        ("eu", "EU (api.eu.lever.co)"),
        ("sandbox", "Sandbox (api.sandbox.lever.co)"),
    )
    webhook_events: Sequence[WebhookEventSpec] = WEBHOOK_EVENTS

    def api_host(self, region: str) -> str:
        base = base_url_for_region(region, override=settings.LEVER_API_BASE_URL or None)
        return base.split("://", 1)[-1].split("/", 1)[0]

    # --- inbound deliveries (lever-api.md §6) ---------------------------------------------

    def delivery_parse(self, body: Mapping[str, Any]) -> InboundDelivery:
        """Lever's envelope ``{event, token, triggeredAt, signature, data: {opportunityId}}``.

        Raises DeliveryMalformed naming the field. ``data: {}`` is Lever's test delivery.
        """
        if not isinstance(body, Mapping):
            raise DeliveryMalformed("the body must be a JSON object")
        event = body.get("event")
        if not isinstance(event, str) or not 0 < len(event) <= EVENT_MAX:
            raise DeliveryMalformed("event must be a non-empty string")
        token = body.get("token")
        if not isinstance(token, str) or not 0 < len(token) <= TOKEN_MAX:
            raise DeliveryMalformed("token must be a non-empty string")
        triggered_at = body.get("triggeredAt")
        if (
            isinstance(triggered_at, bool)
            or not isinstance(triggered_at, int)
            or not 0 <= triggered_at <= TRIGGERED_AT_MAX
        ):
            raise DeliveryMalformed("triggeredAt must be an integer (milliseconds)")
        # A missing signature is a 401 (verification fails); a non-string one is a broken body.
        signature = body.get("signature")
        if signature is not None and not isinstance(signature, str):
            raise DeliveryMalformed("signature must be a string")
        data = body.get("data")
        if not isinstance(data, Mapping):
            raise DeliveryMalformed("data must be an object")
        opportunity_id = data.get("opportunityId", "")
        if event in _SUPPORTED and data:
            if (
                not isinstance(opportunity_id, str)
                or not 0 < len(opportunity_id) <= OPPORTUNITY_ID_MAX
            ):
                raise DeliveryMalformed("data.opportunityId must be a non-empty string")
        elif not isinstance(opportunity_id, str) or len(opportunity_id) > OPPORTUNITY_ID_MAX:
            opportunity_id = ""
        return InboundDelivery(
            event=event,
            delivery_key=token,
            triggered_at_ms=triggered_at,
            opportunity_id=opportunity_id,
            is_test=not data,
        )

    def delivery_verify(self, body: Mapping[str, Any], *, signature_tokens: Sequence[str]) -> bool:
        return signatures.verify(body, signature_tokens=list(signature_tokens))

    # --- reads ----------------------------------------------------------------------------

    def opportunity_state(
        self, account: AtsAccount, opportunity_id: str, *, profile: CallProfile
    ) -> OpportunityState:
        """``GET /opportunities/:id?expand=stage`` (lever-api.md §3.1), mapped to AtsState."""
        client = client_for(account, profile)
        with _translated(client, record=True):
            opportunity = client.get_opportunity(opportunity_id, expand=("stage",))
            return _state_of(account, client, opportunity)

    def opportunities_changed(
        self,
        account: AtsAccount,
        *,
        since_ms: int,
        contact_ids: Sequence[str] | None,
        profile: CallProfile,
    ) -> Iterator[OpportunityState]:
        """One paginated ``GET /opportunities?updated_at_start=…&confidentiality=all&expand=stage``
        (lever-api.md §3.2): Lever lists only non-confidential records unless asked for all.

        Never filtered by contact in Lever: a profile merge moves an opportunity to another
        contact, so a stored contact id can be stale. ``contact_ids`` (reconciliation passes
        None) only filters what the list returned, by each opportunity's current contact.
        """
        wanted = None if contact_ids is None else frozenset(contact_ids)
        client = client_for(account, profile)
        with _translated(client, record=False):
            for opportunity in client.iter_opportunities(
                updated_at_start=since_ms, expand=("stage",), confidentiality="all"
            ):
                if wanted is not None and (opportunity.contact or "") not in wanted:
                    continue
                yield _state_of(account, client, opportunity)

    # --- webhooks (lever-api.md §6.6) -----------------------------------------------------

    def webhooks_list(self, account: AtsAccount, *, profile: CallProfile) -> list[RemoteWebhook]:
        client = client_for(account, profile)
        with _translated(client, record=False):
            return [
                RemoteWebhook(id=w.id, event=w.event or "", url=w.url or "")
                for w in client.list_webhooks()
            ]

    def webhook_create(
        self, account: AtsAccount, *, url: str, event: str, profile: CallProfile
    ) -> RemoteWebhook:
        """Lever returns the signature token only in this response."""
        client = client_for(account, profile)
        with _translated(client, record=False):
            created = client.create_webhook(url=url, event=event)
        return RemoteWebhook(
            id=created.id,
            event=created.event or event,
            url=created.url or url,
            signature_token=created.signature_token or "",
        )

    def webhook_update_url(
        self, account: AtsAccount, webhook_id: str, *, url: str, profile: CallProfile
    ) -> None:
        client = client_for(account, profile)
        with _translated(client, record=False):
            client.update_webhook(webhook_id, url=url)

    def webhook_delete(self, account: AtsAccount, webhook_id: str, *, profile: CallProfile) -> None:
        client = client_for(account, profile)
        with _translated(client, record=True):
            client.delete_webhook(webhook_id)

    # --- keys (lever-api.md §1, §9) -------------------------------------------------------

    def key_check(self, account: AtsAccount, *, budget_seconds: float) -> KeyCheckResult:
        """Probe each read permission with its cheapest call, then the acting user.

        GETs only. A 401 makes the key (and its region) invalid; a 403 on a list endpoint is
        a missing permission; no answer is ``unreachable``. Never raises for Lever trouble.
        """
        client = client_for(account, ats.KEY_CHECK)
        deadline = time.monotonic() + budget_seconds
        host = f"{self.api_host(account.region)} ({account.region.upper()})"
        result = _key_check(client, account, host=host, deadline=deadline)
        return self._with_region_hint(result, account, host=host, deadline=deadline)

    def _with_region_hint(
        self, result: KeyCheckResult, account: AtsAccount, *, host: str, deadline: float
    ) -> KeyCheckResult:
        """Lever refused the key (401) in the chosen region: ask the other regions' hosts
        (one cheap GET each) and, when one accepts it, say so on the "region" line."""
        refused = any(c.code == "auth" and c.ok is False for c in result.checks)
        # The local sandbox serves one host for every region: nothing to learn there.
        if not refused or settings.LEVER_API_BASE_URL:
            return result
        found = _region_accepting(account, deadline=deadline)
        if found is None:
            return result
        label = links.REGION_LABELS[links.Region(found)]
        line = PermissionCheck(
            "region",
            "Region",
            False,
            f"{host} does not accept this key, but {self.api_host(found)} ({label}) does: "
            f"your Lever account is in the {label} region. Switch the region to {label}.",
            suggested_region=found,
        )
        checks = tuple(line if c.code == "region" else c for c in result.checks)
        return KeyCheckResult(result.status, checks, ats_label=result.ats_label)

    # --- candidate URLs (lever-api.md §7) -------------------------------------------------

    def candidate_url_parse(self, raw: str, *, region: str | None = None) -> CandidateRef:
        try:
            parsed = links.parse_candidate_url(raw, expected_region=region)
        except links.LeverUrlError as exc:
            raise CandidateUrlError(exc.code, exc.message) from None
        return CandidateRef(
            opportunity_id=parsed.opportunity_id,
            region=str(parsed.region),
            url=links.candidate_url(parsed.region, parsed.opportunity_id),
        )

    def candidate_url(self, region: str, opportunity_id: str) -> str:
        return links.candidate_url(region, opportunity_id)

    # --- invites (integrations/services/invites.py; lever-api.md §3.1, §7, §10.5) --------

    def opportunity_detail(
        self, account: AtsAccount, opportunity_id: str, *, profile: CallProfile
    ) -> OpportunityDetail:
        """``GET /opportunities/:id?expand=applications&expand=stage``: one request. The
        archive reason's name comes from the cached reasons (lever-api.md §3.1)."""
        client = client_for(account, profile)
        with _translated(client, record=True):
            opportunity = client.get_opportunity(opportunity_id, expand=("applications", "stage"))
            return _detail_of(account, client, opportunity)

    def postings_get(
        self, account: AtsAccount, posting_ids: Sequence[str], *, profile: CallProfile
    ) -> dict[str, PostingInfo]:
        """From the cached ``GET /postings`` (every state, confidential included), refreshed
        once when an id is unknown (a posting created a minute ago)."""
        wanted = [p for p in posting_ids if p]
        if not wanted:
            return {}
        client = client_for(account, profile)
        with _translated(client, record=False):
            postings = _postings(account, client, refresh_unless=wanted)
        return {pid: postings[pid] for pid in wanted if pid in postings}

    def postings_list(self, account: AtsAccount, *, profile: CallProfile) -> list[PostingInfo]:
        client = client_for(account, profile)
        with _translated(client, record=False):
            postings = _postings(account, client, refresh_unless=[])
        return sorted(postings.values(), key=lambda p: (p.title.lower(), p.posting_id))

    def stages_list(self, account: AtsAccount, *, profile: CallProfile) -> list[StageInfo]:
        client = client_for(account, profile)
        with _translated(client, record=False):
            # The same cache the webhook state mapping fills (``_lookup``), in Lever's order.
            key = f"lever:stage_order:{account.integration_id}"
            cached = _cache_get(key)
            if cached is None:
                cached = {s.id: {"text": s.text} for s in client.list_stages()}
                _cache_set(key, cached)
        return [StageInfo(stage_id=sid, name=item.get("text", "")) for sid, item in cached.items()]

    def opportunities_in_stage(
        self, account: AtsAccount, stage_id: str, *, limit: int, profile: CallProfile
    ) -> list[OpportunityDetail]:
        """``GET /opportunities?stage_id=…&archived=false&confidentiality=all&expand=…``,
        read page by page only until ``limit`` are found (lever-api.md §3.2)."""
        client = client_for(account, profile)
        found: list[OpportunityDetail] = []
        with _translated(client, record=False):
            for opportunity in client.iter_opportunities(
                stage_id=stage_id,
                archived="false",
                expand=("applications", "stage"),
                confidentiality="all",
            ):
                if opportunity.archived is not None:
                    continue
                found.append(_detail_of(account, client, opportunity))
                if len(found) >= limit:
                    break
        return found

    def origins(self) -> Sequence[tuple[str, str]]:
        return ORIGINS

    # --- status page (issue #14; lever-api.md §5 users, §1.2 confidential data) -----------

    def user_get(self, account: AtsAccount, user_id: str, *, profile: CallProfile) -> AtsUser:
        """``GET /users/:id``: Lever returns deactivated users too (``deactivatedAt`` set)."""
        client = client_for(account, profile)
        with _translated(client, record=False):
            try:
                user = client.get_user(user_id)
            except LeverNotFound as exc:
                raise AtsRecordNotFound(
                    "No Lever user has this User ID.", status_code=exc.status_code
                ) from exc
        return AtsUser(
            id=user.id, name=user.name or "", email=user.email or "", active=user.is_active
        )

    def confidential_access(self, account: AtsAccount, *, profile: CallProfile) -> bool | None:
        """One page of ``GET /postings?confidentiality=confidential`` (limit 1).

        Lever grants confidential access only when a key is created (lever-api.md §1.2). A
        key without it gets a 403 or, as the sandbox does, an empty list; an empty list is
        also what an account without confidential postings returns, so that is None.
        A 401 raises AtsKeyError.
        """
        client = client_for(account, profile)
        try:
            with _translated(client, record=False):
                first = next(iter(client.iter_postings(confidentiality="confidential")), None)
        except AtsKeyError as exc:
            if exc.status_code == 403:
                return False
            raise
        return True if first is not None else None

    # --- role matching: posting sync (lever-api.md §4) ------------------------------------

    # lever-api.md §4.1; Lever's app shows ``internal`` as "Unlisted"; pending and rejected
    # exist only where posting approvals are on.
    posting_states: Sequence[tuple[str, str]] = (
        ("published", "Published"),
        ("internal", "Unlisted (internal)"),
        ("closed", "Closed"),
        ("draft", "Draft"),
        ("pending", "Pending approval"),
        ("rejected", "Rejected"),
    )
    posting_open_states: frozenset[str] = frozenset({"published", "internal"})

    def postings_page(
        self,
        account: AtsAccount,
        *,
        cursor: str | None,
        updated_since_ms: int | None,
        profile: CallProfile,
    ) -> PostingPage:
        """One page of ``GET /postings`` with no state filter (every state) and
        ``confidentiality=all``, pages of 100 (lever-api.md §4.1, §4.4).

        Lever lists confidential postings only when asked for them; ``all`` is every posting
        the key may read. Whether a key without confidential access gets a 403 for asking is
        UNCONFIRMED: if the first page is refused that way, the list is asked again without
        confidential postings and the page says so (``confidential_included`` False). The
        cursor carries that choice and Lever's ``next`` token: ``"<confidentiality> <token>"``.
        """
        confidentiality, offset = _posting_cursor_parse(cursor)
        client = client_for(account, profile)
        with _translated(client, record=False):
            try:
                postings, token = client.postings_page(
                    offset=offset,
                    confidentiality=confidentiality,
                    updated_at_start=updated_since_ms,
                )
            except LeverPermissionError as exc:
                if confidentiality != CONFIDENTIALITY_ALL or offset is not None:
                    raise
                if "confidential" not in (exc.message or "").lower():
                    raise
                confidentiality = NON_CONFIDENTIAL
                postings, token = client.postings_page(
                    confidentiality=confidentiality, updated_at_start=updated_since_ms
                )
        return PostingPage(
            postings=tuple(_remote_posting(p) for p in postings),
            next_cursor=f"{confidentiality} {token}" if token else None,
            confidential_included=confidentiality == CONFIDENTIALITY_ALL,
        )

    # --- Post candidacy updates (outbound): writes per milestone (lever-api.md §3.5 to §3.8) --

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
        """``POST /opportunities/:id/notes?perform_as=`` with ``{value, secret, score?}``
        (§3.8); Lever answers the note (``noteId``, or ``id``). Never retried by the client."""
        client = client_for(replace(account, acting_user_id=acting_user_id), profile)
        with _write_translated(client, opportunity_id):
            return client.add_note(opportunity_id, text, secret=secret, score=score).id

    def note_find(
        self, account: AtsAccount, opportunity_id: str, *, marker: str, profile: CallProfile
    ) -> str | None:
        """``GET /opportunities/:id/notes`` (every page), looking for ``marker`` in any field
        of each note (Lever keeps the note's body in ``fields[].value``)."""
        client = client_for(account, profile)
        with _translated(client, record=True):
            for note in client.iter_notes(opportunity_id):
                if marker in (note.value or "") or marker in (note.text or ""):
                    return note.id
        return None

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
        """``POST …/removeTags`` (when ``remove``) then ``POST …/addTags`` (§3.5). Lever has no
        "replace": removing first means the opportunity never shows two Karat status tags."""
        client = client_for(replace(account, acting_user_id=acting_user_id), profile)
        stale = [tag for tag in remove if tag not in add]
        with _write_translated(client, opportunity_id):
            if stale:
                client.remove_tags(opportunity_id, stale)
            if add:
                client.add_tags(opportunity_id, list(add))

    def links_add(
        self,
        account: AtsAccount,
        opportunity_id: str,
        *,
        links: Sequence[str],
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """``POST …/addLinks`` (§3.6): links live on the contact, so every opportunity of
        the person shows them."""
        client = client_for(replace(account, acting_user_id=acting_user_id), profile)
        with _write_translated(client, opportunity_id):
            client.add_links(opportunity_id, list(links))

    def stage_move(
        self,
        account: AtsAccount,
        opportunity_id: str,
        *,
        stage_id: str,
        acting_user_id: str,
        profile: CallProfile,
    ) -> None:
        """``PUT …/stage`` with ``{"stage": id}`` (§3.3); the same stage again changes nothing."""
        client = client_for(replace(account, acting_user_id=acting_user_id), profile)
        with _write_translated(client, opportunity_id):
            client.move_stage(opportunity_id, stage_id)

    def users_find(self, account: AtsAccount, *, email: str, profile: CallProfile) -> list[AtsUser]:
        """``GET /users?email=`` (§5: exact canonical match, active users only)."""
        client = client_for(account, profile)
        with _translated(client, record=False):
            return [_user(u) for u in client.iter_users(email=email)]


adapter = LeverAdapter()

NON_CONFIDENTIAL = "non-confidential"


def _posting_cursor_parse(cursor: str | None) -> tuple[str, str | None]:
    """(confidentiality, Lever offset token) of a cursor ``postings_page`` made."""
    if not cursor:
        return CONFIDENTIALITY_ALL, None
    confidentiality, _, token = cursor.partition(" ")
    if confidentiality not in (CONFIDENTIALITY_ALL, NON_CONFIDENTIAL) or not token:
        raise AtsRequestError("The saved posting sync position is not one Karat made.")
    return confidentiality, token


def _remote_posting(posting: Posting) -> RemotePosting:
    """Lever's posting → the ATS-neutral one: ``text`` is the title; team and location come
    from ``categories``; requisition codes merge ``requisitionCodes`` and the deprecated
    ``reqCode`` without blanks (Lever sends ``[""]`` and null, §4.1)."""
    codes: list[str] = []
    for code in posting.all_requisition_codes:
        code = (code or "").strip()
        if code and code not in codes:
            codes.append(code)
    return RemotePosting(
        posting_id=posting.id,
        title=(posting.text or "").strip(),
        state=posting.state or "",
        team=(posting.categories.team or "").strip(),
        location=(posting.categories.location or "").strip(),
        requisition_codes=tuple(codes),
        confidential=posting.confidentiality == "confidential",
        updated_at_ms=posting.updated_at,
    )


# --- helpers ----------------------------------------------------------------------------------


def client_for(account: AtsAccount, profile: CallProfile) -> LeverClient:
    """The one Lever client for an account: base URL, key, perform_as, shared rate bucket."""
    limiter = rate_limiter_for(
        account.api_key,
        rate=account.rate_per_second,
        burst=account.burst,
        redis_url=settings.REDIS_URL or None,
        local_dir=settings.LEVER_RATE_LIMIT_DIR,
    )
    return LeverClient(
        api_key=account.api_key,
        base_url=base_url_for_region(account.region, override=settings.LEVER_API_BASE_URL or None),
        perform_as=account.acting_user_id or None,
        rate_limiter=limiter,
        timeout=(
            min(profile.connect_timeout, settings.LEVER_CONNECT_TIMEOUT),
            min(profile.read_timeout, settings.LEVER_READ_TIMEOUT),
        ),
        max_retries=profile.max_retries,
        acquire_timeout=profile.acquire_timeout,
    )


@contextmanager
def _translated(client: LeverClient, *, record: bool) -> Iterator[None]:
    """Turn LeverError into the AtsError that says whose fault it is.

    ``record``: the call is about one record (an opportunity, a webhook). There a 404 means
    that record is gone, and a 403 is about that record (a confidential candidate) unless the
    whole endpoint is refused, which one cheap list read tells apart (lever-api.md §2: 403 is
    "endpoint or confidential data").
    """
    try:
        yield
    except AtsError:
        raise
    except LeverPermissionError as exc:
        if record and _record_level_forbidden(client, exc):
            raise AtsRecordForbidden(
                f"Lever does not let this API key see this record ({exc}): it is probably "
                "confidential. Lever grants access to confidential data only to a new key: "
                "generate one with it turned on and paste it in Settings.",
                status_code=exc.status_code,
            ) from exc
        raise AtsKeyError(
            f"Lever refused the API key permission for this ({exc}). Add the permission to "
            "the key in Lever.",
            status_code=exc.status_code,
        ) from exc
    except LeverAuthError as exc:
        raise AtsKeyError(
            f"Lever rejected the API key ({exc}). Copy a working key into Settings.",
            status_code=exc.status_code,
        ) from exc
    except LeverNotFound as exc:
        if record:
            raise AtsRecordNotFound(
                f"Lever has no such record ({exc}); it was probably deleted.",
                status_code=exc.status_code,
            ) from exc
        raise AtsRequestError(f"Lever did not find {exc.path}.", status_code=404) from exc
    except LeverRateLimited as exc:
        raise AtsUnavailable(
            f"Lever asked Karat to slow down ({exc}).",
            status_code=exc.status_code,
            retry_after=exc.retry_after,
        ) from exc
    except LeverTransientError as exc:
        raise AtsUnavailable(
            f"Lever did not answer usefully ({exc}); Karat will try again.",
            status_code=exc.status_code,
        ) from exc
    except LeverError as exc:
        raise AtsRequestError(
            f"Lever refused the request ({exc}).", status_code=exc.status_code
        ) from exc


def _record_level_forbidden(client: LeverClient, exc: LeverPermissionError) -> bool:
    if "confidential" in (exc.message or "").lower():
        return True
    # Can the key read the endpoint at all? If the list answers, only this record is hidden.
    # (The list asks for confidential records too, the client's default.)
    try:
        next(iter(client.iter_opportunities()), None)
    except LeverPermissionError:
        return False
    except LeverError:
        return True  # unknown: don't blame the key for one record on a guess
    return True


def _state_of(
    account: AtsAccount, client: LeverClient, opportunity: Opportunity
) -> OpportunityState:
    """Map an opportunity to AtsState; hired = archived with a reason of type ``hired``.

    Archive reasons and stage names are looked up through a short per-integration cache
    (refreshed once when an id is unknown, e.g. a reason created a minute ago).
    """
    stage_id = opportunity.stage_id or ""
    stage_name = opportunity.stage_name or ""
    if stage_id and not stage_name:
        stage_name = _lookup(account, client, "stages", stage_id).get("text", "")
    archived = opportunity.archived is not None
    reason_id = (opportunity.archived.reason or "") if opportunity.archived else ""
    reason: dict[str, Any] = {}
    if reason_id:
        reason = _lookup(account, client, "archive_reasons", reason_id)
    reason_hired = reason.get("type") == "hired"
    return OpportunityState(
        opportunity_id=opportunity.id,
        contact_id=opportunity.contact or "",
        state=AtsState(
            stage_id=stage_id,
            stage_name=stage_name,
            archived=archived,
            archive_reason_id=reason_id,
            archive_reason_name=reason.get("text", ""),
            archive_reason_hired=reason_hired,
            hired=archived and reason_hired,
            version=opportunity.updated_at,
        ),
    )


def _lookup(account: AtsAccount, client: LeverClient, kind: str, item_id: str) -> dict[str, Any]:
    key = f"lever:{kind}:{account.integration_id}"
    items = _cache_get(key)
    if items is None or item_id not in items:
        if kind == "stages":
            items = {s.id: {"text": s.text} for s in client.list_stages()}
        else:
            items = {r.id: {"text": r.text, "type": r.type} for r in client.list_archive_reasons()}
        _cache_set(key, items)
    return items.get(item_id, {})


def _cache_get(key: str) -> dict[str, dict[str, Any]] | None:
    try:
        items: dict[str, dict[str, Any]] | None = cache.get(key)
    except Exception:  # the cache only saves Lever calls; without it we just ask Lever
        logger.warning("lookup cache unavailable (%s)", key)
        return None
    return items


def _cache_set(key: str, items: dict[str, dict[str, Any]], *, seconds: int | None = None) -> None:
    try:
        cache.set(key, items, seconds or settings.WEBHOOK_LOOKUP_CACHE_SECONDS)
    except Exception:  # see _cache_get
        logger.warning("lookup cache unavailable (%s)", key)


def _detail_of(
    account: AtsAccount, client: LeverClient, opportunity: Opportunity
) -> OpportunityDetail:
    """An opportunity read with ``expand=applications&expand=stage`` as an invite needs it."""
    state = _state_of(account, client, opportunity).state
    return OpportunityDetail(
        opportunity_id=opportunity.id,
        contact_id=opportunity.contact or "",
        candidate_name=opportunity.name.strip(),
        emails=tuple(e.strip() for e in opportunity.emails if e and e.strip()),
        stage_id=state.stage_id,
        stage_name=state.stage_name,
        archived=state.archived,
        archive_reason_id=state.archive_reason_id,
        archive_reason_name=state.archive_reason_name,
        origin=opportunity.origin or "",
        # Lever: "confidential" / "non-confidential" (lever-api.md §3.1).
        confidential=(opportunity.confidentiality or "") == "confidential",
        posting_ids=tuple(a.posting for a in opportunity.applications if a.posting),
        url=(opportunity.urls.show if opportunity.urls and opportunity.urls.show else "")
        or links.candidate_url(account.region, opportunity.id),
        version=opportunity.updated_at,
        hired=state.hired,
    )


def _posting_info(posting: Posting) -> PostingInfo:
    return PostingInfo(
        posting_id=posting.id,
        title=posting.text.strip(),
        requisition_codes=tuple(c.strip() for c in posting.all_requisition_codes if c.strip()),
        state=posting.state or "",
    )


def _postings(
    account: AtsAccount, client: LeverClient, *, refresh_unless: Sequence[str]
) -> dict[str, PostingInfo]:
    """Every posting by id, from a short per-integration cache (INVITE_LOOKUP_CACHE_SECONDS).
    Read again from Lever (``GET /postings``, every state, confidential included) when the
    cache is empty, or when an id in ``refresh_unless`` is unknown and the cache is older
    than POSTINGS_REFRESH_SECONDS: a posting created a minute ago is found, and an id Lever
    no longer has costs at most one list read per that many seconds, not one per URL."""
    key = f"lever:postings:{account.integration_id}"
    cached = _cache_get(key)
    if cached is not None:
        postings = {
            pid: PostingInfo(
                posting_id=pid,
                title=item["title"],
                requisition_codes=tuple(item["codes"]),
                state=item.get("state", ""),
            )
            for pid, item in cached.items()
            if pid != _FETCHED_AT
        }
        fetched_at = float(cached.get(_FETCHED_AT, {}).get("at", 0.0))
        fresh = time.time() - fetched_at < POSTINGS_REFRESH_SECONDS
        if fresh or all(p in postings for p in refresh_unless):
            return postings
    postings = {p.id: _posting_info(p) for p in client.iter_postings()}
    items: dict[str, dict[str, Any]] = {
        pid: {"title": p.title, "codes": list(p.requisition_codes), "state": p.state}
        for pid, p in postings.items()
    }
    items[_FETCHED_AT] = {"at": time.time()}
    _cache_set(key, items, seconds=settings.INVITE_LOOKUP_CACHE_SECONDS)
    return postings


# The cache entry's own key for when it was read from Lever (not a posting id).
_FETCHED_AT = "__fetched_at__"
# An unknown posting id reads the list again only when the cached one is older than this.
POSTINGS_REFRESH_SECONDS = 30


def _key_check(
    client: LeverClient, account: AtsAccount, *, host: str, deadline: float
) -> KeyCheckResult:
    checks: list[PermissionCheck] = []
    permissions_ok: dict[str, bool] = {}

    def unreachable(exc: LeverError) -> KeyCheckResult:
        logger.warning(
            "key check: Lever unreachable integration_id=%s (%s)",
            account.public_id,
            type(exc).__name__,
        )
        checks.append(
            PermissionCheck(
                "reachable",
                "Lever reachable",
                False,
                f"No answer from Lever at {host} ({exc.status_code or type(exc).__name__}). "
                "Try again in a few minutes.",
            )
        )
        return KeyCheckResult(KeyCheckStatus.UNREACHABLE, tuple(checks), ats_label="Lever")

    def took_too_long() -> KeyCheckResult:
        logger.warning("key check: over budget integration_id=%s", account.public_id)
        checks.append(too_long_check(host))
        return KeyCheckResult(KeyCheckStatus.UNREACHABLE, tuple(checks), ats_label="Lever")

    for position, (code, name, why) in enumerate(_READ_PERMISSIONS):
        if time.monotonic() > deadline:
            return took_too_long()
        try:
            _PROBES[code](client)
        except LeverPermissionError:
            permissions_ok[code] = False
            message = f"Missing: Karat needs this {why}. Add it to the key in Lever."
        except LeverAuthError:
            checks.append(
                PermissionCheck("auth", "API key", False, "Lever rejected the key (401).")
            )
            checks.append(
                PermissionCheck(
                    "region",
                    "Region",
                    False,
                    f"{host} does not accept this key: wrong region or bad key. Check that the "
                    "region matches your Lever account and copy the key again.",
                )
            )
            checks += [
                PermissionCheck(c, n, None, "Not checked: the key was rejected.")
                for c, n, _ in _READ_PERMISSIONS
            ]
            return KeyCheckResult(KeyCheckStatus.INVALID, tuple(checks), ats_label="Lever")
        except LeverTransientError as exc:
            return unreachable(exc)
        except LeverError as exc:
            # 404 or an odd reply on a list endpoint: the host is probably not Lever's API.
            permissions_ok[code] = False
            message = f"Unexpected answer from Lever ({exc.status_code or 'no status'})."
            if position == 0:
                checks.append(
                    PermissionCheck("auth", "API key", None, "Unclear: see the checks below.")
                )
                checks.append(
                    PermissionCheck(
                        "region", "Region", False, f"{host} did not answer like Lever's API."
                    )
                )
        else:
            permissions_ok[code] = True
            message = "Allowed."
        if position == 0 and not checks:
            # The first call answered with 2xx or 403: Lever knows the key in this region.
            checks.append(PermissionCheck("auth", "API key", True, "Lever accepted the key."))
            checks.append(PermissionCheck("region", "Region", True, f"The key works with {host}."))
        checks.append(PermissionCheck(code, name, permissions_ok[code], message))

    checks += [
        PermissionCheck(
            code,
            name,
            None,
            "Not checked until the first write (can't be tested without changing data in Lever).",
        )
        for code, name in _WRITE_PERMISSIONS
    ]

    user_id = account.acting_user_id
    if user_id and time.monotonic() > deadline:
        return took_too_long()
    if user_id:
        if not permissions_ok.get("read_users"):
            checks.append(
                PermissionCheck(
                    "user_id",
                    "User ID",
                    False,
                    "Can't check the User ID: the key lacks the Read users permission.",
                )
            )
        else:
            try:
                user = client.get_user(user_id)
            except LeverNotFound:
                checks.append(
                    PermissionCheck("user_id", "User ID", False, "No Lever user has this User ID.")
                )
            except LeverTransientError as exc:
                return unreachable(exc)
            except LeverError as exc:
                checks.append(
                    PermissionCheck(
                        "user_id",
                        "User ID",
                        False,
                        f"Lever would not show this user ({exc.status_code or 'error'}).",
                    )
                )
            else:
                if user.is_active:
                    who = user.name or user.email or "the user"
                    checks.append(
                        PermissionCheck("user_id", "User ID", True, f"Changes are made as {who}.")
                    )
                else:
                    checks.append(
                        PermissionCheck(
                            "user_id",
                            "User ID",
                            False,
                            "This Lever user is deactivated; choose an active user or leave "
                            "the User ID blank.",
                        )
                    )

    failed = any(c.ok is False for c in checks)
    return KeyCheckResult(
        KeyCheckStatus.INVALID if failed else KeyCheckStatus.VALID, tuple(checks), ats_label="Lever"
    )


def _region_accepting(account: AtsAccount, *, deadline: float) -> str | None:
    """The first other region whose API host knows the key (a 2xx or 403 on the cheapest
    read), or None. One GET per region, no retries, within the check's budget."""
    profile = replace(ats.KEY_CHECK, max_retries=0)
    first_probe = _PROBES[_READ_PERMISSIONS[0][0]]
    for region, _ in LeverAdapter.regions:
        if region == account.region or time.monotonic() > deadline:
            continue
        try:
            first_probe(client_for(replace(account, region=region), profile))
        except LeverPermissionError:
            return region  # known there, only missing a permission
        except LeverError:
            continue  # refused (401), unreachable or not Lever: not this one
        return region
    return None


def too_long_check(host: str) -> PermissionCheck:
    """The line a check that ran out of time shows (also used for the task's soft limit)."""
    return PermissionCheck(
        "reachable",
        "Lever reachable",
        False,
        f"The check took too long: Lever at {host} answered too slowly. "
        "Try again in a few minutes.",
    )


# --- Post candidacy updates (outbound) helpers ------------------------------------------------


def _user(user: User) -> AtsUser:
    return AtsUser(id=user.id, name=user.name or "", email=user.email or "", active=user.is_active)


@contextmanager
def _write_translated(client: LeverClient, opportunity_id: str) -> Iterator[None]:
    """``_translated`` for a write to one opportunity, with two differences.

    A write that got no answer is ``AtsNoResponse`` (it may have been applied). A 403 that is
    not about confidential data is told apart by reading the opportunity: readable means the
    key lacks the *write* permission (key-level), otherwise the record is hidden.
    """
    with _translated(client, record=True):
        try:
            yield
        except LeverConnectionError as exc:
            raise AtsNoResponse(
                f"Lever did not answer ({exc}); Karat checks before sending it again.",
                status_code=None,
            ) from exc
        except LeverPermissionError as exc:
            if "confidential" in (exc.message or "").lower():
                raise
            try:
                client.get_opportunity(opportunity_id)
            except LeverError:
                raise exc from None  # not readable either: _translated decides whose fault
            raise AtsKeyError(
                f"Lever refused the API key permission to write this ({exc}). Add the write "
                "permission (notes, opportunities) to the key in Lever.",
                status_code=exc.status_code,
            ) from exc
