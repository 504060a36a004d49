"""Every paged read of the Lever adapter, against the sandbox with a broken list page: the
read fails as Lever's side (``AtsUnavailable``, try again later) and never returns what it
read before the break as if it were the whole list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from integrations import ats
from integrations.lever.adapter import LeverAdapter
from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer, demo_opportunity_ids

# The whole Lever adapter: the optional capabilities (deletions, panels, feedback) included.
adapter = LeverAdapter()
ACCOUNT = ats.AtsAccount(
    integration_id=1,
    public_id="00000000-0000-0000-0000-000000000019",
    api_key=DEMO_API_KEY,
    region="us",
    acting_user_id="",
    rate_per_second=1000.0,
    burst=100,
)
OPPORTUNITY_ID = demo_opportunity_ids(1)[0]
P = ats.WORKER

# Each read, and the sandbox path its pages come from.
READS: dict[str, tuple[str, Callable[[], object]]] = {
    "postings_page": (
        "/v1/postings",
        lambda: adapter.postings_page(ACCOUNT, cursor=None, updated_since_ms=None, profile=P),
    ),
    "postings_list": ("/v1/postings", lambda: adapter.postings_list(ACCOUNT, profile=P)),
    "postings_get": ("/v1/postings", lambda: adapter.postings_get(ACCOUNT, ["p"], profile=P)),
    "opportunities_changed": (
        "/v1/opportunities",
        lambda: list(
            adapter.opportunities_changed(ACCOUNT, since_ms=0, contact_ids=None, profile=P)
        ),
    ),
    "opportunities_in_stage": (
        "/v1/opportunities",
        lambda: adapter.opportunities_in_stage(ACCOUNT, "applicant-new", limit=500, profile=P),
    ),
    "stages_list": ("/v1/stages", lambda: adapter.stages_list(ACCOUNT, profile=P)),
    "users_find": ("/v1/users", lambda: adapter.users_find(ACCOUNT, email="x@y.io", profile=P)),
    "webhooks_list": ("/v1/webhooks", lambda: adapter.webhooks_list(ACCOUNT, profile=P)),
    "note_find": (
        "/v1/opportunities/",
        lambda: adapter.note_find(ACCOUNT, OPPORTUNITY_ID, marker="karat:1", profile=P),
    ),
    "confidential_access": (
        "/v1/postings",
        lambda: adapter.confidential_access(ACCOUNT, profile=P),
    ),
    "opportunities_deleted": (
        "/v1/opportunities/deleted",
        lambda: list(adapter.opportunities_deleted(ACCOUNT, since_ms=0, profile=P)),
    ),
    "panels_list": (
        "/v1/opportunities/",
        lambda: adapter.panels_list(ACCOUNT, OPPORTUNITY_ID, profile=P),
    ),
    "feedback_template_find": (
        "/v1/feedback_templates",
        lambda: adapter.feedback_template_find(
            ACCOUNT, spec=ats.FeedbackTemplateSpec("Karat", "karat:t", (), "karat:t"), profile=P
        ),
    ),
    "feedback_find": (
        "/v1/opportunities/",
        lambda: adapter.feedback_find(ACCOUNT, OPPORTUNITY_ID, marker="karat:1", profile=P),
    ),
}


@pytest.fixture(autouse=True)
def _sandbox(lever_sandbox: SandboxServer, own_cache_and_broker: None) -> None:
    """Each test gets its own sandbox and an empty lookup cache."""


@pytest.mark.parametrize("kind", ["no_next", "no_has_next", "not_a_list"])
@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_a_broken_list_page_is_lever_unavailable_never_a_shorter_list(
    lever_sandbox: SandboxServer, read: tuple[str, Callable[[], object]], kind: str
) -> None:
    path, call = read
    lever_sandbox.set_faults(bad_page=kind, paths=[path], methods=["GET"])

    with pytest.raises(ats.AtsUnavailable, match="Lever did not answer usefully"):
        call()


def test_a_key_check_given_a_broken_page_says_lever_is_unreachable_not_that_the_key_is_bad(
    lever_sandbox: SandboxServer,
) -> None:
    lever_sandbox.set_faults(bad_page="no_next", paths=["/v1/users"])

    result = adapter.key_check(ACCOUNT, budget_seconds=20)

    assert result.status == ats.KeyCheckStatus.UNREACHABLE


def test_reads_still_work_page_by_page_without_the_knob(lever_sandbox: SandboxServer) -> None:
    lever_sandbox.add_postings(150)

    postings: Any = adapter.postings_list(ACCOUNT, profile=P)

    assert len(postings) == 180
