"""The feedback-form option in the console: its Settings section with the preview, the save
(on, off, refused with its reason), and who may use it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from integrations.models import AtsIntegration, AuditEntry, FeedbackSettings
from tests.factories import IntegrationFactory

pytestmark = pytest.mark.django_db


def _save_url(integration: AtsIntegration) -> str:
    return reverse("feedback:save", kwargs={"public_id": integration.public_id})


def _settings_url(integration: AtsIntegration) -> str:
    return reverse("integrations:settings", kwargs={"public_id": integration.public_id})


@pytest.fixture
def with_user(integration: AtsIntegration) -> AtsIntegration:
    integration.ats_user_id = "11111111-1111-4111-8111-111111111111"
    integration.save(update_fields=["ats_user_id"])
    return integration


def test_the_settings_page_shows_the_option_off_and_a_preview_of_the_form(
    admin_client: Client, integration: AtsIntegration
) -> None:
    response = admin_client.get(_settings_url(integration))

    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="feedback-form"' in body
    assert 'name="feedback-enabled"' in body
    assert "Karat technical interview" in body  # the template's name
    assert "3 - Hire" in body  # the sample recommendation as Lever's score option
    assert "https://karat.example/reports/123" in body


def test_turning_it_on_and_off_is_saved_and_audited(
    admin_client: Client, with_user: AtsIntegration
) -> None:
    on = admin_client.post(_save_url(with_user), {"feedback-enabled": "on"})
    enabled = FeedbackSettings.objects.get(integration=with_user).enabled
    off = admin_client.post(_save_url(with_user), {})

    assert on.status_code == off.status_code == 302
    assert on["Location"].endswith("#feedback-form")
    assert enabled
    assert not FeedbackSettings.objects.get(integration=with_user).enabled
    assert (
        AuditEntry.objects.filter(action=AuditEntry.Action.FEEDBACK_SETTINGS_CHANGED).count() == 2
    )


def test_turning_it_on_without_a_user_to_post_as_is_a_clear_error_not_a_change(
    admin_client: Client, integration: AtsIntegration
) -> None:
    response = admin_client.post(_save_url(integration), {"feedback-enabled": "on"})

    assert response.status_code == 400
    assert "Lever posts feedback only as a user" in response.content.decode()
    assert not FeedbackSettings.objects.filter(enabled=True).exists()


def test_recruiters_may_not_and_another_groups_integration_is_404(
    admin_client: Client, recruiter_client: Client, with_user: AtsIntegration
) -> None:
    foreign = IntegrationFactory()

    as_recruiter = recruiter_client.post(_save_url(with_user), {"feedback-enabled": "on"})
    other_group = admin_client.post(_save_url(foreign), {"feedback-enabled": "on"})
    get = admin_client.get(_save_url(with_user))

    assert as_recruiter.status_code in (302, 403)
    assert other_group.status_code == 404
    assert get.status_code == 405
    assert not FeedbackSettings.objects.filter(enabled=True).exists()
