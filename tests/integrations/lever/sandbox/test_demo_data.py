"""The seeded demo data is deterministic, realistic and covers every shape the product meets."""

from __future__ import annotations

import uuid

import pytest

from integrations.lever.links import parse_candidate_url
from integrations.lever.sandbox import demo_data, demo_opportunity, demo_opportunity_ids
from integrations.lever.sandbox.demo import DEMO_SEED, candidate_url


def test_same_seed_gives_identical_data_and_another_seed_differs() -> None:
    first, again = demo_data(DEMO_SEED), demo_data.__wrapped__(DEMO_SEED)

    assert first == again
    assert (
        demo_data.__wrapped__(DEMO_SEED + 1).opportunities[0]["id"] != first.opportunities[0]["id"]
    )


def test_data_set_has_the_promised_sizes_and_states() -> None:
    data = demo_data()

    assert len(data.users) == 5
    assert sum(u["deactivatedAt"] is not None for u in data.users) == 1
    assert len(data.postings) >= 25
    assert {p["state"] for p in data.postings} == {
        "published",
        "internal",
        "closed",
        "draft",
        "pending",
        "rejected",
    }
    assert len(data.opportunities) >= 200
    assert len({o["id"] for o in data.opportunities}) == len(data.opportunities)


def test_stages_include_lever_builtin_slugs_and_uuid_stages() -> None:
    ids = [s["id"] for s in demo_data().stages]

    for slug in ("lead-new", "lead-reached-out", "lead-responded", "applicant-new", "offer"):
        assert slug in ids
    uuid_stages = [i for i in ids if "-" in i and len(i) == 36]
    assert len(uuid_stages) >= 3
    for stage_id in uuid_stages:
        uuid.UUID(stage_id)


def test_archive_reasons_have_hired_and_non_hired_types() -> None:
    types = {r["type"] for r in demo_data().archive_reasons}

    assert types == {"hired", "non-hired"}


def test_requisition_codes_are_sometimes_missing_or_empty() -> None:
    codes = [p["reqCode"] for p in demo_data().postings]

    assert None in codes
    assert "" in codes
    assert sum(bool(c) for c in codes) >= 20


def test_opportunities_cover_archived_hired_general_and_shared_contacts() -> None:
    data = demo_data()
    hired = {r["id"] for r in data.archive_reasons if r["type"] == "hired"}
    opps = data.opportunities
    contacts = [o["contact"] for o in opps]

    assert any(o["archived"] and o["archived"]["reason"] in hired for o in opps)
    assert any(o["archived"] and o["archived"]["reason"] not in hired for o in opps)
    assert any(not o["applications"] for o in opps)
    assert len(set(contacts)) < len(contacts)
    assert any(o["emails"] == [] for o in opps)
    assert any("<" in o["name"] for o in opps)  # escaping canary


def test_urls_show_is_a_candidate_link_the_product_parses() -> None:
    opportunity = demo_data().opportunities[0]

    parsed = parse_candidate_url(opportunity["urls"]["show"])

    assert opportunity["urls"]["show"] == f"https://hire.lever.co/candidates/{opportunity['id']}"
    assert parsed.opportunity_id == opportunity["id"]
    assert parse_candidate_url(candidate_url(opportunity["id"], "eu")).region == "eu"
    assert parse_candidate_url(candidate_url(opportunity["id"], "sandbox")).region == "sandbox"


def test_demo_opportunity_ids_are_stable_active_and_on_published_postings() -> None:
    ids = demo_opportunity_ids(10)
    published = {p["id"] for p in demo_data().postings if p["state"] == "published"}

    assert ids == demo_opportunity_ids(10)
    assert ids[:3] == demo_opportunity_ids(3)
    for opportunity_id in ids:
        opportunity = demo_opportunity(opportunity_id)
        assert opportunity["archived"] is None
        assert opportunity["_application"]["posting"] in published
        assert opportunity["emails"]
        assert opportunity["name"]


def test_asking_for_more_invitable_opportunities_than_exist_is_an_error() -> None:
    with pytest.raises(ValueError, match="invitable"):
        demo_opportunity_ids(10_000)
