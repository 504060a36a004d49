"""The Django admin shows the interview panels Karat made, read-only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.models import AtsIntegration, InterviewPanel
from karatlever.accounts.models import User
from tests.factories import CandidacyFactory, RoleFactory

pytestmark = pytest.mark.django_db


def test_the_panels_are_listed_and_cannot_be_changed(integration: AtsIntegration) -> None:
    user = User.objects.create_superuser("ops@karat.test", "pw-not-used-in-tests")
    client = Client()
    client.force_login(user)
    panel = InterviewPanel.objects.create(
        integration=integration,
        candidacy=CandidacyFactory(role=RoleFactory(group=integration.group)),
        opportunity_id="opp-1",
        remote_id="panel-1",
        scheduled_at=timezone.now(),
        duration_minutes=60,
        time_zone="UTC",
    )

    listed = client.get(reverse("admin:integrations_interviewpanel_changelist"))
    change = client.get(reverse("admin:integrations_interviewpanel_change", args=[panel.pk]))
    posted = client.post(
        reverse("admin:integrations_interviewpanel_change", args=[panel.pk]), {"state": "gone"}
    )

    assert listed.status_code == 200
    assert b"panel-1" in listed.content
    assert change.status_code == 200
    assert posted.status_code == 403
    panel.refresh_from_db()
    assert panel.state == InterviewPanel.State.PENDING
