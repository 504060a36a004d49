"""What an invite reads from Lever: one opportunity in detail, the opportunities in a stage,
the pipeline's stages and the candidate origins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from integrations.ats import (
    AtsAccount,
    CallProfile,
    OpportunityDetail,
    OpportunityDetails,
    StageInfo,
)
from integrations.lever import links
from integrations.lever.base import LeverBase
from integrations.lever.calls import cache_get, cache_set, client_for, translated
from integrations.lever.client import LeverClient
from integrations.lever.opportunities import state_of
from integrations.lever.schemas import Opportunity

# How a candidate came in (``origin``, integrations/lever/README.md §8.1), for the automatic
# invite's filter.
ORIGINS: tuple[tuple[str, str], ...] = (
    ("applied", "Applied"),
    ("sourced", "Sourced"),
    ("referred", "Referred"),
    ("university", "University"),
    ("agency", "Agency"),
    ("internal", "Internal"),
)


class LeverOpportunityDetails(LeverBase, OpportunityDetails):
    """Invite reads (integrations/lever/README.md §7.1, §7.4, §8.1, §11); names come from short
    caches."""

    def opportunity_detail(
        self, account: AtsAccount, opportunity_id: str, *, profile: CallProfile
    ) -> OpportunityDetail:
        """``GET /opportunities/:id?expand=applications&expand=stage``: one request. The
        archive reason's name comes from the cached reasons
        (integrations/lever/README.md §8.1, §7.4)."""
        client = client_for(account, profile)
        with translated(client, record=True):
            opportunity = client.get_opportunity(opportunity_id, expand=("applications", "stage"))
            return _detail_of(account, client, opportunity)

    def opportunities_in_stage(
        self, account: AtsAccount, stage_id: str, *, limit: int, profile: CallProfile
    ) -> list[OpportunityDetail]:
        """``GET /opportunities?stage_id=…&archived=false&confidentiality=all&expand=…``,
        read page by page only until ``limit`` are found
        (integrations/lever/README.md §7.1)."""
        client = client_for(account, profile)
        found: list[OpportunityDetail] = []
        with translated(client, record=False):
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

    def stages_list(self, account: AtsAccount, *, profile: CallProfile) -> list[StageInfo]:
        client = client_for(account, profile)
        with translated(client, record=False):
            # Cached beside the names the state mapping reads (``opportunities._lookup``), in
            # Lever's order.
            key = f"lever:stage_order:{account.integration_id}"
            cached = cache_get(key)
            if cached is None:
                cached = {s.id: {"text": s.text} for s in client.list_stages()}
                cache_set(key, cached)
        return [StageInfo(stage_id=sid, name=item.get("text", "")) for sid, item in cached.items()]

    def origins(self) -> Sequence[tuple[str, str]]:
        return ORIGINS


def _detail_of(
    account: AtsAccount, client: LeverClient, opportunity: Opportunity
) -> OpportunityDetail:
    """An opportunity read with ``expand=applications&expand=stage`` as an invite needs it."""
    state = state_of(account, client, opportunity).state
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
        # Lever: "confidential" / "non-confidential" (integrations/lever/README.md §8.1).
        confidential=(opportunity.confidentiality or "") == "confidential",
        posting_ids=tuple(a.posting for a in opportunity.applications if a.posting),
        url=(opportunity.urls.show if opportunity.urls and opportunity.urls.show else "")
        or links.candidate_url(account.region, opportunity.id),
        version=opportunity.updated_at,
        hired=state.hired,
        stage_entered_at=_datetime_of(opportunity.stage_entered_at_ms),
        anonymized=opportunity.is_anonymized,
    )


def _datetime_of(ms: int | None) -> datetime | None:
    """Lever's ms timestamp as an aware datetime; None for none or one out of range."""
    if ms is None or ms <= 0:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
