"""The one rule that matches ATS postings to Karat roles (pure: no models, no ORM).

A posting whose requisition code equals a Karat role's (same group) maps to that role;
otherwise a posting whose normalised title (case, spacing, punctuation) equals exactly one
role's maps to it. Anything ambiguous — two roles with the same title, one requisition code on
two postings, codes naming two roles — is left unmatched as a conflict for an admin. Similar
titles are only ever suggestions (``title_similarity``). Syncing applies the rule to every
stored posting (``posting_decide``); inviting applies it to a posting not synced yet
(``role_first_match``).
"""

from __future__ import annotations

import difflib
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

# The longest title (and title key) stored: AtsPosting.title / title_key.
TITLE_MAX = 300

# How the rule matched a posting: the automatic values of ``RoleMapping.Method`` (this module
# reads no models).
BY_REQUISITION_CODE = "requisition_code"
BY_TITLE = "title"
CONFLICT = "conflict"

# Similar-title suggestions: difflib ratio of the normalised titles' words, at least this
# (or a character ratio of at least NEAR_SPELLING: a typo).
SUGGESTION_MIN_RATIO = 0.6
NEAR_SPELLING = 0.9
SUGGESTIONS_MAX = 3


def title_key(title: str) -> str:
    """The title as matching compares it: accents dropped, case folded, every run of spaces
    and punctuation one space (``"Sr. Backend-Engineer "`` → ``"sr backend engineer"``)."""
    text = unicodedata.normalize("NFKD", title).casefold()
    kept = "".join(ch if ch.isalnum() else " " for ch in text if not unicodedata.combining(ch))
    return " ".join(kept.split())[:TITLE_MAX]


def title_similarity(words: Sequence[str], key: str, other: str) -> float:
    """How alike two normalised titles are (0..1): difflib's ratio over their words, so a
    shared "engineer" alone is not similarity ("Staff Frontend Engineer" ~ "Senior Frontend
    Engineer" 0.67, "Solutions Engineer" ~ "iOS Engineer" 0.5); a near-identical spelling
    (character ratio ≥ 0.9, e.g. a typo) counts as its character ratio. Exact from
    SUGGESTION_MIN_RATIO up; below it, an upper bound of the words' ratio (quick_ratio)."""
    matcher = difflib.SequenceMatcher(None, words, other.split())
    # quick_ratio() bounds ratio() from above (difflib's documented contract) and costs a
    # fraction of it: a roles page compares every row with every role (25 rows by 500 roles), and most
    # pairs share a word or none. Below the suggestion threshold the bound is returned.
    score = matcher.quick_ratio()
    if score >= SUGGESTION_MIN_RATIO:
        score = matcher.ratio()
    if score < SUGGESTION_MIN_RATIO:
        chars = difflib.SequenceMatcher(None, key, other)
        if chars.quick_ratio() >= NEAR_SPELLING:
            score = max(score, chars.ratio() if chars.ratio() >= NEAR_SPELLING else 0.0)
    return score


class TitleComparer:
    """One normalised title compared with many (a posting's row against every role):
    ``similarity(other)`` is ``title_similarity(words, key, other)`` where that reaches
    SUGGESTION_MIN_RATIO, and 0.0 where difflib's quick bounds already rule it out. difflib
    caches its analysis of the second sequence, so this title is set there once and each
    other title as the first (``set_seq1``, as difflib's documentation advises); the bounds
    are multiset counts, the same in either order."""

    def __init__(self, words: Sequence[str], key: str) -> None:
        self.words, self.key = list(words), key
        self._by_words = difflib.SequenceMatcher(None, b=self.words)
        self._by_chars = difflib.SequenceMatcher(None, b=key)

    def similarity(self, other: str) -> float:
        self._by_words.set_seq1(other.split())
        if self._by_words.quick_ratio() < SUGGESTION_MIN_RATIO:
            self._by_chars.set_seq1(other)
            if self._by_chars.quick_ratio() < NEAR_SPELLING:
                return 0.0
        return title_similarity(self.words, self.key, other)


# --- a synced posting against the group's roles -----------------------------------------------


@dataclass(frozen=True)
class RoleIndex:
    """A group's active roles as the rule looks them up: by requisition code (trimmed, case
    folded) and by title key."""

    by_code: dict[str, int]
    by_title: dict[str, list[int]]

    @classmethod
    def build(cls, roles: Iterable[tuple[int, str, str]]) -> RoleIndex:
        """From each active role's (id, title, requisition code)."""
        by_code: dict[str, int] = {}
        by_title: dict[str, list[int]] = {}
        for role_id, title, code in roles:
            if code.strip():
                by_code[code.strip().casefold()] = role_id
            by_title.setdefault(title_key(title), []).append(role_id)
        return cls(by_code, by_title)

    def claiming(self, title_key: str, codes: Iterable[str]) -> list[int]:
        """Roles with one of ``codes`` or the same normalised title."""
        found = [self.by_code[c.casefold()] for c in codes if c.casefold() in self.by_code]
        found += self.by_title.get(title_key, [])
        return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Decision:
    method: str  # BY_REQUISITION_CODE, BY_TITLE or CONFLICT
    role_id: int | None
    note: str = ""


def posting_decide(
    title: str,
    key: str,
    codes: Sequence[str],
    roles: RoleIndex,
    code_count: Counter[str],
    claimed: set[int],
) -> Decision | None:
    """The rule for one stored posting: requisition code, then title key; a conflict (with a
    note) when ambiguous; None when no role matches. ``code_count`` counts each case-folded
    requisition code over the integration's current postings; ``claimed`` are the roles whose
    requisition code is on some posting (they are never matched by title)."""
    code_roles = {roles.by_code[c.casefold()] for c in codes if c.casefold() in roles.by_code}
    if len(code_roles) > 1:
        return Decision(
            CONFLICT,
            None,
            f"Its requisition codes ({', '.join(codes)}) belong to {len(code_roles)} different "
            "Karat roles.",
        )
    if code_roles:
        shared = next(
            (c for c in codes if c.casefold() in roles.by_code and code_count[c.casefold()] > 1),
            None,
        )
        if shared is not None:
            return Decision(
                CONFLICT,
                None,
                f"Requisition code {shared} is on {code_count[shared.casefold()]} postings: "
                "choose the role for each.",
            )
        return Decision(BY_REQUISITION_CODE, code_roles.pop())
    same_title = [r for r in roles.by_title.get(key, ()) if r not in claimed]
    if len(same_title) == 1:
        return Decision(BY_TITLE, same_title[0])
    if len(same_title) > 1:
        return Decision(
            CONFLICT,
            None,
            f"{len(same_title)} Karat roles are titled “{title}”: choose one.",
        )
    return None


# --- a posting not synced yet -----------------------------------------------------------------


class _Posting(Protocol):
    @property
    def title(self) -> str: ...

    @property
    def requisition_codes(self) -> Sequence[str]: ...


class _Role(Protocol):
    @property
    def title(self) -> str: ...

    @property
    def requisition_code(self) -> str: ...


RoleT = TypeVar("RoleT", bound=_Role)


def role_first_match(*, postings: Sequence[_Posting], roles: Sequence[RoleT]) -> RoleT | None:
    """The rule for postings Karat has not synced yet (no conflicts to record: the first match
    wins): the first of ``roles`` whose requisition code is one of a posting's, else the first
    whose title equals a posting's after normalising case, spacing and punctuation."""
    for posting in postings:
        codes = {c.casefold() for c in posting.requisition_codes}
        for role in roles:
            if role.requisition_code and role.requisition_code.casefold() in codes:
                return role
    for posting in postings:
        title = title_key(posting.title)
        for role in roles:
            if title and title_key(role.title) == title:
                return role
    return None
