"""Lever's job postings (integrations/lever/README.md §7.3): the posting sync's pages and the
cached list invites read."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from django.conf import settings

from integrations.ats import (
    AtsAccount,
    AtsRequestError,
    CallProfile,
    PostingInfo,
    PostingPage,
    Postings,
    RemotePosting,
)
from integrations.lever.base import LeverBase
from integrations.lever.calls import cache_get, cache_set, client_for, translated
from integrations.lever.client import CONFIDENTIALITY_ALL, LeverClient
from integrations.lever.errors import LeverPermissionError
from integrations.lever.hiring_team import posting_team
from integrations.lever.schemas import Posting


class LeverPostings(LeverBase, Postings):
    """Postings in every state, confidential ones included where the key may read them."""

    # integrations/lever/README.md §7.3; Lever's app shows ``internal`` as "Unlisted"; pending
    # and rejected exist only where posting approvals are on.
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
        ``confidentiality=all``, pages of 100 (integrations/lever/README.md §7.3, §5.2).

        Lever lists confidential postings only when asked for them; ``all`` is every posting
        the key may read. Whether a key without confidential access gets a 403 for asking is
        UNCONFIRMED: if the first page is refused that way, the list is asked again without
        confidential postings and the page says so (``confidential_included`` False). The
        cursor carries that choice and Lever's ``next`` token: ``"<confidentiality> <token>"``.
        """
        confidentiality, offset = _posting_cursor_parse(cursor)
        client = client_for(account, profile)
        # Each posting comes with its hiring team expanded (owner, hiring manager, followers:
        # README §17.1) in the same request, for the hiring team feature.
        with translated(client, record=False):
            try:
                postings, token = client.postings_page_with_teams(
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
                postings, token = client.postings_page_with_teams(
                    confidentiality=confidentiality, updated_at_start=updated_since_ms
                )
        return PostingPage(
            postings=tuple(
                replace(_remote_posting(p), hiring_team=posting_team(team, posting_id=p.id))
                for p, team in postings
            ),
            next_cursor=f"{confidentiality} {token}" if token else None,
            confidential_included=confidentiality == CONFIDENTIALITY_ALL,
        )

    def postings_get(
        self, account: AtsAccount, posting_ids: Sequence[str], *, profile: CallProfile
    ) -> dict[str, PostingInfo]:
        """From the cached ``GET /postings`` (every state, confidential included), refreshed
        once when an id is unknown (a posting created a minute ago)."""
        wanted = [p for p in posting_ids if p]
        if not wanted:
            return {}
        client = client_for(account, profile)
        with translated(client, record=False):
            postings = _postings(account, client, refresh_unless=wanted)
        return {pid: postings[pid] for pid in wanted if pid in postings}

    def postings_list(self, account: AtsAccount, *, profile: CallProfile) -> list[PostingInfo]:
        client = client_for(account, profile)
        with translated(client, record=False):
            postings = _postings(account, client, refresh_unless=[])
        return sorted(postings.values(), key=lambda p: (p.title.lower(), p.posting_id))


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
    ``reqCode`` without blanks (Lever sends ``[""]`` and null,
    integrations/lever/README.md §8.2)."""
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
    cached = cache_get(key)
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
    cache_set(key, items, seconds=settings.INVITE_LOOKUP_CACHE_SECONDS)
    return postings


# The cache entry's own key for when it was read from Lever (not a posting id).
_FETCHED_AT = "__fetched_at__"
# An unknown posting id reads the list again only when the cached one is older than this.
POSTINGS_REFRESH_SECONDS = 30
