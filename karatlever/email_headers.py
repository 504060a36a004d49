"""What may go into an email's headers: exactly one plain address, or one line of text.

Values from an ATS (a candidate's email, a posting title that became a role) are untrusted:
Django refuses a header with a line break only when the message is built, as an exception
(a 500, or a batch that stops), and it accepts some values that are not one address at all
(a display name, a list). Check addresses with ``address_problem`` where they enter, and pass
every text that goes into a header (a subject, a name) through ``header_text``.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# Control characters, line and paragraph separators: a header must stay one line.
_BREAKING = frozenset({"Cc", "Zl", "Zp"})
# Invisible format characters (zero-width, bidirectional overrides): nothing to show.
_INVISIBLE = "Cf"
# What a display name or a quoted part of an address is made of.
_NAME_MARKS = frozenset('<>"()')


def _breaking(char: str) -> bool:
    return unicodedata.category(char) in _BREAKING


def _visible(value: str, limit: int = 120) -> str:
    """``value`` as it can be shown in a one-line message: control characters escaped."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def header_text(value: str) -> str:
    """``value`` as one line: every control character, line break and run of whitespace
    becomes one space, invisible format characters go, and the ends are trimmed."""
    kept = []
    for char in value:
        category = unicodedata.category(char)
        if category in _BREAKING or char.isspace():
            kept.append(" ")
        elif category != _INVISIBLE:
            kept.append(char)
    return " ".join("".join(kept).split())


def address_problem(value: str) -> str:
    """Why ``value`` is not exactly one plain email address (``name@example.org``), or "".

    Refused, each with its own reason: a line break or other control character, a ``mailto:``
    link, more than one address (``a@x; b@y``), a name with the address (``Name <a@x>``,
    quotes), and anything ``django.core.validators.validate_email`` refuses. An address whose
    part before the @ has non-ASCII letters is one plain address here (whether Karat's mail
    can carry it is ``email_unsupported_reason``'s question in the invite flow).
    """
    shown = f"“{_visible(value)}”"
    if any(_breaking(c) for c in value):
        return f"{shown} has a line break or another control character."
    if value.strip().lower().startswith("mailto:"):
        return f"{shown} is a mailto: link, not a plain email address."
    if any(c in ",;" for c in value) or value.count("@") > 1:
        return f"{shown} holds more than one address; an invitation goes to exactly one."
    if any(c in _NAME_MARKS for c in value):
        return f"{shown} has a name with the address (Name <address>); give the address alone."
    local, at, domain = value.rpartition("@")
    # Non-ASCII letters before the @ are checked elsewhere; validate the rest as if ASCII.
    ascii_local = "".join(c if c.isascii() else "x" for c in local)
    try:
        validate_email(f"{ascii_local}{at}{domain}")
    except ValidationError:
        return f"{shown} is not a valid email address."
    return ""
