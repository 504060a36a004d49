"""What every Lever capability shares: the ATS's names, regions, events and API hosts."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import models

from integrations.ats import AtsBase, StateChange, WebhookEventSpec
from integrations.lever.client import base_url_for_region


class WebhookEvent(models.TextChoices):
    """Lever's candidate events this product acts on: the setup guide's three and
    ``candidateDeleted`` (integrations/lever/README.md §9.1, §19)."""

    CANDIDATE_STAGE_CHANGE = "candidateStageChange", "Candidate Stage Change"
    CANDIDATE_ARCHIVE_CHANGE = "candidateArchiveChange", "Candidate Archive State Change"
    CANDIDATE_HIRED = "candidateHired", "Candidate Hired"
    # Not one of the setup guide's three: offered beside them (integrations/deletions/).
    CANDIDATE_DELETED = "candidateDeleted", "Candidate Deleted"


# Lever's API does not report its webhook toggles (README.md §9.7): where an admin turns one on.
WEBHOOK_TOGGLES_WHERE = "Settings → Integrations and API → Webhooks"
_ANNOUNCES: dict[str, tuple[StateChange, ...]] = {
    WebhookEvent.CANDIDATE_STAGE_CHANGE: (StateChange.STAGE,),
    WebhookEvent.CANDIDATE_ARCHIVE_CHANGE: (StateChange.ARCHIVE,),
    WebhookEvent.CANDIDATE_HIRED: (StateChange.HIRED,),
    # A deletion is no state change: the reconciliation never expects it (README.md §19).
    WebhookEvent.CANDIDATE_DELETED: (),
}
WEBHOOK_EVENTS = tuple(
    WebhookEventSpec(event.value, event.label, _ANNOUNCES[event], WEBHOOK_TOGGLES_WHERE)
    for event in WebhookEvent
)

REGIONS: Sequence[tuple[str, str]] = (
    ("us", "US (api.lever.co)"),
    ("eu", "EU (api.eu.lever.co)"),
    ("sandbox", "Sandbox (api.sandbox.lever.co)"),
)


class LeverBase(AtsBase):
    """Lever's names, regions and events (``ats.AtsBase``); every capability builds on it."""

    ats = "lever"
    label = "Lever"
    regions: Sequence[tuple[str, str]] = REGIONS
    webhook_events: Sequence[WebhookEventSpec] = WEBHOOK_EVENTS

    def api_host(self, region: str) -> str:
        base = base_url_for_region(region, override=settings.LEVER_API_BASE_URL or None)
        return base.split("://", 1)[-1].split("/", 1)[0]
