"""Timeline text written by integrations names no ATS: "the ATS" where it said "Lever" (the only
ATS so far), and the candidacy page shows the ATS's name in its place (as 0003 did for entries
from the ATS). Summaries of updates posted, links attached and detached, deletions and invites
change; so does an invite's ``detail["reason"]``, a copy of the start of its summary."""

from __future__ import annotations

import re

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

SUMMARY_MAX = 300
BATCH = 500

# kind -> (old pattern, new text) pairs, applied in order; the inverse pairs undo them.
FORWARD: dict[str, list[tuple[str, str]]] = {
    "ats_update": [(r" to Lever$", " to the ATS")],
    "ats_linked": [
        (r"^Linked to the Lever candidate (.*)$", r"Linked to the candidate \1 in the ATS")
    ],
    "ats_unlinked": [
        (r"^Unlinked from Lever", "Unlinked from the ATS"),
        (r"^(The candidate was \w+) in Lever: ", r"\1 in the ATS: "),
        (r" to Lever about it\.$", " to the ATS about it."),
    ],
    "invite_sent": [
        (r"^(Invited (?:through the API )?from) a Lever link", r"\1 a link to the ATS"),
        (r"^Invited from Lever;", "Invited from the ATS;"),
        (r"^(Automatic invite: (?:entered|already in|in)) Lever stage ", r"\1 the ATS stage "),
    ],
}
BACKWARD: dict[str, list[tuple[str, str]]] = {
    "ats_update": [(r" to the ATS$", " to Lever")],
    "ats_linked": [
        (r"^Linked to the candidate (.*) in the ATS$", r"Linked to the Lever candidate \1")
    ],
    "ats_unlinked": [
        (r"^Unlinked from the ATS", "Unlinked from Lever"),
        (r"^(The candidate was \w+) in the ATS: ", r"\1 in Lever: "),
        (r" to the ATS about it\.$", " to Lever about it."),
    ],
    "invite_sent": [
        (r"^(Invited (?:through the API )?from) a link to the ATS", r"\1 a Lever link"),
        (r"^Invited from the ATS;", "Invited from Lever;"),
        (r"^(Automatic invite: (?:entered|already in|in)) the ATS stage ", r"\1 Lever stage "),
    ],
}


def _rewritten(text: str, rules: list[tuple[str, str]]) -> str:
    for pattern, replacement in rules:
        text = re.sub(pattern, replacement, text)
    return text


def _rewrite(apps: StateApps, rules: dict[str, list[tuple[str, str]]], needle: str) -> None:
    CandidacyEvent = apps.get_model("hiring", "CandidacyEvent")
    # Ids first, then batches: SQLite does not isolate a cursor from writes to its table.
    ids = list(
        CandidacyEvent.objects.filter(kind__in=list(rules), summary__contains=needle)
        .order_by("id")
        .values_list("id", flat=True)
    )
    for start in range(0, len(ids), BATCH):
        changed = []
        for event in CandidacyEvent.objects.filter(id__in=ids[start : start + BATCH]):
            kind_rules = rules[event.kind]
            summary = _rewritten(event.summary, kind_rules)[:SUMMARY_MAX]
            detail = event.detail if isinstance(event.detail, dict) else {}
            reason = detail.get("reason")
            if isinstance(reason, str):
                detail = {**detail, "reason": _rewritten(reason, kind_rules)}
            if summary != event.summary or detail != event.detail:
                event.summary, event.detail = summary, detail
                changed.append(event)
        CandidacyEvent.objects.bulk_update(changed, ["summary", "detail"])


def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _rewrite(apps, FORWARD, "Lever")


def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _rewrite(apps, BACKWARD, "the ATS")


class Migration(migrations.Migration):
    dependencies = [
        ("hiring", "0010_pages"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
