"""Candidates search (issue 23): trigram indexes that fit the page's query on PostgreSQL.

The search is ``candidate_name__icontains`` / ``candidate_email__icontains``, which Django
writes on PostgreSQL as ``UPPER(col::text) LIKE UPPER('%…%')``: a GIN index of
``UPPER(col::text) gin_trgm_ops`` serves exactly that expression, however long the table.
On the embedded SQLite default nothing is created (the search scans, as before); the indexes
are not in the models' Meta because SQLite cannot build them."""

from __future__ import annotations

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

INDEXES = {
    "hiring_candidacy_name_trgm": "candidate_name",
    "hiring_candidacy_email_trgm": "candidate_email",
}


def _create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON hiring_candidacy "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def _drop(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("hiring", "0009_deletions")]

    operations = [
        # CREATE EXTENSION pg_trgm on PostgreSQL (needs the right to; a no-op elsewhere).
        TrigramExtension(),
        migrations.RunPython(_create, _drop, elidable=False),
    ]
