"""Automatic invite fixtures: each test's own cache, rate buckets and memory broker; the Lever
sandbox, the keyed integration, the roles and the invitable opportunities are shared with the
invite tests (tests/integrations/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_cache_and_broker(own_cache_and_broker: None) -> None:
    """Every test here (see ``own_cache_and_broker``)."""
