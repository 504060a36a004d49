"""Text typed into a search box or carried in a query string, made safe to put in a query."""

from __future__ import annotations


def search_text(value: object, *, max_length: int) -> str:
    """``value`` (a query-string value, or None) as one line of at most ``max_length``
    characters: control characters (NUL among them, which PostgreSQL refuses in text, a
    500 otherwise) become spaces, runs of whitespace one space, the ends trimmed. Never
    raises; "" for None or a blank."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(value or ""))
    return " ".join(text.split())[:max_length]
