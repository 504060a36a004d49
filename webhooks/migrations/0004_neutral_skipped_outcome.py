"""A delivery skipped because a newer state was applied says so without naming Lever (the
outcome of one written by any ATS reads the same)."""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

OLD = "Skipped: newer Lever state already applied"
NEW = "Skipped: a newer state of the opportunity was already applied"


def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("webhooks", "WebhookDelivery").objects.filter(outcome=OLD).update(outcome=NEW)


def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("webhooks", "WebhookDelivery").objects.filter(outcome=NEW).update(outcome=OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0003_delivery_token_unique"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
