"""Every URL route of the project, for tests that walk them all."""

from __future__ import annotations

import re
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver


def all_routes() -> list[str]:
    """Every route pattern as text, e.g. ``settings/ats-integrations/<uuid:public_id>/``."""

    def walk(patterns: list[Any], prefix: str = "") -> list[str]:
        found = []
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                found += walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                found.append(prefix + str(pattern.pattern))
        return found

    return walk(get_resolver().url_patterns)


def route_fill(route: str, ids: dict[str, str]) -> str:
    """The route's path with each ``<converter:name>`` replaced by ``ids[name]``."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: ids[m.group(1)], route)
