"""How an integration's region was set. Existing integrations keep the region their admin saved
(chosen); one without a key yet has its region detected from the key it gets."""

from django.db import migrations, models


def chosen_when_keyed(apps, schema_editor):
    AtsIntegration = apps.get_model("integrations", "AtsIntegration")
    AtsIntegration.objects.exclude(api_key_last4="").update(region_source="chosen")


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0015_roles_audit_actions"),
    ]

    operations = [
        migrations.AddField(
            model_name="atsintegration",
            name="region_source",
            field=models.CharField(
                choices=[
                    ("detect", "to be detected from the API key"),
                    ("detected", "detected from the API key"),
                    ("chosen", "chosen by an admin"),
                ],
                default="detect",
                max_length=10,
            ),
        ),
        migrations.RunPython(chosen_when_keyed, migrations.RunPython.noop),
    ]
