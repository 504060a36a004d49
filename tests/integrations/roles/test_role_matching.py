"""Matching postings to Karat roles: each rule, its conflicts, suggestions, an admin's
decisions, creating roles from postings, the selectors the invite flows use, and the status
page's feature."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.models import (
    AtsIntegration,
    AtsPosting,
    IntegrationStatus,
    PostingSyncRun,
    RoleMapping,
)
from integrations.roles import selectors
from integrations.roles.health import role_matching_health
from integrations.roles.matching import title_key
from integrations.roles.services import mappings
from karatlever.accounts.models import Group
from karatlever.hiring.models import Candidacy, Role
from karatlever.hiring.services import candidacy_create, role_create

pytestmark = pytest.mark.django_db

Method = RoleMapping.Method


def posting(
    integration: AtsIntegration,
    title: str,
    *codes: str,
    state: str = "published",
    posting_id: str | None = None,
) -> AtsPosting:
    return AtsPosting.objects.create(
        integration=integration,
        posting_id=posting_id or f"p-{AtsPosting.objects.count() + 1}",
        title=title,
        title_key=title_key(title),
        state=state,
        requisition_codes=list(codes),
    )


def mapping(p: AtsPosting) -> RoleMapping | None:
    return RoleMapping.objects.filter(posting=p).select_related("role").first()


def match(integration: AtsIntegration) -> mappings.MatchCounts:
    return mappings.postings_match(integration=integration)


@pytest.mark.parametrize(
    ("title", "key"),
    [
        ("Senior Backend Engineer", "senior backend engineer"),
        ("  senior   BACKEND-engineer. ", "senior backend engineer"),
        ("Engineering Manager, Platform", "engineering manager platform"),
        ("Zoë's Développeur (Remote)", "zoe s developpeur remote"),
        ("", ""),
    ],
)
def test_titles_are_compared_without_case_spacing_punctuation_or_accents(
    title: str, key: str
) -> None:
    assert title_key(title) == key


def test_a_posting_matches_the_role_with_its_requisition_code(
    integration: AtsIntegration, group: Group
) -> None:
    role = role_create(group=group, title="Something else entirely", requisition_code="ENG-101")
    p = posting(integration, "Senior Backend Engineer", "eng-101")

    counts = match(integration)

    m = mapping(p)
    assert m is not None
    assert (m.role, m.method, m.decided_by) == (role, Method.REQUISITION_CODE, None)
    assert counts.by_requisition_code == 1


def test_without_a_code_match_a_posting_matches_the_role_with_the_same_title(
    integration: AtsIntegration, group: Group
) -> None:
    role = role_create(group=group, title="Senior backend engineer")
    p = posting(integration, "Senior  Backend-Engineer", "ENG-999")

    match(integration)

    m = mapping(p)
    assert m is not None
    assert (m.role, m.method) == (role, Method.TITLE)


def test_a_requisition_code_wins_over_a_title(integration: AtsIntegration, group: Group) -> None:
    by_code = role_create(group=group, title="Backend (payments)", requisition_code="ENG-7")
    role_create(group=group, title="Backend Engineer")
    p = posting(integration, "Backend Engineer", "ENG-7")

    match(integration)

    m = mapping(p)
    assert m is not None
    assert (m.role, m.method) == (by_code, Method.REQUISITION_CODE)


def test_two_roles_with_the_same_title_are_a_conflict_not_a_guess(
    integration: AtsIntegration, group: Group
) -> None:
    first = role_create(group=group, title="Data Engineer")
    second = role_create(group=group, title="data engineer")
    p = posting(integration, "Data Engineer")

    counts = match(integration)

    m = mapping(p)
    assert m is not None
    assert (m.role, m.method) == (None, Method.CONFLICT)
    assert "2 Karat roles are titled" in m.note
    assert counts.conflicts == 1
    # Both are offered to the admin.
    page = selectors.roles_page(integration=integration)
    assert set(page.rows[0].suggestions) == {first, second}


def test_a_requisition_code_on_two_postings_is_a_conflict_for_both(
    integration: AtsIntegration, group: Group
) -> None:
    role_create(group=group, title="Backend Engineer", requisition_code="ENG-122")
    first = posting(integration, "Backend Engineer", "ENG-122")
    second = posting(integration, "Backend Engineer (Payments)", "ENG-122")

    match(integration)

    for p in (first, second):
        m = mapping(p)
        assert m is not None
        assert (m.role, m.method) == (None, Method.CONFLICT)
        assert "ENG-122 is on 2 postings" in m.note


def test_codes_naming_two_roles_are_a_conflict(integration: AtsIntegration, group: Group) -> None:
    role_create(group=group, title="A", requisition_code="R-1")
    role_create(group=group, title="B", requisition_code="R-2")
    p = posting(integration, "A or B", "R-1", "R-2")

    match(integration)

    m = mapping(p)
    assert m is not None
    assert (m.role, m.method) == (None, Method.CONFLICT)


def test_a_role_whose_code_is_on_another_posting_is_not_matched_by_title(
    integration: AtsIntegration, group: Group
) -> None:
    role = role_create(group=group, title="Backend Engineer", requisition_code="ENG-122")
    coded = posting(integration, "Backend Engineer", "ENG-122")
    other = posting(integration, "Backend Engineer", "ENG-125")

    match(integration)

    coded_mapping = mapping(coded)
    assert coded_mapping is not None
    assert coded_mapping.role == role
    assert mapping(other) is None
    # …but it is suggested for the other one.
    page = selectors.roles_page(integration=integration, unmatched_only=True)
    assert [r.suggestions for r in page.rows] == [(role,)]


def test_similar_titles_are_only_suggested(integration: AtsIntegration, group: Group) -> None:
    similar = role_create(group=group, title="Sr. Frontend Engineer")
    role_create(group=group, title="Recruiting Coordinator")
    p = posting(integration, "Staff Frontend Engineer")

    counts = match(integration)

    assert mapping(p) is None
    assert counts.unmatched == 1
    row = selectors.roles_page(integration=integration).rows[0]
    assert row.suggestions == (similar,)
    assert selectors.posting_role_get(integration=integration, posting_id=p.posting_id) is None


def test_roles_of_other_groups_and_inactive_roles_never_match(
    integration: AtsIntegration, group: Group, second_group: Group
) -> None:
    role_create(group=second_group, title="Data Engineer", requisition_code="ENG-1")
    role_create(group=group, title="Data Engineer", active=False)
    p = posting(integration, "Data Engineer", "ENG-1")

    match(integration)

    assert mapping(p) is None


def test_an_automatic_match_follows_changes_on_the_next_match(
    integration: AtsIntegration, group: Group
) -> None:
    role = role_create(group=group, title="Data Engineer")
    p = posting(integration, "Data Engineer")
    match(integration)
    AtsPosting.objects.filter(pk=p.pk).update(title="Data Scientist", title_key="data scientist")

    match(integration)

    assert mapping(p) is None
    assert role.posting_mappings.count() == 0


def test_an_admin_maps_unmaps_and_gives_back_a_posting(
    integration: AtsIntegration, group: Group, admin_user: Any
) -> None:
    automatic = role_create(group=group, title="Data Engineer")
    chosen = role_create(group=group, title="Data platform")
    p = posting(integration, "Data Engineer")
    match(integration)

    mappings.role_mapping_set(
        integration=integration, posting_id=p.posting_id, role=chosen, actor=admin_user
    )
    match(integration)
    m = mapping(p)
    assert m is not None
    assert (m.role, m.method, m.decided_by) == (chosen, Method.ADMIN, admin_user)
    role = selectors.posting_role_get(integration=integration, posting_id=p.posting_id)
    assert role == chosen

    mappings.role_mapping_set(
        integration=integration, posting_id=p.posting_id, role=None, actor=admin_user
    )
    match(integration)
    m = mapping(p)
    assert m is not None
    assert (m.role, m.method) == (None, Method.UNMAPPED)

    mappings.role_mapping_reset(integration=integration, posting_id=p.posting_id, actor=None)
    m = mapping(p)
    assert m is not None
    assert (m.role, m.method) == (automatic, Method.TITLE)


def test_mapping_or_giving_back_a_posting_asks_for_a_status_recompute(
    integration: AtsIntegration, group: Group
) -> None:
    # The Roles match check "Open postings without a Karat role" reads the mappings.
    p = posting(integration, "Data Engineer")
    chosen = role_create(group=group, title="Data platform")

    mappings.role_mapping_set(
        integration=integration, posting_id=p.posting_id, role=chosen, actor=None
    )
    snapshot = IntegrationStatus.objects.get(integration=integration)
    assert snapshot.request_reason == "Role mapping changed"

    IntegrationStatus.objects.filter(pk=snapshot.pk).update(requested_at=None, request_reason="")
    mappings.role_mapping_reset(integration=integration, posting_id=p.posting_id, actor=None)
    snapshot.refresh_from_db()
    assert snapshot.pending
    assert snapshot.request_reason == "Role mapping changed"


def test_an_admin_cannot_map_to_another_groups_or_an_inactive_role(
    integration: AtsIntegration, group: Group, second_group: Group
) -> None:
    p = posting(integration, "Data Engineer")
    foreign = role_create(group=second_group, title="Data Engineer")
    inactive = role_create(group=group, title="Old", active=False)

    for role in (foreign, inactive):
        with pytest.raises(mappings.RoleInvalid):
            mappings.role_mapping_set(
                integration=integration, posting_id=p.posting_id, role=role, actor=None
            )
    with pytest.raises(mappings.PostingNotFound):
        mappings.role_mapping_set(integration=integration, posting_id="nope", role=None, actor=None)
    assert not RoleMapping.objects.exists()


def test_roles_are_created_from_postings_one_or_many(
    integration: AtsIntegration, group: Group, admin_user: Any
) -> None:
    role_create(group=group, title="Existing", requisition_code="ENG-2")
    one = posting(integration, "Platform Engineer", "ENG-1")
    two = posting(integration, "Security Engineer", "ENG-2")  # code taken: role without it
    three = posting(integration, "Compiler Engineer")

    created = mappings.roles_create_from_postings(
        integration=integration,
        posting_ids=[one.posting_id, two.posting_id, three.posting_id],
        actor=admin_user,
    )

    assert [(m.role.title, m.role.requisition_code) for m in created if m.role] == [
        ("Platform Engineer", "ENG-1"),
        ("Security Engineer", ""),
        ("Compiler Engineer", ""),
    ]
    assert all(m.method == Method.ADMIN and m.decided_by == admin_user for m in created)
    assert Role.objects.filter(group=group).count() == 4


def test_creating_roles_with_an_unknown_posting_creates_nothing(
    integration: AtsIntegration, group: Group
) -> None:
    p = posting(integration, "Platform Engineer")

    with pytest.raises(mappings.PostingNotFound):
        mappings.roles_create_from_postings(
            integration=integration, posting_ids=[p.posting_id, "missing"], actor=None
        )

    assert not Role.objects.exists()


def test_posting_search_lists_current_postings_by_title_and_a_saved_choice_keeps_removed_ones(
    integration: AtsIntegration,
) -> None:
    posting(integration, "B posting", posting_id="b", state="published")
    posting(integration, "A posting", posting_id="a", state="closed")
    gone = posting(integration, "Gone", posting_id="c")
    AtsPosting.objects.filter(pk=gone.pk).update(removed_at="2026-01-01T00:00:00Z")

    everything = selectors.posting_search(integration=integration, query="")
    by_id = selectors.posting_search(integration=integration, query="B")
    chosen = selectors.posting_summaries_get(integration=integration, posting_ids=["c", "b", "x"])

    assert [(s.posting_id, s.title, s.state) for s in everything] == [
        ("a", "A posting", "closed"),
        ("b", "B posting", "published"),
    ]
    assert [s.posting_id for s in by_id] == ["b"]
    assert [s.posting_id for s in chosen] == ["b", "c"]


def test_roles_page_counts_and_lists_roles_no_posting_maps_to(
    integration: AtsIntegration, group: Group
) -> None:
    matched = role_create(group=group, title="Data Engineer")
    lonely = role_create(group=group, title="Nobody's role")
    role_create(group=group, title="Retired", active=False)
    data = posting(integration, "Data Engineer")
    posting(integration, "Unmatched open", state="internal")
    posting(integration, "Unmatched closed", state="closed")
    match(integration)
    ada = candidacy_create(role=matched, candidate_name="Ada", candidate_email="ada@example.com")
    Candidacy.objects.filter(pk=ada.pk).update(ats_posting_id=data.posting_id)
    # The role's candidacy from no known posting counts for none.
    candidacy_create(role=matched, candidate_name="Bo", candidate_email="bo@example.com")

    page = selectors.roles_page(integration=integration)

    assert (page.postings_total, page.matched, page.unmatched_open) == (3, 1, 1)
    assert page.unmapped_roles == [lonely]
    counts = {row.posting.title: row.candidacy_count for row in page.rows}
    assert counts == {"Data Engineer": 1, "Unmatched closed": 0, "Unmatched open": 0}
    assert [
        r.posting.title for r in selectors.roles_page(integration=integration, state="closed").rows
    ] == ["Unmatched closed"]


# --- the status page's feature ----------------------------------------------------------------


def _checks(integration: AtsIntegration) -> dict[str, Any]:
    integration.refresh_from_db()
    health = role_matching_health(integration)
    return {c.code: c for c in health.checks} | {"_health": health}


def test_the_feature_waits_for_a_valid_key(integration: AtsIntegration) -> None:
    health = role_matching_health(integration)

    assert (health.level, health.label) == ("info", "Waiting")


def test_the_feature_shows_the_last_sync_and_flags_a_failed_one(
    integration: AtsIntegration,
) -> None:
    AtsIntegration.objects.filter(pk=integration.pk).update(key_status="valid")
    PostingSyncRun.objects.create(
        integration=integration,
        kind="full",
        status="succeeded",
        started_at="2026-11-01T10:00:00Z",
        finished_at="2026-11-01T10:01:00Z",
    )
    posting(integration, "Anything", state="closed")

    checks = _checks(integration)
    assert checks["_health"].level == "ok"
    assert checks["postings_synced"].message == "1 postings."
    # Every check says something; its moment is ISO (the page renders it with ``when``).
    assert checks["last_sync"].message == "Succeeded, finished"
    assert checks["last_sync"].at == "2026-11-01T10:01:00+00:00"
    assert all(c.message for c in checks["_health"].checks)

    PostingSyncRun.objects.create(
        integration=integration, kind="incremental", status="failed", error="Lever is down."
    )
    checks = _checks(integration)
    assert checks["last_sync"].level == "bad"
    assert "Lever is down." in checks["last_sync"].message
    assert checks["_health"].level in ("warn", "bad")


def test_an_unmatched_published_posting_with_candidacies_is_a_problem(
    integration: AtsIntegration, group: Group
) -> None:
    AtsIntegration.objects.filter(pk=integration.pk).update(key_status="valid")
    PostingSyncRun.objects.create(integration=integration, kind="full", status="succeeded")
    first = role_create(group=group, title="Data Engineer")
    role_create(group=group, title="Data Engineer")
    p = posting(integration, "Data Engineer")  # a conflict: no role
    match(integration)
    # A candidacy of a role that claims it was not invited from it: no problem of this posting.
    candidacy_create(role=first, candidate_name="Bo", candidate_email="bo@example.com")
    assert _checks(integration)["unmatched_with_candidacies"].level == "ok"

    ada = candidacy_create(role=first, candidate_name="Ada", candidate_email="ada@example.com")
    Candidacy.objects.filter(pk=ada.pk).update(ats_posting_id=p.posting_id)

    check = _checks(integration)["unmatched_with_candidacies"]
    assert check.level == "warn"
    assert "1 open Lever posting with candidacies has no Karat role" in check.message
    assert check.fix_url.endswith("/roles/?unmatched=1")
