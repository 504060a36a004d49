"""Metrics read from the database when /metrics is scraped, so every web process gives the
same, current answer whichever one Prometheus reaches (nothing is kept in a process).

Gauges (``integration_id`` is the integration's public Integration ID, never a key):

- ``karatlever_webhook_backlog{integration_id}``: deliveries received but not finished;
- ``karatlever_webhook_backlog_oldest_age_seconds{integration_id}``: how long the oldest of
  them has waited (the processing lag an alert should watch);
- ``karatlever_webhook_dead_letters{integration_id}``: deliveries given up on;
- ``karatlever_outbound_backlog{integration_id}``, ``karatlever_outbound_backlog_oldest_age_seconds``
  and ``karatlever_outbound_dead_letters``: the same for the outbox (updates to the ATS);
- ``karatlever_invite_batches{status}``: invite batches by status;
- ``karatlever_metrics_database_up``: 1, or 0 when the database could not be read (the other
  database gauges are then absent, and the scrape still succeeds).

Integrations with nothing queued have no series (absent = 0 in PromQL with ``or vector(0)``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db import DatabaseError
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from integrations.invites.selectors import invite_batch_counts
from integrations.outbound.selectors import outbound_backlog_by_integration
from webhooks.selectors import delivery_backlog_by_integration

logger = logging.getLogger(__name__)


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


class DatabaseCollector(Collector):
    """prometheus-client custom collector: four grouped queries per scrape."""

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "karatlever_metrics_database_up",
            "1 when the database-backed metrics could be read for this scrape, else 0.",
        )
        try:
            families = list(self._families())
        except DatabaseError:
            # The reason (hosts, SQL) stays in the server log; the scrape says only "down".
            logger.warning("metrics: the database could not be read", exc_info=True)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]

    def _families(self) -> Iterator[Metric]:
        now = timezone.now()
        label = ["integration_id"]
        webhook_backlog = GaugeMetricFamily(
            "karatlever_webhook_backlog",
            "Webhook deliveries received and not finished (received, retry, processing).",
            labels=label,
        )
        webhook_age = GaugeMetricFamily(
            "karatlever_webhook_backlog_oldest_age_seconds",
            "Seconds the oldest unfinished webhook delivery has waited since it was received.",
            labels=label,
        )
        webhook_dead = GaugeMetricFamily(
            "karatlever_webhook_dead_letters",
            "Webhook deliveries given up on (dead) and not replayed.",
            labels=label,
        )
        for row in delivery_backlog_by_integration():
            key = [row.integration_public_id]
            webhook_backlog.add_metric(key, row.unfinished)
            webhook_age.add_metric(key, _age(now, row.oldest_at))
            webhook_dead.add_metric(key, row.dead)
        yield from (webhook_backlog, webhook_age, webhook_dead)

        outbound_backlog = GaugeMetricFamily(
            "karatlever_outbound_backlog",
            "Outbound updates to the ATS not yet sent (pending, sending).",
            labels=label,
        )
        outbound_age = GaugeMetricFamily(
            "karatlever_outbound_backlog_oldest_age_seconds",
            "Seconds since the oldest unsent outbound update was created.",
            labels=label,
        )
        outbound_dead = GaugeMetricFamily(
            "karatlever_outbound_dead_letters",
            "Outbound updates given up on (dead) and neither retried nor dismissed.",
            labels=label,
        )
        for outbox in outbound_backlog_by_integration():
            key = [outbox.integration_public_id]
            outbound_backlog.add_metric(key, outbox.unsent)
            outbound_age.add_metric(key, _age(now, outbox.oldest_at))
            outbound_dead.add_metric(key, outbox.dead)
        yield from (outbound_backlog, outbound_age, outbound_dead)

        batches = GaugeMetricFamily(
            "karatlever_invite_batches",
            "Invite batches by status (previewing, previewed, inviting, done).",
            labels=["status"],
        )
        for status, count in invite_batch_counts().items():
            batches.add_metric([status], count)
        yield batches
