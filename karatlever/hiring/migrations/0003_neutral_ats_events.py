# Timeline entries from the ATS name no ATS: source "ats" (the page shows the ATS's own name)
# and summaries without "Lever" ("Stage: A → B", "Archived: reason", "Unarchived", "Hired").

from django.db import migrations, models
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

# (old summary prefix, new prefix) for the entries candidacy_ats_state_apply wrote.
PREFIXES = (
    ("Lever stage: ", "Stage: "),
    ("Archived in Lever: ", "Archived: "),
)
WHOLE = (("Unarchived in Lever", "Unarchived"), ("Hired in Lever", "Hired"))


def forwards(apps, schema_editor):
    CandidacyEvent = apps.get_model("hiring", "CandidacyEvent")
    events = CandidacyEvent.objects.filter(source="lever")
    for old, new in PREFIXES:
        events.filter(summary__startswith=old).update(
            summary=Concat(Value(new), Substr(F("summary"), len(old) + 1))
        )
    for old, new in WHOLE:
        events.filter(summary=old).update(summary=new)
    events.update(source="ats")


def backwards(apps, schema_editor):
    CandidacyEvent = apps.get_model("hiring", "CandidacyEvent")
    events = CandidacyEvent.objects.filter(source="ats")
    for old, new in PREFIXES:
        events.filter(summary__startswith=new).update(
            summary=Concat(Value(old), Substr(F("summary"), len(new) + 1))
        )
    for old, new in WHOLE:
        events.filter(summary=new).update(summary=old)
    events.update(source="lever")


class Migration(migrations.Migration):
    dependencies = [
        ("hiring", "0002_milestones"),
    ]

    operations = [
        migrations.AlterField(
            model_name="candidacyevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("created", "Candidacy created"),
                    ("status_changed", "Karat status changed"),
                    ("invite_sent", "Invitation sent"),
                    ("ats_update", "Update posted to the ATS"),
                    ("ats_stage_changed", "Stage changed"),
                    ("ats_archived", "Archived"),
                    ("ats_unarchived", "Unarchived"),
                    ("ats_hired", "Hired"),
                ],
                max_length=32,
            ),
        ),
        migrations.AlterField(
            model_name="candidacyevent",
            name="source",
            field=models.CharField(
                choices=[("karat", "Karat"), ("ats", "ATS"), ("person", "A person")],
                max_length=16,
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
