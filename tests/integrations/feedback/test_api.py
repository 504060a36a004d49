"""The feedback-form option's REST API: read, turn on and off, clear errors, access rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from integrations.models import AtsIntegration, AuditEntry, FeedbackSettings
from karatlever.accounts.models import User
from tests.factories import IntegrationFactory

pytestmark = pytest.mark.django_db


def _url(integration: AtsIntegration) -> str:
    return f"/api/v1/integrations/{integration.public_id}/feedback-form/"


def _put(client: Client, integration: AtsIntegration, body: Any) -> Any:
    return client.put(_url(integration), body, content_type="application/json")


def test_an_admin_reads_it_off_and_turns_it_on_and_off(
    token_client: Callable[[User], Client], admin_user: User, integration: AtsIntegration
) -> None:
    integration.ats_user_id = "11111111-1111-4111-8111-111111111111"
    integration.save(update_fields=["ats_user_id"])
    client = token_client(admin_user)

    before = client.get(_url(integration))
    on = _put(client, integration, {"enabled": True})
    off = _put(client, integration, {"enabled": False})

    assert before.status_code == 200
    assert before.json() == {
        "enabled": False,
        "template_id": "",
        "perform_as_user_id": "11111111-1111-4111-8111-111111111111",
    }
    assert (on.status_code, on.json()["enabled"]) == (200, True)
    assert (off.status_code, off.json()["enabled"]) == (200, False)
    assert (
        AuditEntry.objects.filter(action=AuditEntry.Action.FEEDBACK_SETTINGS_CHANGED).count() == 2
    )


@pytest.mark.parametrize("body", [{}, {"enabled": "yes"}, {"enabled": 1}, {"enabled": None}, []])
def test_bad_input_is_a_clear_400_and_changes_nothing(
    token_client: Callable[[User], Client],
    admin_user: User,
    integration: AtsIntegration,
    body: Any,
) -> None:
    response = _put(token_client(admin_user), integration, body)

    assert response.status_code == 400
    assert "error" in response.json()
    assert not FeedbackSettings.objects.filter(enabled=True).exists()


def test_turning_it_on_without_a_user_to_post_as_is_a_400_with_the_reason(
    token_client: Callable[[User], Client], admin_user: User, integration: AtsIntegration
) -> None:
    response = _put(token_client(admin_user), integration, {"enabled": True})

    assert response.status_code == 400
    assert "as a user" in response.json()["error"]["message"]
    assert not FeedbackSettings.objects.filter(enabled=True).exists()


def test_recruiters_get_403_and_another_groups_integration_is_404(
    token_client: Callable[[User], Client],
    admin_user: User,
    recruiter_user: User,
    integration: AtsIntegration,
) -> None:
    foreign = IntegrationFactory()

    assert token_client(recruiter_user).get(_url(integration)).status_code == 403
    assert token_client(admin_user).get(_url(foreign)).status_code == 404
    assert _put(token_client(admin_user), foreign, {"enabled": True}).status_code == 404
