"""The health of "Karat interview on Lever's schedule" on the status page (named in
features.py). Reads only."""

from __future__ import annotations

from django.urls import reverse

from integrations.connection.selectors import key_refusal
from integrations.features import (
    INTERVIEW_PANELS,
    FeatureCheck,
    FeatureHealth,
    feature_health,
    key_refused_check,
)
from integrations.models import AtsIntegration, InterviewPanel
from integrations.outbound.selectors import acting_user_label, outbound_acting_user
from integrations.panels.selectors import panel_settings_find, panel_stats


def interview_panels_health(integration: AtsIntegration) -> FeatureHealth:
    """Off (muted) unless an admin turned it on. On: the panels permission (known only from
    what Lever answered a panel write: writes can't be probed without changing Lever), the user
    panels are written as (Lever requires one), the outbox it rides on, given-up writes, and
    panels people removed in Lever. Never "Working" before Lever accepted a panel. Four
    queries, no ATS call."""
    kwargs = {"public_id": integration.public_id}
    settings_url = reverse("integrations:settings", kwargs=kwargs) + "#interview-panels"
    activity_url = reverse("webhooks-console:activity", kwargs=kwargs) + "#outbound"
    outbound = panel_settings_find(integration=integration)
    if not integration.enabled:
        return feature_health(
            INTERVIEW_PANELS, "muted", "Off", "The integration is disabled: no panel is written."
        )
    if outbound is None or not outbound.panels_enabled:
        return feature_health(
            INTERVIEW_PANELS,
            "muted",
            "Off",
            "Turned off: Karat interviews are not put on Lever's schedule.",
            checks=[
                FeatureCheck(
                    "panels_enabled", "Option", "muted", "Off.", settings_url, "Turn it on"
                )
            ],
        )
    stats = panel_stats(integration=integration)
    checks: list[FeatureCheck] = []
    refused = key_refusal(integration=integration)
    if refused:
        checks.append(key_refused_check(refused, settings_url))
    if not outbound.enabled:
        checks.append(
            FeatureCheck(
                "outbox",
                "Posting updates to Lever",
                "bad",
                "Posting updates to Lever is turned off, and panels are sent with them.",
                settings_url.replace("#interview-panels", "#outbound"),
                "Settings → Updates posted to Lever",
            )
        )
    elif outbound.paused_at is not None:
        checks.append(
            FeatureCheck(
                "outbox",
                "Posting updates to Lever",
                "bad",
                f"Paused: {outbound.paused_reason}",
                settings_url,
                "Settings → API key",
            )
        )
    else:
        checks.append(FeatureCheck("outbox", "Posting updates to Lever", "ok", "Sending."))
    if stats.refused_message:
        checks.append(
            FeatureCheck(
                "write_panels",
                "Permission to write panels",
                "bad",
                stats.refused_message,
                settings_url,
                "Settings → API key",
            )
        )
    elif stats.accepted_ever:
        checks.append(
            FeatureCheck(
                "write_panels", "Permission to write panels", "ok", "Lever accepted panels."
            )
        )
    else:
        checks.append(
            FeatureCheck(
                "write_panels",
                "Permission to write panels",
                "info",
                "Not checked until the first interview is scheduled (Lever's write "
                "permissions can only be seen by writing).",
            )
        )
    acting = outbound_acting_user(integration=integration, outbound=outbound)
    if acting.user_id:
        # Named as the updates' and the feedback form's rows name it: the same user.
        checks.append(
            FeatureCheck(
                "perform_as",
                "Lever user for panels",
                "ok",
                f"Written as {acting_user_label(acting=acting)}: Lever requires a user.",
            )
        )
    else:
        checks.append(
            FeatureCheck(
                "perform_as",
                "Lever user for panels",
                "bad",
                "None chosen: Lever creates panels only as one of its users.",
                settings_url.replace("#interview-panels", "#outbound"),
                "Settings → Updates posted to Lever",
            )
        )
    checks.append(
        FeatureCheck(
            "dead_lettered",
            "Panel writes given up in the last 24 hours",
            "warn" if stats.dead else "ok",
            f"{stats.dead}" + (": open the activity page to see why." if stats.dead else "."),
            activity_url if stats.dead else "",
            "Activity" if stats.dead else "",
        )
    )
    gone = stats.by_state.get(InterviewPanel.State.GONE, 0)
    checks.append(
        FeatureCheck(
            "removed_in_lever",
            "Panels removed in Lever",
            "ok",
            f"{gone} panel{'s' if gone != 1 else ''} removed by someone in Lever; Karat does "
            "not put them back."
            if gone
            else "None.",
        )
    )
    active = stats.by_state.get(InterviewPanel.State.ACTIVE, 0)
    if any(c.level == "bad" for c in checks):
        return feature_health(
            INTERVIEW_PANELS,
            "bad",
            "Not working",
            "Scheduled interviews are not reaching Lever's schedule.",
            checks=checks,
        )
    if any(c.level == "warn" for c in checks):
        return feature_health(
            INTERVIEW_PANELS,
            "warn",
            "Needs attention",
            "Some panel writes did not reach Lever.",
            checks=checks,
        )
    if not stats.accepted_ever:
        return feature_health(
            INTERVIEW_PANELS,
            "info",
            "Waiting for the first scheduled interview",
            "On: the next scheduled Karat interview of a linked candidacy becomes a Lever panel.",
            checks=checks,
        )
    return feature_health(
        INTERVIEW_PANELS,
        "ok",
        "Working",
        f"Scheduled Karat interviews are on Lever's schedule ({active} upcoming or kept).",
        checks=checks,
    )
