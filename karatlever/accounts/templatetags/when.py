"""`{{ value|when }}`: the console's one way to show a moment.

Renders ``<time datetime="ISO-8601 UTC" class="when">Nov 29, 2026, 17:35 UTC</time>``; the
console's script (static/js/console.js) rewrites the text into the viewer's own time zone.
Accepts an aware datetime, an ISO 8601 string (as JSON snapshots store moments) or epoch
milliseconds (Lever's ``triggeredAt``); anything empty
renders as "" so ``|when|default:"—"`` works.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


def as_utc(value: datetime | int | float | str | None) -> datetime | None:
    """The moment ``value`` names, in UTC; None for empty or unreadable values."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = parse_datetime(value)
        except ValueError:
            return None
        if value is None:
            return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
        return value.astimezone(UTC)
    return None


def text(moment: datetime) -> str:
    """The one format the console shows: "Nov 29, 2026, 17:35 UTC" (static/js/console.js
    shows the same fields in the viewer's time zone)."""
    return f"{moment:%b} {moment.day}, {moment:%Y, %H:%M} UTC"


@register.filter(is_safe=True)
def when(value: datetime | int | float | str | None) -> SafeString | str:
    moment = as_utc(value)
    if moment is None:
        return ""
    iso = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return format_html(
        '<time datetime="{}" class="when">{}</time>',
        iso.replace("+00:00", "Z"),
        text(moment),
    )
