# The integration's user in its ATS (Lever's perform_as) gets an ATS-neutral name.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0009_audit_actions"),
    ]

    operations = [
        migrations.RenameField(
            model_name="atsintegration",
            old_name="lever_user_id",
            new_name="ats_user_id",
        ),
    ]
