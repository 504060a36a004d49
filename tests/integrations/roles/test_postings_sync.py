"""Posting sync against the Lever sandbox: full and changes-only runs, pagination, every state,
deleted and confidential postings, resuming a run that failed part-way, and the key hook."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.lever.sandbox.demo import demo_data
from integrations.lever.sandbox.permissions import CONFIDENTIAL_ACCESS, KARAT_PERMISSIONS
from integrations.models import (
    AtsIntegration,
    AtsPosting,
    IntegrationStatus,
    PostingSyncRun,
    Region,
    RoleMapping,
)
from integrations.roles.selectors import posting_search
from integrations.roles.services import mappings
from integrations.roles.services.sync import (
    postings_sync_due,
    postings_sync_request,
    postings_sync_run,
)
from karatlever.hiring.models import Candidacy
from karatlever.hiring.services import role_create
from tests.integrations.conftest import mark_valid, set_key

pytestmark = pytest.mark.django_db

DEMO_POSTINGS = demo_data().postings
ALL_STATES = {"published", "internal", "closed", "draft", "pending", "rejected"}


@pytest.fixture
def synced_integration(integration: AtsIntegration, lever_sandbox: SandboxServer) -> AtsIntegration:
    AtsIntegration.objects.filter(pk=integration.pk).update(region=Region.SANDBOX)
    integration.refresh_from_db()
    set_key(integration, None, DEMO_API_KEY)
    mark_valid(integration)
    return integration


def sync(integration: AtsIntegration, kind: str | None = None) -> PostingSyncRun:
    """Ask for a sync and run it here (the worker's part), as the task would."""
    run = postings_sync_request(integration=integration, kind=kind)
    postings_sync_run(run_id=run.pk)
    run.refresh_from_db()
    return run


def current(integration: AtsIntegration) -> Any:
    return AtsPosting.objects.filter(integration=integration, removed_at__isnull=True)


def test_a_full_sync_reads_every_posting_in_every_state_with_confidential_ones(
    synced_integration: AtsIntegration,
) -> None:
    run = sync(synced_integration, PostingSyncRun.Kind.FULL)

    assert run.status == PostingSyncRun.Status.SUCCEEDED
    assert run.postings_seen == len(DEMO_POSTINGS) == current(synced_integration).count()
    assert set(current(synced_integration).values_list("state", flat=True)) == ALL_STATES
    confidential = current(synced_integration).get(confidential=True)
    assert confidential.title == "Compiler Engineer (confidential search)"
    assert run.confidential_included is True
    # The published posting on the internal job site only is there too (the published quirk).
    assert current(synced_integration).filter(title="Software Engineer in Test").exists()
    synced_integration.refresh_from_db()
    assert synced_integration.last_success_at is not None


def test_a_posting_is_stored_with_its_team_location_codes_and_lever_update_time(
    synced_integration: AtsIntegration,
) -> None:
    sync(synced_integration)

    source = DEMO_POSTINGS[0]
    posting = AtsPosting.objects.get(posting_id=source["id"])
    assert (posting.title, posting.team, posting.location, posting.state) == (
        source["text"],
        source["categories"]["team"],
        source["categories"]["location"],
        "published",
    )
    assert posting.requisition_codes == source["requisitionCodes"]
    assert posting.remote_updated_at_ms == source["updatedAt"]
    assert posting.title_key == "senior backend engineer"
    # Lever's [""] and null requisition codes are stored as no code.
    assert AtsPosting.objects.get(posting_id=DEMO_POSTINGS[11]["id"]).requisition_codes == []


def test_a_full_sync_follows_every_page_one_upsert_per_page(
    synced_integration: AtsIntegration, lever_sandbox: SandboxServer
) -> None:
    lever_sandbox.add_postings(250)

    run = sync(synced_integration, PostingSyncRun.Kind.FULL)

    assert run.pages_done == 3  # 280 postings, pages of 100
    assert run.postings_seen == 280 == current(synced_integration).count()
    assert run.cursor == ""


def test_a_key_without_confidential_access_syncs_every_other_posting(
    synced_integration: AtsIntegration, lever_sandbox: SandboxServer
) -> None:
    sync(synced_integration, PostingSyncRun.Kind.FULL)
    assert current(synced_integration).filter(confidential=True).count() == 1
    limited = lever_sandbox.create_api_key(
        [p for p in KARAT_PERMISSIONS if p != CONFIDENTIAL_ACCESS]
    )
    # As if the new key had replaced the old one after its check.
    synced_integration.api_key = limited
    synced_integration.save(update_fields=["api_key"])

    run = sync(synced_integration, PostingSyncRun.Kind.FULL)

    assert run.status == PostingSyncRun.Status.SUCCEEDED
    assert current(synced_integration).count() == len(DEMO_POSTINGS) - 1
    # Lever no longer lists it to this key: it is marked removed, not kept as current.
    assert not current(synced_integration).filter(confidential=True).exists()
    assert AtsPosting.objects.filter(confidential=True, removed_at__isnull=False).count() == 1


def test_a_changes_only_sync_reads_only_postings_changed_since_the_last_sync(
    synced_integration: AtsIntegration, lever_sandbox: SandboxServer
) -> None:
    sync(synced_integration, PostingSyncRun.Kind.FULL)
    posting_id = DEMO_POSTINGS[3]["id"]
    lever_sandbox.update_posting(posting_id, text="Data Engineer II", state="closed")

    run = sync(synced_integration, PostingSyncRun.Kind.INCREMENTAL)

    assert run.kind == PostingSyncRun.Kind.INCREMENTAL
    assert run.status == PostingSyncRun.Status.SUCCEEDED
    assert run.postings_seen == 1
    posting = AtsPosting.objects.get(posting_id=posting_id)
    assert (posting.title, posting.state, posting.title_key) == (
        "Data Engineer II",
        "closed",
        "data engineer ii",
    )
    assert current(synced_integration).count() == len(DEMO_POSTINGS)


def test_the_schedule_picks_a_full_sync_first_then_changes_only(
    synced_integration: AtsIntegration,
) -> None:
    first = sync(synced_integration)
    second = sync(synced_integration)

    assert first.kind == PostingSyncRun.Kind.FULL
    assert second.kind == PostingSyncRun.Kind.INCREMENTAL
    assert second.updated_since_ms is not None
    assert first.started_at is not None
    assert second.updated_since_ms < int(first.started_at.timestamp() * 1000)


def test_a_full_sync_marks_postings_deleted_in_lever_as_removed(
    synced_integration: AtsIntegration, lever_sandbox: SandboxServer
) -> None:
    sync(synced_integration, PostingSyncRun.Kind.FULL)
    deleted = DEMO_POSTINGS[5]["id"]
    lever_sandbox.delete_posting(deleted)

    run = sync(synced_integration, PostingSyncRun.Kind.FULL)

    assert run.postings_removed == 1
    assert AtsPosting.objects.get(posting_id=deleted).removed_at is not None
    assert current(synced_integration).count() == len(DEMO_POSTINGS) - 1
    assert posting_search(integration=synced_integration, query=deleted) == []


def test_a_sync_that_fails_part_way_keeps_its_pages_and_continues_from_its_cursor(
    synced_integration: AtsIntegration, lever_sandbox: SandboxServer
) -> None:
    lever_sandbox.add_postings(250)
    # The second page fails on every attempt (the client retries 503s three times).
    lever_sandbox.set_faults(fail_after=1, fail_next=[503] * 4, paths=["/v1/postings"])

    failed = sync(synced_integration, PostingSyncRun.Kind.FULL)

    assert failed.status == PostingSyncRun.Status.FAILED
    assert "Lever did not answer usefully" in failed.error
    assert failed.pages_done == 1
    assert failed.cursor
    assert current(synced_integration).count() == 100
    synced_integration.refresh_from_db()
    assert "Syncing postings" in synced_integration.last_error

    lever_sandbox.reset_faults()
    resumed = sync(synced_integration)

    assert resumed.pk == failed.pk  # the same run, continued
    assert resumed.status == PostingSyncRun.Status.SUCCEEDED
    assert resumed.attempts == 2
    assert resumed.pages_done == 3
    assert resumed.postings_seen == 280  # the first page was not read again
    assert current(synced_integration).count() == 280
    assert resumed.postings_removed == 0


def _no_pending_status(integration: AtsIntegration) -> None:
    IntegrationStatus.objects.filter(integration=integration).update(
        requested_at=None, request_reason=""
    )


def test_a_finished_or_failed_sync_asks_for_a_status_recompute(
    synced_integration: AtsIntegration, lever_sandbox: SandboxServer
) -> None:
    # The status page's Roles match checks show the last sync: stale once a sync ends.
    _no_pending_status(synced_integration)
    sync(synced_integration, PostingSyncRun.Kind.FULL)

    snapshot = IntegrationStatus.objects.get(integration=synced_integration)
    assert snapshot.pending
    assert snapshot.request_reason == "Posting sync finished"

    _no_pending_status(synced_integration)
    lever_sandbox.set_faults(fail_next=[503] * 4, paths=["/v1/postings"])
    assert sync(synced_integration).status == PostingSyncRun.Status.FAILED

    snapshot.refresh_from_db()
    assert snapshot.pending
    assert snapshot.request_reason == "Posting sync failed"


def test_one_sync_at_a_time_per_integration(synced_integration: AtsIntegration) -> None:
    first = postings_sync_request(integration=synced_integration)
    again = postings_sync_request(integration=synced_integration)

    assert again.pk == first.pk
    assert PostingSyncRun.objects.filter(integration=synced_integration).count() == 1


def test_running_a_run_twice_does_nothing_the_second_time(
    synced_integration: AtsIntegration,
) -> None:
    run = sync(synced_integration)

    assert postings_sync_run(run_id=run.pk) is None
    assert postings_sync_run(run_id=999_999) is None


def test_a_disabled_integration_does_not_sync(synced_integration: AtsIntegration) -> None:
    run = postings_sync_request(integration=synced_integration)
    AtsIntegration.objects.filter(pk=synced_integration.pk).update(enabled=False)

    assert postings_sync_run(run_id=run.pk) == PostingSyncRun.Status.FAILED
    assert not AtsPosting.objects.exists()


def test_the_schedule_asks_only_for_enabled_integrations_with_a_valid_key(
    synced_integration: AtsIntegration, second_group: Any
) -> None:
    AtsIntegration.objects.create(group=second_group)  # no key

    assert postings_sync_due() == 1
    assert PostingSyncRun.objects.get().integration_id == synced_integration.pk


def test_a_valid_key_check_queues_a_sync_after_commit(
    integration: AtsIntegration,
    lever_sandbox: SandboxServer,
    memory_broker: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from integrations.connection.services import keys
    from tests.integrations.conftest import latest_check

    AtsIntegration.objects.filter(pk=integration.pk).update(region=Region.SANDBOX)
    integration.refresh_from_db()
    set_key(integration, None, DEMO_API_KEY)
    integration.refresh_from_db()
    result = keys.api_key_check(integration=integration, api_key=DEMO_API_KEY)

    with django_capture_on_commit_callbacks(execute=True):
        keys.key_check_result_apply(check=latest_check(integration), result=result)

    run = PostingSyncRun.objects.get(integration=integration)
    assert run.status == PostingSyncRun.Status.QUEUED
    assert run.kind == PostingSyncRun.Kind.FULL


def test_a_rejected_key_queues_no_sync(
    integration: AtsIntegration,
    lever_sandbox: SandboxServer,
    memory_broker: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from integrations.connection.services import keys
    from tests.integrations.conftest import latest_check

    AtsIntegration.objects.filter(pk=integration.pk).update(region=Region.SANDBOX)
    integration.refresh_from_db()
    set_key(integration, None, "lvr_not_a_key_the_sandbox_knows_0000")
    integration.refresh_from_db()
    result = keys.api_key_check(
        integration=integration, api_key="lvr_not_a_key_the_sandbox_knows_0000"
    )

    with django_capture_on_commit_callbacks(execute=True):
        keys.key_check_result_apply(check=latest_check(integration), result=result)

    assert not PostingSyncRun.objects.exists()


def test_manual_decisions_survive_the_next_sync(
    synced_integration: AtsIntegration, lever_sandbox: SandboxServer
) -> None:
    group = synced_integration.group
    backend = role_create(group=group, title="Senior Backend Engineer", requisition_code="ENG-101")
    other = role_create(group=group, title="Platform generalist")
    sync(synced_integration, PostingSyncRun.Kind.FULL)
    senior_id, data_id = DEMO_POSTINGS[0]["id"], DEMO_POSTINGS[3]["id"]
    assert RoleMapping.objects.get(posting__posting_id=senior_id).role == backend

    mappings.role_mapping_set(
        integration=synced_integration, posting_id=senior_id, role=None, actor=None
    )
    mappings.role_mapping_set(
        integration=synced_integration, posting_id=data_id, role=other, actor=None
    )
    lever_sandbox.update_posting(data_id, text="Data Engineer (renamed)")
    sync(synced_integration, PostingSyncRun.Kind.FULL)
    sync(synced_integration, PostingSyncRun.Kind.INCREMENTAL)

    unmapped = RoleMapping.objects.get(posting__posting_id=senior_id)
    assert (unmapped.method, unmapped.role) == (RoleMapping.Method.UNMAPPED, None)
    mapped = RoleMapping.objects.get(posting__posting_id=data_id)
    assert (mapped.method, mapped.role) == (RoleMapping.Method.ADMIN, other)


def test_the_demo_postings_mostly_match_the_demo_roles_and_the_rest_get_suggestions(
    lever_sandbox: SandboxServer,
) -> None:
    from integrations.roles import selectors
    from karatlever.demo.management.commands.seed_demo import seed_demo

    report = seed_demo(candidacies=4)
    integration = AtsIntegration.objects.get(public_id=report.integration_public_id)
    mark_valid(integration)

    sync(integration, PostingSyncRun.Kind.FULL)

    page = selectors.roles_page(integration=integration)
    assert page.postings_total == len(DEMO_POSTINGS)
    assert page.matched > len(DEMO_POSTINGS) / 2
    methods = set(
        RoleMapping.objects.filter(posting__integration=integration).values_list(
            "method", flat=True
        )
    )
    assert {RoleMapping.Method.REQUISITION_CODE, RoleMapping.Method.TITLE} <= methods
    unmatched = selectors.roles_page(integration=integration, unmatched_only=True).rows
    suggested = {r.posting.title: [s.title for s in r.suggestions] for r in unmatched}
    assert suggested["Staff Frontend Engineer"] == ["Senior Frontend Engineer"]
    assert suggested["Cloud Infrastructure Engineer"] == ["Cloud Engineer"]
    assert suggested["Data Engineer (2025 backfill)"] == ["Data Engineer"]
    # Every unmatched open posting has a suggestion.
    assert all(r.suggestions for r in unmatched if r.posting.state in {"published", "internal"})
    # Each posting counts the candidacies invited from it, never those of its role's other
    # postings (a draft nobody applied to showed its role's 4).
    counts = {r.posting.posting_id: r.candidacy_count for r in page.rows}
    applied = Counter(
        Candidacy.objects.filter(group=integration.group).values_list("ats_posting_id", flat=True)
    )
    assert sum(applied.values()) == 4
    assert counts == {posting_id: applied.get(posting_id, 0) for posting_id in counts}


def test_a_long_list_goes_on_in_a_new_task_from_its_cursor(
    synced_integration: AtsIntegration,
    lever_sandbox: SandboxServer,
    settings: Any,
    memory_broker: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    lever_sandbox.add_postings(150)
    # Half of this is the time one task reads pages: over after the first page.
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 0.001
    run = postings_sync_request(integration=synced_integration, kind="full")

    with django_capture_on_commit_callbacks() as callbacks:
        first = postings_sync_run(run_id=run.pk)

    run.refresh_from_db()
    assert (first, run.status, run.pages_done) == ("queued", "queued", 1)
    assert len(callbacks) == 1  # the next task is enqueued after commit
    assert current(synced_integration).count() == 100

    assert postings_sync_run(run_id=run.pk) == "succeeded"
    run.refresh_from_db()
    assert (run.pages_done, run.postings_seen, run.attempts) == (2, 180, 2)
    assert run.postings_removed == 0


# --- issue #19: a page that says more follows but gives no way to get it ----------------------


def test_a_full_sync_given_a_page_with_more_to_come_but_no_next_fails_and_removes_nothing(
    synced_integration: AtsIntegration, lever_sandbox: SandboxServer
) -> None:
    lever_sandbox.add_postings(250)
    assert sync(synced_integration, PostingSyncRun.Kind.FULL).postings_seen == 280
    # The second page says more follows and gives no `next`: the third page can't be read.
    lever_sandbox.set_faults(bad_page="no_next", bad_page_after=1, paths=["/v1/postings"])

    failed = sync(synced_integration, PostingSyncRun.Kind.FULL)

    assert failed.status == PostingSyncRun.Status.FAILED
    assert "Lever did not answer usefully" in failed.error
    assert failed.postings_removed == 0
    assert current(synced_integration).count() == 280  # nothing marked removed
    assert failed.pages_done == 1
    assert failed.cursor  # where the unreadable page starts: the next run asks for it again
    synced_integration.refresh_from_db()
    assert "Syncing postings" in synced_integration.last_error

    lever_sandbox.reset_faults()
    resumed = sync(synced_integration)

    assert resumed.pk == failed.pk
    assert resumed.status == PostingSyncRun.Status.SUCCEEDED
    assert (resumed.pages_done, resumed.postings_seen, resumed.postings_removed) == (3, 280, 0)
    assert current(synced_integration).count() == 280
