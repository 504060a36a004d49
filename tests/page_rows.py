"""Rows for the page-size tests and bench/pages.py: ``n`` of everything the console lists
(postings, Karat roles, candidacies, webhook deliveries, integrations), bulk-inserted so 10,000
take seconds. Names are made up and plain ASCII."""

from __future__ import annotations

from dataclasses import dataclass

from integrations.models import AtsIntegration, AtsPosting
from karatlever.accounts.models import Group
from karatlever.hiring.models import Candidacy, Role
from webhooks.models import WebhookDelivery

BATCH = 1000


@dataclass(frozen=True)
class Seeded:
    integration: AtsIntegration
    n: int


def seed_rows(
    *, integration: AtsIntegration, n: int, start: int = 0, integrations: bool = False
) -> Seeded:
    """``n`` postings (a quarter mapped to nothing, the sync's shape), ``n`` roles in the
    integration's group, ``n`` candidacies (their names searchable), ``n`` webhook deliveries
    and (``integrations``) ``n`` more groups each with an integration, all in ``integration``'s
    organization.
    ``start`` numbers them on from an earlier call."""
    numbers = range(start, start + n)
    group = integration.group
    roles = Role.objects.bulk_create(
        (
            Role(group=group, title=f"Role {i:05d} engineer", requisition_code=f"REQ-{i:05d}")
            for i in numbers
        ),
        batch_size=BATCH,
    )
    AtsPosting.objects.bulk_create(
        (
            AtsPosting(
                integration=integration,
                posting_id=f"posting-{i:05d}",
                title=f"Posting {i:05d} engineer",
                title_key=f"posting {i:05d} engineer",
                team="Platform",
                location="Remote",
                state="published",
                requisition_codes=[f"LEV-{i:05d}"],
            )
            for i in numbers
        ),
        batch_size=BATCH,
    )
    Candidacy.objects.bulk_create(
        (
            Candidacy(
                group=group,
                role=roles[(i - start) % len(roles)],
                candidate_name=f"Candidate {i:05d} Example",
                candidate_email=f"candidate{i:05d}@example.com",
            )
            for i in numbers
        ),
        batch_size=BATCH,
    )
    WebhookDelivery.objects.bulk_create(
        (
            WebhookDelivery(
                integration=integration,
                event="candidateStageChange",
                token=f"token-{i:08d}",
                opportunity_id=f"opp-{i:05d}",
                triggered_at_ms=1_700_000_000_000 + i,
                status=WebhookDelivery.Status.PROCESSED,
            )
            for i in numbers
        ),
        batch_size=BATCH,
    )
    if not integrations:
        return Seeded(integration=integration, n=start + n)
    groups = Group.objects.bulk_create(
        (Group(organization=group.organization, name=f"Team {i:05d}") for i in numbers),
        batch_size=BATCH,
    )
    AtsIntegration.objects.bulk_create(
        (AtsIntegration(group=g, region_source="chosen") for g in groups), batch_size=BATCH
    )
    return Seeded(integration=integration, n=start + n)
