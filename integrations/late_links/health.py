"""The status page's "Attach a Lever link later" feature: off, or on with what it did lately;
never "Working" while the key is refused or nothing attached would be posted."""

from __future__ import annotations

from django.urls import reverse

from integrations.connection.selectors import key_refusal
from integrations.features import (
    LATE_LINKS,
    FeatureCheck,
    FeatureHealth,
    feature_health,
    key_refused_check,
)
from integrations.late_links.selectors import late_link_activity, late_link_settings_find
from integrations.models import AtsIntegration, OutboundSettings


def late_links_health(integration: AtsIntegration) -> FeatureHealth:
    """Off (muted) until an admin turns it on; on: ok, "bad" when the API key can't be used
    (no link can be read), "warn" when Karat's updates to Lever are off (a link attaches but
    no milestone is posted). A handful of queries; never calls the ATS."""
    settings_url = reverse("integrations:settings", kwargs={"public_id": integration.public_id})
    row = late_link_settings_find(integration=integration)
    if row is None or not row.enabled or not integration.enabled:
        why = "turned off" if integration.enabled else "off while the integration is disabled"
        return feature_health(
            LATE_LINKS,
            "muted",
            "Off",
            f"Attaching a Lever link to an existing candidacy is {why}.",
            checks=[
                FeatureCheck(
                    "enabled",
                    "Attach a Lever link later",
                    "muted",
                    "Off.",
                    f"{settings_url}#late-links",
                    "Turn it on",
                )
            ],
        )
    activity = late_link_activity(integration=integration)
    done = (
        f"{activity.attached} attached and {activity.detached} detached in the last "
        f"{activity.days} days."
    )
    checks = [FeatureCheck("enabled", "Attach a Lever link later", "ok", "On.")]
    refused = key_refusal(integration=integration)
    if refused:
        return feature_health(
            LATE_LINKS,
            "bad",
            "Not working",
            f"No link can be attached: {refused}",
            checks=[key_refused_check(refused, settings_url), *checks],
        )
    if not integration.has_api_key:
        checks.append(
            FeatureCheck(
                "api_key",
                "API key",
                "bad",
                "No API key: Karat can't read the links pasted.",
                settings_url,
                "Settings → API key",
            )
        )
        return feature_health(
            LATE_LINKS, "bad", "Not working", "No link can be attached yet.", checks=checks
        )
    outbound_on = (
        OutboundSettings.objects.filter(integration=integration)
        .values_list("enabled", flat=True)
        .first()
    )
    if outbound_on is False:
        checks.append(
            FeatureCheck(
                "updates_posted",
                "Updates posted to Lever",
                "warn",
                "Off: a link attaches, but no milestone is posted to Lever.",
                f"{settings_url}#outbound",
                "Turn updates on",
            )
        )
        return feature_health(
            LATE_LINKS,
            "warn",
            "Needs attention",
            f"Links attach, but nothing is posted to Lever. {done}",
            checks=checks,
        )
    checks.append(FeatureCheck("updates_posted", "Updates posted to Lever", "ok", "On."))
    return feature_health(LATE_LINKS, "ok", "On", done, checks=checks)
