"""Run the local Lever sandbox in the foreground (Ctrl-C stops it cleanly)."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.lever.sandbox import SandboxServer
from integrations.lever.sandbox.demo import CANDIDATE_HOSTS


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Process managers send SIGTERM; treat it like Ctrl-C so the database closes cleanly.
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Run the Lever sandbox: a local stand-in Lever with demo data (Data API under /v1, "
        "webhooks, control pages). Point LEVER_API_BASE_URL at the printed API URL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)"
        )
        parser.add_argument(
            "--port", type=int, default=8001, help="port (default 8001; 0 = any free port)"
        )
        parser.add_argument(
            "--db",
            default=str(Path(settings.VAR_DIR) / "lever-sandbox.sqlite3"),
            help="SQLite file holding the sandbox state (default var/lever-sandbox.sqlite3)",
        )
        parser.add_argument(
            "--reset", action="store_true", help="wipe the state and reseed the demo data"
        )
        parser.add_argument(
            "--region",
            choices=sorted(CANDIDATE_HOSTS),
            default="us",
            help="which hire.*.lever.co host urls.show uses (default us = hire.lever.co)",
        )
        parser.add_argument(
            "--rate", type=float, default=10.0, help="requests/s per API key (default 10)"
        )
        parser.add_argument("--burst", type=int, default=20, help="token bucket burst (default 20)")
        parser.add_argument("--no-rate-limit", action="store_true", help="turn the rate limit off")
        parser.add_argument(
            "--webhook-retry-base",
            type=float,
            default=2.0,
            help="seconds before the first webhook retry; doubles each time (default 2)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["rate"] <= 0 or options["burst"] < 1:
            raise CommandError("--rate must be positive and --burst at least 1")
        server = SandboxServer(
            host=options["host"],
            port=options["port"],
            db_path=options["db"],
            reset=options["reset"],
            region=options["region"],
            rate_per_second=None if options["no_rate_limit"] else options["rate"],
            rate_burst=options["burst"],
            webhook_retry_base=options["webhook_retry_base"],
        )
        previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
        # A shell starts background jobs with SIGINT ignored, and Python keeps an ignored SIGINT
        # ignored: restore Ctrl-C (KeyboardInterrupt) so SIGINT stops the sandbox cleanly anywhere.
        previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            server.serve_forever(ready=lambda: self._announce(server, options["db"]))
        except OSError as exc:
            raise CommandError(
                f"cannot start the sandbox on {options['host']}:{options['port']}: {exc}"
            ) from exc
        finally:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, previous_int)
        self.stdout.write("Lever sandbox stopped.")

    def _announce(self, server: SandboxServer, db: str) -> None:
        self.stdout.write(
            f"Lever sandbox on {server.url} (API {server.api_url}; one root per region, where "
            f"only {server.region} accepts its keys: {server.regional_api_url}), state in {db}.\n"
            "Demo key: DEMO_API_KEY in integrations/lever/sandbox/demo.py; "
            f"more keys at {server.url}/settings/integrations. Ctrl-C to stop."
        )
        # Flushed so a supervising process (make run, tests) sees the URL right away.
        self.stdout.flush()
