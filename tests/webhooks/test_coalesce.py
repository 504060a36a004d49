"""One Lever read per opportunity for deliveries waiting together; reads keep to their share.

Against the local Lever sandbox (its request log counts the reads Lever would see).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest

from integrations import ats
from integrations.lever.adapter import WebhookEvent
from integrations.lever.calls import client_for
from integrations.lever.errors import LeverRateLimited
from integrations.lever.ratelimit import ShareLimitedRateLimiter, rate_limiter_for
from integrations.lever.sandbox import SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity_ids
from integrations.models import AtsIntegration, OpportunityLink
from karatlever.hiring.models import Candidacy
from tests.factories import CandidacyFactory, RoleFactory
from webhooks.models import WebhookDelivery
from webhooks.services import intake, processing
from webhooks.tasks import delivery_process_many

from .conftest import make_delivery

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status
_OPPORTUNITY_READ = re.compile(r"^/v1/opportunities/([^/?]+)$")


def _link(integration: AtsIntegration, lever: SandboxServer, opportunity_id: str) -> Candidacy:
    candidacy = CandidacyFactory(role=RoleFactory(group=integration.group))
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id=opportunity_id,
        contact_id=lever.opportunity(opportunity_id)["contact"],
    )
    return candidacy


def _record(integration: AtsIntegration, event: str, opportunity_id: str) -> int:
    result = intake.delivery_record(
        integration_public_id=integration.public_id,
        body=make_delivery(event, opportunity_id=opportunity_id),
    )
    assert result.delivery_id is not None
    return result.delivery_id


def _reads(lever: SandboxServer) -> list[str]:
    """The opportunity ids of every ``GET /opportunities/:id`` Lever saw."""
    out = []
    for r in lever.api_log():
        match = _OPPORTUNITY_READ.match(r["path"].split("?")[0])
        if r["method"] == "GET" and match:
            out.append(match.group(1))
    return out


def _reason_id(lever: SandboxServer) -> str:
    return next(
        r["id"]
        for r in lever.sandbox.archive_reasons()
        if r["type"] == "non-hired" and r["status"] == "active"
    )


def test_five_deliveries_for_one_opportunity_cost_one_read_and_all_are_processed(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    # given: five deliveries for one linked opportunity waiting together, the last Lever
    # change an archive
    opportunity_id = demo_opportunity_ids(1)[0]
    candidacy = _link(sandbox_integration, lever, opportunity_id)
    ids = []
    for stage in ("lead-new", "lead-reached-out", "applicant-new", "offer"):
        lever.move_stage(opportunity_id, stage)
        ids.append(
            _record(sandbox_integration, WebhookEvent.CANDIDATE_STAGE_CHANGE, opportunity_id)
        )
    reason = _reason_id(lever)
    lever.archive(opportunity_id, reason)
    ids.append(_record(sandbox_integration, WebhookEvent.CANDIDATE_ARCHIVE_CHANGE, opportunity_id))
    lever.app.reset_request_stats()

    # when: the batch task runs them
    delivery_process_many(ids)

    # then: one read; every delivery processed once, with its outcome; the latest state won
    assert _reads(lever) == [opportunity_id]
    rows = {d.pk: d for d in WebhookDelivery.objects.filter(pk__in=ids)}
    assert {d.status for d in rows.values()} == {Status.PROCESSED}
    assert {d.attempts for d in rows.values()} == {1}
    read_by = ids[0]
    assert "Coalesced" not in rows[read_by].outcome
    for other in ids[1:]:
        assert rows[other].outcome.startswith(f"Coalesced into delivery {read_by}'s read: ")
    candidacy.refresh_from_db()
    assert candidacy.ats_stage_id == "offer"
    assert candidacy.ats_archived is True
    assert candidacy.ats_archive_reason_id == reason


def test_bulk_move_of_50_candidates_costs_at_most_50_reads(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    # given: a bulk move of 50 linked candidates in Lever, each sending a stage change and
    # an archive change (100 deliveries), published in batches as the receiver does
    opportunity_ids = demo_opportunity_ids(50)
    for opportunity_id in opportunity_ids:
        _link(sandbox_integration, lever, opportunity_id)
    reason = _reason_id(lever)
    ids = []
    for opportunity_id in opportunity_ids:
        lever.move_stage(opportunity_id, "offer")
        ids.append(
            _record(sandbox_integration, WebhookEvent.CANDIDATE_STAGE_CHANGE, opportunity_id)
        )
        lever.archive(opportunity_id, reason)
        ids.append(
            _record(sandbox_integration, WebhookEvent.CANDIDATE_ARCHIVE_CHANGE, opportunity_id)
        )
    lever.app.reset_request_stats()

    for start in range(0, len(ids), processing.BATCH):
        delivery_process_many(ids[start : start + processing.BATCH])

    reads = _reads(lever)
    assert len(reads) <= 50
    assert sorted(set(reads)) == sorted(opportunity_ids)
    assert WebhookDelivery.objects.filter(pk__in=ids, status=Status.PROCESSED).count() == 100
    assert set(
        Candidacy.objects.filter(opportunity_link__opportunity_id__in=opportunity_ids)
        .values_list("ats_stage_id", "ats_archived")
        .distinct()
    ) == {("offer", True)}


@pytest.mark.parametrize("status", [503, 429])
def test_lever_unavailable_sends_every_coalesced_delivery_to_retry_then_one_read_ends_them(
    sandbox_integration: AtsIntegration, lever: SandboxServer, status: int, settings: Any
) -> None:
    # given: three deliveries for one opportunity, Lever answering every read with an error
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    opportunity_id = demo_opportunity_ids(1)[0]
    _link(sandbox_integration, lever, opportunity_id)
    ids = [
        _record(sandbox_integration, WebhookEvent.CANDIDATE_STAGE_CHANGE, opportunity_id)
        for _ in range(3)
    ]
    lever.set_faults(error_rates={str(status): 1.0}, retry_after=1)

    processing.delivery_process(delivery_id=ids[0])

    # then: each went back to retry with its own attempt counted; none was lost or finished
    rows = list(WebhookDelivery.objects.filter(pk__in=ids))
    assert {d.status for d in rows} == {Status.RETRY}
    assert {d.attempts for d in rows} == {1}

    # when: Lever recovers and the first retry runs
    lever.set_faults()
    lever.app.reset_request_stats()
    WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=None)
    processing.delivery_process(delivery_id=ids[1])

    assert _reads(lever) == [opportunity_id]
    assert set(WebhookDelivery.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Status.PROCESSED
    }


def test_a_deleted_opportunity_ends_every_coalesced_delivery_with_the_same_reason(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    # given: two deliveries for a linked opportunity that is deleted in Lever in between
    opportunity_id = demo_opportunity_ids(1)[0]
    _link(sandbox_integration, lever, opportunity_id)
    ids = [
        _record(sandbox_integration, WebhookEvent.CANDIDATE_STAGE_CHANGE, opportunity_id)
        for _ in range(2)
    ]
    lever.sandbox.delete_opportunity(opportunity_id)

    processing.delivery_process(delivery_id=ids[0])

    rows = list(WebhookDelivery.objects.filter(pk__in=ids).order_by("pk"))
    assert [d.status for d in rows] == [Status.IGNORED, Status.IGNORED]
    assert "not found" in rows[0].outcome
    assert rows[1].outcome.startswith(f"Coalesced into delivery {ids[0]}'s read: ")


def test_deliveries_of_another_opportunity_or_a_deletion_are_not_coalesced(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    first, second = demo_opportunity_ids(2)
    _link(sandbox_integration, lever, first)
    _link(sandbox_integration, lever, second)
    mine = _record(sandbox_integration, WebhookEvent.CANDIDATE_STAGE_CHANGE, first)
    other = _record(sandbox_integration, WebhookEvent.CANDIDATE_STAGE_CHANGE, second)

    processing.delivery_process(delivery_id=mine)

    assert WebhookDelivery.objects.get(pk=other).status == Status.RECEIVED


# --- webhook reads take at most their share of the key's budget -------------------------------


def test_webhook_reads_use_a_share_of_the_key_and_leave_the_rest_to_writes(
    settings: Any, tmp_path: Any
) -> None:
    # given: a key at 8/s, burst 10, webhook reads limited to half of it
    settings.LEVER_WEBHOOK_READ_SHARE = 0.5
    settings.LEVER_RATE_LIMIT_DIR = str(tmp_path)
    account = ats.AtsAccount(
        integration_id=1,
        public_id="share-test",
        # A fresh key: on Redis, buckets outlive a test by a minute.
        api_key=secrets.token_hex(16),
        region="us",
        acting_user_id="",
        rate_per_second=8.0,
        burst=10,
    )
    reads = client_for(account, ats.WEBHOOK_READ).rate_limiter
    assert isinstance(reads, ShareLimitedRateLimiter)
    assert (reads.share.rate, reads.share.burst) == (4.0, 5)

    # when: a bulk move's reads take every token their share allows right now
    for _ in range(5):
        reads.acquire(timeout=0)
    with pytest.raises(LeverRateLimited):
        reads.acquire(timeout=0)

    # then: a write on the same key still gets its tokens at once
    writes = rate_limiter_for(
        account.api_key,
        rate=8.0,
        burst=10,
        redis_url=settings.REDIS_URL or None,
        local_dir=tmp_path,
    )
    for _ in range(5):
        writes.acquire(timeout=0)


def test_other_uses_take_the_whole_budget(settings: Any, tmp_path: Any) -> None:
    settings.LEVER_RATE_LIMIT_DIR = str(tmp_path)
    account = ats.AtsAccount(
        integration_id=1,
        public_id="share-test",
        # A fresh key: on Redis, buckets outlive a test by a minute.
        api_key=secrets.token_hex(16),
        region="us",
        acting_user_id="",
        rate_per_second=8.0,
        burst=10,
    )
    assert not isinstance(client_for(account, ats.WORKER).rate_limiter, ShareLimitedRateLimiter)
