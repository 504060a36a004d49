"""The `when` filter: the console's one way to show a moment (issue #10)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from django.template import Context, Template

from karatlever.accounts.templatetags.when import when

ROOT = Path(__file__).resolve().parent.parent


def _render(source: str, **context: object) -> str:
    return Template("{% load when %}" + source).render(Context(context))


def test_a_datetime_is_a_time_element_in_utc_with_its_iso_moment() -> None:
    moment = datetime(2026, 3, 7, 9, 5, 30, tzinfo=UTC)

    assert _render("{{ moment|when }}", moment=moment) == (
        '<time datetime="2026-03-07T09:05:30Z" class="when">Mar 7, 2026, 09:05 UTC</time>'
    )


def test_another_time_zone_is_shown_as_the_same_moment_in_utc() -> None:
    moment = datetime(2026, 3, 7, 1, 5, tzinfo=timezone(timedelta(hours=-8)))

    assert 'datetime="2026-03-07T09:05:00Z" class="when">Mar 7, 2026, 09:05 UTC<' in str(
        when(moment)
    )


def test_epoch_milliseconds_are_a_date_like_any_other() -> None:
    # Lever's triggeredAt
    assert str(when(1795965022799)) == (
        '<time datetime="2026-11-29T15:10:22.799Z" class="when">Nov 29, 2026, 15:10 UTC</time>'
    )


@pytest.mark.parametrize("empty", [None, "", True, "not a date", 10**30])
def test_empty_or_unreadable_values_render_nothing_so_default_applies(empty: object) -> None:
    assert _render('{{ value|when|default:"never" }}', value=empty) == "never"


def test_no_template_formats_dates_its_own_way() -> None:
    """Every moment on a console page goes through `when` (one format, the viewer's zone)."""
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\|\s*date\b|naturaltime|naturalday|timesince|timeuntil", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_console_script_localises_every_when_element() -> None:
    script = (ROOT / "static" / "js" / "console.js").read_text()

    assert 'querySelectorAll("time.when[datetime]")' in script
    assert "Intl.DateTimeFormat" in script
