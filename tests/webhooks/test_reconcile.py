"""The reconciliation poll heals missed webhooks and notices when webhooks stop arriving."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.management import CommandError, call_command

from integrations.lever.adapter import WebhookEvent
from integrations.lever.sandbox import SandboxServer
from integrations.lever.sandbox.demo import demo_opportunity_ids
from integrations.models import AtsIntegration, OpportunityLink
from karatlever.hiring.models import Candidacy, CandidacyEvent
from tests.factories import CandidacyFactory, IntegrationFactory, RoleFactory
from webhooks import selectors
from webhooks.services import intake, reconcile

from .conftest import make_delivery

pytestmark = pytest.mark.django_db

OPPORTUNITY_IDS = demo_opportunity_ids(3)


def _link(
    integration: AtsIntegration, lever: SandboxServer, opportunity_id: str, contact: bool = True
) -> Candidacy:
    candidacy = CandidacyFactory(role=RoleFactory(group=integration.group))
    OpportunityLink.objects.create(
        integration=integration,
        candidacy=candidacy,
        opportunity_id=opportunity_id,
        contact_id=lever.opportunity(opportunity_id)["contact"] if contact else "",
    )
    return candidacy


def _poll(integration: AtsIntegration) -> reconcile.ReconcileResult:
    result = reconcile.integration_reconcile(integration_id=integration.pk)
    assert result is not None
    return result


def test_poll_applies_a_change_no_webhook_announced(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = _link(sandbox_integration, lever, OPPORTUNITY_IDS[0])
    other = _link(sandbox_integration, lever, OPPORTUNITY_IDS[1])
    _poll(sandbox_integration)  # first poll: catches up with Lever's current state
    lever.move_stage(OPPORTUNITY_IDS[0], "offer")

    result = _poll(sandbox_integration)

    candidacy.refresh_from_db()
    sandbox_integration.refresh_from_db()
    assert (candidacy.ats_stage_id, candidacy.ats_stage_name) == ("offer", "Offer")
    assert result.changed == 1
    assert result.unannounced == 1
    assert result.missed == {WebhookEvent.CANDIDATE_STAGE_CHANGE: 1}
    assert sandbox_integration.reconciled_at is not None
    assert sandbox_integration.reconcile_cursor_ms is not None
    event = candidacy.events.filter(kind=CandidacyEvent.Kind.ATS_STAGE_CHANGED).latest("id")
    assert event.detail["origin"] == {"via": "reconcile"}
    assert other.events.filter(kind=CandidacyEvent.Kind.ATS_STAGE_CHANGED).count() <= 1


def test_poll_without_changes_changes_nothing(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = _link(sandbox_integration, lever, OPPORTUNITY_IDS[0])
    _poll(sandbox_integration)
    events = candidacy.events.count()

    result = _poll(sandbox_integration)

    assert result.changed == 0
    assert candidacy.events.count() == events


def test_change_announced_by_a_stored_delivery_does_not_count_as_unannounced(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    _link(sandbox_integration, lever, OPPORTUNITY_IDS[0])
    _poll(sandbox_integration)
    lever.move_stage(OPPORTUNITY_IDS[0], "offer")
    intake.delivery_record(
        integration_public_id=sandbox_integration.public_id,
        body=make_delivery(opportunity_id=OPPORTUNITY_IDS[0]),
    )  # stored, not processed yet

    result = _poll(sandbox_integration)

    assert (result.changed, result.unannounced) == (1, 0)
    assert selectors.webhooks_not_arriving(integration=sandbox_integration) == []


def test_unannounced_changes_mark_their_webhook_as_not_arriving_until_a_delivery_of_it(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    _link(sandbox_integration, lever, OPPORTUNITY_IDS[0])
    _poll(sandbox_integration)

    for stage in ("applicant-new", "offer"):
        lever.move_stage(OPPORTUNITY_IDS[0], stage)
        _poll(sandbox_integration)

    # Flagged from the first miss; each further miss counts.
    (row,) = selectors.webhooks_not_arriving(integration=sandbox_integration)
    assert (row.event, row.missed_count) == (WebhookEvent.CANDIDATE_STAGE_CHANGE, 2)

    # A webhook announces the next change: the mark goes, and the poll finds it announced.
    lever.move_stage(OPPORTUNITY_IDS[0], "lead-new")
    intake.delivery_record(
        integration_public_id=sandbox_integration.public_id,
        body=make_delivery(opportunity_id=OPPORTUNITY_IDS[0]),
    )
    assert selectors.webhooks_not_arriving(integration=sandbox_integration) == []
    assert _poll(sandbox_integration).unannounced == 0
    assert selectors.webhooks_not_arriving(integration=sandbox_integration) == []


def _fresh(integration: AtsIntegration) -> AtsIntegration:
    return AtsIntegration.objects.get(pk=integration.pk)


def test_link_without_contact_id_is_found_through_the_unfiltered_list(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = _link(sandbox_integration, lever, OPPORTUNITY_IDS[2], contact=False)
    _poll(sandbox_integration)
    lever.hire(OPPORTUNITY_IDS[2])

    _poll(sandbox_integration)

    candidacy.refresh_from_db()
    assert candidacy.ats_hired is True


def test_lever_error_keeps_the_cursor_and_records_the_error(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    _link(sandbox_integration, lever, OPPORTUNITY_IDS[0])
    _poll(sandbox_integration)
    cursor = _fresh(sandbox_integration).reconcile_cursor_ms
    lever.set_faults(fail_next=[401])

    assert reconcile.integration_reconcile(integration_id=sandbox_integration.pk) is None

    integration = _fresh(sandbox_integration)
    assert integration.reconcile_cursor_ms == cursor
    assert "API key" in integration.last_error


def test_only_enabled_integrations_with_a_key_and_links_are_polled(
    sandbox_integration: AtsIntegration, lever: SandboxServer, second_group: Any
) -> None:
    _link(sandbox_integration, lever, OPPORTUNITY_IDS[0])
    _link(sandbox_integration, lever, OPPORTUNITY_IDS[1])
    IntegrationFactory(group=second_group)  # no key, no links

    assert reconcile.reconcile_due_integration_ids() == [sandbox_integration.pk]

    AtsIntegration.objects.filter(pk=sandbox_integration.pk).update(enabled=False)
    assert reconcile.reconcile_due_integration_ids() == []
    assert reconcile.integration_reconcile(integration_id=sandbox_integration.pk) is None


@responses.activate
def test_the_poll_is_one_list_of_the_account_never_filtered_by_contact(
    webhook_integration: AtsIntegration, settings: Any
) -> None:
    settings.LEVER_API_BASE_URL = "https://lever.test/v1"
    webhook_integration.api_key = "k" * 40
    webhook_integration.api_key_last4 = "kkkk"
    webhook_integration.save(update_fields=["api_key", "api_key_last4"])
    for opportunity_id, contact_id in (("opp-1", "contact-a"), ("opp-2", "contact-b")):
        OpportunityLink.objects.create(
            integration=webhook_integration,
            candidacy=CandidacyFactory(role=RoleFactory(group=webhook_integration.group)),
            opportunity_id=opportunity_id,
            contact_id=contact_id,
        )
    responses.get(
        "https://lever.test/v1/opportunities", json={"data": [], "hasNext": False}, status=200
    )

    result = reconcile.integration_reconcile(integration_id=webhook_integration.pk)

    assert result is not None
    assert len(responses.calls) == 1
    url = responses.calls[0].request.url
    assert url is not None
    query = parse_qs(urlsplit(url).query)
    assert "contact_id" not in query
    assert query["confidentiality"] == ["all"]
    assert query["updated_at_start"]


# --- issue #9: confidential records and merged profiles -------------------------------------


def test_a_confidential_opportunity_changed_without_a_webhook_is_healed(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = _link(sandbox_integration, lever, OPPORTUNITY_IDS[0])
    _poll(sandbox_integration)
    lever.set_confidential(OPPORTUNITY_IDS[0])
    lever.move_stage(OPPORTUNITY_IDS[0], "offer")  # no webhook registered: nothing announces it
    assert lever.opportunity(OPPORTUNITY_IDS[0])["confidentiality"] == "confidential"

    result = _poll(sandbox_integration)

    candidacy.refresh_from_db()
    assert (candidacy.ats_stage_id, candidacy.ats_stage_name) == ("offer", "Offer")
    assert (result.changed, result.unannounced) == (1, 1)


def test_an_opportunity_moved_to_another_contact_by_a_profile_merge_is_healed_and_followed(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = _link(sandbox_integration, lever, OPPORTUNITY_IDS[0])
    _link(sandbox_integration, lever, OPPORTUNITY_IDS[1])  # another contact stays linked
    contact_a = lever.opportunity(OPPORTUNITY_IDS[0])["contact"]
    _poll(sandbox_integration)
    contact_b = lever.merge_contact(OPPORTUNITY_IDS[0])  # A merged into a new profile B
    lever.move_stage(OPPORTUNITY_IDS[0], "offer")  # no webhook
    assert lever.opportunity(OPPORTUNITY_IDS[0])["contact"] == contact_b != contact_a

    _poll(sandbox_integration)

    candidacy.refresh_from_db()
    link = OpportunityLink.objects.get(opportunity_id=OPPORTUNITY_IDS[0])
    assert (candidacy.ats_stage_id, candidacy.ats_stage_name) == ("offer", "Offer")
    assert link.contact_id == contact_b


# --- issue #19: a page that says more follows but gives no way to get it ----------------------


def test_a_page_with_more_to_come_but_no_next_keeps_the_cursor_and_the_next_poll_repairs(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    # Lever lists opportunities oldest first: the linked one, created last, changes together
    # with 100 older ones, so its change is on the second page.
    by_age = sorted(lever.sandbox.opportunities(), key=lambda o: (o["createdAt"], o["id"]))
    newest = next(o["id"] for o in reversed(by_age) if o["archived"] is None)
    candidacy = _link(sandbox_integration, lever, newest)
    _poll(sandbox_integration)
    cursor = _fresh(sandbox_integration).reconcile_cursor_ms
    for opportunity in by_age[:100]:
        stage = "offer" if opportunity["stage"] != "offer" else "applicant-new"
        lever.move_stage(opportunity["id"], stage)
    lever.move_stage(newest, "offer")
    lever.set_faults(bad_page="no_next", paths=["/v1/opportunities"])

    assert reconcile.integration_reconcile(integration_id=sandbox_integration.pk) is None

    integration = _fresh(sandbox_integration)
    assert integration.reconcile_cursor_ms == cursor
    assert "Lever did not answer usefully" in integration.last_error
    candidacy.refresh_from_db()
    assert candidacy.ats_stage_id != "offer"

    lever.reset_faults()
    _poll(sandbox_integration)

    candidacy.refresh_from_db()
    assert (candidacy.ats_stage_id, candidacy.ats_stage_name) == ("offer", "Offer")
    moved = _fresh(sandbox_integration).reconcile_cursor_ms
    assert moved is not None
    assert cursor is not None
    assert moved > cursor


# --- manage.py reconcile: the poll by hand ------------------------------------------------------


def _command(*args: str) -> str:
    out = io.StringIO()
    call_command("reconcile", *args, stdout=out)
    return out.getvalue()


def test_the_command_polls_the_named_integration_now_and_says_what_it_applied(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    candidacy = _link(sandbox_integration, lever, OPPORTUNITY_IDS[0])
    _poll(sandbox_integration)
    lever.move_stage(OPPORTUNITY_IDS[0], "offer")

    out = _command(str(sandbox_integration.public_id))

    candidacy.refresh_from_db()
    assert candidacy.ats_stage_id == "offer"
    assert f"({sandbox_integration.public_id}): 1 linked opportunity read as changed" in out
    assert "1 candidacy updated" in out
    assert "changes no webhook announced: Candidate Stage Change 1" in out


def test_the_command_with_all_polls_what_the_schedule_would(
    sandbox_integration: AtsIntegration, lever: SandboxServer, second_group: Any
) -> None:
    _link(sandbox_integration, lever, OPPORTUNITY_IDS[0])
    idle = IntegrationFactory(group=second_group)  # no key, no links: not due

    out = _command("--all")

    assert str(sandbox_integration.public_id) in out
    assert str(idle.public_id) not in out
    assert _fresh(sandbox_integration).reconciled_at is not None


def test_the_command_says_when_lever_could_not_be_read_and_keeps_the_cursor(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    _link(sandbox_integration, lever, OPPORTUNITY_IDS[0])
    _poll(sandbox_integration)
    cursor = _fresh(sandbox_integration).reconcile_cursor_ms
    lever.set_faults(fail_next=[401])

    out = io.StringIO()
    with pytest.raises(CommandError, match="1 integration could not be polled"):
        call_command("reconcile", str(sandbox_integration.public_id), stdout=out)

    assert "failed: " in out.getvalue()
    assert "API key" in out.getvalue()  # the reason, as the status page gives it
    assert _fresh(sandbox_integration).reconcile_cursor_ms == cursor


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((), "Name one or more integration ids"),
        (("--all", "x"), "either integration ids or --all, not both"),
        (("not-a-uuid\n",), "is not an integration id"),
        (("00000000-0000-0000-0000-000000000000",), "No integration with the id 0"),
        (
            ("00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000001"),
            "No integration with the ids 0",
        ),
    ],
)
def test_the_command_refuses_bad_arguments_and_polls_nothing(
    sandbox_integration: AtsIntegration, lever: SandboxServer, args: tuple[str, ...], error: str
) -> None:
    _link(sandbox_integration, lever, OPPORTUNITY_IDS[0])

    with pytest.raises(CommandError, match=error):
        _command(*args)

    assert _fresh(sandbox_integration).reconciled_at is None


def test_the_command_skips_a_disabled_integration(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    _link(sandbox_integration, lever, OPPORTUNITY_IDS[0])
    AtsIntegration.objects.filter(pk=sandbox_integration.pk).update(enabled=False)

    out = _command(str(sandbox_integration.public_id))

    assert "skipped: the integration is disabled" in out
    assert _fresh(sandbox_integration).reconciled_at is None


def test_the_command_with_all_and_nothing_due_says_so(db: None) -> None:
    assert "Nothing to poll" in _command("--all")


def test_the_command_polls_an_integration_named_twice_once(
    sandbox_integration: AtsIntegration, lever: SandboxServer
) -> None:
    _link(sandbox_integration, lever, OPPORTUNITY_IDS[0])

    out = _command(str(sandbox_integration.public_id), str(sandbox_integration.public_id).upper())

    assert out.count(str(sandbox_integration.public_id)) == 1
