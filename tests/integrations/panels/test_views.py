"""The interview panels' setting: the Settings page section and its save, and the API; off by
default, audited, admins only, another organization's integration is a 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from integrations.models import AtsIntegration, AuditEntry, OutboundSettings

pytestmark = pytest.mark.django_db


def _api(integration: AtsIntegration) -> str:
    return f"/api/v1/integrations/{integration.public_id}/interview-panels/"


def _save(integration: AtsIntegration) -> str:
    return reverse("panels:save", kwargs={"public_id": integration.public_id})


def _enabled(integration: AtsIntegration) -> bool:
    found = OutboundSettings.objects.filter(integration=integration).first()
    return bool(found and found.panels_enabled)


def test_the_settings_page_shows_the_option_off_by_default(
    admin_client: Client, integration: AtsIntegration
) -> None:
    page = admin_client.get(
        reverse("integrations:settings", kwargs={"public_id": integration.public_id})
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="interview-panels"' in html
    assert (
        "Karat interview on Lever's schedule" in html or "Karat interview on Lever&#x27;s" in html
    )
    assert _save(integration) in html
    assert not _enabled(integration)


def _with_a_lever_user(integration: AtsIntegration) -> None:
    """Lever writes panels only as a user: the integration's User ID is set."""
    AtsIntegration.objects.filter(pk=integration.pk).update(ats_user_id="lever-user-1")


def test_an_admin_turns_it_on_and_off_and_each_change_is_audited(
    admin_client: Client, integration: AtsIntegration
) -> None:
    _with_a_lever_user(integration)
    response = admin_client.post(_save(integration), {"enabled": "on"})

    assert response.status_code == 302
    assert response["Location"].endswith("#interview-panels")
    assert _enabled(integration)
    admin_client.post(_save(integration), {"enabled": "on"})  # unchanged: not audited again
    admin_client.post(_save(integration), {})
    assert not _enabled(integration)
    actions = AuditEntry.objects.filter(action=AuditEntry.Action.PANELS_SETTINGS_CHANGED)
    assert [a.detail["panels_enabled"] for a in actions.order_by("id")] == [True, False]


def test_a_recruiter_cannot_change_it(
    recruiter_client: Client, integration: AtsIntegration
) -> None:
    response = recruiter_client.post(_save(integration), {"enabled": "on"})

    assert response.status_code == 403
    assert not _enabled(integration)


def test_another_organizations_admin_gets_404(
    outsider_client: Client, integration: AtsIntegration
) -> None:
    assert outsider_client.post(_save(integration), {"enabled": "on"}).status_code == 404
    assert outsider_client.get(_api(integration)).status_code == 404
    patched = outsider_client.patch(
        _api(integration), {"enabled": True}, content_type="application/json"
    )
    assert patched.status_code == 404
    assert not _enabled(integration)


def test_a_get_of_the_save_url_is_refused(
    admin_client: Client, integration: AtsIntegration
) -> None:
    assert admin_client.get(_save(integration)).status_code == 405


def test_without_a_lever_user_to_write_as_it_is_not_turned_on_and_says_why(
    admin_client: Client, integration: AtsIntegration
) -> None:
    page = admin_client.post(_save(integration), {"enabled": "on"}, follow=True)
    api = admin_client.patch(_api(integration), {"enabled": True}, content_type="application/json")

    assert "Not turned on: Lever changes its schedule only as a user" in page.content.decode()
    assert api.status_code == 400
    assert api.json()["error"]["code"] == "no_acting_user"
    assert not _enabled(integration)
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.PANELS_SETTINGS_CHANGED).exists()


def test_the_api_reads_and_changes_the_option(
    admin_client: Client, integration: AtsIntegration
) -> None:
    _with_a_lever_user(integration)
    before = admin_client.get(_api(integration))

    assert before.status_code == 200
    assert before.json()["enabled"] is False
    assert before.json()["panels"]["active"] == 0
    after = admin_client.patch(
        _api(integration), {"enabled": True}, content_type="application/json"
    )
    assert after.status_code == 200
    assert after.json()["enabled"] is True
    assert _enabled(integration)


@pytest.mark.parametrize("body", [{}, {"enabled": "maybe"}, {"enabled": None}, []])
def test_the_api_refuses_bad_input_and_changes_nothing(
    admin_client: Client, integration: AtsIntegration, body: Any
) -> None:
    response = admin_client.patch(_api(integration), body, content_type="application/json")

    assert response.status_code == 400
    assert "error" in response.json()
    assert not _enabled(integration)


def test_a_recruiter_gets_403_from_the_api(
    recruiter_client: Client, integration: AtsIntegration
) -> None:
    assert recruiter_client.get(_api(integration)).status_code == 403
