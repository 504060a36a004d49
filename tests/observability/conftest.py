"""Fixtures for the observability tests: log records as the console handler sees them, and
Prometheus samples read the way /metrics reads them."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, multiprocess

from karatlever.observability import metrics
from karatlever.observability.context import LogContextFilter
from tests.brokers import broker


class Records(logging.Handler):
    """Keeps every record, after the same filter the console handler has."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.addFilter(LogContextFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture(autouse=True)
def _memory_broker() -> Iterator[None]:
    """Tasks published here go to an in-process broker, never into var/broker."""
    with broker("memory://"):
        yield


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    """The value of one sample summed over every process sharing METRICS_DIR (0 if absent),
    as /metrics reports it."""
    registry = CollectorRegistry()
    metrics.directory().mkdir(parents=True, exist_ok=True)
    multiprocess.MultiProcessCollector(registry, path=str(metrics.directory()))
    value = registry.get_sample_value(name, labels or {})
    return value or 0.0
