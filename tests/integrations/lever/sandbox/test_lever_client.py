"""The product's LeverClient against the running sandbox over real HTTP."""

from __future__ import annotations

import pytest

from integrations.lever.client import LeverClient
from integrations.lever.errors import (
    LeverAuthError,
    LeverBadRequest,
    LeverNotFound,
    LeverPermissionError,
    LeverRateLimited,
    LeverServerError,
)
from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer, demo_data

DATA = demo_data()
OPPORTUNITY = next(
    o for o in DATA.opportunities if o["archived"] is None and o["_application"] and o["emails"]
)
HIRED_REASON = next(r["id"] for r in DATA.archive_reasons if r["type"] == "hired")
ACTIVE_USER = next(u for u in DATA.users if u["deactivatedAt"] is None)
DEACTIVATED_USER = next(u for u in DATA.users if u["deactivatedAt"] is not None)


def _client(sandbox: SandboxServer, key: str = DEMO_API_KEY, **kwargs: object) -> LeverClient:
    defaults: dict = {"max_retries": 0, "backoff_base": 0.01, "timeout": (2.0, 5.0)}
    return LeverClient(api_key=key, base_url=sandbox.api_url, **{**defaults, **kwargs})


@pytest.fixture
def client(sandbox: SandboxServer) -> LeverClient:
    return _client(sandbox, perform_as=ACTIVE_USER["id"])


def test_iterating_opportunities_follows_pagination_through_all_of_them(
    client: LeverClient,
) -> None:
    ids = [o.id for o in client.iter_opportunities()]

    assert len(ids) == len(set(ids)) == len(DATA.opportunities)


def test_opportunity_filters_and_expand_reach_the_sandbox(client: LeverClient) -> None:
    same_contact = list(client.iter_opportunities(contact_id=[OPPORTUNITY["contact"]]))
    opportunity = client.get_opportunity(OPPORTUNITY["id"], expand=["applications", "stage"])

    assert OPPORTUNITY["id"] in {o.id for o in same_contact}
    assert opportunity.applications[0].posting == OPPORTUNITY["_application"]["posting"]
    assert opportunity.stage_id == OPPORTUNITY["stage"]
    assert opportunity.stage_name
    assert opportunity.urls is not None
    assert opportunity.urls.show == f"https://hire.lever.co/candidates/{OPPORTUNITY['id']}"


def test_postings_by_state_include_every_published_channel_and_confidential_ones(
    client: LeverClient,
) -> None:
    published = list(client.iter_postings(states=["published"]))
    closed_or_draft = list(client.iter_postings(states=["closed", "draft"]))
    expected = [p for p in DATA.postings if p["state"] == "published"]

    assert {p.id for p in published} == {p["id"] for p in expected}
    assert {p.state for p in closed_or_draft} == {"closed", "draft"}


def test_incremental_posting_sync_with_updated_at_start(client: LeverClient) -> None:
    newest = max(p["updatedAt"] for p in DATA.postings)

    recent = list(client.iter_postings(updated_at_start=newest, confidentiality="all"))

    assert [p.id for p in recent] == [p["id"] for p in DATA.postings if p["updatedAt"] >= newest]


def test_stages_archive_reasons_and_users(client: LeverClient) -> None:
    stages = client.list_stages()
    hired = client.list_archive_reasons(type="hired")
    [user] = client.iter_users(email=ACTIVE_USER["email"])
    deactivated = client.get_user(DEACTIVATED_USER["id"])

    assert [s.id for s in stages][:4] == [
        "lead-new",
        "lead-reached-out",
        "lead-responded",
        "applicant-new",
    ]
    assert {r.type for r in hired} == {"hired"}
    assert user.id == ACTIVE_USER["id"]
    assert deactivated.deactivated_at is not None
    assert DEACTIVATED_USER["id"] in {u.id for u in client.iter_users(include_deactivated=True)}


def test_writes_move_tag_link_and_note(client: LeverClient, sandbox: SandboxServer) -> None:
    oid = OPPORTUNITY["id"]

    moved = client.move_stage(oid, "offer")
    tagged = client.add_tags(oid, ["karat:completed"])
    untagged = client.remove_tags(oid, ["karat:completed"])
    linked = client.add_links(oid, ["https://karat.example/r/1"])
    note = client.add_note(oid, "Karat interview completed", score=4)
    notes = list(client.iter_notes(oid))

    assert moved.stage_id == "offer"
    assert "karat:completed" in tagged.tags
    assert "karat:completed" not in untagged.tags
    assert "https://karat.example/r/1" in linked.links
    assert [n.id for n in notes] == [note.id]
    assert notes[0].value == "Karat interview completed"
    assert notes[0].user == ACTIVE_USER["id"]
    assert sandbox.counters(oid) == {
        "notes": 1,
        "tags_added": 1,
        "tags_removed": 1,
        "links_added": 1,
        "links_removed": 0,
        "stage_moves": 1,
        "archives": 0,
        "unarchives": 0,
        "hires": 0,
    }


def test_an_opportunity_hired_in_the_sandbox_reads_back_archived_as_hired(
    client: LeverClient, sandbox: SandboxServer
) -> None:
    # karatlever never archives, so the sandbox's control endpoint does what a recruiter does.
    sandbox.archive(OPPORTUNITY["id"], HIRED_REASON)

    hired = client.get_opportunity(OPPORTUNITY["id"])

    assert hired.archived is not None
    assert hired.archived.reason == HIRED_REASON


def test_webhooks_crud_through_the_client(client: LeverClient) -> None:
    created = client.create_webhook(
        url="https://karat.example/webhooks/lever/x/", event="candidateHired", origins=["applied"]
    )
    listed = client.list_webhooks()
    updated = client.update_webhook(created.id, url="https://karat.example/webhooks/lever/y/")
    client.delete_webhook(created.id)

    assert created.signature_token
    assert len(created.signature_token) == 48
    assert [w.id for w in listed] == [created.id]
    assert listed[0].signature_token is None
    assert listed[0].origins == ["applied"]
    assert updated.url == "https://karat.example/webhooks/lever/y/"
    assert client.list_webhooks() == []


def test_bad_key_is_an_auth_error(sandbox: SandboxServer) -> None:
    with pytest.raises(LeverAuthError) as excinfo:
        _client(sandbox, "not-a-real-key-1234").list_stages()

    assert not isinstance(excinfo.value, LeverPermissionError)
    assert excinfo.value.status_code == 401
    assert "not-a-real-key" not in str(excinfo.value)


def test_key_missing_a_permission_is_a_permission_error(sandbox: SandboxServer) -> None:
    key = sandbox.create_api_key(["stages:read:admin"])

    with pytest.raises(LeverPermissionError) as excinfo:
        list(_client(sandbox, key).iter_postings())

    assert excinfo.value.status_code == 403
    assert _client(sandbox, key).list_stages()


def test_unknown_opportunity_is_not_found(client: LeverClient) -> None:
    with pytest.raises(LeverNotFound):
        client.get_opportunity("00000000-0000-4000-8000-000000000000")


def test_deactivated_perform_as_is_a_bad_request(sandbox: SandboxServer) -> None:
    client = _client(sandbox, perform_as=DEACTIVATED_USER["id"])

    with pytest.raises(LeverBadRequest, match="deactivated"):
        client.add_tags(OPPORTUNITY["id"], ["x"])


def test_rate_limit_is_a_rate_limited_error_carrying_retry_after(sandbox: SandboxServer) -> None:
    sandbox.set_rate_limit(1.0, burst=1)
    client = _client(sandbox)
    client.list_stages()

    with pytest.raises(LeverRateLimited) as excinfo:
        client.list_stages()

    assert excinfo.value.status_code == 429
    assert excinfo.value.retry_after is not None
    assert excinfo.value.retry_after >= 1


def test_transient_server_errors_are_retried_on_reads(sandbox: SandboxServer) -> None:
    sandbox.set_faults(fail_next=[503, 500])

    stages = _client(sandbox, max_retries=3).list_stages()

    assert len(stages) == len(DATA.stages)


def test_persistent_server_error_surfaces_as_server_error(sandbox: SandboxServer) -> None:
    sandbox.set_faults(error_rates={"503": 1.0})

    with pytest.raises(LeverServerError):
        _client(sandbox, max_retries=1).list_stages()
