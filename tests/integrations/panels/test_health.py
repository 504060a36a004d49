"""The status page's "Karat interview on Lever's schedule": off unless turned on, never
"Working" before Lever accepted a panel, and the panels permission reported only when on."""

from __future__ import annotations

import pytest

from integrations.features import FEATURES_BY_KEY, INTERVIEW_PANELS, feature_health_provider
from integrations.lever.sandbox import ALL_PERMISSIONS, SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity_ids
from integrations.models import AtsIntegration, IntegrationStatus, OutboundSettings
from integrations.status.services import integration_status_compute
from karatlever.hiring.models import Milestone
from karatlever.hiring.services import candidacy_milestone_record
from tests.integrations.panels.conftest import drain_all, interview_time, linked

pytestmark = pytest.mark.django_db


def _health(integration: AtsIntegration):  # type: ignore[no-untyped-def]
    provider = feature_health_provider(INTERVIEW_PANELS)
    assert provider is not None
    return provider(integration)


def _check(health, code: str):  # type: ignore[no-untyped-def]
    return next(c for c in health.checks if c.code == code)


def test_the_feature_is_a_row_of_the_table() -> None:
    assert FEATURES_BY_KEY[INTERVIEW_PANELS].name == "Karat interview on Lever's schedule"


def test_off_by_default_and_no_permission_is_reported(lever_integration: AtsIntegration) -> None:
    health = _health(lever_integration)

    assert (health.level, health.label) == ("muted", "Off")
    assert not health.working
    assert all(c.code != "write_panels" for c in health.checks)


def test_on_it_waits_for_the_first_panel_and_never_says_working_before(
    panels_on: AtsIntegration,
) -> None:
    health = _health(panels_on)

    assert health.level == "info"
    assert health.label != "Working"
    assert _check(health, "write_panels").level == "info"


def test_after_lever_accepted_a_panel_it_is_working(
    panels_on: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy_milestone_record(
        candidacy=linked(panels_on), milestone=Milestone.SCHEDULED, scheduled_at=interview_time()
    )
    drain_all(panels_on)

    health = _health(panels_on)

    assert (health.level, health.label) == ("ok", "Working")
    assert _check(health, "write_panels").level == "ok"


def test_a_missing_panels_permission_is_not_working_and_says_what_to_do(
    panels_on: AtsIntegration, lever: SandboxServer
) -> None:
    panels_on.api_key = lever.create_api_key(
        sorted(p for p in ALL_PERMISSIONS if not p.startswith("panels:"))
    )
    panels_on.save(update_fields=["api_key"])
    candidacy_milestone_record(
        candidacy=linked(panels_on), milestone=Milestone.SCHEDULED, scheduled_at=interview_time()
    )
    drain_all(panels_on)

    health = _health(panels_on)

    assert (health.level, health.label) == ("bad", "Not working")
    check = _check(health, "write_panels")
    assert check.level == "bad"
    assert "panels permission" in check.message
    assert check.fix_url


def test_the_lever_user_panels_are_written_as_is_named_as_on_the_other_rows(
    panels_on: AtsIntegration,
) -> None:
    OutboundSettings.objects.filter(integration=panels_on).update(
        perform_as=OutboundSettings.PerformAs.LEVER_USER,
        perform_as_user_id="lever-user-7",
        perform_as_name="Rae Recruiter",
        perform_as_email="recruiter@acme.test",
    )

    check = _check(_health(panels_on), "perform_as")

    assert check.level == "ok"
    assert check.message == "Written as Rae Recruiter (recruiter@acme.test): Lever requires a user."


def test_no_lever_user_or_updates_turned_off_is_not_working(panels_on: AtsIntegration) -> None:
    panels_on.ats_user_id = ""
    panels_on.save(update_fields=["ats_user_id"])
    assert _check(_health(panels_on), "perform_as").level == "bad"

    OutboundSettings.objects.filter(integration=panels_on).update(enabled=False)
    health = _health(panels_on)
    assert health.level == "bad"
    assert _check(health, "outbox").level == "bad"


def test_the_first_panel_that_reaches_lever_asks_for_a_status_recompute(
    panels_on: AtsIntegration, lever: SandboxServer
) -> None:
    # given: updates already reach Lever, and the status page waits for a first panel
    first, second = demo_opportunity_ids(2)
    candidacy_milestone_record(candidacy=linked(panels_on, first), milestone=Milestone.CANCELLED)
    drain_all(panels_on)
    integration_status_compute(integration_id=panels_on.pk)
    snapshot = IntegrationStatus.objects.get(integration=panels_on)
    assert next(f for f in snapshot.features if f["key"] == INTERVIEW_PANELS)["level"] == "info"
    IntegrationStatus.objects.filter(pk=snapshot.pk).update(requested_at=None, request_reason="")

    # when
    candidacy_milestone_record(
        candidacy=linked(panels_on, second),
        milestone=Milestone.SCHEDULED,
        scheduled_at=interview_time(),
    )
    drain_all(panels_on)

    # then
    snapshot.refresh_from_db()
    assert snapshot.requested_at is not None
    assert snapshot.request_reason == "The first interview panel reached Lever"
