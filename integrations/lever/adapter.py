"""The Lever adapter: every capability of the ATS interface (``integrations/ats.py``) in Lever.

Each capability lives in its own module beside this one (``inbound``, ``webhooks_api``,
``opportunities``, ``opportunity_details``, ``postings``, ``writes``, ``users``, ``key_checks``,
``candidate_links``, ``panels``, ``feedback``, ``deletions``), on the shared ``base`` (names, regions, events) and ``calls`` (the
client, and Lever's failures classified once into the ATS-neutral ``AtsError`` classes:
docs/architecture.md, layer 3). This module only composes them. The Lever facts they rely
on are in ``integrations/lever/README.md``, whose numbered sections each module cites inline.
"""

from __future__ import annotations

from integrations.ats import AtsAdapter
from integrations.lever.base import WEBHOOK_EVENTS, LeverBase, WebhookEvent
from integrations.lever.calls import client_for
from integrations.lever.candidate_links import LeverCandidateLinks
from integrations.lever.deletions import LeverDeletions
from integrations.lever.feedback import LeverFeedback
from integrations.lever.inbound import LeverInbound
from integrations.lever.key_checks import LeverKeyChecks, too_long_check
from integrations.lever.opportunities import LeverOpportunities
from integrations.lever.opportunity_details import ORIGINS, LeverOpportunityDetails
from integrations.lever.panels import LeverPanels
from integrations.lever.postings import LeverPostings
from integrations.lever.users import LeverUsers
from integrations.lever.webhooks_api import LeverWebhooksApi
from integrations.lever.writes import LeverWrites

# Names other code imports from here, as it did before the capabilities were split out.
__all__ = [
    "ORIGINS",
    "WEBHOOK_EVENTS",
    "LeverAdapter",
    "LeverBase",
    "WebhookEvent",
    "adapter",
    "client_for",
    "too_long_check",
]


class LeverAdapter(
    LeverInbound,
    LeverWebhooksApi,
    LeverOpportunities,
    LeverOpportunityDetails,
    LeverPostings,
    LeverWrites,
    LeverUsers,
    LeverKeyChecks,
    LeverCandidateLinks,
    LeverPanels,
    LeverFeedback,
    LeverDeletions,
):
    """The one object generic code uses to speak Lever: every capability (``ats.AtsAdapter``)."""


# Typed as the full interface, so mypy checks that Lever offers every capability.
adapter: AtsAdapter = LeverAdapter()
