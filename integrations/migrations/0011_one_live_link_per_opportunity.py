# One live link per ATS opportunity in an organization (each group has its own integration, and
# ATS opportunity ids are globally unique): OpportunityLink gets a copy of its integration's
# organization and a unique (organization, opportunity_id) constraint.
#
# Existing rows get their organization from their integration's group. Rows that already break
# the rule (the same opportunity invited in two groups before this fix) are deduplicated rather
# than failing the migration: failing would block the deploy of the fix that stops new
# duplicates and leave an operator to edit the database by hand. The earliest link of each
# opportunity is kept (the first invite is the one the bug did not create; its Lever notes went
# out first); the later links are deleted and their candidacies stay as they are (Karat data,
# interview results), no longer following the ATS. Their Lever updates not sent yet are
# cancelled, with the reason on the row (the integration's outbound page shows it), so the
# opportunity gets no more notes or tags from them. Each unlinked candidacy is printed.
#
# Plain ORM queries: the same on SQLite and PostgreSQL (Django adds the column's foreign key
# as IMMEDIATE on PostgreSQL, so making it NOT NULL after the fill is allowed in one migration).

import sys

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone


def fill_and_deduplicate(apps, schema_editor):
    AtsIntegration = apps.get_model("integrations", "AtsIntegration")
    OpportunityLink = apps.get_model("integrations", "OpportunityLink")
    OutboundUpdate = apps.get_model("integrations", "OutboundUpdate")
    links = OpportunityLink.objects.using(schema_editor.connection.alias)
    links.update(
        organization_id=Subquery(
            AtsIntegration.objects.filter(pk=OuterRef("integration_id")).values(
                "group__organization_id"
            )[:1]
        )
    )
    duplicated = (
        links.values("organization_id", "opportunity_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("organization_id", "opportunity_id")
    )
    now = timezone.now()
    for row in duplicated:
        kept, *dropped = links.filter(
            organization_id=row["organization_id"], opportunity_id=row["opportunity_id"]
        ).select_related("candidacy").order_by("created_at", "pk")
        for link in dropped:
            reason = (
                f"Not sent: ATS opportunity {link.opportunity_id} is linked to another candidacy "
                f"of this organization ({kept.candidacy.code}), the first one invited; this "
                "candidacy was unlinked from it (one candidacy per opportunity)."
            )
            OutboundUpdate.objects.using(schema_editor.connection.alias).filter(
                candidacy_id=link.candidacy_id,
                opportunity_id=link.opportunity_id,
                status__in=["pending", "sending"],
            ).update(status="cancelled", finished_at=now, last_error=reason, claimed_by="")
            sys.stdout.write(
                f"\n  Unlinked candidacy {link.candidacy.code} from opportunity "
                f"{link.opportunity_id}: already linked to candidacy {kept.candidacy.code}"
            )
        links.filter(pk__in=[link.pk for link in dropped]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_api_tokens"),
        ("integrations", "0010_neutral_ats_user_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="opportunitylink",
            name="organization",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.organization",
            ),
        ),
        migrations.RunPython(fill_and_deduplicate, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="opportunitylink",
            name="organization",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.organization",
            ),
        ),
        migrations.AddConstraint(
            model_name="opportunitylink",
            constraint=models.UniqueConstraint(
                fields=("organization", "opportunity_id"),
                name="opportunity_link_one_per_organization",
            ),
        ),
    ]
