"""Rows for the page-size tests and bench/pages.py: postings, Karat roles, candidacies,
webhook deliveries and groups with an integration, bulk-inserted so 100,000 take seconds.
Names are made up and plain ASCII; numbers run on from ``start`` so a second call adds rows."""

from __future__ import annotations

from integrations.models import AtsIntegration, AtsPosting
from karatlever.accounts.models import Group
from karatlever.hiring.models import Candidacy, Role
from webhooks.models import WebhookDelivery

BATCH = 1000


def seed_rows(
    *,
    integration: AtsIntegration,
    start: int = 0,
    postings: int = 0,
    roles: int = 0,
    candidacies: int = 0,
    deliveries: int = 0,
    integrations: int = 0,
) -> None:
    """Rows numbered ``start``…: ``postings`` postings of ``integration`` (none mapped),
    ``roles`` roles in its group, ``candidacies`` candidacies of those roles (names
    ``Candidate 00042 Example``), ``deliveries`` processed webhook deliveries, and
    ``integrations`` more groups each with an integration, in its organization."""
    group = integration.group
    new_roles = Role.objects.bulk_create(
        (
            Role(group=group, title=f"Role {i:05d} engineer", requisition_code=f"REQ-{i:05d}")
            for i in range(start, start + roles)
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
            for i in range(start, start + postings)
        ),
        batch_size=BATCH,
    )
    role_pool = new_roles or list(Role.objects.filter(group=group)[:100])
    Candidacy.objects.bulk_create(
        (
            Candidacy(
                group=group,
                role=role_pool[i % len(role_pool)],
                candidate_name=f"Candidate {i:05d} Example",
                candidate_email=f"candidate{i:05d}@example.com",
            )
            for i in range(start, start + candidacies)
        ),
        batch_size=BATCH,
    )
    WebhookDelivery.objects.bulk_create(
        (
            WebhookDelivery(
                integration=integration,
                event="candidateStageChange",
                token=f"token-{start}-{i:08d}",
                opportunity_id=f"opp-{i:05d}",
                triggered_at_ms=1_700_000_000_000 + i,
                status=WebhookDelivery.Status.PROCESSED,
            )
            for i in range(start, start + deliveries)
        ),
        batch_size=BATCH,
    )
    groups = Group.objects.bulk_create(
        (
            Group(organization=group.organization, name=f"Team {i:05d}")
            for i in range(start, start + integrations)
        ),
        batch_size=BATCH,
    )
    AtsIntegration.objects.bulk_create(
        (AtsIntegration(group=g, region_source="chosen") for g in groups), batch_size=BATCH
    )
