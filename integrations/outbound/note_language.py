"""The language of admin-written note templates: the only tags and filters they may use (the
restricted engine in ``outbound/services/notes.py`` loads this library and nothing else)."""

from __future__ import annotations

from django.template import Library, defaultfilters, defaulttags
from django.utils.text import Truncator

register = Library()

# No loop tag: without one every node renders once, which is what bounds a render's work (see
# notes.py). Each block tag's own closing and middle words are listed with it.
TAGS: dict[str, tuple[str, ...]] = {
    "if": ("elif", "else", "endif"),
    "comment": ("endcomment",),
}
BLOCK_WORDS = frozenset(TAGS) | {word for words in TAGS.values() for word in words}

register.tag("if", defaulttags.do_if)
register.tag("comment", defaulttags.comment)


def _count(arg: object) -> int | None:
    try:
        return int(str(arg))
    except ValueError:
        return None


def truncatechars(value: object, arg: object) -> str:
    """Django's ``truncatechars``, also when ``arg`` is not a number (the text unchanged)."""
    length = _count(arg)
    text = str(value)
    return text if length is None else Truncator(text).chars(length)


def truncatewords(value: object, arg: object) -> str:
    """Django's ``truncatewords``, also when ``arg`` is not a number (the text unchanged)."""
    length = _count(arg)
    text = str(value)
    return text if length is None else Truncator(text).words(length, truncate=" …")


# Each one's work is linear in its input, and none makes a text longer than its input (or, for
# ``default``, than the value given in the template).
register.filter("default", defaultfilters.default)
register.filter("upper", defaultfilters.upper)
register.filter("lower", defaultfilters.lower)
register.filter("title", defaultfilters.title)
register.filter("capfirst", defaultfilters.capfirst)
register.filter("truncatechars", truncatechars)
register.filter("truncatewords", truncatewords)

FILTERS: tuple[str, ...] = tuple(register.filters)
