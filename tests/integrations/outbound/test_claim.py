"""The outbound claim (issue #23 §2): a batch of heads per claim, a cost that does not grow with
the queue, the order per opportunity under batch claims, and the queries per update."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.lever.sandbox import SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity_ids
from integrations.models import AtsIntegration, OpportunityLink, OutboundUpdate
from integrations.outbound.services import drain as drain_service
from karatlever.hiring.models import Candidacy, Milestone
from karatlever.hiring.services import candidacy_milestone_record
from tests.brokers import broker
from tests.factories import CandidacyFactory, RoleFactory
from tests.integrations.outbound.conftest import drain, make_due

pytestmark = pytest.mark.django_db(transaction=True)

Status = OutboundUpdate.Status


@pytest.fixture(autouse=True)
def _memory_broker() -> Iterator[None]:
    with broker("memory://"):
        yield


@pytest.fixture(autouse=True)
def _unpaced(settings: Any) -> None:
    # These tests count queries and check order, not the pace.
    settings.LEVER_RATE_LIMIT_PER_SECOND, settings.LEVER_RATE_LIMIT_BURST = 1000.0, 1000


# SQL statements per update sent, transaction control (BEGIN/COMMIT/SAVEPOINT) aside: the
# update's end (1); the timeline check (1, skipped while a later update of the milestone waits);
# a milestone's timeline entry once its updates have all ended (2 per milestone); the claim (3 per
# batch of up to 20); the lease (at most a write a second); the drain's own few.
MAX_PER_UPDATE = 3.0
TRANSACTION = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)", re.IGNORECASE)


def linked_many(integration: AtsIntegration, count: int) -> list[Candidacy]:
    role = RoleFactory(group=integration.group)
    candidacies = []
    for opportunity_id in demo_opportunity_ids(count):
        candidacy = CandidacyFactory(role=role)
        OpportunityLink.objects.create(
            integration=integration, candidacy=candidacy, opportunity_id=opportunity_id
        )
        candidacies.append(candidacy)
    return candidacies


def record_two(candidacy: Candidacy) -> None:
    """Two milestones (scheduled, then completed): a few updates each, in order."""
    at = (timezone.now() - timedelta(minutes=1)).replace(second=0, microsecond=0)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.SCHEDULED, scheduled_at=at)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.COMPLETED)


@pytest.mark.parametrize("candidacies", [20, 60])
def test_a_drain_costs_at_most_three_queries_per_update_whatever_the_queue(
    lever_integration: AtsIntegration,
    django_assert_max_num_queries: Any,
    candidacies: int,
) -> None:
    for candidacy in linked_many(lever_integration, candidacies):
        record_two(candidacy)
    queued = OutboundUpdate.objects.count()
    make_due()

    # Everything counted by the house's fixture, BEGIN/COMMIT included; then without them.
    with (
        django_assert_max_num_queries(int((MAX_PER_UPDATE + 2) * queued)),
        CaptureQueriesContext(connection) as queries,
    ):
        first = drain(lever_integration, budget_seconds=60)
        while True:
            make_due()  # the next update of each opportunity, now that the one before is sent
            more = drain(lever_integration, budget_seconds=60)
            if not more.sent:
                break
            first.sent += more.sent
        second = more

    assert first.sent + second.sent == queued
    assert OutboundUpdate.objects.filter(status=Status.SENT).count() == queued
    statements = [q["sql"] for q in queries.captured_queries if not TRANSACTION.match(q["sql"])]
    per_update = len(statements) / queued
    assert per_update <= MAX_PER_UPDATE, f"{len(statements)} statements for {queued} updates"


def test_a_batch_claims_the_head_of_each_opportunity_only_in_order(
    lever_integration: AtsIntegration,
) -> None:
    candidacies = linked_many(lever_integration, 5)
    for candidacy in candidacies:
        candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    make_due()

    batch = drain_service._claim_batch(lever_integration.pk, "w", 20)
    again = drain_service._claim_batch(lever_integration.pk, "w2", 20)

    # One row per opportunity (its first), oldest first; the later rows wait for them.
    assert [r.sequence for r in batch] == [1] * 5
    assert len({r.opportunity_id for r in batch}) == 5
    assert [r.pk for r in batch] == sorted(r.pk for r in batch)
    assert again == []
    # Given back unsent: pending again, the claim's attempt not counted.
    drain_service._unclaim(batch)
    assert set(OutboundUpdate.objects.values_list("status", "attempts")) == {(Status.PENDING, 0)}


def test_a_window_full_of_blocked_rows_does_not_hide_a_claimable_one(
    lever_integration: AtsIntegration, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: opportunity A's first update waits for a retry; its later ones are due first
    monkeypatch.setattr(drain_service, "CLAIM_WINDOW", 2)
    first, second = linked_many(lever_integration, 2)
    record_two(first)
    candidacy_milestone_record(candidacy=second, milestone=Milestone.CANCELLED)
    now = timezone.now()
    rows_a = OutboundUpdate.objects.filter(candidacy=first).order_by("sequence")
    head_a = rows_a[0]
    OutboundUpdate.objects.filter(pk=head_a.pk).update(next_attempt_at=now + timedelta(hours=1))
    OutboundUpdate.objects.filter(candidacy=first).exclude(pk=head_a.pk).update(
        next_attempt_at=now - timedelta(minutes=5)
    )
    OutboundUpdate.objects.filter(candidacy=second).update(next_attempt_at=now)

    batch = drain_service._claim_batch(lever_integration.pk, "w", 20)

    # then: the windows of A's blocked rows are passed over; B's head is claimed, nothing of A
    assert [(r.candidacy_id, r.sequence) for r in batch] == [(second.pk, 1)]


def test_batches_keep_the_order_per_opportunity_when_one_fails(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacies = linked_many(lever_integration, 6)
    for candidacy in candidacies:
        record_two(candidacy)
    broken = candidacies[2].opportunity_link.opportunity_id
    lever.set_faults(error_rates={"500": 1.0}, paths=[f"/v1/opportunities/{broken}"])
    make_due()

    for _ in range(6):
        drain(lever_integration, budget_seconds=60)
        make_due()

    rows = OutboundUpdate.objects.order_by("opportunity_id", "sequence")
    for candidacy in candidacies:
        mine = [r for r in rows if r.candidacy_id == candidacy.pk]
        sent_at = [r.sent_at for r in mine]
        if candidacy.opportunity_link.opportunity_id == broken:
            # Its first update keeps failing: nothing after it goes out.
            assert all(r.status != Status.SENT for r in mine)
        else:
            assert all(r.status == Status.SENT for r in mine)
            assert sent_at == sorted(sent_at)  # type: ignore[type-var]
    # What Lever saw, per opportunity: the notes in the order the milestones were recorded.
    for candidacy in candidacies:
        opportunity_id = candidacy.opportunity_link.opportunity_id
        if opportunity_id != broken:
            assert lever.counters(opportunity_id)["notes"] == 2
