"""The fault suite's fixtures: its own PostgreSQL and Redis (session), figures on the terminal.

Every module here sets ``pytestmark = pytest.mark.reliability`` (deselected from ``make test`` by the addopts in
pyproject.toml; ``make test-reliability`` runs them). docs/operations.md, "The fault suite".
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.reliability.services import Postgres, Redis


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL cluster of the suite's own (never the shared :5432), always torn down."""
    server = Postgres()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    """A redis-server of the suite's own (never the shared :6379), always torn down."""
    server = Redis()
    try:
        yield server
    finally:
        server.destroy()


_databases = itertools.count(1)


@pytest.fixture
def fresh_database(postgres: Postgres) -> Callable[[], str]:
    """A new, empty database in the suite's cluster (its URL) for each call."""
    return lambda: postgres.create_database(f"reliability_{next(_databases)}")


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``figures(name=value, ...)``: print a scenario's measurements on the terminal whatever
    the capture mode (and keep them in the JUnit properties)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")

    def report(**values: Any) -> None:
        line = f"[figures] {request.node.name}: {json.dumps(values, default=str)}"
        request.node.user_properties.append(("figures", json.dumps(values, default=str)))
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line("")
                reporter.write_line(line)

    return report
