"""The sandbox's demo candidates look like a real company's: every one can be invited, except one
deliberate example of each thing the invite preview refuses or warns about (issue 20, item 12)."""

from __future__ import annotations

import pytest

from integrations.invites.services.preview import (
    InviteCode,
    InvitePreview,
    InviteWarning,
    email_unsupported_reason,
    invite_preview,
)
from integrations.lever.sandbox import KARAT_PERMISSIONS, SandboxServer, demo_data
from integrations.lever.sandbox.demo import DEMO_EXAMPLES, demo_examples, demo_opportunity_ids
from integrations.lever.sandbox.permissions import CONFIDENTIAL_ACCESS
from integrations.models import AtsIntegration
from tests.integrations.invites.conftest import url_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def lever_integration(lever_integration: AtsIntegration) -> AtsIntegration:
    """The sandbox integration, with room for 240 reads at once in its Lever rate bucket."""
    lever_integration.rate_limit_per_second = 1000
    lever_integration.rate_limit_burst = 1000
    lever_integration.save(update_fields=["rate_limit_per_second", "rate_limit_burst"])
    return lever_integration


def _preview(integration: AtsIntegration, opportunity_id: str) -> InvitePreview:
    return invite_preview(
        group=integration.group, integration=integration, url=url_of(opportunity_id)
    )


def _refusals(result: InvitePreview) -> list[str]:
    """What would stop (or make a recruiter hesitate over) inviting this candidate: the
    preview's error code, its warnings, and the email Karat can't send to."""
    if not result.ok:
        return [result.code]
    found = list(result.warnings)
    if result.email and email_unsupported_reason(result.email):
        found.append(InviteCode.EMAIL_UNSUPPORTED)
    return found


def test_every_demo_candidate_but_the_listed_examples_previews_as_invitable(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    examples = set(demo_examples().values())

    refused = {
        o["id"]: reasons
        for o in demo_data().opportunities
        if o["id"] not in examples and (reasons := _refusals(_preview(lever_integration, o["id"])))
    }

    assert refused == {}


def test_each_listed_example_is_refused_or_warned_for_its_own_reason_only(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    examples = demo_examples()

    found = {name: _refusals(_preview(lever_integration, o)) for name, o in examples.items()}
    hired = _preview(lever_integration, examples["hired"])

    assert set(examples) == set(DEMO_EXAMPLES)
    assert found == {
        "no_email": [InviteWarning.NO_EMAIL],
        "email_unsupported": [InviteCode.EMAIL_UNSUPPORTED],
        "archived": [InviteWarning.ARCHIVED],
        "hired": [InviteWarning.HIRED],
        # The demo key has confidential access: the preview only marks it.
        "confidential": [],
    }
    assert hired.hired
    assert _preview(lever_integration, examples["confidential"]).confidential


def test_the_confidential_example_is_refused_with_a_key_without_confidential_access(
    lever_integration: AtsIntegration, lever: SandboxServer
) -> None:
    lever_integration.api_key = lever.create_api_key(
        [p for p in KARAT_PERMISSIONS if p != CONFIDENTIAL_ACCESS]
    )
    lever_integration.save(update_fields=["api_key"])

    result = _preview(lever_integration, demo_examples()["confidential"])

    assert (result.ok, result.code) == (False, InviteCode.CONFIDENTIAL)


def test_the_opportunities_offered_to_the_seed_are_never_the_examples() -> None:
    assert not set(demo_opportunity_ids(60)) & set(demo_examples().values())
