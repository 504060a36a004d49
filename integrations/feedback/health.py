"""The status page's "Results as a Lever feedback form": off, or on with what it needs (a user
to post as, the permissions, Karat's template) and how its last forms went."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from integrations.connection.selectors import key_check_lines, key_refusal
from integrations.features import (
    FEEDBACK_FORMS,
    FeatureCheck,
    FeatureHealth,
    feature_health,
    key_refused_check,
)
from integrations.feedback.selectors import (
    feedback_acting_user_label,
    feedback_settings_find,
    feedback_stats,
)
from integrations.models import AtsIntegration, FeedbackSettings, OutboundSettings, OutboundUpdate

# The key check's feedback lines (integrations/lever/feedback.py FEEDBACK_PERMISSIONS), named
# as the other features' permission checks are.
PERMISSION_LINES = {
    "read_feedback_templates": "Permission to read feedback templates",
    "write_feedback_templates": "Permission to create feedback templates",
    "write_feedback": "Permission to write feedback forms",
}
READ_TEMPLATES = "read_feedback_templates"
WINDOW = timedelta(days=7)


def feedback_forms_health(integration: AtsIntegration) -> FeatureHealth:
    """Off: muted. On: "bad" without a user to post as, with a refused key or a missing
    permission (the key check's lines, or Lever's 401/403 on the last form), or with updates to
    Lever turned off or paused; "warn" when forms were given up on in the last 7 days; "info"
    until the first form is posted; "ok" ("Working") only once Lever accepted a form and the
    last one did not fail. A few queries, no ATS call."""
    kwargs = {"public_id": integration.public_id}
    settings_url = reverse("integrations:settings", kwargs=kwargs) + "#feedback-form"
    activity_url = reverse("webhooks-console:activity", kwargs=kwargs) + "#outbound"
    found = feedback_settings_find(integration=integration)
    if found is None or not found.enabled or not integration.enabled:
        why = "turned off" if integration.enabled else "off while the integration is disabled"
        return feature_health(
            FEEDBACK_FORMS,
            "muted",
            "Off",
            f"Posting results as a feedback form is {why}.",
            checks=[
                FeatureCheck("option", "Feedback form", "muted", "Off.", settings_url, "Turn it on")
            ],
        )
    checks: list[FeatureCheck] = [FeatureCheck("option", "Feedback form", "ok", "On.")]
    outbound = OutboundSettings.objects.filter(integration=integration).first()
    if outbound is not None and not outbound.enabled:
        checks.append(
            FeatureCheck(
                "outbound",
                "Updates posted to Lever",
                "bad",
                "Posting updates to Lever is turned off, so no form is posted.",
                settings_url.replace("#feedback-form", "#outbound"),
                "Turn updates on",
            )
        )
    elif outbound is not None and outbound.paused_at is not None:
        checks.append(
            FeatureCheck(
                "outbound",
                "Updates posted to Lever",
                "bad",
                f"Paused: {outbound.paused_reason}",
                settings_url,
                "Settings → API key",
            )
        )
    acting = feedback_acting_user_label(integration=integration)
    checks.append(
        FeatureCheck("perform_as", "User forms are posted as", "ok", f"Posted as {acting}.")
        if acting
        else FeatureCheck(
            "perform_as",
            "User forms are posted as",
            "bad",
            "None: Lever requires a user (perform_as) to post feedback.",
            settings_url.replace("#feedback-form", "#outbound"),
            "Choose who Karat posts updates as",
        )
    )
    lines = key_check_lines(integration=integration)
    refused = key_refusal(integration=integration, lines=lines)
    if refused:
        checks.append(key_refused_check(refused, settings_url))
    stats = feedback_stats(integration=integration, since=timezone.now() - WINDOW)
    last: dict[str, Any] | None = stats["last"]
    last_refused = (
        last is not None
        and last["status"] != OutboundUpdate.Status.SENT
        and last["last_status_code"] in (401, 403)
    )
    for code, name in PERMISSION_LINES.items():
        line = lines.get(code) or {}
        if code == READ_TEMPLATES:
            checks.append(_read_templates_check(line, found, name, settings_url))
            continue
        if line.get("ok") is False or (code == "write_feedback" and last_refused):
            message = str(line.get("message") or (last or {}).get("last_error") or "")
            checks.append(
                FeatureCheck(
                    code,
                    name,
                    "bad",
                    f"The API key lacks this permission: {message}",
                    settings_url,
                    "Add it to the key in Lever, then check the key again",
                )
            )
        elif line.get("ok") is True or stats["sent"]:
            checks.append(FeatureCheck(code, name, "ok", "Granted."))
        else:
            checks.append(
                FeatureCheck(code, name, "info", "Not checked until Karat first writes it.")
            )
    checks.append(
        FeatureCheck("template", "Karat's template in Lever", "ok", f"Id {found.template_id}.")
        if found.template_id
        else FeatureCheck(
            "template", "Karat's template in Lever", "info", "Created with the first results."
        )
    )
    if stats["dead"]:
        checks.append(
            FeatureCheck(
                "given_up",
                "Forms given up on (7 days)",
                "warn",
                f"{stats['dead']} feedback update(s) could not be posted: "
                f"{(last or {}).get('last_error') or 'see the Activity page'}",
                activity_url,
                "Activity",
            )
        )
    if last is not None and last["status"] == OutboundUpdate.Status.PENDING and not last_refused:
        checks.append(
            FeatureCheck(
                "retrying",
                "Last feedback form",
                "warn",
                f"Not posted yet, Karat tries again: {last['last_error']}",
                activity_url,
                "Activity",
            )
        )
    detail = {"sent": stats["sent"], "waiting": stats["waiting"], "dead": stats["dead"]}
    levels = {c.level for c in checks}
    if "bad" in levels:
        return feature_health(
            FEEDBACK_FORMS,
            "bad",
            "Not working",
            "No feedback form reaches Lever.",
            checks=checks,
            detail=detail,
        )
    if "warn" in levels:
        return feature_health(
            FEEDBACK_FORMS,
            "warn",
            "Needs attention",
            "Some feedback forms were not posted.",
            checks=checks,
            detail=detail,
        )
    if last is None or last["status"] != OutboundUpdate.Status.SENT:
        return feature_health(
            FEEDBACK_FORMS,
            "info",
            "Waiting",
            "Waiting for the first interview results.",
            checks=checks,
            detail=detail,
        )
    return feature_health(
        FEEDBACK_FORMS,
        "ok",
        "Working",
        "Results are posted to Lever as a feedback form.",
        checks=checks,
        detail=detail,
    )


def _read_templates_check(
    line: dict[str, Any], found: FeedbackSettings, name: str, settings_url: str
) -> FeatureCheck:
    """A read, so there is evidence before any write: the key check's ``GET
    /feedback_templates`` (its line exists only if the option was on when the key was last
    checked), or Karat's template having been found or created, which reads them first."""
    if line.get("ok") is False:
        return FeatureCheck(
            READ_TEMPLATES,
            name,
            "bad",
            f"The API key lacks this permission: {line.get('message') or ''}",
            settings_url,
            "Add it to the key in Lever, then check the key again",
        )
    if line.get("ok") is True:
        return FeatureCheck(
            READ_TEMPLATES, name, "ok", "Granted: the key check read Lever's feedback templates."
        )
    if found.template_id:
        return FeatureCheck(
            READ_TEMPLATES,
            name,
            "ok",
            "Granted: Karat read Lever's feedback templates to find or create its own.",
        )
    if line.get("message"):
        return FeatureCheck(READ_TEMPLATES, name, "info", str(line["message"]))
    return FeatureCheck(
        READ_TEMPLATES,
        name,
        "info",
        "Not checked yet: the next key check reads Lever's feedback templates (Settings → "
        "API key → Check again), and so do the first results.",
    )
