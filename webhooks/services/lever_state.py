"""Turn a Lever opportunity into the AtsState a candidacy stores (stage name, archive reason type)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache

from integrations.connections import lever_client_for
from integrations.lever.client import LeverClient
from integrations.lever.schemas import Opportunity
from integrations.models import AtsIntegration
from karatlever.hiring.services import AtsState

logger = logging.getLogger(__name__)

# Keep webhook tasks short: one retry inside the client, the delivery's own backoff for the rest.
CLIENT_MAX_RETRIES = 1


def lever_client(integration: AtsIntegration) -> LeverClient:
    client = lever_client_for(integration)
    client.max_retries = CLIENT_MAX_RETRIES
    return client


def opportunity_fetch(*, client: LeverClient, opportunity_id: str) -> Opportunity:
    """The current opportunity; ``expand=stage`` gives the stage name in the same call."""
    return client.get_opportunity(opportunity_id, expand=("stage",))


def opportunity_state(
    *, integration: AtsIntegration, client: LeverClient, opportunity: Opportunity
) -> AtsState:
    """Map an opportunity to AtsState; hired = archived with a reason of type ``hired``.

    Archive reasons and stage names are looked up through a short per-integration cache
    (refreshed once when an id is unknown, e.g. a reason created a minute ago).
    """
    stage_id = opportunity.stage_id or ""
    stage_name = opportunity.stage_name or ""
    if stage_id and not stage_name:
        stage_name = _lookup(integration, client, "stages", stage_id).get("text", "")
    archived = opportunity.archived is not None
    reason_id = (opportunity.archived.reason or "") if opportunity.archived else ""
    reason: dict[str, Any] = {}
    if reason_id:
        reason = _lookup(integration, client, "archive_reasons", reason_id)
    reason_hired = reason.get("type") == "hired"
    return AtsState(
        stage_id=stage_id,
        stage_name=stage_name,
        archived=archived,
        archive_reason_id=reason_id,
        archive_reason_name=reason.get("text", ""),
        archive_reason_hired=reason_hired,
        hired=archived and reason_hired,
        version=opportunity.updated_at,
    )


def _lookup(
    integration: AtsIntegration, client: LeverClient, kind: str, item_id: str
) -> dict[str, Any]:
    items = _cached(integration, kind)
    if items is None or item_id not in items:
        items = _fetch(client, kind)
        _cache_set(integration, kind, items)
    return items.get(item_id, {})


def _fetch(client: LeverClient, kind: str) -> dict[str, dict[str, Any]]:
    if kind == "stages":
        return {s.id: {"text": s.text} for s in client.list_stages()}
    return {r.id: {"text": r.text, "type": r.type} for r in client.list_archive_reasons()}


def _cache_key(integration: AtsIntegration, kind: str) -> str:
    return f"webhooks:lever:{kind}:{integration.pk}"


def _cached(integration: AtsIntegration, kind: str) -> dict[str, dict[str, Any]] | None:
    try:
        return cache.get(_cache_key(integration, kind))
    except Exception:  # the cache only saves Lever calls; without it we just ask Lever
        logger.warning("lookup cache unavailable (integration_id=%s)", integration.public_id)
        return None


def _cache_set(integration: AtsIntegration, kind: str, items: dict[str, dict[str, Any]]) -> None:
    try:
        cache.set(_cache_key(integration, kind), items, settings.WEBHOOK_LOOKUP_CACHE_SECONDS)
    except Exception:  # see _cached
        logger.warning("lookup cache unavailable (integration_id=%s)", integration.public_id)
