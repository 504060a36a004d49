"""Joining messages people read: one sentence each, never glued ("(401).; Region: …")."""

from __future__ import annotations

from collections.abc import Iterable

_SENTENCE_ENDS = (".", "!", "?", "…")


def sentences_join(parts: Iterable[str]) -> str:
    """The non-empty ``parts``, stripped, each ending with a full stop unless it already ends a
    sentence, joined with one space. A leaf: imports nothing of the project."""
    sentences = []
    for part in parts:
        text = part.strip().rstrip(":;,").rstrip()
        if text:
            sentences.append(text if text.endswith(_SENTENCE_ENDS) else f"{text}.")
    return " ".join(sentences)
