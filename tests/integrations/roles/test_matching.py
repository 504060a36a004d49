"""The pure matching rule (integrations/roles/matching.py), without a database."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from integrations.models import RoleMapping
from integrations.roles import matching


@dataclass(frozen=True)
class _Role:
    title: str
    requisition_code: str = ""


@dataclass(frozen=True)
class _Posting:
    title: str
    requisition_codes: tuple[str, ...] = ()


def test_the_rule_names_its_methods_as_role_mappings_store_them() -> None:
    assert (matching.BY_REQUISITION_CODE, matching.BY_TITLE, matching.CONFLICT) == (
        RoleMapping.Method.REQUISITION_CODE,
        RoleMapping.Method.TITLE,
        RoleMapping.Method.CONFLICT,
    )


def test_a_stored_posting_takes_its_requisition_code_s_role_before_a_title() -> None:
    roles = matching.RoleIndex.build([(1, "Backend Engineer", " ENG-1 "), (2, "Data", "")])

    by_code = matching.posting_decide("Data", "data", ["eng-1"], roles, Counter({"eng-1": 1}), {1})
    by_title = matching.posting_decide("Data", "data", [], roles, Counter(), {1})

    assert by_code == matching.Decision(matching.BY_REQUISITION_CODE, 1)
    assert by_title == matching.Decision(matching.BY_TITLE, 2)


def test_two_roles_titled_alike_conflict_and_a_claimed_role_is_not_matched_by_title() -> None:
    roles = matching.RoleIndex.build([(1, "Data", ""), (2, "data!", ""), (3, "QA", "Q-1")])

    conflict = matching.posting_decide("Data", "data", [], roles, Counter(), set())
    claimed = matching.posting_decide("QA", "qa", [], roles, Counter({"q-1": 1}), {3})

    assert conflict == matching.Decision(
        matching.CONFLICT, None, "2 Karat roles are titled “Data”: choose one."
    )
    assert claimed is None


def test_a_posting_not_synced_yet_takes_the_first_role_by_code_then_by_title() -> None:
    backend = _Role("Backend Engineer")
    coded = _Role("Platform", "ENG-7")
    postings = [_Posting("Backend  engineer"), _Posting("Other", ("eng-7",))]

    assert matching.role_first_match(postings=postings, roles=[backend, coded]) is coded
    assert matching.role_first_match(postings=postings[:1], roles=[backend, coded]) is backend
    assert matching.role_first_match(postings=[_Posting("")], roles=[_Role("")]) is None
