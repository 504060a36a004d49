"""Results as a Lever feedback form (opt-in): the template is created once, each result is
posted as the perform_as user, a redo updates the same form, a cancellation removes it; all
through the outbox, against the Lever sandbox, including its failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from integrations import ats, tasks
from integrations.connection.services.keys import api_key_check
from integrations.features import FeatureCheck, FeatureHealth
from integrations.feedback import services
from integrations.feedback.health import feedback_forms_health
from integrations.lever.sandbox import ALL_PERMISSIONS, DEMO_API_KEY, SandboxServer
from integrations.lever.sandbox import feedback as sandbox_feedback
from integrations.lever.sandbox.demo import demo_opportunity_ids
from integrations.models import (
    AtsIntegration,
    AuditEntry,
    FeedbackSettings,
    OpportunityLink,
    OutboundSettings,
    OutboundUpdate,
)
from integrations.outbound.services import drain as drain_service
from karatlever.accounts.models import User
from karatlever.hiring.models import Candidacy, Milestone
from karatlever.hiring.services import candidacy_milestone_record
from tests.brokers import broker
from tests.factories import CandidacyFactory, RoleFactory
from tests.integrations.conftest import set_key

pytestmark = pytest.mark.django_db

Status = OutboundUpdate.Status
Kind = OutboundUpdate.Kind
REPORT = "https://karat.example/reports/r-1"
NO_FEEDBACK_WRITE = sorted(
    p for p in ALL_PERMISSIONS if p not in ("feedback:write:admin", "feedback:read:admin")
)
NO_TEMPLATES = sorted(p for p in ALL_PERMISSIONS if not p.startswith("feedback_templates:"))


@pytest.fixture(autouse=True)
def _memory_broker() -> Iterator[None]:
    with broker("memory://"):
        yield


@pytest.fixture
def lever() -> Iterator[SandboxServer]:
    with SandboxServer(port=0, rate_per_second=None) as server:
        yield server


@pytest.fixture
def lever_user(lever: SandboxServer) -> str:
    return str(next(u["id"] for u in lever.sandbox.users() if u["deactivatedAt"] is None))


@pytest.fixture
def lever_integration(
    integration: AtsIntegration, lever: SandboxServer, lever_user: str, settings: Any
) -> AtsIntegration:
    settings.LEVER_API_BASE_URL = lever.api_url
    settings.REDIS_URL = ""
    integration.api_key, integration.api_key_last4 = DEMO_API_KEY, DEMO_API_KEY[-4:]
    integration.ats_user_id = lever_user
    integration.save(update_fields=["api_key", "api_key_last4", "ats_user_id"])
    return integration


@pytest.fixture
def feedback_on(lever_integration: AtsIntegration) -> AtsIntegration:
    services.feedback_settings_save(integration=lever_integration, actor=None, enabled=True)
    return lever_integration


def linked(integration: AtsIntegration, opportunity_id: str | None = None) -> Candidacy:
    candidacy = CandidacyFactory(role=RoleFactory(group=integration.group))
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id=opportunity_id or demo_opportunity_ids(1)[0],
    )
    return candidacy


def to_results(candidacy: Candidacy, recommendation: str = "strong_yes", summary: str = "") -> None:
    at = (timezone.now() - timedelta(minutes=1)).replace(second=0, microsecond=0)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.SCHEDULED, scheduled_at=at)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.COMPLETED)
    candidacy_milestone_record(
        candidacy=candidacy,
        milestone=Milestone.RESULTS_READY,
        recommendation=recommendation,
        summary=summary or "Solid fundamentals.",
        report_url=REPORT,
    )


def drain_all(integration: AtsIntegration, rounds: int = 10) -> None:
    for _ in range(rounds):
        OutboundUpdate.objects.filter(status=Status.PENDING).update(next_attempt_at=timezone.now())
        drain_service.outbound_drain(integration_id=integration.pk, budget_seconds=30)
        if not OutboundUpdate.objects.filter(status__in=OutboundUpdate.UNSENT).exists():
            return
    raise AssertionError("updates left unsent")


def forms(lever: SandboxServer, opportunity_id: str) -> list[dict[str, Any]]:
    return sandbox_feedback.forms(lever.sandbox, opportunity_id)


def values(form: dict[str, Any]) -> dict[str, Any]:
    return {f["text"]: f["value"] for f in form["fields"]}


def test_off_by_default_nothing_is_posted_as_feedback(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(lever_integration)
    to_results(candidacy)

    drain_all(lever_integration)

    assert not OutboundUpdate.objects.filter(kind__in=(Kind.FEEDBACK, Kind.FEEDBACK_REMOVE))
    assert sandbox_feedback.templates(lever.sandbox) == []
    assert forms(lever, demo_opportunity_ids(1)[0]) == []
    assert feedback_forms_health(lever_integration).level == "muted"


def test_results_create_the_template_once_and_post_a_form_as_the_perform_as_user(
    feedback_on: AtsIntegration, lever: SandboxServer, lever_user: str
) -> None:
    first_id, second_id = demo_opportunity_ids(2)
    first, second = linked(feedback_on, first_id), linked(feedback_on, second_id)
    to_results(first, "strong_yes")
    to_results(second, "no")

    drain_all(feedback_on)

    templates = sandbox_feedback.templates(lever.sandbox)
    assert len(templates) == 1
    assert templates[0]["text"] == services.TEMPLATE_NAME
    [form] = forms(lever, first_id)
    assert form["user"] == lever_user
    assert form["baseTemplateId"] == templates[0]["id"]
    assert values(form)["Karat recommendation"] == "4 - Strong Hire"
    assert values(form)["Summary"].startswith("Solid fundamentals.")
    assert values(form)["Karat report"] == REPORT
    assert values(forms(lever, second_id)[0])["Karat recommendation"] == "2 - No Hire"
    row = OutboundUpdate.objects.get(candidacy=first, kind=Kind.FEEDBACK)
    assert (row.status, row.remote_id) == (Status.SENT, form["id"])
    stored = FeedbackSettings.objects.get(integration=feedback_on)
    assert stored.template_id == templates[0]["id"]
    health = feedback_forms_health(feedback_on)
    assert (health.level, health.label) == ("ok", "Working")


def test_a_redo_updates_the_same_form_and_a_cancellation_removes_it(
    feedback_on: AtsIntegration, lever: SandboxServer
) -> None:
    opportunity_id = demo_opportunity_ids(1)[0]
    candidacy = linked(feedback_on, opportunity_id)
    to_results(candidacy, "no", summary="First try.")
    drain_all(feedback_on)
    [first] = forms(lever, opportunity_id)

    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.REDO)
    to_results(candidacy, "yes", summary="Second try.")
    drain_all(feedback_on)

    [updated] = forms(lever, opportunity_id)
    assert updated["id"] == first["id"]
    assert values(updated)["Karat recommendation"] == "3 - Hire"
    assert values(updated)["Summary"].startswith("Second try.")

    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.REDO)
    candidacy_milestone_record(candidacy=candidacy, milestone=Milestone.CANCELLED)
    drain_all(feedback_on)

    assert forms(lever, opportunity_id) == []
    removal = OutboundUpdate.objects.get(kind=Kind.FEEDBACK_REMOVE)
    assert removal.status == Status.SENT
    assert len(sandbox_feedback.templates(lever.sandbox)) == 1


def test_a_key_without_the_feedback_permission_fails_only_the_form_and_the_status_says_so(
    feedback_on: AtsIntegration, lever: SandboxServer
) -> None:
    feedback_on.api_key = lever.create_api_key(NO_FEEDBACK_WRITE)
    feedback_on.save(update_fields=["api_key"])
    candidacy = linked(feedback_on)
    to_results(candidacy)

    drain_all(feedback_on)

    row = OutboundUpdate.objects.get(kind=Kind.FEEDBACK)
    assert (row.status, row.last_status_code) == (Status.DEAD, 403)
    assert "permission" in row.last_error
    assert forms(lever, demo_opportunity_ids(1)[0]) == []
    # The notes, tags and link of the same results went out; the queue is not paused.
    assert set(
        OutboundUpdate.objects.exclude(kind=Kind.FEEDBACK).values_list("status", flat=True)
    ) == {Status.SENT}
    assert OutboundSettings.objects.get(integration=feedback_on).paused_at is None
    health = feedback_forms_health(feedback_on)
    assert health.level == "bad"
    assert any(c.code == "write_feedback" and c.level == "bad" for c in health.checks)


def test_a_refused_key_pauses_the_queue_with_the_forms_waiting(
    feedback_on: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(feedback_on)
    to_results(candidacy)
    OutboundUpdate.objects.exclude(kind=Kind.FEEDBACK).update(status=Status.CANCELLED)
    feedback_on.api_key = "revoked-key-0000"
    feedback_on.save(update_fields=["api_key"])

    drain_service.outbound_drain(integration_id=feedback_on.pk, budget_seconds=30)

    row = OutboundUpdate.objects.get(kind=Kind.FEEDBACK)
    assert (row.status, row.last_status_code) == (Status.PENDING, 401)
    assert OutboundSettings.objects.get(integration=feedback_on).paused_at is not None


def test_the_opportunity_deleted_in_between_ends_its_form_and_the_others_go_on(
    feedback_on: AtsIntegration, lever: SandboxServer
) -> None:
    gone_id, ok_id = demo_opportunity_ids(2)
    gone, ok = linked(feedback_on, gone_id), linked(feedback_on, ok_id)
    to_results(gone)
    to_results(ok)
    # The notes and tags of the deleted one are sent first; then it is deleted in Lever.
    OutboundUpdate.objects.filter(kind=Kind.FEEDBACK, candidacy=gone).update(
        next_attempt_at=timezone.now() + timedelta(days=1)
    )
    drain_service.outbound_drain(integration_id=feedback_on.pk, budget_seconds=30)
    lever.sandbox.delete_opportunity(gone_id)

    drain_all(feedback_on)

    row = OutboundUpdate.objects.get(kind=Kind.FEEDBACK, candidacy=gone)
    assert (row.status, row.last_status_code) == (Status.CANCELLED, 404)
    assert "deleted" in row.last_error
    assert len(forms(lever, ok_id)) == 1
    assert OutboundSettings.objects.get(integration=feedback_on).paused_at is None


def test_lever_down_retries_and_the_form_arrives_once(
    feedback_on: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = linked(feedback_on)
    to_results(candidacy)
    lever.set_faults(error_rates={"503": 1.0}, paths=["/v1/opportunities"], methods=["POST"])

    drain_service.outbound_drain(integration_id=feedback_on.pk, budget_seconds=30)

    assert not OutboundUpdate.objects.filter(status=Status.SENT)
    assert feedback_forms_health(feedback_on).level != "ok"  # never "Working" while down
    lever.reset_faults()
    drain_all(feedback_on)

    assert len(forms(lever, demo_opportunity_ids(1)[0])) == 1
    assert OutboundUpdate.objects.get(kind=Kind.FEEDBACK).status == Status.SENT


def test_a_lost_answer_is_looked_for_and_the_form_is_not_posted_twice(
    feedback_on: AtsIntegration, lever: SandboxServer, settings: Any
) -> None:
    settings.OUTBOUND_UNKNOWN_OUTCOME_WAIT_SECONDS = 0
    candidacy = linked(feedback_on)
    to_results(candidacy)
    # Notes, tags and links first, then the form's answer is lost after Lever applied it.
    OutboundUpdate.objects.filter(kind=Kind.FEEDBACK).update(
        next_attempt_at=timezone.now() + timedelta(days=1)
    )
    drain_service.outbound_drain(integration_id=feedback_on.pk, budget_seconds=30)
    lever.set_faults(drop_after_apply=1, paths=["/v1/opportunities"], methods=["POST"])

    drain_all(feedback_on)

    [form] = forms(lever, demo_opportunity_ids(1)[0])
    row = OutboundUpdate.objects.get(kind=Kind.FEEDBACK)
    assert (row.status, row.remote_id) == (Status.SENT, form["id"])


def test_a_template_deleted_in_lever_is_created_again(
    feedback_on: AtsIntegration, lever: SandboxServer
) -> None:
    first_id, second_id = demo_opportunity_ids(2)
    to_results(linked(feedback_on, first_id))
    drain_all(feedback_on)
    [old] = sandbox_feedback.templates(lever.sandbox)
    sandbox_feedback.template_delete(lever.sandbox, old["id"], through_api=False)

    to_results(linked(feedback_on, second_id))
    drain_all(feedback_on)

    [new] = sandbox_feedback.templates(lever.sandbox)
    assert new["id"] != old["id"]
    assert forms(lever, second_id)[0]["baseTemplateId"] == new["id"]
    assert FeedbackSettings.objects.get(integration=feedback_on).template_id == new["id"]


def test_turning_it_on_needs_a_user_to_post_as_and_changes_nothing_without(
    lever_integration: AtsIntegration,
) -> None:
    lever_integration.ats_user_id = ""
    lever_integration.save(update_fields=["ats_user_id"])

    with pytest.raises(services.FeedbackError, match="as a user"):
        services.feedback_settings_save(integration=lever_integration, actor=None, enabled=True)

    assert not FeedbackSettings.objects.filter(integration=lever_integration, enabled=True)
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.FEEDBACK_SETTINGS_CHANGED)


def test_the_key_check_lists_the_feedback_permissions_only_when_it_is_on(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    key = lever.create_api_key(NO_TEMPLATES)

    off = api_key_check(integration=lever_integration, api_key=key)
    services.feedback_settings_save(integration=lever_integration, actor=None, enabled=True)
    on = api_key_check(integration=lever_integration, api_key=key)

    assert not any("feedback" in c.code for c in off.checks)
    lines = {c.code: c for c in on.checks}
    assert lines["read_feedback_templates"].ok is False
    assert lines["write_feedback"].ok is None
    assert on.status == ats.KeyCheckStatus.INVALID
    assert "Read feedback templates" in on.summary()


def test_the_health_waits_for_the_first_form_and_is_bad_without_a_user(
    feedback_on: AtsIntegration,
) -> None:
    waiting = feedback_forms_health(feedback_on)
    OutboundSettings.objects.update_or_create(
        integration=feedback_on, defaults={"perform_as": OutboundSettings.PerformAs.NONE}
    )
    no_user = feedback_forms_health(feedback_on)

    assert (waiting.level, waiting.label) == ("info", "Waiting")
    assert no_user.level == "bad"
    assert any(c.code == "perform_as" and c.level == "bad" for c in no_user.checks)


def _check(health: FeatureHealth, code: str) -> FeatureCheck:
    return next(c for c in health.checks if c.code == code)


def test_reading_the_templates_is_reported_from_the_key_check_while_it_is_on(
    feedback_on: AtsIntegration, admin_user: User
) -> None:
    set_key(feedback_on, admin_user, DEMO_API_KEY)
    tasks.api_key_validate(feedback_on.pk)
    feedback_on.refresh_from_db()

    read = _check(feedback_forms_health(feedback_on), "read_feedback_templates")

    assert (read.name, read.level) == ("Permission to read feedback templates", "ok")
    assert "key check read" in read.message


def test_a_found_or_created_template_shows_the_templates_were_read(
    feedback_on: AtsIntegration,
) -> None:
    # given: no key check while the option is on, so none lists the feedback permissions
    before = feedback_forms_health(feedback_on)
    first_id = demo_opportunity_ids(1)[0]
    to_results(linked(feedback_on, first_id), "yes")

    drain_all(feedback_on)

    after = feedback_forms_health(feedback_on)
    assert _check(before, "read_feedback_templates").level == "info"
    assert "first writes" not in _check(before, "read_feedback_templates").message
    read = _check(after, "read_feedback_templates")
    assert (read.level, read.message) == (
        "ok",
        "Granted: Karat read Lever's feedback templates to find or create its own.",
    )
    assert [c.name for c in after.checks if c.code.endswith(("_templates", "_feedback"))] == [
        "Permission to read feedback templates",
        "Permission to create feedback templates",
        "Permission to write feedback forms",
    ]


def test_the_score_option_follows_lever_numbers_or_position() -> None:
    lever_options = ("4 - Strong Hire", "3 - Hire", "2 - No Hire", "1 - Strong No Hire")
    plain = ("Great", "Good", "Weak", "Poor")

    assert services.score_option(recommendation="yes", options=lever_options) == "3 - Hire"
    assert services.score_option(recommendation="strong_no", options=plain) == "Poor"
    with pytest.raises(services.FeedbackError):
        services.score_option(recommendation="", options=lever_options)
    with pytest.raises(services.FeedbackError):
        services.score_option(recommendation="yes", options=("Only one",))


def test_the_health_names_whom_forms_are_posted_as_by_name_and_email_not_an_id(
    feedback_on: AtsIntegration,
) -> None:
    by_integration = feedback_forms_health(feedback_on)
    OutboundSettings.objects.update_or_create(
        integration=feedback_on,
        defaults={
            "perform_as": OutboundSettings.PerformAs.LEVER_USER,
            "perform_as_user_id": "0f3c9b6e-user",
            "perform_as_email": "rachel@acme.test",
            "perform_as_name": "Rachel Recruiter",
        },
    )
    by_email = feedback_forms_health(feedback_on)

    def said(health: Any) -> str:
        return next(c.message for c in health.checks if c.code == "perform_as")

    assert said(by_integration).startswith("Posted as the integration's User ID (")
    assert said(by_email) == "Posted as Rachel Recruiter (rachel@acme.test)."
