"""An opportunity's current state in Lever (stage, archive reason, hired), for webhook
processing and reconciliation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from integrations.ats import AtsAccount, CallProfile, Opportunities, OpportunityState
from integrations.lever.base import LeverBase
from integrations.lever.calls import cache_get, cache_set, client_for, translated
from integrations.lever.client import LeverClient
from integrations.lever.hiring_team import opportunity_owner
from integrations.lever.schemas import Opportunity
from karatlever.hiring.services import AtsState


class LeverOpportunities(LeverBase, Opportunities):
    """Reads of opportunity state (integrations/lever/README.md §7.1, §8.1), mapped to
    ``AtsState``."""

    def opportunity_state(
        self, account: AtsAccount, opportunity_id: str, *, profile: CallProfile
    ) -> OpportunityState:
        """``GET /opportunities/:id?expand=stage&expand=owner`` (integrations/lever/README.md
        §7.1, §17.2), mapped to AtsState and the owner."""
        client = client_for(account, profile)
        with translated(client, record=True):
            opportunity = client.get_opportunity(opportunity_id, expand=("stage", "owner"))
            return state_of(account, client, opportunity)

    def opportunities_changed(
        self,
        account: AtsAccount,
        *,
        since_ms: int,
        contact_ids: Sequence[str] | None,
        profile: CallProfile,
    ) -> Iterator[OpportunityState]:
        """One paginated ``GET /opportunities?updated_at_start=…&confidentiality=all&expand=stage``
        (integrations/lever/README.md §7.1, §4.2): Lever lists only non-confidential records
        unless asked for all.

        Never filtered by contact in Lever: a profile merge moves an opportunity to another
        contact, so a stored contact id can be stale. ``contact_ids`` (reconciliation passes
        None) only filters what the list returned, by each opportunity's current contact.
        """
        wanted = None if contact_ids is None else frozenset(contact_ids)
        client = client_for(account, profile)
        with translated(client, record=False):
            for opportunity in client.iter_opportunities(
                updated_at_start=since_ms, expand=("stage", "owner"), confidentiality="all"
            ):
                if wanted is not None and (opportunity.contact or "") not in wanted:
                    continue
                yield state_of(account, client, opportunity)


def state_of(
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
    owner, owner_known = opportunity_owner(opportunity.owner_raw)
    return OpportunityState(
        opportunity_id=opportunity.id,
        contact_id=opportunity.contact or "",
        owner=owner,
        owner_known=owner_known,
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
        anonymized=opportunity.is_anonymized,
    )


def _lookup(account: AtsAccount, client: LeverClient, kind: str, item_id: str) -> dict[str, Any]:
    key = f"lever:{kind}:{account.integration_id}"
    items = cache_get(key)
    if items is None or item_id not in items:
        if kind == "stages":
            items = {s.id: {"text": s.text} for s in client.list_stages()}
        else:
            items = {r.id: {"text": r.text, "type": r.type} for r in client.list_archive_reasons()}
        cache_set(key, items)
    return items.get(item_id, {})
