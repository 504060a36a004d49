"""Run the reconciliation poll now, in this process, for one integration or all of them."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations import ats
from integrations.models import AtsIntegration
from webhooks.services import deletions, reconcile


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class Command(BaseCommand):
    help = (
        "Run the reconciliation poll now, in this process (what the beat schedule queues every "
        "RECONCILE_INTERVAL_SECONDS): apply Lever's current state to every linked candidacy "
        "whose opportunity changed since the last poll, then honour deletions whose webhook "
        "was missed. Name integrations by their id (the UUID in the console's URLs and the "
        "API), or give --all for every integration the schedule would poll. Exits 1 when an "
        "integration could not be polled."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("integration_ids", nargs="*", help="integration ids (UUIDs)")
        parser.add_argument(
            "--all",
            action="store_true",
            help="every enabled integration with an API key and a linked candidacy or the "
            "automatic invite on",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        integrations = self._integrations(options["integration_ids"], every=options["all"])
        if not integrations:
            self.stdout.write(
                "Nothing to poll: no enabled integration with an API key has a linked "
                "candidacy or the automatic invite on."
            )
        failed = 0
        for integration in integrations:
            line, ok = self._run(integration)
            failed += not ok
            self.stdout.write(f"{integration} ({integration.public_id}): {line}")
        if failed:
            raise CommandError(
                f"{_count(failed, 'integration', 'integrations')} could not be polled; the "
                "next scheduled poll covers the gap."
            )

    def _integrations(self, ids: list[str], *, every: bool) -> list[AtsIntegration]:
        if every and ids:
            raise CommandError("Give either integration ids or --all, not both.")
        if not every and not ids:
            raise CommandError("Name one or more integration ids (UUIDs), or give --all.")
        if every:
            due = reconcile.reconcile_due_integration_ids()
            return list(AtsIntegration.objects.filter(pk__in=due).order_by("pk"))
        public_ids: list[uuid.UUID] = []
        for value in ids:
            try:
                public_id = uuid.UUID(value)
            except ValueError:
                raise CommandError(f"{value[:64]!r} is not an integration id (a UUID).") from None
            if public_id not in public_ids:  # named twice: polled once
                public_ids.append(public_id)
        found = {i.public_id: i for i in AtsIntegration.objects.filter(public_id__in=public_ids)}
        missing = [str(public_id) for public_id in public_ids if public_id not in found]
        if missing:
            raise CommandError(
                f"No integration with the id{'s' if len(missing) > 1 else ''} {', '.join(missing)}."
            )
        return [found[public_id] for public_id in public_ids]

    def _run(self, integration: AtsIntegration) -> tuple[str, bool]:
        """One integration's poll, as the task runs it: a line that sums it up, and whether
        it could be polled (a skipped integration could)."""
        if not integration.enabled:
            return "skipped: the integration is disabled", True
        if not integration.has_api_key:
            return "skipped: the integration has no API key", True
        result = reconcile.integration_reconcile(integration_id=integration.pk)
        if result is None:
            # The poll keeps its cursor, so the next one covers the gap; the reason is stored
            # as the integration's last error (its status page shows it too).
            integration.refresh_from_db(fields=["last_error"])
            return f"failed: {integration.last_error or 'Lever could not be read'}", False
        # Each poll reads back RECONCILE_OVERLAP_SECONDS before its cursor, so a change may be
        # read twice; only the first read updates the candidacy.
        summary = (
            f"{_count(result.seen, 'linked opportunity', 'linked opportunities')} read as "
            f"changed in Lever, {_count(result.changed, 'candidacy', 'candidacies')} updated"
        )
        if result.missed:
            labels = {
                spec.code: spec.label
                for spec in ats.adapter_for(integration.ats, ats.AtsBase).webhook_events
            }
            missed = ", ".join(
                f"{labels.get(event, event)} {n}" for event, n in sorted(result.missed.items())
            )
            summary += f"; changes no webhook announced: {missed}"
        unlinked = deletions.deleted_opportunities_reconcile(integration_id=integration.pk)
        if unlinked:
            summary += (
                f"; {_count(unlinked, 'candidacy', 'candidacies')} unlinked (deleted in Lever)"
            )
        return summary, True
