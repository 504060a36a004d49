"""`manage.py init_local`: var/ folders and local secrets, before the first migrate of `make run`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from karatlever.demo.local_state import local_state_init


class Command(BaseCommand):
    help = (
        "Create the local state folders under KARATLEVER_VAR_DIR (SQLite database, file broker, "
        "beat schedule) and, when DEBUG is on, generate the local DJANGO_SECRET_KEY and "
        "FIELD_ENCRYPTION_KEYS files once. Safe to run again: existing secrets are kept."
    )
    # It makes what the system checks would otherwise report missing.
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        created = local_state_init()
        for path in created:
            self.stdout.write(f"created {path}")
        if not created:
            self.stdout.write(f"local state in {settings.VAR_DIR} is complete")
