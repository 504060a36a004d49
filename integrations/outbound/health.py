"""The health of "Post candidacy updates to Lever" on the status page (named in features.py)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.urls import reverse
from django.utils import timezone

from integrations import ats
from integrations.connection.selectors import key_refusal
from integrations.features import (
    POST_CANDIDACY_UPDATES,
    FeatureCheck,
    FeatureHealth,
    FeatureIssue,
    feature_health,
    key_refused_check,
)
from integrations.models import AtsIntegration, KeyCheck, OutboundSettings, OutboundUpdate
from integrations.outbound.selectors import (
    outbound_acting_user,
    outbound_pause_fixed,
    outbound_stats,
)

# Older than this and still waiting: the backlog needs a look.
BACKLOG_STALE_AFTER = timedelta(minutes=15)
# The key check's write lines (the Lever adapter's codes) this feature depends on.
WRITE_CHECKS = (
    ("write_notes", "Permission to write notes", (OutboundUpdate.Kind.NOTE,)),
    (
        "write_opportunities",
        "Permission to write tags, links and stages",
        (OutboundUpdate.Kind.TAG, OutboundUpdate.Kind.LINK, OutboundUpdate.Kind.STAGE),
    ),
)


def post_candidacy_updates_health(integration: AtsIntegration) -> FeatureHealth:
    """The "Post candidacy updates to Lever" feature: write permissions (key check lines and
    what Lever accepted), the perform-as user (asks the ATS: one short call, errors shown as
    "could not check"), success rate and backlog over 24 hours, dead-lettered updates and a
    paused queue. Three queries plus at most one ATS call; safe to run from a task."""
    kwargs = {"public_id": integration.public_id}
    settings_url = reverse("integrations:settings", kwargs=kwargs) + "#outbound"
    activity_url = reverse("webhooks-console:activity", kwargs=kwargs) + "#outbound"
    outbound = OutboundSettings.objects.filter(integration=integration).first()
    stats = outbound_stats(integration=integration)
    checks: list[FeatureCheck] = []
    issues: list[FeatureIssue] = []

    # ``checks`` and ``issues`` grow below; the builder copies them when it is called.
    health = partial(
        feature_health,
        POST_CANDIDACY_UPDATES,
        checks=checks,
        issues=issues,
        detail={"stats": stats, "activity_url": activity_url, "settings_url": settings_url},
    )

    if not integration.enabled:
        return health("muted", "Off", "The integration is disabled: nothing is posted to Lever.")
    if outbound is not None and not outbound.enabled:
        return health("muted", "Off", "Posting updates to Lever is turned off in Settings.")

    # Write permissions: the key check can't probe writes, so what Lever accepted counts too.
    lines = {c.get("code"): c for c in _key_check_lines(integration) if isinstance(c, dict)}
    refused = key_refusal(integration=integration, lines=lines)
    if refused:
        checks.append(key_refused_check(refused, settings_url))
    paused_reason = outbound.paused_reason if outbound and outbound.paused_at else ""
    if (
        paused_reason
        and outbound is not None
        and outbound_pause_fixed(integration=integration, outbound=outbound)
    ):
        # The key passed a check after the pause: the next drain resumes the queue (within
        # OUTBOUND_SWEEP_INTERVAL_SECONDS), so the pause is already history.
        paused_reason = ""
    for code, label, _kinds in WRITE_CHECKS:
        line = lines.get(code, {})
        sent = stats["notes_sent"] if code == "write_notes" else stats["others_sent"]
        if line.get("ok") is False:
            checks.append(
                FeatureCheck(
                    code,
                    label,
                    "bad",
                    str(line.get("message") or "Missing."),
                    settings_url,
                    "Settings → API key",
                )
            )
        elif sent:
            checks.append(
                FeatureCheck(code, label, "ok", f"Lever accepted {sent} of these writes.")
            )
        elif paused_reason:
            checks.append(
                FeatureCheck(
                    code, label, "warn", "Not confirmed: Lever refused the key (see below)."
                )
            )
        else:
            checks.append(
                FeatureCheck(code, label, "info", "Not checked until the first update is sent.")
            )

    # Who writes are made as (not asked with a key the ATS refuses).
    if refused:
        checks.append(
            FeatureCheck(
                "perform_as",
                "Lever user for updates",
                "muted",
                "Checked once Lever accepts the key.",
            )
        )
    else:
        checks.append(_perform_as_check(integration, outbound, settings_url))

    sent, dead = int(stats["sent"]), int(stats["dead"])  # type: ignore[call-overload]
    ended = sent + dead
    if ended:
        rate = sent / ended
        checks.append(
            FeatureCheck(
                "success_rate",
                "Delivered in the last 24 hours",
                "ok" if rate >= 0.95 else "warn",
                f"{sent} of {ended} updates ({rate:.0%}).",
                activity_url if rate < 0.95 else "",
                "Activity" if rate < 0.95 else "",
            )
        )
    else:
        checks.append(
            FeatureCheck(
                "success_rate", "Delivered in the last 24 hours", "info", "No update ended yet."
            )
        )
    backlog, oldest = int(stats["backlog"]), stats["oldest"]  # type: ignore[call-overload]
    stale = oldest is not None and oldest < timezone.now() - BACKLOG_STALE_AFTER  # type: ignore[operator]
    checks.append(
        FeatureCheck(
            "backlog",
            "Waiting to be sent",
            "warn" if stale else "ok",
            f"{backlog} update{'s' if backlog != 1 else ''} waiting"
            + (", the oldest for more than 15 minutes." if stale else "."),
            activity_url if stale else "",
            "Activity" if stale else "",
        )
    )
    checks.append(
        FeatureCheck(
            "dead_lettered",
            "Given up in the last 24 hours",
            "warn" if dead else "ok",
            f"{dead} update{'s' if dead != 1 else ''}"
            + (": open the activity page to see why, then retry." if dead else "."),
            activity_url if dead else "",
            "Activity" if dead else "",
        )
    )
    checks.append(
        FeatureCheck(
            "queue",
            "Queue",
            "bad" if paused_reason else "ok",
            f"Paused: {paused_reason} It resumes by itself once the key passes a check."
            if paused_reason
            else "Sending.",
            settings_url if paused_reason else "",
            "Settings → API key" if paused_reason else "",
        )
    )
    for check in checks:
        if check.level in ("warn", "bad"):
            issues.append(
                FeatureIssue(f"{check.name}: {check.message}", check.fix_url, check.fix_text)
            )
    if refused:
        return health("bad", "Not working", f"Updates are not reaching Lever: {refused}")
    if any(c.level == "bad" for c in checks):
        return health("bad", "Not working", "Updates are not reaching Lever.")
    if issues:
        return health("warn", "Needs attention", "Some updates may not reach Lever.")
    if not stats["last_sent"] and not backlog:
        return health(
            "info",
            "Waiting for the first milestone",
            "Nothing posted yet: the next milestone of a linked candidacy is written to Lever.",
        )
    return health("ok", "Working", "Milestones are posted to Lever as notes, tags and links.")


def _key_check_lines(integration: AtsIntegration) -> list[dict[str, object]]:
    """The lines of the latest finished check of the key in use (one query)."""
    if not integration.api_key_fingerprint:
        return []
    checks = (
        KeyCheck.objects.filter(
            integration=integration,
            api_key_fingerprint=integration.api_key_fingerprint,
            finished_at__isnull=False,
        )
        .order_by("-id")
        .values_list("checks", flat=True)
        .first()
    )
    return checks if isinstance(checks, list) else []


def _perform_as_check(
    integration: AtsIntegration, outbound: OutboundSettings | None, settings_url: str
) -> FeatureCheck:
    code, label = "perform_as", "Lever user for updates"
    user_id = outbound_acting_user(integration=integration, outbound=outbound).user_id
    if not user_id:
        return FeatureCheck(
            code,
            label,
            "info",
            "Not set: Lever decides whom updates are credited to. Pick a user to make it clear.",
            settings_url,
            "Settings",
        )
    if not integration.has_api_key:
        return FeatureCheck(code, label, "muted", "Checked once an API key is set.")
    adapter = ats.adapter_for(integration.ats)
    try:
        user = adapter.user_get(ats.account_for(integration), user_id, profile=ats.KEY_CHECK)
    except ats.AtsRecordNotFound:
        return FeatureCheck(
            code,
            label,
            "bad",
            f"No {adapter.label} user has the id {user_id}.",
            settings_url,
            "Settings",
        )
    except ats.AtsError as exc:
        return FeatureCheck(code, label, "warn", f"Could not check the user: {exc.message}")
    if not user.active:
        return FeatureCheck(
            code,
            label,
            "bad",
            f"{user.name or user.email} is deactivated in {adapter.label}: updates would be refused.",
            settings_url,
            "Settings",
        )
    return FeatureCheck(code, label, "ok", f"Updates are posted as {user.name or user.email}.")
