"""Late-link fixtures: each test's own cache, rate buckets and memory broker; the sandbox
integration (tests/integrations/conftest.py) with attaching turned on; an unlinked candidacy
that reached results."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.late_links.services import late_link_settings_update
from integrations.models import AtsIntegration
from karatlever.hiring.models import Candidacy, Milestone
from karatlever.hiring.services import candidacy_create, candidacy_milestone_record
from tests.factories import RoleFactory

REPORT = "https://karat.example/reports/r-1"


@pytest.fixture(autouse=True)
def _own_cache_and_broker(own_cache_and_broker: None) -> None:
    """Every test here (see ``own_cache_and_broker``)."""


def url_of(opportunity_id: str) -> str:
    return f"https://hire.lever.co/candidates/{opportunity_id}"


@pytest.fixture
def late_integration(lever_integration: AtsIntegration) -> AtsIntegration:
    """The sandbox integration with attaching links later turned on."""
    late_link_settings_update(integration=lever_integration, actor=None, enabled=True)
    return lever_integration


def unlinked_candidacy(integration: AtsIntegration, *, results: bool = True) -> Candidacy:
    """A candidacy invited without a link; with ``results``, scheduled, completed and with
    results (four milestones in all)."""
    role = RoleFactory(group=integration.group)
    candidacy = candidacy_create(
        role=role, candidate_name="Ada Lovelace", candidate_email="ada@example.com"
    )
    if results:
        at = (timezone.now() - timedelta(minutes=1)).replace(second=0, microsecond=0)
        candidacy_milestone_record(
            candidacy=candidacy, milestone=Milestone.SCHEDULED, scheduled_at=at
        )
        candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.COMPLETED)
        candidacy_milestone_record(
            candidacy=candidacy,
            milestone=Milestone.RESULTS_READY,
            recommendation="strong_yes",
            summary="Solid fundamentals.",
            report_url=REPORT,
        )
    candidacy.refresh_from_db()
    return candidacy
