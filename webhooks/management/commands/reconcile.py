"""Run the reconciliation poll now, in this process, for one integration or all of them."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.models import AtsIntegration
from webhooks.services import deletions, reconcile


class Command(BaseCommand):
    help = (
        "Run the reconciliation poll now, in this process (what the beat schedule queues every "
        "RECONCILE_INTERVAL_SECONDS): apply Lever's current state to every linked candidacy "
        "whose opportunity changed since the last poll, then honour deletions whose webhook "
        "was missed. Name integrations by their id (the UUID in the console's URLs and the "
        "API), or give --all for every integration the schedule would poll."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("integration_ids", nargs="*", help="integration ids (UUIDs)")
        parser.add_argument(
            "--all",
            action="store_true",
            help="every enabled integration with a key and a linked candidacy or the "
            "automatic invite on",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        integrations = self._integrations(options["integration_ids"], every=options["all"])
        if not integrations:
            self.stdout.write("Nothing to poll: no enabled integration has a key and a link.")
        for integration in integrations:
            self.stdout.write(f"{integration} ({integration.public_id}): {self._run(integration)}")

    def _integrations(self, ids: list[str], *, every: bool) -> list[AtsIntegration]:
        if every == bool(ids):
            raise CommandError("Name one or more integration ids, or give --all (not both).")
        if every:
            due = reconcile.reconcile_due_integration_ids()
            return list(AtsIntegration.objects.filter(pk__in=due).order_by("pk"))
        public_ids = []
        for value in ids:
            try:
                public_ids.append(uuid.UUID(value))
            except ValueError:
                raise CommandError(f"{value[:64]!r} is not an integration id (a UUID).") from None
        found = {i.public_id: i for i in AtsIntegration.objects.filter(public_id__in=public_ids)}
        missing = [str(public_id) for public_id in public_ids if public_id not in found]
        if missing:
            raise CommandError(f"No integration with the id {', '.join(missing)}.")
        return [found[public_id] for public_id in public_ids]

    def _run(self, integration: AtsIntegration) -> str:
        """One integration's poll, as the task runs it, summed up in a line."""
        if not integration.enabled or not integration.has_api_key:
            return "skipped: the integration is disabled or has no API key"
        result = reconcile.integration_reconcile(integration_id=integration.pk)
        if result is None:
            # The poll keeps its cursor, so the next one covers the gap; the reason is on the
            # status page (integration_failure_record).
            return "failed: Lever could not be read; the status page says why"
        summary = (
            f"{result.seen} linked opportunities changed in Lever since the last poll, "
            f"{result.changed} candidacies updated"
        )
        if result.missed:
            missed = ", ".join(f"{event} {n}" for event, n in sorted(result.missed.items()))
            summary += f"; changes no webhook announced: {missed}"
        unlinked = deletions.deleted_opportunities_reconcile(integration_id=integration.pk)
        if unlinked:
            summary += f"; {unlinked} candidacies unlinked (deleted in Lever)"
        return summary
