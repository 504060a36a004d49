"""Hiring team fixtures: an integration on the Lever sandbox and one posting mapped to a role."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.lever.sandbox.demo import demo_data
from integrations.models import AtsIntegration, Region
from karatlever.hiring.models import Role
from karatlever.hiring.services import role_create
from tests.integrations.conftest import mark_valid, set_key

# "Site Reliability Engineer", requisition code ENG-104: matched to the role by its code.
POSTING = demo_data().postings[1]


@pytest.fixture
def synced_integration(integration: AtsIntegration, lever_sandbox: SandboxServer) -> AtsIntegration:
    AtsIntegration.objects.filter(pk=integration.pk).update(region=Region.SANDBOX)
    integration.refresh_from_db()
    set_key(integration, None, DEMO_API_KEY)
    mark_valid(integration)
    return integration


@pytest.fixture
def role(synced_integration: AtsIntegration) -> Role:
    return role_create(
        group=synced_integration.group,
        title="Site Reliability Engineer",
        requisition_code=POSTING["requisitionCodes"][0],
    )


def lever_user(lever: SandboxServer, name: str, email: str) -> str:
    """A new user of the Lever account; returns its id."""
    return str(lever.sandbox.add_user(name=name, email=email)["id"])


def team_set(lever: SandboxServer, **changes: Any) -> None:
    lever.sandbox.set_posting_team(POSTING["id"], changes)
