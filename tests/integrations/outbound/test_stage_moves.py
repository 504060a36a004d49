"""Stage moves on the Settings page pick a Lever stage from Lever's own list (issue 20, item 7),
read from the Lever sandbox through the adapter's cache; when Lever can't be asked, the stage
already chosen stays selectable and the form says why."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from integrations.lever.sandbox import SandboxServer, demo_data
from integrations.models import AtsIntegration, OutboundSettings
from integrations.outbound.forms import OutboundSettingsForm, stage_field
from integrations.outbound.services import actions, notes
from karatlever.hiring.models import Recommendation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_cache_and_broker")]

OFFER = ("offer", "Offer")


def _valid(integration: AtsIntegration) -> AtsIntegration:
    integration.key_status = AtsIntegration.KeyStatus.VALID
    integration.save(update_fields=["key_status"])
    return integration


def _stage_choices(integration: AtsIntegration) -> list[tuple[Any, Any]]:
    field = OutboundSettingsForm(integration=integration).fields[stage_field("strong_yes")]
    return list(field.choices)  # type: ignore[attr-defined]


def _post(client: Client, integration: AtsIntegration, **stages: str) -> Any:
    data = {"outbound-perform_as": "integration_user", "outbound-stage_moves_enabled": "on"}
    data |= {f"outbound-stage_{r}": s for r, s in stages.items()}
    return client.post(
        reverse("outbound:settings-save", kwargs={"public_id": integration.public_id}), data
    )


def _rule(integration: AtsIntegration, stage_id: str, stage_name: str) -> None:
    current = notes.outbound_settings_get(integration=integration)
    OutboundSettings.objects.filter(pk=current.pk).update(
        stage_rules={"strong_yes": {"stage_id": stage_id, "stage_name": stage_name}}
    )


def test_each_recommendation_picks_from_levers_stages_in_levers_order(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    integration = _valid(lever_integration)

    choices = _stage_choices(integration)

    stages = [(s["id"], s["text"]) for s in demo_data().stages]
    assert choices == [("", "No move"), *stages]
    assert OFFER in choices
    form = OutboundSettingsForm(integration=integration)
    assert form.stages_unavailable == ""
    assert {stage_field(r) for r in Recommendation.values} <= set(form.fields)


def test_the_stage_list_is_read_from_lever_once_then_from_the_cache(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    integration = _valid(lever_integration)
    lever.app.reset_request_stats()

    actions.stage_options(integration=integration)
    actions.stage_options(integration=integration)
    OutboundSettingsForm(integration=integration)

    asked = [e for e in lever.app.api_log() if e["path"] == "/v1/stages"]
    assert len(asked) == 1


def test_a_picked_stage_is_saved_with_levers_name(
    admin_client: Client, lever_integration: AtsIntegration
) -> None:
    integration = _valid(lever_integration)

    response = _post(admin_client, integration, strong_yes="offer")

    assert response.status_code == 302
    saved = OutboundSettings.objects.get(integration=integration)
    assert saved.stage_rules == {"strong_yes": {"stage_id": "offer", "stage_name": "Offer"}}


def test_a_stage_lever_does_not_have_is_refused_and_nothing_changes(
    admin_client: Client, lever_integration: AtsIntegration
) -> None:
    integration = _valid(lever_integration)

    response = _post(admin_client, integration, strong_yes="no-such-stage")

    assert response.status_code == 400
    assert "Pick one of Lever&#x27;s stages from the list." in response.content.decode()
    assert OutboundSettings.objects.get(integration=integration).stage_rules == {}


def test_without_a_key_the_chosen_stage_stays_selectable_and_the_form_says_why(
    admin_client: Client, integration: AtsIntegration
) -> None:
    _rule(integration, "offer", "Offer")

    choices = _stage_choices(integration)
    page = admin_client.get(
        reverse("integrations:settings", kwargs={"public_id": integration.public_id})
    ).content.decode()
    unchanged = _post(admin_client, integration, strong_yes="offer")
    other = _post(admin_client, integration, strong_yes="phone-screen")

    assert choices == [("", "No move"), ("offer", "Offer (current)")]
    assert "Lever's stages could not be listed: Set the API key first" in page
    assert '<option value="offer" selected>Offer (current)</option>' in page
    assert unchanged.status_code == 302
    assert other.status_code == 400
    assert "Set the API key first" in other.content.decode()
    saved = OutboundSettings.objects.get(integration=integration)
    assert saved.stage_rules == {"strong_yes": {"stage_id": "offer", "stage_name": "Offer"}}


def test_a_key_not_checked_yet_is_not_used_to_ask_lever(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    lever_integration.key_status = AtsIntegration.KeyStatus.CHECKING
    lever_integration.save(update_fields=["key_status"])
    lever.app.reset_request_stats()

    options = actions.stage_options(integration=lever_integration)

    assert options.stages == []
    assert "once the API key has passed its check" in options.unavailable
    assert lever.app.api_log() == []


def test_when_lever_refuses_the_chosen_stage_stays_and_the_reason_is_shown(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    integration = _valid(lever_integration)
    integration.api_key = "not-a-key-lever-knows-" + "x" * 20
    integration.save(update_fields=["api_key"])
    _rule(integration, "gone-stage", "Old offer")

    form = OutboundSettingsForm(integration=integration)

    assert form.stages_unavailable.startswith("Could not read the stages from Lever")
    field = form.fields[stage_field("strong_yes")]
    assert list(field.choices) == [("", "No move"), ("gone-stage", "Old offer (current)")]  # type: ignore[attr-defined]


def test_a_chosen_stage_lever_no_longer_has_is_kept_and_marked(
    lever_integration: AtsIntegration,
) -> None:
    integration = _valid(lever_integration)
    _rule(integration, "gone-stage", "Old offer")

    choices = _stage_choices(integration)

    assert choices[-1] == ("gone-stage", "Old offer (current, not in Lever's list now)")
    assert OFFER in choices
