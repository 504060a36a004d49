# Issue 20, "The status page tells the truth":
# - a webhook that stopped arriving is flagged per event (WebhookSubscription.missed_at and
#   missed_count, set by the reconciliation at once, cleared by the event's next delivery); the
#   integration-wide streak it replaces is dropped (nothing reads it any more);
# - AtsIntegration.key_probed_at: when the periodic key recheck last found the key accepted.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0013_outbound_hang_window'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='atsintegration',
            name='unannounced_change_streak',
        ),
        migrations.AddField(
            model_name='atsintegration',
            name='key_probed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='webhooksubscription',
            name='missed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='webhooksubscription',
            name='missed_count',
            field=models.PositiveIntegerField(default=0),
        ),
    ]
