"""Lever webhook signatures: known answers from the fixtures, forgeries, bad types and rotation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.lever.signatures import sign, verify

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "lever"

# Made-up tokens the fixture files were signed with (integrations/lever/README.md §9.8).
TOKENS = {
    "candidateStageChange": "d2e4f6a8b0c1d3e5f7a9b1c3d5e7f9a0b2c4d6e8f0a1b3c5",
    "candidateArchiveChange": "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718",
    "candidateHired": "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a59687",
}
EVENTS = sorted(TOKENS)


def _delivery(event: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"webhook-{event}.json").read_text())


@pytest.mark.parametrize("event", EVENTS)
def test_each_fixture_verifies_with_its_own_token(event: str) -> None:
    body = _delivery(event)

    assert body["event"] == event
    assert verify(body, signature_tokens=[TOKENS[event]]) is True


@pytest.mark.parametrize("event", EVENTS)
def test_sign_reproduces_each_fixture_signature(event: str) -> None:
    body = _delivery(event)

    signature = sign(
        signature_token=TOKENS[event], token=body["token"], triggered_at=body["triggeredAt"]
    )

    assert signature == body["signature"]


def test_sign_known_answer_for_a_hand_computed_message() -> None:
    # Computed outside Python, so it checks the message layout (token then decimal timestamp):
    # printf 'abc1' | openssl dgst -sha256 -hmac key
    assert sign(signature_token="key", token="abc", triggered_at=1) == (
        "99ee5fa0c4dd822113ed99d941cf01eb84979560dea2629f70784514570fa4d7"
    )


def test_sign_refuses_a_bool_or_string_timestamp() -> None:
    with pytest.raises(TypeError):
        sign(signature_token="k", token="t", triggered_at=True)
    with pytest.raises(TypeError):
        sign(signature_token="k", token="t", triggered_at="1")  # type: ignore[arg-type]  # a str on purpose


def test_data_is_not_covered_so_a_changed_data_still_verifies() -> None:
    # Documents Lever's design (integrations/lever/README.md §9.4, §9.3): handlers must
    # re-fetch, never trust `data`.
    body = _delivery("candidateStageChange")
    body["data"] = {"opportunityId": "00000000-0000-0000-0000-000000000000"}

    assert verify(body, signature_tokens=[TOKENS["candidateStageChange"]]) is True


def _tampered(event: str, **changes: Any) -> dict[str, Any]:
    body = _delivery(event)
    body.update(changes)
    return body


def _without(event: str, field: str) -> dict[str, Any]:
    body = _delivery(event)
    del body[field]
    return body


STAGE = "candidateStageChange"
STAGE_BODY = _delivery(STAGE)

NEGATIVE: dict[str, tuple[dict[str, Any], list[str | None]]] = {
    "wrong token": (STAGE_BODY, ["0" * 48]),
    "another event's token": (STAGE_BODY, [TOKENS["candidateHired"]]),
    "no tokens at all": (STAGE_BODY, []),
    "only empty or None tokens": (STAGE_BODY, ["", None]),
    "altered token": (_tampered(STAGE, token=STAGE_BODY["token"][:-1] + "0"), [TOKENS[STAGE]]),
    "token with trailing space": (
        _tampered(STAGE, token=STAGE_BODY["token"] + " "),
        [TOKENS[STAGE]],
    ),
    "altered triggeredAt": (
        _tampered(STAGE, triggeredAt=STAGE_BODY["triggeredAt"] + 1),
        [TOKENS[STAGE]],
    ),
    "triggeredAt as a string": (
        _tampered(STAGE, triggeredAt=str(STAGE_BODY["triggeredAt"])),
        [TOKENS[STAGE]],
    ),
    "triggeredAt as a float": (
        _tampered(STAGE, triggeredAt=float(STAGE_BODY["triggeredAt"])),
        [TOKENS[STAGE]],
    ),
    "triggeredAt as None": (_tampered(STAGE, triggeredAt=None), [TOKENS[STAGE]]),
    "triggeredAt negative": (_tampered(STAGE, triggeredAt=-1), [TOKENS[STAGE]]),
    "triggeredAt with 5000 digits": (_tampered(STAGE, triggeredAt=10**5000), [TOKENS[STAGE]]),
    "missing token": (_without(STAGE, "token"), [TOKENS[STAGE]]),
    "missing triggeredAt": (_without(STAGE, "triggeredAt"), [TOKENS[STAGE]]),
    "missing signature": (_without(STAGE, "signature"), [TOKENS[STAGE]]),
    "empty token": (_tampered(STAGE, token=""), [TOKENS[STAGE]]),
    "token as a number": (_tampered(STAGE, token=12345), [TOKENS[STAGE]]),
    "token with a lone surrogate": (_tampered(STAGE, token="\ud800"), [TOKENS[STAGE]]),
    "upper-case hex signature": (
        _tampered(STAGE, signature=STAGE_BODY["signature"].upper()),
        [TOKENS[STAGE]],
    ),
    "truncated signature": (
        _tampered(STAGE, signature=STAGE_BODY["signature"][:-2]),
        [TOKENS[STAGE]],
    ),
    "signature with trailing newline": (
        _tampered(STAGE, signature=STAGE_BODY["signature"] + "\n"),
        [TOKENS[STAGE]],
    ),
    "signature flipped in one digit": (
        _tampered(STAGE, signature="0" + STAGE_BODY["signature"][1:]),
        [TOKENS[STAGE]],
    ),
    "signature with a sha256= prefix": (
        _tampered(STAGE, signature="sha256=" + STAGE_BODY["signature"]),
        [TOKENS[STAGE]],
    ),
    "signature as bytes": (
        _tampered(STAGE, signature=STAGE_BODY["signature"].encode()),
        [TOKENS[STAGE]],
    ),
    "signature as a list": (_tampered(STAGE, signature=[STAGE_BODY["signature"]]), [TOKENS[STAGE]]),
    "empty body": ({}, [TOKENS[STAGE]]),
}


@pytest.mark.parametrize("case", NEGATIVE)
def test_forged_or_malformed_deliveries_are_rejected(case: str) -> None:
    body, tokens = NEGATIVE[case]

    # Deliberately wrong type: one case passes None among the tokens.
    assert verify(body, signature_tokens=tokens) is False  # type: ignore[arg-type]


def test_triggered_at_as_bool_is_rejected_even_when_signed_as_true() -> None:
    # A forger signing str(True) must not get JSON `true` accepted as an int.
    body = {
        "token": "abc",
        "triggeredAt": True,
        "signature": sign(signature_token="k", token="abc", triggered_at=1),
    }

    assert verify(body, signature_tokens=["k"]) is False
    assert verify({**body, "triggeredAt": 1}, signature_tokens=["k"]) is True


@pytest.mark.parametrize(
    "body", [None, "token=abc", b"{}", [STAGE_BODY], 42, json.dumps(STAGE_BODY)]
)
def test_a_body_that_is_not_a_mapping_is_rejected(body: object) -> None:
    assert verify(body, signature_tokens=[TOKENS[STAGE]]) is False  # type: ignore[arg-type]  # not a mapping on purpose


def _signed_body(signature_token: str) -> dict[str, Any]:
    token, triggered_at = "t-1", 1767258000123
    signature = sign(signature_token=signature_token, token=token, triggered_at=triggered_at)
    return {"token": token, "triggeredAt": triggered_at, "signature": signature}


def test_rotation_accepts_old_and_new_tokens_and_rejects_a_third() -> None:
    old, new, third = "old-token-1", "new-token-2", "someone-elses-token"
    signed_with_old, signed_with_new = _signed_body(old), _signed_body(new)
    signed_with_third = _signed_body(third)

    assert verify(signed_with_old, signature_tokens=[new, old]) is True
    assert verify(signed_with_new, signature_tokens=[new, old]) is True
    assert verify(signed_with_third, signature_tokens=[new, old]) is False
    assert verify(signed_with_old, signature_tokens=[new]) is False


def test_empty_and_none_tokens_are_skipped_not_fatal() -> None:
    body = _delivery(STAGE)

    assert verify(body, signature_tokens=["", None, TOKENS[STAGE]]) is True  # type: ignore[list-item]  # None on purpose


def test_tokens_can_be_any_iterable_such_as_a_generator() -> None:
    body = _delivery(STAGE)

    assert verify(body, signature_tokens=(token for token in TOKENS.values())) is True


def test_a_single_string_of_tokens_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="list of tokens"):
        verify(_delivery(STAGE), signature_tokens=TOKENS[STAGE])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={"token": _JSON, "triggeredAt": _JSON, "signature": _JSON, "data": _JSON},
    ),
    st.lists(st.one_of(st.none(), st.text(max_size=50)), max_size=3),
)
def test_verify_never_raises_on_arbitrary_json(body: dict[str, Any], tokens: list[str]) -> None:
    assert verify(body, signature_tokens=tokens) is False


@given(st.text(min_size=1), st.text(min_size=1), st.integers(min_value=0, max_value=2**63 - 1))
def test_whatever_sign_produces_verify_accepts(token: str, signature_token: str, at: int) -> None:
    try:
        signature = sign(signature_token=signature_token, token=token, triggered_at=at)
    except UnicodeEncodeError:  # lone surrogates can't be UTF-8 encoded; verify rejects them
        return
    body = {"token": token, "triggeredAt": at, "signature": signature}

    assert len(signature) == 64
    assert verify(body, signature_tokens=[signature_token]) is True
    assert verify(body, signature_tokens=[signature_token + "x"]) is False
