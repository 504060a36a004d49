"""Invite fixtures: each test's own cache, rate buckets and memory broker, and the demo
opportunities' URLs. The Lever sandbox, the keyed integration, the roles and the invitable
opportunities are shared with the automatic invite's tests (tests/integrations/conftest.py)."""

from __future__ import annotations

import pytest

from integrations.lever.sandbox import demo_opportunity_ids
from integrations.lever.sandbox.demo import demo_opportunity


@pytest.fixture(autouse=True)
def _own_cache_and_broker(own_cache_and_broker: None) -> None:
    """Every test here (see ``own_cache_and_broker``)."""


def url_of(opportunity_id: str) -> str:
    return f"https://hire.lever.co/candidates/{opportunity_id}"


def unmailable_opportunity_id() -> str:
    """An otherwise invitable demo opportunity whose email has a non-ASCII local part."""
    return next(
        o
        for o in demo_opportunity_ids(60)
        if not demo_opportunity(o)["emails"][0].rpartition("@")[0].isascii()
    )
