"""The one Lever Data API (v1) client: HTTP only, typed results, a small set of errors."""

from __future__ import annotations

import base64
import email.utils
import logging
import random
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urljoin, urlsplit

import requests
from pydantic import ValidationError
from requests.auth import AuthBase

from integrations.lever.errors import (
    LeverConnectionError,
    LeverError,
    LeverRateLimited,
    LeverRedirected,
    LeverServerError,
    LeverTransientError,
    error_for_status,
)
from integrations.lever.ratelimit import RateLimiter
from integrations.lever.schemas import (
    ArchiveReason,
    DeletedOpportunityItem,
    FeedbackForm,
    FeedbackTemplate,
    LeverModel,
    Note,
    Opportunity,
    Panel,
    Posting,
    PostingTeam,
    Stage,
    User,
    Webhook,
)
from karatlever.observability import metrics

logger = logging.getLogger(__name__)

API_BASE_URLS = {
    "us": "https://api.lever.co/v1",
    "eu": "https://api.eu.lever.co/v1",
    "sandbox": "https://api.sandbox.lever.co/v1",
}
_REGION_ALIASES = {"global": "us"}
# In LEVER_API_BASE_URL: replaced by the region's name (base_url_for_region).
REGION_PLACEHOLDER = "{region}"

# Lever documents no Retry-After; when one comes it is honoured as given (the next attempt
# must not land inside Lever's penalty), up to this bound: an hour is longer than any wait a
# rate limit or maintenance window has needed, and a longer value is a broken header. Waits
# beyond ``backoff_max`` are never slept here: the caller stores them (a delivery's
# next_attempt_at, an update's row) and the shared limiter holds the key for the same time.
RETRY_AFTER_MAX = 3600.0
# Lever's list endpoints leave confidential records out unless asked for all of them
# (integrations/lever/README.md §4.2); "all" is every record the key may read, so it is the
# default.
CONFIDENTIALITY_ALL = "all"
# A posting's hiring team, expanded to user objects (integrations/lever/README.md §17.1).
POSTING_TEAM_EXPANDS = ("owner", "hiringManager", "followers")
# Query parameters iter_opportunities() accepts besides its named ones
# (integrations/lever/README.md §7.1).
OPPORTUNITY_FILTERS = frozenset(
    {
        "tag",
        "email",
        "origin",
        "source",
        "stage_id",
        "posting_id",
        "archived_posting_id",
        "archived",
        "archive_reason_id",
        "snoozed",
        "created_at_start",
        "created_at_end",
        "updated_at_end",
        "advanced_at_start",
        "advanced_at_end",
        "archived_at_start",
        "archived_at_end",
    }
)
WEBHOOK_ORIGINS = ("applied", "sourced", "referred", "university", "agency", "internal")
# Redirects a read follows on the integration's own host (Lever documents 301 "moved").
REDIRECTS_MAX = 3

Params = Mapping[str, Any]
M = TypeVar("M", bound=LeverModel)


def base_url_for_region(region: str, *, override: str | None = None) -> str:
    """API root for an integration's region; ``override`` (e.g. the local sandbox) wins.

    An override holding ``{region}`` gets the region's name there
    (``http://127.0.0.1:8001/{region}/v1``), so each region has its own root, as on Lever;
    without it one root serves every region.
    """
    key = _REGION_ALIASES.get(region, region)
    if key not in API_BASE_URLS:
        raise ValueError(
            f"unknown Lever region {region!r}; expected one of {sorted(API_BASE_URLS)}"
        )
    if override:
        return override.replace(REGION_PLACEHOLDER, key).rstrip("/")
    return API_BASE_URLS[key]


@dataclass(frozen=True)
class _Envelope:
    """One response with the ``data`` wrapper removed, plus the paging fields as sent (Lever's
    values are untrusted: ``_page`` checks them); ``None`` when absent."""

    data: Any
    has_next: Any = None
    next: Any = None


class _KeyAuth(AuthBase):
    """HTTP Basic with the key as username and an empty password; never shows the key."""

    def __init__(self, api_key: str) -> None:
        self.header = "Basic " + base64.b64encode(f"{api_key}:".encode()).decode("ascii")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.header
        return request

    def __repr__(self) -> str:
        return "_KeyAuth(…)"


class LeverClient:
    """Talks to one Lever account with one API key.

    Every call goes through ``_request``: Basic auth, connect/read timeouts, one rate-limiter
    token per attempt, ``data`` unwrapped, failures raised as ``LeverError`` subclasses
    (``errors.py``). Every answer comes from ``base_url``'s host: redirects are followed only
    by reads and only on that host; any other 3xx is ``LeverRedirected``, naming the other
    host, so nothing another host says (a 401 above all) is taken for Lever's answer. Only calls that are safe to repeat retry, and only on
    ``LeverTransientError``, with exponential backoff and full jitter; a 429 also pauses the
    key for every process through the shared limiter. Creating notes and webhooks never
    retries: a lost response may still have created one. The key never appears in logs,
    exceptions or reprs.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        perform_as: str | None = None,
        rate_limiter: RateLimiter | None = None,
        timeout: tuple[float, float] = (3.05, 15.0),
        max_retries: int = 3,
        session: requests.Session | None = None,
        backoff_base: float = 0.5,
        backoff_max: float = 10.0,
        acquire_timeout: float | None = 60.0,
    ) -> None:
        if not api_key:
            raise ValueError("api_key is required")
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(self.base_url)
        self.perform_as = perform_as or None
        self.rate_limiter = rate_limiter
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        # Backoff: attempt n sleeps uniform(0, min(backoff_max, backoff_base * 2**n)).
        # A Retry-After longer than backoff_max is not slept here: the error goes back to the
        # caller (a task re-schedules itself) after the shared limiter has been paused.
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.acquire_timeout = acquire_timeout
        self._session = session or requests.Session()
        self._auth = _KeyAuth(api_key)
        self._secrets = (api_key, self._auth.header.split(" ", 1)[1])
        self._key_hint = api_key[-4:] if len(api_key) >= 12 else ""

    def __repr__(self) -> str:
        return f"LeverClient(base_url={self.base_url!r}, key=…{self._key_hint})"

    # --- opportunities --------------------------------------------------------------------

    def get_opportunity(self, opportunity_id: str, *, expand: Iterable[str] = ()) -> Opportunity:
        path = f"/opportunities/{_segment(opportunity_id)}"
        env = self._request("GET", path, params={"expand": _strings(expand)}, retry=True)
        return _parse(Opportunity, env.data, "GET", path)

    def iter_opportunities(
        self,
        *,
        updated_at_start: int | None = None,
        contact_id: Iterable[str] = (),
        expand: Iterable[str] = (),
        confidentiality: str = CONFIDENTIALITY_ALL,
        **filters: Any,
    ) -> Iterator[Opportunity]:
        """All opportunities matching the filters (list filters are OR-ed by Lever).

        Confidential ones included unless ``confidentiality`` says otherwise: Lever's default
        would silently skip them."""
        unknown = sorted(set(filters) - OPPORTUNITY_FILTERS)
        if unknown:
            raise TypeError(f"unknown opportunity filters: {', '.join(unknown)}")
        params = {
            **filters,
            "confidentiality": confidentiality,
            "updated_at_start": updated_at_start,
            "contact_id": _strings(contact_id),
            "expand": _strings(expand),
        }
        for item in self._iter_pages("/opportunities", params):
            yield _parse(Opportunity, item, "GET", "/opportunities")

    def iter_deleted_opportunities(
        self, *, deleted_at_start: int | None = None, deleted_at_end: int | None = None
    ) -> Iterator[DeletedOpportunityItem]:
        """Every deleted opportunity in the range (ms, inclusive), all pages
        (integrations/lever/README.md §19.2)."""
        path = "/opportunities/deleted"
        params = {"deleted_at_start": deleted_at_start, "deleted_at_end": deleted_at_end}
        for item in self._iter_pages(path, params):
            yield _parse(DeletedOpportunityItem, item, "GET", path)

    def move_stage(self, opportunity_id: str, stage_id: str) -> Opportunity:
        # Stage ids may be slugs ("applicant-new"), so no UUID check.
        path = f"/opportunities/{_segment(opportunity_id)}/stage"
        body = {"stage": _required(stage_id, "stage_id")}
        return self._write_opportunity("PUT", path, body, retry=True)

    def add_tags(self, opportunity_id: str, tags: Iterable[str]) -> Opportunity:
        path = f"/opportunities/{_segment(opportunity_id)}/addTags"
        return self._write_opportunity(
            "POST", path, {"tags": _string_list(tags, "tags")}, retry=True
        )

    def remove_tags(self, opportunity_id: str, tags: Iterable[str]) -> Opportunity:
        path = f"/opportunities/{_segment(opportunity_id)}/removeTags"
        return self._write_opportunity(
            "POST", path, {"tags": _string_list(tags, "tags")}, retry=True
        )

    def add_links(self, opportunity_id: str, links: Iterable[str]) -> Opportunity:
        path = f"/opportunities/{_segment(opportunity_id)}/addLinks"
        body = {"links": _string_list(links, "links")}
        return self._write_opportunity("POST", path, body, retry=True)

    def add_note(
        self, opportunity_id: str, value: str, *, secret: bool = False, score: int | None = None
    ) -> Note:
        """Create a note. Never retried here: a lost response may still have created it."""
        if not isinstance(value, str) or not value.strip():
            raise ValueError("note value must be a non-empty string")
        if score is not None and (isinstance(score, bool) or score not in (1, 2, 3, 4)):
            raise ValueError("score must be 1, 2, 3 or 4")
        path = f"/opportunities/{_segment(opportunity_id)}/notes"
        body: dict[str, Any] = {"value": value, "secret": bool(secret)}
        if score is not None:
            body["score"] = score
        env = self._request("POST", path, params=self._write_params(), json=body, retry=False)
        return _parse(Note, env.data, "POST", path)

    def iter_notes(self, opportunity_id: str) -> Iterator[Note]:
        path = f"/opportunities/{_segment(opportunity_id)}/notes"
        for item in self._iter_pages(path, {}):
            yield _parse(Note, item, "GET", path)

    # --- postings, stages, archive reasons, users -----------------------------------------

    def iter_postings(
        self,
        *,
        states: Iterable[str] = (),
        confidentiality: str = CONFIDENTIALITY_ALL,
        updated_at_start: int | None = None,
    ) -> Iterator[Posting]:
        """All postings in ``states`` (every state when empty), confidential ones included
        unless ``confidentiality`` says otherwise."""
        states = _strings(states)
        if updated_at_start is not None and states:
            # Lever: updated_at_start/_end "may only be combined with confidentiality".
            raise ValueError("updated_at_start can only be combined with confidentiality")
        params: dict[str, Any] = {
            "state": states,
            "confidentiality": confidentiality,
            "updated_at_start": updated_at_start,
        }
        if "published" in states:
            # Quirk: state=published alone returns only postings on the public job site.
            params["distributionChannel"] = ["public", "internal"]
        for item in self._iter_pages("/postings", params):
            yield _parse(Posting, item, "GET", "/postings")

    def postings_page(
        self,
        *,
        offset: str | None = None,
        confidentiality: str = CONFIDENTIALITY_ALL,
        updated_at_start: int | None = None,
        limit: int = 100,
    ) -> tuple[list[Posting], str | None]:
        """One page of ``GET /postings`` (every state: no ``state`` filter lists all of them,
        integrations/lever/README.md §7.3) and the ``next`` token for the page after it (None
        on the last).

        ``offset`` is a token an earlier page returned, passed back verbatim
        (integrations/lever/README.md §5.2): a sync keeps it to resume in a later process.
        ``updated_at_start`` (ms, inclusive) may only be combined with ``confidentiality``
        (integrations/lever/README.md §7.3), so nothing else is sent with it.
        """
        params: dict[str, Any] = {
            "confidentiality": confidentiality,
            "updated_at_start": updated_at_start,
            "limit": max(1, min(limit, 100)),
        }
        env = self._request("GET", "/postings", params=params, retry=True, offset=offset)
        seen = {offset} if offset is not None else set()
        items, token = _page(env, "/postings", seen)
        return [_parse(Posting, item, "GET", "/postings") for item in items], token

    def postings_page_with_teams(
        self,
        *,
        offset: str | None = None,
        confidentiality: str = CONFIDENTIALITY_ALL,
        updated_at_start: int | None = None,
        limit: int = 100,
    ) -> tuple[list[tuple[Posting, PostingTeam]], str | None]:
        """``postings_page`` with ``expand=owner&expand=hiringManager&expand=followers``
        (integrations/lever/README.md §17.1): each posting with its hiring team as Lever sent
        it (``PostingTeam``: untrusted, possibly not expanded or malformed). One request."""
        params: dict[str, Any] = {
            "confidentiality": confidentiality,
            "updated_at_start": updated_at_start,
            "limit": max(1, min(limit, 100)),
            "expand": list(POSTING_TEAM_EXPANDS),
        }
        env = self._request("GET", "/postings", params=params, retry=True, offset=offset)
        seen = {offset} if offset is not None else set()
        items, token = _page(env, "/postings", seen)
        return [
            (
                _parse(Posting, item, "GET", "/postings"),
                PostingTeam.model_validate(item if isinstance(item, dict) else {}),
            )
            for item in items
        ], token

    def get_posting(self, posting_id: str) -> Posting:
        path = f"/postings/{_segment(posting_id)}"
        return _parse(Posting, self._request("GET", path, retry=True).data, "GET", path)

    def list_stages(self) -> list[Stage]:
        return [_parse(Stage, item, "GET", "/stages") for item in self._iter_pages("/stages", {})]

    def list_archive_reasons(self, *, type: str | None = None) -> list[ArchiveReason]:
        items = self._iter_pages("/archive_reasons", {"type": type})
        return [_parse(ArchiveReason, item, "GET", "/archive_reasons") for item in items]

    def iter_users(
        self, *, email: str | None = None, include_deactivated: bool = False
    ) -> Iterator[User]:
        params = {"email": email, "includeDeactivated": True if include_deactivated else None}
        for item in self._iter_pages("/users", params):
            yield _parse(User, item, "GET", "/users")

    def get_user(self, user_id: str) -> User:
        path = f"/users/{_segment(user_id)}"
        return _parse(User, self._request("GET", path, retry=True).data, "GET", path)

    # --- webhooks (perform_as is not used on /webhooks) -----------------------------------

    def list_webhooks(self) -> list[Webhook]:
        return [_parse(Webhook, w, "GET", "/webhooks") for w in self._iter_pages("/webhooks", {})]

    def create_webhook(
        self, *, url: str, event: str, origins: Iterable[str] | None = None
    ) -> Webhook:
        """Register a webhook; the result's ``signature_token`` is only ever returned here."""
        body: dict[str, Any] = {"url": _required(url, "url"), "event": _required(event, "event")}
        if origins is not None:
            body["configuration"] = {"conditions": {"origins": _origins(origins)}}
        env = self._request("POST", "/webhooks", json=body, retry=False)
        return _parse(Webhook, env.data, "POST", "/webhooks")

    def update_webhook(
        self, webhook_id: str, *, url: str | None = None, origins: Iterable[str] | None = None
    ) -> Webhook:
        item: dict[str, Any] = {"id": _required(webhook_id, "webhook_id")}
        if url is not None:
            item["url"] = _required(url, "url")
        if origins is not None:
            item["configuration"] = {"conditions": {"origins": _origins(origins)}}
        # Lever's update is a batch: PUT /webhooks {"data": [{id, ...}]} → data: [webhook, ...].
        env = self._request("PUT", "/webhooks", json={"data": [item]}, retry=False)
        items = env.data if isinstance(env.data, list) else [env.data]
        match = next((w for w in items if isinstance(w, dict) and w.get("id") == webhook_id), None)
        if match is None:
            raise LeverError(
                "update response did not include the webhook", method="PUT", path="/webhooks"
            )
        return _parse(Webhook, match, "PUT", "/webhooks")

    def delete_webhook(self, webhook_id: str) -> None:
        self._request("DELETE", f"/webhooks/{_segment(webhook_id)}", retry=True)

    # --- panels (integrations/lever/README.md §16; perform_as is required on writes) --------

    def create_panel(self, opportunity_id: str, body: dict[str, Any]) -> Panel:
        """``POST /opportunities/:id/panels``. Never retried here: a lost response may still
        have created it."""
        path = f"/opportunities/{_segment(opportunity_id)}/panels"
        env = self._request("POST", path, params=self._write_params(), json=body, retry=False)
        return _parse(Panel, env.data, "POST", path)

    def update_panel(self, opportunity_id: str, panel_id: str, body: dict[str, Any]) -> None:
        """``PUT /opportunities/:id/panels/:panel`` with the whole panel again. Not retried
        here either: the outbox row decides (it is idempotent, but its order matters)."""
        path = f"/opportunities/{_segment(opportunity_id)}/panels/{_segment(panel_id)}"
        self._request("PUT", path, params=self._write_params(), json=body, retry=False)

    def delete_panel(self, opportunity_id: str, panel_id: str) -> None:
        path = f"/opportunities/{_segment(opportunity_id)}/panels/{_segment(panel_id)}"
        self._request("DELETE", path, params=self._write_params(), retry=False)

    def iter_panels(self, opportunity_id: str) -> Iterator[Panel]:
        path = f"/opportunities/{_segment(opportunity_id)}/panels"
        for item in self._iter_pages(path, {}):
            yield _parse(Panel, item, "GET", path)

    # --- feedback templates and forms (integrations/lever/README.md §18) -------------------

    def iter_feedback_templates(self) -> Iterator[FeedbackTemplate]:
        for item in self._iter_pages("/feedback_templates", {}):
            yield _parse(FeedbackTemplate, item, "GET", "/feedback_templates")

    def create_feedback_template(self, body: dict[str, Any]) -> FeedbackTemplate:
        """``POST /feedback_templates``. Never retried here: a lost answer may have created it."""
        env = self._request("POST", "/feedback_templates", json=body, retry=False)
        return _parse(FeedbackTemplate, env.data, "POST", "/feedback_templates")

    def iter_feedback(self, opportunity_id: str) -> Iterator[FeedbackForm]:
        path = f"/opportunities/{_segment(opportunity_id)}/feedback"
        for item in self._iter_pages(path, {}):
            yield _parse(FeedbackForm, item, "GET", path)

    def add_feedback(self, opportunity_id: str, body: dict[str, Any]) -> FeedbackForm:
        """``POST …/feedback?perform_as=`` (required). Never retried here."""
        path = f"/opportunities/{_segment(opportunity_id)}/feedback"
        env = self._request("POST", path, params=self._write_params(), json=body, retry=False)
        return _parse(FeedbackForm, env.data, "POST", path)

    def update_feedback(self, opportunity_id: str, feedback_id: str, body: dict[str, Any]) -> None:
        """``PUT …/feedback/:id?perform_as=`` (required): the same values again change nothing."""
        path = f"/opportunities/{_segment(opportunity_id)}/feedback/{_segment(feedback_id)}"
        self._request("PUT", path, params=self._write_params(), json=body, retry=True)

    def delete_feedback(self, opportunity_id: str, feedback_id: str) -> None:
        path = f"/opportunities/{_segment(opportunity_id)}/feedback/{_segment(feedback_id)}"
        self._request("DELETE", path, params=self._write_params(), retry=True)

    # --- plumbing -------------------------------------------------------------------------

    def _write_params(self) -> dict[str, Any]:
        # perform_as always goes in the query string, even on POST/PUT
        # (integrations/lever/README.md §3.2).
        return {"perform_as": self.perform_as}

    def _write_opportunity(
        self, method: str, path: str, body: dict[str, Any], *, retry: bool
    ) -> Opportunity:
        env = self._request(method, path, params=self._write_params(), json=body, retry=retry)
        return _parse(Opportunity, env.data, method, path)

    def _iter_pages(self, path: str, params: Params) -> Iterator[Any]:
        """Items of every page, following ``next`` while ``hasNext``. A page is checked before
        any of its items is handed out; an inconsistent one raises (``_page``)."""
        offset: str | None = None
        seen: set[str] = set()
        while True:
            env = self._request("GET", path, params=params, retry=True, offset=offset)
            items, offset = _page(env, path, seen)
            yield from items
            if offset is None:
                return

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        retry: bool,
        offset: str | None = None,
    ) -> _Envelope:
        """Send one call (plus retries when ``retry``) and return the unwrapped envelope."""
        url = self.base_url + path + _query_string(params or {}, offset)
        attempts = self.max_retries + 1 if retry else 1
        for attempt in range(attempts):
            if self.rate_limiter is not None:
                try:
                    self.rate_limiter.acquire(timeout=self.acquire_timeout)
                except LeverError as exc:
                    exc.with_request(method, path)
                    raise
            try:
                return self._send(method, path, url, json)
            except LeverRedirected:
                raise  # the same request gets the same redirect: the caller tries later
            except LeverTransientError as exc:
                delay = self._backoff(attempt)
                if isinstance(exc, LeverRateLimited):
                    # No Retry-After: pause everyone for the full exponential step, no jitter.
                    delay = exc.retry_after if exc.retry_after is not None else self._step(attempt)
                    if self.rate_limiter is not None:
                        self.rate_limiter.penalize(delay)
                last = attempt + 1 >= attempts
                if last or delay > self.backoff_max:
                    raise
                logger.warning(
                    "lever %s %s failed (%s), retry %d/%d in %.2fs",
                    method,
                    path,
                    type(exc).__name__,
                    attempt + 1,
                    attempts - 1,
                    delay,
                )
                if not (isinstance(exc, LeverRateLimited) and self.rate_limiter is not None):
                    # With a limiter, the penalty above makes the next acquire() wait instead.
                    time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method: str, path: str, url: str, json: Any) -> _Envelope:
        started = time.monotonic()
        response = self._http(method, path, url, json)
        hops = 0
        while 300 <= response.status_code < 400:
            url = self._redirect_target(method, path, url, response)
            hops += 1
            if hops > REDIRECTS_MAX:
                raise LeverRedirected(
                    f"more than {REDIRECTS_MAX} redirects",
                    status_code=response.status_code,
                    method=method,
                    path=path,
                )
            response = self._http(method, path, url, json)
        status = response.status_code
        logger.debug(
            "lever %s %s -> %s in %.0f ms", method, path, status, (time.monotonic() - started) * 1e3
        )
        body = _json_or_none(response)
        if not 200 <= status < 300:
            retry_after = (
                _retry_after(response.headers.get("Retry-After")) if status == 429 else None
            )
            # Lever's texts never should contain the key, but an echoing proxy might. Redact
            # before the error clips its message, so no fragment of a key survives the cut.
            error = error_for_status(
                status, self._redact_body(body), method=method, path=path, retry_after=retry_after
            )
            raise error
        if status == 204 or not response.content:
            return _Envelope(None)
        if body is None:
            # A 2xx that is not JSON is a proxy or maintenance page, not Lever's answer.
            raise LeverServerError(
                "response is not JSON", status_code=status, method=method, path=path
            )
        return _unwrap(body)

    def _http(self, method: str, path: str, url: str, json: Any) -> requests.Response:
        """One HTTP exchange with ``url``; redirects are never followed here (``_send``
        decides), so the key and the body only ever go to ``base_url``'s host."""
        try:
            response = self._session.request(
                method,
                url,
                json=json,
                auth=self._auth,
                timeout=self.timeout,
                headers={"Accept": "application/json"},
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            metrics.lever_requests.labels(self._key_hint, method, "error").inc()
            raise LeverConnectionError(
                f"timed out ({type(exc).__name__})", method=method, path=path
            ) from exc
        except requests.RequestException as exc:
            metrics.lever_requests.labels(self._key_hint, method, "error").inc()
            raise LeverConnectionError(
                f"request failed ({type(exc).__name__})", method=method, path=path
            ) from exc
        # Per key by its last 4 characters at most (what pages show), never the key itself.
        metrics.lever_requests.labels(self._key_hint, method, str(response.status_code)).inc()
        if response.status_code == 429:
            metrics.lever_rate_limited.labels(self._key_hint).inc()
        return response

    def _redirect_target(
        self, method: str, path: str, url: str, response: requests.Response
    ) -> str:
        """Where a redirect of a read on the integration's own host leads; anything else
        (another host, a write, no ``Location``) raises ``LeverRedirected``."""
        status = response.status_code
        location = response.headers.get("Location") or ""
        if not location:
            raise LeverRedirected(
                f"a redirect ({status}) without a Location",
                status_code=status,
                method=method,
                path=path,
            )
        target = urljoin(url, location)
        if _origin(target) != self._origin:
            # Only the host: the rest of the address may carry tokens.
            other = _host_of(target)
            raise LeverRedirected(
                f"{_host_of(self.base_url)} redirected to another host, {other}; Karat only "
                "talks to the integration's Lever host and did not follow",
                status_code=status,
                method=method,
                path=path,
                location_host=other,
            )
        if method != "GET":
            # Never re-send a write on a redirect: Lever documents none for writes.
            raise LeverRedirected(
                f"a redirect ({status}) of a write; not sent again",
                status_code=status,
                method=method,
                path=path,
            )
        return target

    def _step(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff_base * 2.0**attempt)

    def _backoff(self, attempt: int) -> float:
        # Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").
        return random.uniform(0, self._step(attempt))  # noqa: S311

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def _redact_body(self, body: Any) -> Any:
        if not isinstance(body, dict):
            return body
        return {k: self._redact(v) if isinstance(v, str) else v for k, v in body.items()}


def _unwrap(body: Any) -> _Envelope:
    """Remove the ``data`` wrapper; tolerate none, and the ``data.data`` of some doc examples."""
    if not isinstance(body, dict) or "data" not in body:
        return _Envelope(body)
    data, envelope = body["data"], body
    if isinstance(data, dict) and "data" in data and set(data) <= {"data", "hasNext", "next"}:
        data, envelope = data["data"], data
    return _Envelope(data, envelope.get("hasNext"), envelope.get("next"))


def _page(env: _Envelope, path: str, seen: set[str]) -> tuple[list[Any], str | None]:
    """A list page's items and the token of the page after it (None on the last page).

    A page that contradicts itself or is cut short raises ``LeverServerError`` (Lever's side,
    try again later) instead of ending the list early, since whatever a caller derives from
    a list (removals, a cursor, "not found") would be wrong for the pages never read:
    ``data`` not a list; ``hasNext`` not a boolean; ``hasNext: true`` without a usable
    ``next``; a ``next`` without ``hasNext: true``; a ``next`` in ``seen`` (the token the
    page was asked with, or an earlier one: following it would loop). A page with neither
    field is a whole list (Lever's docs show one-page answers without them). ``seen`` gets
    the new token.
    """

    def broken(reason: str) -> LeverServerError:
        return LeverServerError(f"inconsistent list page: {reason}", method="GET", path=path)

    if not isinstance(env.data, list):
        raise broken("expected a list")
    has_next, token = env.has_next, env.next
    if has_next is not None and not isinstance(has_next, bool):
        raise broken("hasNext is not true or false")
    if token is not None and not isinstance(token, str):
        raise broken("next is not a string")
    if has_next:
        if not token:
            raise broken("hasNext is true, but more follows with no next to read it")
        if token in seen:
            # Following it would loop forever; ending here would look like a complete list.
            raise broken("pagination token repeated")
        seen.add(token)
        return env.data, token
    if token:
        raise broken("a next without hasNext true")
    return env.data, None


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, default ports filled in, for "the same host" checks."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or {"https": 443, "http": 80}.get(scheme)


def _host_of(url: str) -> str:
    """``host[:port]`` of a URL (never its path or query), for messages."""
    return urlsplit(url).netloc.rsplit("@", 1)[-1][:200] or "an unnamed host"


def _parse(model: type[M], data: Any, method: str, path: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise LeverError(
            f"unexpected {model.__name__} shape ({exc.error_count()} errors)",
            method=method,
            path=path,
        ) from exc


def _query_string(params: Params, offset: str | None) -> str:
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if item is None:
                continue
            pairs.append(
                (name, ("true" if item else "false") if isinstance(item, bool) else str(item))
            )
    parts = [urlencode(pairs, quote_via=quote)] if pairs else []
    if offset is not None:
        # Lever's `next` token is already URL-encoded (e.g. "%5B4%2C…%5D"). Pass it through
        # verbatim: encoding it again would turn "%" into "%25" and Lever would reject it.
        parts.append("offset=" + quote(offset, safe="%"))
    return "?" + "&".join(parts) if parts else ""


def _segment(value: str) -> str:
    # Ids go into the path; quoting keeps "../users" or "a/b" from changing the route.
    return quote(_required(value, "id"), safe="")


def _required(value: str, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _strings(values: Iterable[str]) -> list[str]:
    # A bare string is a sequence too; ("applications") must not become 12 one-letter values.
    return [values] if isinstance(values, str) else list(values)


def _string_list(values: Iterable[str], name: str) -> list[str]:
    if isinstance(values, str):
        raise TypeError(f"{name} must be a list of strings, not a string")
    items = list(values)
    if not items or not all(isinstance(v, str) and v for v in items):
        raise ValueError(f"{name} must be a non-empty list of non-empty strings")
    return items


def _origins(origins: Iterable[str]) -> list[str]:
    items = _strings(origins)
    unknown = sorted(set(items) - set(WEBHOOK_ORIGINS))
    if unknown:
        raise ValueError(f"unknown webhook origins: {', '.join(unknown)}")
    return items


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after(header: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), at most
    RETRY_AFTER_MAX."""
    if not header:
        return None
    header = header.strip()
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX)
