"""The status page's "Automatic invites" feature: off, or on with its last automatic invite."""

from __future__ import annotations

from django.urls import reverse

from integrations.auto_invites.selectors import auto_invite_rule_find
from integrations.connection.selectors import key_refusal
from integrations.features import (
    AUTOMATIC_INVITES,
    FeatureCheck,
    FeatureHealth,
    FeatureIssue,
    feature_health,
    key_refused_check,
)
from integrations.models import AtsIntegration


def automatic_invites_health(integration: AtsIntegration) -> FeatureHealth:
    """Off: muted "Off". On: ok, with its last automatic invite; not working when the API key
    can't be used (no key, or the ATS refused it). Three queries."""
    rule = auto_invite_rule_find(integration=integration)
    url = reverse("auto-invite:edit", kwargs={"public_id": integration.public_id})
    if rule is None or not rule.enabled or not integration.enabled:
        why = "turned off" if integration.enabled else "off while the integration is disabled"
        return feature_health(
            AUTOMATIC_INVITES,
            "muted",
            "Off",
            f"Automatic invites are {why}.",
            checks=[FeatureCheck("rule", "Automatic invite", "muted", "Off.", url, "Turn it on")],
        )
    stage = rule.stage_name or rule.stage_id
    last = (
        f"Last: {rule.last_action}."
        if rule.last_action
        else "Nobody has been invited automatically yet."
    )
    checks = [
        FeatureCheck("rule", "Automatic invite", "ok", f"On for stage “{stage}”."),
        FeatureCheck(
            "fallback_role",
            "Role for unmatched postings",
            "ok" if rule.role else "info",
            rule.role.title
            if rule.role
            else "None: candidates whose posting matches no role are skipped.",
            "" if rule.role else url,
            "" if rule.role else "Choose a role",
        ),
    ]
    refused = key_refusal(integration=integration)
    if refused:
        settings_url = reverse("integrations:settings", kwargs={"public_id": integration.public_id})
        return feature_health(
            AUTOMATIC_INVITES,
            "bad",
            "Not working",
            f"Nobody is invited automatically: {refused}",
            checks=[key_refused_check(refused, settings_url), *checks],
        )
    issues: tuple[FeatureIssue, ...] = ()
    if not integration.has_api_key:
        issues = (FeatureIssue("No API key: nothing can be read from the ATS.", url, "Settings"),)
    return feature_health(
        AUTOMATIC_INVITES,
        "warn" if issues else "ok",
        "On",
        f"Candidates entering “{stage}” are invited. {last}",
        checks=checks,
        issues=issues,
    )
