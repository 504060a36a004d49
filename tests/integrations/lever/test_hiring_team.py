"""Lever's hiring-team people (integrations/lever/README.md §17): expanded users → AtsPerson,
emails validated, and a missing or malformed expansion told apart from "nobody"."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.ats import person_email_clean, person_name_clean
from integrations.lever.hiring_team import opportunity_owner, posting_team
from integrations.lever.schemas import PostingTeam

# As Lever expands a user (GET /users shape, §17.1).
AVERY = {
    "id": "u-1",
    "name": "Avery Chen",
    "email": "Avery.Chen@Example.com",
    "accessRole": "admin",
}
JORDAN = {"id": "u-2", "name": "Jordan Patel", "email": "jordan@example.com"}


def team(**fields: Any) -> PostingTeam:
    return PostingTeam.model_validate(fields)


def test_an_expanded_team_gives_one_person_per_user_with_merged_roles() -> None:
    people = posting_team(
        team(owner=AVERY, hiringManager=AVERY, followers=[JORDAN, AVERY]), posting_id="p"
    )

    assert people is not None
    assert [(p.user_id, p.email, p.team_roles) for p in people] == [
        ("u-1", "avery.chen@example.com", ("owner", "hiring_manager", "follower")),
        ("u-2", "jordan@example.com", ("follower",)),
    ]


def test_nobody_in_any_role_is_an_empty_team_not_an_unknown_one() -> None:
    assert posting_team(team(owner=None, hiringManager=None, followers=[]), posting_id="p") == ()
    assert posting_team(team(), posting_id="p") == ()


@pytest.mark.parametrize(
    "fields",
    [
        {"owner": "u-1"},  # Lever ignored expand: a plain id
        {"hiringManager": 42},
        {"followers": ["u-2"]},
        {"followers": {"id": "u-2"}},
        {"owner": {"name": "no id"}},
    ],
)
def test_a_missing_or_malformed_expansion_is_unknown(fields: dict[str, Any]) -> None:
    assert posting_team(team(**fields), posting_id="p") is None


def test_an_opportunity_owner_is_known_only_when_expanded() -> None:
    assert opportunity_owner(AVERY)[1] is True
    assert opportunity_owner(None) == (None, True)
    assert opportunity_owner("u-1") == (None, False)
    assert opportunity_owner([AVERY]) == (None, False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Ada@Acme.Test", "ada@acme.test"),
        ("  ada@acme.test ", "ada@acme.test"),
        ("ada@acme.test\r\nBcc: eve@example.org", ""),
        ("ada@acme.test\n", "ada@acme.test"),  # trailing whitespace only: stripped
        ("Ada <ada@acme.test>", ""),
        ("ada@acme.test, eve@example.org", ""),
        ("ada@acme.test;eve@example.org", ""),
        ('"ada"@acme.test', ""),
        ("ada\x00@acme.test", ""),
        ("ada", ""),
        ("", ""),
        (None, ""),
        (42, ""),
        ("a" * 250 + "@acme.test", ""),
    ],
)
def test_emails_from_lever_are_validated(value: object, expected: str) -> None:
    assert person_email_clean(value) == expected


def test_names_from_lever_are_one_short_line() -> None:
    assert person_name_clean("Ada\r\nBcc: x") == "Ada Bcc: x"
    assert person_name_clean("x" * 500) == "x" * 200
    assert person_name_clean(None) == ""
