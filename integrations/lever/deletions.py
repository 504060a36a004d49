"""Candidates deleted or anonymised in Lever: the ``candidateDeleted`` payload, a deletion
confirmed with Lever, and ``GET /opportunities/deleted`` for deliveries that were missed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from integrations.ats import (
    AtsAccount,
    AtsRecordNotFound,
    CallProfile,
    DeletedOpportunity,
    Deletions,
    DeletionSubject,
)
from integrations.lever.base import LeverBase, WebhookEvent
from integrations.lever.calls import client_for, translated

# Longest id Karat takes from a payload (Lever's ids are 36-character UUIDs).
_ID_MAX = 64


def _id(value: Any) -> str:
    """An id from an untrusted payload: a short string without spaces or slashes, else ""."""
    if not isinstance(value, str) or not 0 < len(value) <= _ID_MAX:
        return ""
    if any(c.isspace() or c in "/?#%" for c in value):
        return ""
    return value


class LeverDeletions(LeverBase, Deletions):
    """Deletions in Lever (integrations/lever/README.md §19). Read-only."""

    deletion_event = WebhookEvent.CANDIDATE_DELETED.value

    def deletion_subject(self, body: Mapping[str, Any]) -> DeletionSubject:
        """``data.opportunityId``, else the legacy ``data.candidateId`` (an opportunity id
        since Lever's 2020 migration), and ``data.contactId``: the payload's shape is
        UNCONFIRMED (README.md §19.1), so each is taken only when it is a plain id. An empty
        or missing ``data`` is Lever's test delivery (README.md §9.2)."""
        data = body.get("data") if isinstance(body, Mapping) else None
        if not data:
            return DeletionSubject(opportunity_id="", contact_id="", test=True)
        if not isinstance(data, Mapping):
            return DeletionSubject(opportunity_id="", contact_id="")
        opportunity_id = _id(data.get("opportunityId")) or _id(data.get("candidateId"))
        return DeletionSubject(opportunity_id=opportunity_id, contact_id=_id(data.get("contactId")))

    def opportunity_deleted(
        self, account: AtsAccount, opportunity_id: str, *, profile: CallProfile
    ) -> bool:
        """``GET /opportunities/:id``: a 404, or an answer carrying ``deletedAt``, is deleted
        (README.md §19.2: which of the two Lever gives is UNCONFIRMED)."""
        client = client_for(account, profile)
        try:
            with translated(client, record=True):
                opportunity = client.get_opportunity(opportunity_id)
        except AtsRecordNotFound:
            return True
        return opportunity.deleted_at is not None

    def opportunities_deleted(
        self, account: AtsAccount, *, since_ms: int, profile: CallProfile
    ) -> Iterator[DeletedOpportunity]:
        """``GET /opportunities/deleted?deleted_at_start=`` (README.md §19.2), every page."""
        client = client_for(account, profile)
        with translated(client, record=False):
            for item in client.iter_deleted_opportunities(deleted_at_start=since_ms):
                if _id(item.id):
                    yield DeletedOpportunity(opportunity_id=item.id, deleted_at_ms=item.deleted_at)
