"""Re-encrypt every stored secret with the first key in FIELD_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from integrations.fields import EncryptedTextField


class Command(BaseCommand):
    help = (
        "Re-encrypt every EncryptedTextField value with the first FIELD_ENCRYPTION_KEYS key. "
        "Run it after putting a new key first; then the old keys can be removed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            count = 0
            with transaction.atomic():
                # Loading decrypts with any key; saving encrypts with the first one.
                for obj in (
                    model._default_manager.select_for_update().only("pk", *fields).iterator()
                ):
                    obj.save(update_fields=fields)
                    count += 1
            total += count
            self.stdout.write(f"{model._meta.label}: re-encrypted {count} row(s)")
        self.stdout.write(
            self.style.SUCCESS(f"Done: {total} row(s) re-encrypted with the first key.")
        )
