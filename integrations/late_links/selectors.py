"""Reads for late links: the settings row, a candidacy's link and the candidacy page's panel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from integrations import ats
from integrations.invites.selectors import candidate_url_example
from integrations.models import AtsIntegration, AuditEntry, LateLinkSettings, OpportunityLink
from karatlever.hiring.models import Candidacy, CandidacyEvent

# Why an anonymised candidacy can't be linked (the page and the services say it alike).
ANONYMISED_CANDIDACY = (
    "This candidacy's personal data was erased after its candidate was deleted or anonymised in "
    "the ATS: it stands for nobody now, so it can't be linked to a candidate again."
)


def late_link_settings_find(*, integration: AtsIntegration) -> LateLinkSettings | None:
    """The integration's settings row, or None (never made: the feature is off)."""
    return LateLinkSettings.objects.filter(integration=integration).first()


# What attaching reads and writes through: the link, the opportunity, the outbound writes.
NEEDS: tuple[type, ...] = (ats.CandidateLinks, ats.OpportunityDetails, ats.Postings, ats.Writes)


def late_links_enabled(*, integration: AtsIntegration) -> bool:
    """True when an admin turned attaching on, the integration itself is on, and its ATS
    offers what attaching needs (``NEEDS``)."""
    if ats.capabilities_missing(integration.ats, NEEDS):
        return False
    row = late_link_settings_find(integration=integration)
    return bool(integration.enabled and row is not None and row.enabled)


def integration_of_candidacy(*, candidacy: Candidacy) -> AtsIntegration | None:
    """The ATS integration of the candidacy's group (one per group and ATS; the first)."""
    return AtsIntegration.objects.filter(group_id=candidacy.group_id).order_by("pk").first()


def candidacy_link_find(*, candidacy: Candidacy) -> OpportunityLink | None:
    return OpportunityLink.objects.filter(candidacy=candidacy).select_related("integration").first()


@dataclass(frozen=True)
class LateLinkActivity:
    """Attach / detach counts of the last ``days`` days (the status page)."""

    attached: int
    detached: int
    days: int


def candidacy_anonymised(*, candidacy: Candidacy) -> bool:
    """The candidacy's personal data was erased after its candidate was deleted or anonymised
    in the ATS (integrations/deletions/): it stands for nobody now, so it is never linked to
    anyone again. One query."""
    return candidacy.events.filter(kind=CandidacyEvent.Kind.ANONYMISED).exists()


def late_link_activity(*, integration: AtsIntegration, days: int = 30) -> LateLinkActivity:
    since = timezone.now() - timedelta(days=days)
    entries = AuditEntry.objects.filter(
        integration_public_id=integration.public_id, created_at__gte=since
    )
    return LateLinkActivity(
        attached=entries.filter(action=AuditEntry.Action.LINK_ATTACHED).count(),
        detached=entries.filter(action=AuditEntry.Action.LINK_DETACHED).count(),
        days=days,
    )


def candidacy_link_panel(candidacy: Candidacy) -> dict[str, Any]:
    """The candidacy page's "Lever link" panel (a ``karatlever.hiring.hooks`` context hook,
    registered by ``IntegrationsConfig.ready``): ``{"late_link": {"linked", "can_attach",
    "why_not", "url_example"}}``, the example a link to paste on the integration's own host
    ("" without an integration). Two or three queries; never calls the ATS."""
    link = candidacy_link_find(candidacy=candidacy)
    integration = link.integration if link else integration_of_candidacy(candidacy=candidacy)
    why_not = ""
    if link is None:
        if integration is None:
            why_not = "This group has no ATS integration."
        elif candidacy_anonymised(candidacy=candidacy):
            why_not = ANONYMISED_CANDIDACY
        elif not late_links_enabled(integration=integration):
            why_not = (
                "Attaching a link later is off for this group's integration. An admin can turn "
                "it on in the integration's Settings."
            )
    return {
        "late_link": {
            "linked": link is not None,
            "can_attach": link is None and not why_not,
            "why_not": why_not,
            "url_example": candidate_url_example(integration=integration) if integration else "",
        }
    }
